// p9::Client: a 9P2000.L client multiplexing many requests on one transport.
//
// Provides Client (typed 9P2000.L operations plus the "9P2000.L.Gofer.1"
// extensions, falling back to plain 9P2000.L sequences when the server does
// not speak them), Canceller (cancels one in-flight call with Tflush) and
// CallOptions.
//
// Design: each call allocates a tag, registers a waiter, sends its message
// (Send is serialised by the transport) and sleeps on the client mutex. One
// reader thread receives replies, decodes them and completes the waiter
// registered under the reply's tag. Cancellation or a per-call timeout sends
// Tflush(oldtag) and waits for Rflush; a reply that beats the Rflush is
// honoured (the operation happened). If the Rflush does not come within
// Options::flush_timeout the connection is declared hung and killed.
//
// Errors: every Rlerror becomes its errno. A malformed reply, or one of the
// wrong type for its tag, is Options::protocol_errno (EPROTO) for that call. A
// reply for a tag nobody is waiting on, an unreadable frame, EOF or any
// transport error kills the connection: all waiters and every later call get
// EIO.
//
// Fids: Attach/Walk/WalkGetAttr/Xattrwalk allocate the new fid and return
// it; Clunk/Remove/FsyncClunk release it. AllocateFid/ReleaseFid are there
// for callers building raw requests for Rpc().
//
// Thread-safety: thread-safe; any number of threads may call concurrently.
// The destructor must not race with calls in flight.
#ifndef P9_CLIENT_H_
#define P9_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "p9/messages.h"
#include "p9/transport.h"

namespace p9 {

// Cancels the call it is passed to (via CallOptions), from any thread.
// Cancelling before the call starts makes the call fail with EINTR without
// waiting for a reply. One Canceller serves one call at a time.
class Canceller {
 public:
  Canceller() = default;
  Canceller(const Canceller&) = delete;
  Canceller& operator=(const Canceller&) = delete;

  // Idempotent; thread-safe.
  void Cancel();
  bool cancelled() const;

 private:
  friend class Client;
  // Arranges for fn to run on Cancel(). Returns false (and does not keep
  // fn) if already cancelled.
  bool Register(std::function<void()> fn);
  // After this returns, fn is not running and will not run.
  void Unregister();

  mutable base::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> fn_ ABSL_GUARDED_BY(mu_);
};

struct CallOptions {
  Canceller* canceller = nullptr;
  // Overrides Client::Options::call_timeout when set.
  absl::Duration timeout = absl::ZeroDuration();
};

// A whole reply: the receive buffer, the message decoded from it (Payload
// fields point into `buffer`) and any host fd that came with it.
struct Response {
  std::vector<uint8_t> buffer;
  Message msg;
  FileDescriptor fd;
};

struct AttachResult {
  Fid fid = kNoFid;
  Qid qid;
};
struct WalkResult {
  Fid newfid = kNoFid;
  std::vector<Qid> qids;
};
struct WalkGetAttrResult {
  Fid newfid = kNoFid;
  std::vector<Qid> qids;
  Attr attr;
};
struct WalkStatResult {
  // Bound only if every name was walked (attrs.size() == names.size()).
  Fid newfid = kNoFid;
  // The starting fid's own attributes.
  Attr dir;
  // One per element walked, in order; each attr's qid is the element's.
  std::vector<Attr> attrs;
};
struct OpenResult {
  Qid qid;
  uint32_t iounit = 0;
  // A host fd for the opened file if the server donated one (opt-in, unix
  // sockets with fd passing and the extended dialect only).
  FileDescriptor host_fd;
};
struct XattrWalkResult {
  Fid newfid = kNoFid;
  uint64_t size = 0;
};

class Client {
 public:
  struct Options {
    // Proposed msize; the server may lower it.
    uint32_t msize = kDefaultMsize;
    // Propose "9P2000.L.Gofer.<kExtensionLevel>" first (falling back to
    // plain 9P2000.L if the server declines).
    bool use_extensions = true;
    // Default per-call timeout, after which the call is flushed and fails
    // with ETIMEDOUT. Infinite by default, as with any 9P client.
    absl::Duration call_timeout = absl::InfiniteDuration();
    // How long to wait for Rflush before declaring the connection hung.
    absl::Duration flush_timeout = absl::Seconds(10);
    // Calls in flight at once (further callers wait for a tag).
    int max_inflight = 1024;
    // What a call gets for a reply that breaks the protocol (wrong type,
    // malformed, an errno Linux does not define, more data than asked).
    // A filesystem client wants EIO here, as applications expect.
    int protocol_errno = EPROTO;
  };

