// p9::Server: serves one 9P2000.L connection to a p9::Handler.
//
// Provides Handler (the virtual interface a file server implements, one
// method per request type, each defaulting to ENOSYS as an unimplementing
// real server would answer) and Server (reads requests from a Transport,
// runs them on a bounded worker pool, or on the reading thread for the
// types Handler::ServesInline names, and replies with the request's tag).
//
// The server itself handles:
//   Tversion  negotiates msize (<= Options::max_msize) and the dialect:
//             "9P2000.L", or "9P2000.L.Gofer.N" for N up to
//             Options::max_extension_level; anything else gets "unknown".
//             A mid-session Tversion waits for in-flight requests, then
//             calls Handler::Reset().
//   Tflush    a queued request is dropped (never answered); a running one
//             is answered first, then Rflush is sent; an unknown tag gets
//             Rflush at once.
//   msize     frames above msize close the connection; replies are clipped
//             (Rread, Rreaddir) or turned into Rlerror(EMSGSIZE).
//   malformed input: an undecodable request gets Rlerror (EPROTO, EINVAL,
//             EMSGSIZE, ENOSYS for unknown types) under its tag; a request
//             reusing a tag still in flight, or a broken frame, closes the
//             connection. Requests before Tversion get Rlerror(EPROTO).
//
// Extensions are dispatched to Handler::WalkGetAttr/UCreate/FsyncClunk,
// whose defaults compose the standard methods; they are refused (ENOSYS)
// unless negotiated.
//
// Thread-safety: Handler methods are called concurrently from worker
// threads and the reading thread and must be thread-safe. Server::Serve runs on
// the caller's thread; Stop may be called from any thread.
#ifndef P9_SERVER_H_
#define P9_SERVER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "p9/messages.h"
#include "p9/transport.h"

namespace p9 {

class Handler {
 public:
  virtual ~Handler() = default;

  virtual base::ErrnoOr<Rauth> Auth(const Tauth& t);
  virtual base::ErrnoOr<Rattach> Attach(const Tattach& t);
  virtual base::ErrnoOr<Rwalk> Walk(const Twalk& t);
  virtual base::ErrnoOr<Rgetattr> GetAttr(const Tgetattr& t);
  virtual base::ErrnoOr<Rsetattr> SetAttr(const Tsetattr& t);
  // `donate_fd` is non-null when the connection passes host fds; setting
  // it hands the client a host fd for the opened file.
  virtual base::ErrnoOr<Rlopen> Lopen(const Tlopen& t,
                                      FileDescriptor* donate_fd);
  virtual base::ErrnoOr<Rlcreate> Lcreate(const Tlcreate& t);
  // Fills `out` (already clipped to t.count and msize) and returns the
  // number of bytes read; the bytes go on the wire without another copy.
  virtual base::ErrnoOr<uint32_t> Read(const Tread& t, std::span<uint8_t> out);
  virtual base::ErrnoOr<Rwrite> Write(const Twrite& t);
  // May return more entries than fit in t.count; the server sends the
  // longest prefix that fits.
  virtual base::ErrnoOr<Rreaddir> Readdir(const Treaddir& t);
  virtual base::ErrnoOr<Rmkdir> Mkdir(const Tmkdir& t);
  virtual base::ErrnoOr<Rsymlink> Symlink(const Tsymlink& t);
  virtual base::ErrnoOr<Rmknod> Mknod(const Tmknod& t);
  virtual base::ErrnoOr<Rlink> Link(const Tlink& t);
  virtual base::ErrnoOr<Rrename> Rename(const Trename& t);
  virtual base::ErrnoOr<Rrenameat> Renameat(const Trenameat& t);
  virtual base::ErrnoOr<Runlinkat> Unlinkat(const Tunlinkat& t);
  virtual base::ErrnoOr<Rreadlink> Readlink(const Treadlink& t);
  virtual base::ErrnoOr<Rstatfs> Statfs(const Tstatfs& t);
  virtual base::ErrnoOr<Rfsync> Fsync(const Tfsync& t);
  virtual base::ErrnoOr<Rlock> Lock(const Tlock& t);
  virtual base::ErrnoOr<Rgetlock> GetLock(const Tgetlock& t);
  virtual base::ErrnoOr<Rxattrwalk> Xattrwalk(const Txattrwalk& t);
  virtual base::ErrnoOr<Rxattrcreate> Xattrcreate(const Txattrcreate& t);
  virtual base::ErrnoOr<Rclunk> Clunk(const Tclunk& t);
  virtual base::ErrnoOr<Rremove> Remove(const Tremove& t);

