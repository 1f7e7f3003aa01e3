// fsgofer::Handler: a p9::Handler that serves one host directory.
//
// Every host access is relative to a file descriptor: the export root is an
// O_PATH fd on DIR, and each fid holds an O_PATH|O_NOFOLLOW fd on the file it
// names, obtained by walking one component at a time with
// openat(parent_fd, name, O_PATH | O_NOFOLLOW). No host path string is ever
// resolved by the kernel from the host's root or cwd, so:
//
//   * A walk name that could climb or skip ("..", ".", "", anything holding
//     '/' or NUL) is refused with EINVAL before touching the host.
//   * A symlink in the tree is opened as the link itself (O_NOFOLLOW); its
//     fid can be read with Treadlink, but walking "through" it fails with
//     ENOTDIR because the link fd is not a directory, and Tlopen on it is
//     ELOOP. Symlinks are never followed on the host.
//   * Concurrent renames in the host tree cannot steer a walk outside DIR:
//     each step resolves exactly one component relative to the fd of the
//     previous step, which is pinned to an inode, not a path. A rename that
//     swaps a directory for a symlink between steps makes the next openat
//     return the symlink itself (O_NOFOLLOW), never its target, and a rename
//     of an already-opened directory moves the directory but not the walk's
//     position in it. Only a host process moving a directory out of DIR
//     could take a fid with it (within a private mount the export is a bind
//     mount, where rename(2) across it fails with EXDEV).
//   * Device nodes, fifos and sockets are never opened on the host: Tlopen
//     on them answers EACCES (devices and fifos, as on a nodev mount; the
//     sandbox implements fifos itself from the node) or ENXIO (sockets, as
//     open(2) answers). Their Tgetattr works from the O_PATH fd, which does
//     not open the file. Tmknod creates regular files, fifos and sockets
//     only; device nodes are refused with EPERM even when privileged.
//   * Reopening a fid for I/O goes through /proc/self/fd/N of its O_PATH fd
//     (a descriptor on /proc/self/fd taken before confinement), which names
//     the pinned inode exactly; it is done only for regular files and
//     directories (whose type was checked on the pinned inode).
//
// Readdir offsets are the host's getdents64 d_off cookies, so they stay
// valid across calls and across concurrent changes as far as the host
// filesystem keeps them. "." and ".." are not listed: walking them is
// refused, so a client synthesizes them (diodls -l, which stats every listed
// name, then lists cleanly), and nothing about DIR's parent leaks.
//
// Ownership in creates (gid, and uid with Tucreate) is applied best effort:
// a gofer without CAP_CHOWN keeps its own ids instead of failing.
//
// Locks are open-file-description locks (F_OFD_SETLK), so two fids (two
// sandboxed processes) conflict as two processes would; a blocking Tlock that
// would wait answers kLockStatusBlocked and the client retries.
//
// Read-only exports refuse every modifying request with EROFS (Tsetattr,
// Tlcreate, Tucreate, Twrite, Tmkdir, Tsymlink, Tmknod, Tlink, Trename,
// Trenameat, Tunlinkat, Tremove, Txattrcreate, and Tlopen for writing or
// with O_TRUNC).
//
// Xattrs: the user.* namespace passes through to regular files and
// directories (Txattrwalk reads the value or the filtered list into the new
// fid; Txattrcreate's value, written with Twrite, is stored on Tclunk, and
// size 0 removes it). Other namespaces are EOPNOTSUPP.
//
// One Handler per connection (it owns that connection's fids); several may
// share one root. Thread-safety: thread-safe, as p9::Server requires.
#ifndef RUNSC_FSGOFER_FSGOFER_H_
#define RUNSC_FSGOFER_FSGOFER_H_

#include <sys/stat.h>

#include <memory>
#include <string>

#include "base/errno.h"
#include "base/mutex.h"
#include "p9/fid_table.h"
#include "p9/server.h"
#include "p9/transport.h"

namespace fsgofer {

// A shared, immutable open directory or file descriptor.
using SharedFd = std::shared_ptr<const p9::FileDescriptor>;

struct Config {
  bool read_only = false;
  // The export's host path as given on the command line (absolute). An
  // attach name equal to it, or below it, selects DIR or that subdirectory
  // (the diod convention); a relative attach name is taken below DIR.
  std::string root_path;
};

// What every connection to one export shares: the root and /proc/self/fd.
class Export {
 public:
  // Opens `dir` (O_PATH|O_DIRECTORY) and /proc/self/fd. Use before
  // confinement.
  static base::ErrnoOr<std::shared_ptr<Export>> Open(const std::string& dir,
                                                     Config config);
  // Takes already-open descriptors; proc_self_fd may be invalid (then
  // reopening falls back to a name-based open checked against the inode).
  Export(p9::FileDescriptor root, p9::FileDescriptor proc_self_fd,
         Config config);