  // Starts a client on `transport` and negotiates the version.
  static base::ErrnoOr<std::unique_ptr<Client>> Connect(
      std::unique_ptr<Transport> transport, Options options);
  static base::ErrnoOr<std::unique_ptr<Client>> Connect(
      std::unique_ptr<Transport> transport) {
    return Connect(std::move(transport), Options());
  }
  // Starts a client without negotiating; call Version() before anything
  // else.
  static std::unique_ptr<Client> Create(std::unique_ptr<Transport> transport,
                                        Options options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // Shuts the transport down and joins the reader thread.
  ~Client();

  // Negotiates version and msize (Tversion/Rversion), with fallback from the
  // extended dialect to plain 9P2000.L. Must not race with other calls.
  base::Errno Version();
  uint32_t msize() const { return msize_.load(); }
  // 0 for plain 9P2000.L, else the negotiated extension level.
  int extension_level() const { return level_.load(); }
  std::string version() const;
  // Largest read/write payload one message can carry.
  uint32_t max_io_size() const { return msize() - kIoHeaderReserve; }
  // True once the connection has died.
  bool dead() const;
  // Kills the connection: every waiter and later call gets EIO.
  void Close();

  Fid AllocateFid();
  void ReleaseFid(Fid fid);

  // Sends `request` and waits for its reply. Rlerror becomes its errno; a
  // reply of the wrong type is Options::protocol_errno.
  base::ErrnoOr<Response> Rpc(const Message& request,
                              const CallOptions& opts = {});
  base::Errno ProtocolError() const {
    return base::Errno(options_.protocol_errno);
  }

  // --- Typed operations. ---
  base::ErrnoOr<Qid> Auth(Fid afid, const std::string& uname,
                          const std::string& aname, uint32_t n_uname,
                          const CallOptions& opts = {});
  base::ErrnoOr<AttachResult> Attach(const std::string& uname,
                                     const std::string& aname, uint32_t n_uname,
                                     Fid afid = kNoFid,
                                     const CallOptions& opts = {});
  // Walks `names` from fid into a new fid. More than kMaxWalkNames names
  // are walked in several messages. A walk that stops short is ENOENT (and
  // leaves no new fid).
  base::ErrnoOr<WalkResult> Walk(Fid fid, const std::vector<std::string>& names,
                                 const CallOptions& opts = {});
  // Walk + getattr(kGetAttrAll) of the result, in one round trip with the
  // extension.
  base::ErrnoOr<WalkGetAttrResult> WalkGetAttr(
      Fid fid, const std::vector<std::string>& names,
      const CallOptions& opts = {});
  // Walks up to kMaxWalkNames names from fid and returns the attributes
  // of fid and of every element walked: one Twalkstat at extension level
  // 2, else a Tgetattr and a Twalkgetattr (or Twalk + Tgetattr) per
  // element. A walk that stops
  // short returns what it reached with no new fid; one that fails at the
  // first name is that error. EINVAL for more than kMaxWalkNames names.
  base::ErrnoOr<WalkStatResult> WalkStat(Fid fid,
                                         const std::vector<std::string>& names,
                                         const CallOptions& opts = {});
  base::ErrnoOr<Attr> GetAttr(Fid fid, uint64_t mask = kGetAttrAll,
                              const CallOptions& opts = {});
  base::Errno SetAttr(Fid fid, const p9::SetAttr& attr,
                      const CallOptions& opts = {});
  base::ErrnoOr<OpenResult> Lopen(Fid fid, uint32_t flags,
                                  const CallOptions& opts = {});
  // Creates and opens `name` in directory fid; fid then is the new file.
  base::ErrnoOr<OpenResult> Lcreate(Fid fid, const std::string& name,
                                    uint32_t flags, uint32_t mode, uint32_t gid,
                                    const CallOptions& opts = {});
  // Lcreate owned by uid: Tucreate with the extension, else Tlcreate +
  // Tsetattr(uid, gid).
  base::ErrnoOr<OpenResult> UCreate(Fid fid, const std::string& name,
                                    uint32_t flags, uint32_t mode, uint32_t uid,
                                    uint32_t gid, const CallOptions& opts = {});
  // Reads up to min(buf.size(), max_io_size()) bytes; returns the count.
  base::ErrnoOr<size_t> Read(Fid fid, uint64_t offset, std::span<uint8_t> buf,
                             const CallOptions& opts = {});
  // Writes up to min(data.size(), max_io_size()) bytes without copying them;
  // returns the count the server wrote.
  base::ErrnoOr<size_t> Write(Fid fid, uint64_t offset,
                              std::span<const uint8_t> data,
                              const CallOptions& opts = {});
  // count 0 means as much as fits in msize.
  base::ErrnoOr<std::vector<Dirent>> Readdir(Fid fid, uint64_t offset,
                                             uint32_t count = 0,
                                             const CallOptions& opts = {});
  base::ErrnoOr<Qid> Mkdir(Fid dfid, const std::string& name, uint32_t mode,
                           uint32_t gid, const CallOptions& opts = {});
  base::ErrnoOr<Qid> Symlink(Fid dfid, const std::string& name,
                             const std::string& target, uint32_t gid,
                             const CallOptions& opts = {});
  base::ErrnoOr<Qid> Mknod(Fid dfid, const std::string& name, uint32_t mode,
                           uint32_t major, uint32_t minor, uint32_t gid,
                           const CallOptions& opts = {});
  base::Errno Link(Fid dfid, Fid fid, const std::string& name,
                   const CallOptions& opts = {});
  base::Errno Rename(Fid fid, Fid dfid, const std::string& name,
                     const CallOptions& opts = {});
  // Falls back to Twalk + Trename + Tclunk on servers without Trenameat.
  base::Errno Renameat(Fid olddirfid, const std::string& oldname, Fid newdirfid,
                       const std::string& newname,
                       const CallOptions& opts = {});
  // Falls back to Twalk + Tremove on servers without Tunlinkat.
  base::Errno Unlinkat(Fid dirfid, const std::string& name, uint32_t flags,
                       const CallOptions& opts = {});
  base::ErrnoOr<std::string> Readlink(Fid fid, const CallOptions& opts = {});
  base::ErrnoOr<StatFs> Statfs(Fid fid, const CallOptions& opts = {});
  base::Errno Fsync(Fid fid, bool datasync = false,
                    const CallOptions& opts = {});
  // Returns the lock status (kLockStatus*).
  base::ErrnoOr<uint8_t> Lock(const Tlock& lock, const CallOptions& opts = {});
  base::ErrnoOr<Rgetlock> GetLock(const Tgetlock& getlock,
                                  const CallOptions& opts = {});
  base::ErrnoOr<XattrWalkResult> Xattrwalk(Fid fid, const std::string& name,
                                           const CallOptions& opts = {});
  base::Errno Xattrcreate(Fid fid, const std::string& name, uint64_t size,
                          uint32_t flags, const CallOptions& opts = {});
  // Releases fid (locally too, unless the call was interrupted before the
  // server answered).
  base::Errno Clunk(Fid fid, const CallOptions& opts = {});
  base::Errno Remove(Fid fid, const CallOptions& opts = {});
  // fsync + clunk: Tfsyncclunk with the extension, else Tfsync then Tclunk.
  base::Errno FsyncClunk(Fid fid, bool datasync = false,
                         const CallOptions& opts = {});
  // Raw Tflush of a tag: waits for Rflush.
  base::Errno Flush(Tag oldtag, const CallOptions& opts = {});

 private:
  struct Pending {
    bool done = false;
    bool cancel = false;
    base::Errno err;
    Response resp;
  };

  Client(std::unique_ptr<Transport> transport, Options options);

  template <typename R>
  base::ErrnoOr<R> Call(const Message& request, const CallOptions& opts);

  void ReaderLoop();
  // Marks the connection dead and completes every waiter with EIO.
  void FailAllLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  base::Errno SendRequest(Tag tag, const Message& request);
  // Allocates a tag and registers p under it (waiting for a free tag).
  base::ErrnoOr<Tag> RegisterLocked(Pending* p, bool version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnregisterLocked(Tag tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Flushes `tag` (whose waiter is p) after a cancel or timeout.
  void FlushLocked(Tag tag, Pending* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  base::ErrnoOr<Response> Finish(Pending* p, MsgType request_type);
  // Releases fid unless err means the server may not have seen the call.
  void ReleaseFidAfter(Fid fid, base::Errno err);

  const std::unique_ptr<Transport> transport_;
  const Options options_;
  std::atomic<uint32_t> msize_;
  std::atomic<uint32_t> recv_limit_;
  std::atomic<int> level_{0};
  // The server answered Trenameat with EOPNOTSUPP/ENOSYS.
  std::atomic<bool> no_renameat_{false};
  std::atomic<bool> no_unlinkat_{false};

  mutable base::Mutex mu_;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
  std::string version_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Tag, Pending*> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Tag> free_tags_ ABSL_GUARDED_BY(mu_);
  uint32_t next_tag_ ABSL_GUARDED_BY(mu_) = 0;
  int inflight_ ABSL_GUARDED_BY(mu_) = 0;

  base::Mutex fid_mu_;
  std::vector<Fid> free_fids_ ABSL_GUARDED_BY(fid_mu_);
  Fid next_fid_ ABSL_GUARDED_BY(fid_mu_) = 1;

  std::thread reader_;
};

}  // namespace p9

#endif  // P9_CLIENT_H_