  // Extensions. Defaults: Walk then GetAttr (clunking newfid if GetAttr
  // fails); Lcreate then SetAttr(uid); Fsync then Clunk.
  virtual base::ErrnoOr<Rwalkgetattr> WalkGetAttr(const Twalkgetattr& t);
  virtual base::ErrnoOr<Rucreate> UCreate(const Tucreate& t);
  virtual base::ErrnoOr<Rfsyncclunk> FsyncClunk(const Tfsyncclunk& t);
  // Level 2. Default: for each prefix of the names, Walk into newfid,
  // GetAttr, and Clunk (but the whole walk's): correct for any handler,
  // though quadratic in the names; a native one stats as it walks.
  virtual base::ErrnoOr<Rwalkstat> WalkStat(const Twalkstat& t);

  // Whether requests of `type` may run on the thread reading the
  // connection rather than a worker: only for methods that return
  // promptly (bounded host calls, never waiting on another request or the
  // peer), since the next request is not read until they do. Default: no.
  virtual bool ServesInline(MsgType type) const {
    (void)type;
    return false;
  }

  // A new Tversion restarted the session: forget every fid.
  virtual void Reset() {}
};

class Server {
 public:
  struct Options {
    uint32_t max_msize = kDefaultMsize;
    // Worker threads running handler methods.
    int num_workers = 4;
    // Requests decoded but not yet started; the reader stops reading (and
    // so applies backpressure) beyond this.
    size_t max_queued = 64;
    // Highest extension level to accept; 0 speaks plain 9P2000.L only.
    int max_extension_level = kExtensionLevel;
    // Donate host fds on Rlopen (needs a transport that passes fds and the
    // extended dialect).
    bool donate_fds = false;
  };

  // `handler` is not owned and must outlive the server.
  Server(std::unique_ptr<Transport> transport, Handler* handler,
         Options options);
  Server(std::unique_ptr<Transport> transport, Handler* handler)
      : Server(std::move(transport), handler, Options()) {}
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Serves until the peer hangs up, a fatal protocol error, or Stop().
  // Returns why: ECONNRESET for an orderly hang-up, EPROTO for a protocol
  // violation, the transport's error otherwise. Waits for running handler
  // calls to return. Call at most once.
  base::Errno Serve();
  // Makes Serve return soon. Thread-safe.
  void Stop();

 private:
  struct Request {
    std::vector<uint8_t> buffer;  // Owns what msg's Payloads point into.
    Decoded decoded;
  };
  struct InFlight {
    bool running = false;         // A worker has it.
    bool replying = false;        // Its reply is being sent.
    std::vector<Tag> flush_tags;  // Rflush owed after this reply.
  };

  void WorkerLoop();
  void Process(Request& req);
  // Encodes and sends a reply (an encoding error such as EMSGSIZE becomes
  // Rlerror), attaching fd if >= 0.
  void Reply(Tag tag, const Message& msg, uint32_t msize, int fd = -1);
  void ReplyError(Tag tag, base::Errno e);
  void HandleVersion(Tag tag, const Tversion& t);
  void HandleFlush(Tag tag, const Tflush& t);

  const std::unique_ptr<Transport> transport_;
  Handler* const handler_;
  const Options options_;

  base::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool negotiated_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t msize_ ABSL_GUARDED_BY(mu_);
  int level_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::unique_ptr<Request>> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Tag, InFlight> inflight_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace p9

#endif  // P9_SERVER_H_