  int root_fd() const { return root_->get(); }
  const SharedFd& root() const { return root_; }
  int proc_self_fd() const { return proc_self_fd_.get(); }
  const Config& config() const { return config_; }
  dev_t root_dev() const { return root_dev_; }
  ino_t root_ino() const { return root_ino_; }

 private:
  SharedFd root_;
  p9::FileDescriptor proc_self_fd_;
  Config config_;
  dev_t root_dev_ = 0;
  ino_t root_ino_ = 0;
};

class Handler final : public p9::Handler {
 public:
  explicit Handler(std::shared_ptr<Export> exp);
  ~Handler() override;

  base::ErrnoOr<p9::Rauth> Auth(const p9::Tauth& t) override;
  base::ErrnoOr<p9::Rattach> Attach(const p9::Tattach& t) override;
  base::ErrnoOr<p9::Rwalk> Walk(const p9::Twalk& t) override;
  // Native: the walk fstats every element it opens anyway.
  base::ErrnoOr<p9::Rwalkstat> WalkStat(const p9::Twalkstat& t) override;
  base::ErrnoOr<p9::Rgetattr> GetAttr(const p9::Tgetattr& t) override;
  base::ErrnoOr<p9::Rsetattr> SetAttr(const p9::Tsetattr& t) override;
  base::ErrnoOr<p9::Rlopen> Lopen(const p9::Tlopen& t,
                                  p9::FileDescriptor* donate_fd) override;
  base::ErrnoOr<p9::Rlcreate> Lcreate(const p9::Tlcreate& t) override;
  base::ErrnoOr<p9::Rucreate> UCreate(const p9::Tucreate& t) override;
  base::ErrnoOr<uint32_t> Read(const p9::Tread& t,
                               std::span<uint8_t> out) override;
  base::ErrnoOr<p9::Rwrite> Write(const p9::Twrite& t) override;
  base::ErrnoOr<p9::Rreaddir> Readdir(const p9::Treaddir& t) override;
  base::ErrnoOr<p9::Rmkdir> Mkdir(const p9::Tmkdir& t) override;
  base::ErrnoOr<p9::Rsymlink> Symlink(const p9::Tsymlink& t) override;
  base::ErrnoOr<p9::Rmknod> Mknod(const p9::Tmknod& t) override;
  base::ErrnoOr<p9::Rlink> Link(const p9::Tlink& t) override;
  base::ErrnoOr<p9::Rrename> Rename(const p9::Trename& t) override;
  base::ErrnoOr<p9::Rrenameat> Renameat(const p9::Trenameat& t) override;
  base::ErrnoOr<p9::Runlinkat> Unlinkat(const p9::Tunlinkat& t) override;
  base::ErrnoOr<p9::Rreadlink> Readlink(const p9::Treadlink& t) override;
  base::ErrnoOr<p9::Rstatfs> Statfs(const p9::Tstatfs& t) override;
  base::ErrnoOr<p9::Rfsync> Fsync(const p9::Tfsync& t) override;
  base::ErrnoOr<p9::Rlock> Lock(const p9::Tlock& t) override;
  base::ErrnoOr<p9::Rgetlock> GetLock(const p9::Tgetlock& t) override;
  base::ErrnoOr<p9::Rxattrwalk> Xattrwalk(const p9::Txattrwalk& t) override;
  base::ErrnoOr<p9::Rxattrcreate> Xattrcreate(
      const p9::Txattrcreate& t) override;
  base::ErrnoOr<p9::Rclunk> Clunk(const p9::Tclunk& t) override;
  base::ErrnoOr<p9::Rremove> Remove(const p9::Tremove& t) override;
  void Reset() override;
  // Walks, attributes, opens, directory reads and clunks: a few host
  // calls on fds we hold, none of which waits (a fifo is never opened).
  bool ServesInline(p9::MsgType type) const override;

  // Fids currently bound (for tests).
  size_t fid_count() const { return fids_.size(); }

 private:
  struct FidState;

  bool ro() const { return exp_->config().read_only; }
  // Twalk; if stats is non-null, also fid's stat then each element's.
  base::ErrnoOr<p9::Rwalk> WalkAndStat(const p9::Twalk& t,
                                       std::vector<struct stat>* stats);
  base::ErrnoOr<std::shared_ptr<FidState>> DirFid(p9::Fid fid) const;
  // Opens a new file descriptor with open(2) `flags` on fid's inode.
  base::ErrnoOr<p9::FileDescriptor> Reopen(const FidState& st, int flags);
  base::ErrnoOr<std::shared_ptr<FidState>> Create(p9::Fid fid,
                                                  const std::string& name,
                                                  uint32_t flags, uint32_t mode,
                                                  uint32_t uid, uint32_t gid,
                                                  p9::Qid* qid);

  const std::shared_ptr<Export> exp_;
  p9::FidTable<FidState> fids_;
};

// A validated single path component: not empty, ".", "..", and free of '/'
// and NUL.
bool IsSafeName(std::string_view name);

}  // namespace fsgofer

#endif  // RUNSC_FSGOFER_FSGOFER_H_
