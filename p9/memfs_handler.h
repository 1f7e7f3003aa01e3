// p9::testing::MemFsHandler: a small in-memory file tree served as a
// p9::Handler, for tests of the client and server.
//
// Supports attach, walk, getattr/setattr, lopen/lcreate, read/write,
// readdir, mkdir, symlink/readlink, unlinkat, renameat, statfs, fsync,
// clunk and lock (always granted). Test hooks: reads of any file named
// "slow" block until OpenGate() (counting blocked readers), and Lopen
// donates a memfd holding the file's contents when asked.
//
// Thread-safety: thread-safe (one mutex over the whole tree).
#ifndef P9_MEMFS_HANDLER_H_
#define P9_MEMFS_HANDLER_H_

#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "p9/fid_table.h"
#include "p9/server.h"

namespace p9::testing {

class MemFsHandler : public Handler {
 public:
  MemFsHandler();

  base::ErrnoOr<Rattach> Attach(const Tattach& t) override;
  base::ErrnoOr<Rwalk> Walk(const Twalk& t) override;
  base::ErrnoOr<Rgetattr> GetAttr(const Tgetattr& t) override;
  base::ErrnoOr<Rsetattr> SetAttr(const Tsetattr& t) override;
  base::ErrnoOr<Rlopen> Lopen(const Tlopen& t,
                              FileDescriptor* donate_fd) override;
  base::ErrnoOr<Rlcreate> Lcreate(const Tlcreate& t) override;
  base::ErrnoOr<uint32_t> Read(const Tread& t, std::span<uint8_t> out) override;
  base::ErrnoOr<Rwrite> Write(const Twrite& t) override;
  base::ErrnoOr<Rreaddir> Readdir(const Treaddir& t) override;
  base::ErrnoOr<Rmkdir> Mkdir(const Tmkdir& t) override;
  base::ErrnoOr<Rsymlink> Symlink(const Tsymlink& t) override;
  base::ErrnoOr<Rreadlink> Readlink(const Treadlink& t) override;
  base::ErrnoOr<Runlinkat> Unlinkat(const Tunlinkat& t) override;
  base::ErrnoOr<Rrenameat> Renameat(const Trenameat& t) override;
  base::ErrnoOr<Rstatfs> Statfs(const Tstatfs& t) override;
  base::ErrnoOr<Rfsync> Fsync(const Tfsync& t) override;
  base::ErrnoOr<Rlock> Lock(const Tlock& t) override;
  base::ErrnoOr<Rclunk> Clunk(const Tclunk& t) override;
  void Reset() override { fids_.Clear(); }

  // Lets blocked "slow" reads finish (and later ones not block).
  void OpenGate();
  // Waits until n readers are blocked on the gate.
  void AwaitBlockedReaders(int n);
  size_t fid_count() const { return fids_.size(); }
  int fsyncs() const;

 private:
  struct Node {
    uint64_t ino = 0;
    uint32_t mode = 0;  // S_IF* | permissions.
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string data;  // File contents or symlink target.
    std::map<std::string, std::shared_ptr<Node>> children;
    bool is_dir() const;
  };
  struct FidState {
    std::shared_ptr<Node> node;
    bool open = false;
  };

  Qid QidOf(const Node& n) const;
  std::shared_ptr<Node> NewNode(uint32_t mode, uint32_t uid, uint32_t gid)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  base::ErrnoOr<std::shared_ptr<Node>> DirOf(Fid fid) const;

  FidTable<FidState> fids_;
  mutable base::Mutex mu_;
  std::shared_ptr<Node> root_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ino_ ABSL_GUARDED_BY(mu_) = 1;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = false;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
  int fsyncs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace p9::testing

#endif  // P9_MEMFS_HANDLER_H_
