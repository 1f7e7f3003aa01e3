#include "runsc/fsgofer/fsgofer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fsgofer {
namespace {

using base::Errno;
using base::ErrnoOr;
using p9::FileDescriptor;

Errno LastErrno() { return Errno(errno != 0 ? errno : EIO); }

// open(2) flags a client may pass to Tlopen/Tlcreate. O_CREAT, O_EXCL,
// O_NOCTTY, O_PATH, O_TMPFILE and friends are ours to decide.
constexpr int kClientOpenFlags = O_ACCMODE | O_APPEND | O_TRUNC | O_DIRECT |
                                 O_DSYNC | O_SYNC | O_NOATIME | O_LARGEFILE |
                                 O_DIRECTORY;

uint8_t QidTypeOf(mode_t mode) {
  if (S_ISDIR(mode)) return p9::kQidTypeDir;
  if (S_ISLNK(mode)) return p9::kQidTypeSymlink;
  return p9::kQidTypeFile;
}

p9::Qid QidOf(const struct stat& st) {
  p9::Qid q;
  q.type = QidTypeOf(st.st_mode);
  q.path = st.st_ino;
  return q;
}

// What Rgetattr (and each Rwalkstat element) says about a host file.
p9::Attr AttrOf(const struct stat& s) {
  p9::Attr a;
  a.valid = p9::kGetAttrBasic;
  a.qid = QidOf(s);
  a.mode = s.st_mode;
  a.uid = s.st_uid;
  a.gid = s.st_gid;
  a.nlink = s.st_nlink;
  a.rdev = s.st_rdev;
  a.size = s.st_size;
  a.blksize = s.st_blksize;
  a.blocks = s.st_blocks;
  a.atime_sec = s.st_atim.tv_sec;
  a.atime_nsec = s.st_atim.tv_nsec;
  a.mtime_sec = s.st_mtim.tv_sec;
  a.mtime_nsec = s.st_mtim.tv_nsec;
  a.ctime_sec = s.st_ctim.tv_sec;
  a.ctime_nsec = s.st_ctim.tv_nsec;
  return a;
}

ErrnoOr<struct stat> FstatFd(int fd) {
  struct stat st;
  if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return LastErrno();
  }
  return st;
}

ErrnoOr<struct stat> StatAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return LastErrno();
  }
  return st;
}

bool IsWriteOpen(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0;
}

// Best effort: a gofer without CAP_CHOWN keeps its own ids.
void ChownBestEffort(int dirfd, const char* name, int flags, uint32_t uid,
                     uint32_t gid) {
  uid_t u = uid == p9::kNoUid ? static_cast<uid_t>(-1) : uid;
  gid_t g = gid == p9::kNoGid ? static_cast<gid_t>(-1) : gid;
  struct stat st;
  if (::fstatat(dirfd, name, &st, flags | AT_SYMLINK_NOFOLLOW) != 0) return;
  // Only what differs: chown(2) clears set-user/group-ID bits even when
  // nothing changes.
  if (u == st.st_uid) u = static_cast<uid_t>(-1);
  if (g == st.st_gid) g = static_cast<gid_t>(-1);
  if (u == static_cast<uid_t>(-1) && g == static_cast<gid_t>(-1)) return;
  if (::fchownat(dirfd, name, u, g, flags | AT_SYMLINK_NOFOLLOW) != 0) return;
  // The creator asked for those bits (the client decided the mode, as
  // Linux does at creation); a file we hold open gets them back.
  const mode_t special = st.st_mode & (S_ISUID | S_ISGID);
  if (special != 0 && S_ISREG(st.st_mode) && name[0] == '\0') {
    (void)::fchmod(dirfd, st.st_mode & 07777);
  }
}

}  // namespace

bool IsSafeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Export.

Export::Export(FileDescriptor root, FileDescriptor proc_self_fd, Config config)
    : root_(std::make_shared<const FileDescriptor>(std::move(root))),
      proc_self_fd_(std::move(proc_self_fd)),
      config_(std::move(config)) {
  ErrnoOr<struct stat> st = FstatFd(root_->get());
  if (st.ok()) {
    root_dev_ = st->st_dev;
    root_ino_ = st->st_ino;
  }
}

ErrnoOr<std::shared_ptr<Export>> Export::Open(const std::string& dir,
                                              Config config) {
  FileDescriptor root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return LastErrno();
  FileDescriptor proc(
      ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (config.root_path.empty()) config.root_path = dir;
  return std::make_shared<Export>(std::move(root), std::move(proc),
                                  std::move(config));
}

// ---------------------------------------------------------------------------
// Per-fid state.

struct Handler::FidState {
  // O_PATH|O_NOFOLLOW on the file (or, after a create, a dup of the open
  // fd). Immutable.
  SharedFd fd;
  mode_t type = 0;  // S_IFMT bits of the inode fd names.
  bool is_root = false;

  base::Mutex mu;
  // Where the file was reached from, for Trename/Tremove/Tlink; null for
  // the attach root. Updated by Trename.
  SharedFd parent ABSL_GUARDED_BY(mu);
  std::string name ABSL_GUARDED_BY(mu);
  // Set by Tlopen/Tlcreate.
  FileDescriptor open_fd ABSL_GUARDED_BY(mu);
  bool opened ABSL_GUARDED_BY(mu) = false;
  // Serialises the lseek+getdents64 pair of Treaddir.
  base::Mutex dir_mu;

  // An xattr fid (Txattrwalk's newfid, or a fid after Txattrcreate): reads
  // come from `xattr_data`, writes fill it and Tclunk stores it.
  bool is_xattr = false;
  bool xattr_writing = false;
  std::string xattr_name;
  uint64_t xattr_size = 0;
  int xattr_flags = 0;
  p9::FileDescriptor xattr_fd;  // Regular file or directory, O_RDONLY.
  std::vector<uint8_t> xattr_data ABSL_GUARDED_BY(mu);

  bool is_dir() const { return S_ISDIR(type); }
  int open_fd_get() {
    base::MutexLock l(&mu);
    return opened ? open_fd.get() : -1;
  }
};

Handler::Handler(std::shared_ptr<Export> exp) : exp_(std::move(exp)) {}
Handler::~Handler() = default;

void Handler::Reset() { fids_.Clear(); }

bool Handler::ServesInline(p9::MsgType type) const {
  switch (type) {
    case p9::MsgType::kTwalk:
    case p9::MsgType::kTwalkstat:
    case p9::MsgType::kTwalkgetattr:
    case p9::MsgType::kTgetattr:
    case p9::MsgType::kTlopen:
    case p9::MsgType::kTreaddir:
    case p9::MsgType::kTreadlink:
    case p9::MsgType::kTstatfs:
    case p9::MsgType::kTclunk:
      return true;
    default:
      return false;
  }
}

ErrnoOr<std::shared_ptr<Handler::FidState>> Handler::DirFid(p9::Fid fid) const {
  ASSIGN_OR_RETURN(auto st, fids_.Get(fid));
  if (!st->is_dir()) return Errno(ENOTDIR);
  return st;
}

ErrnoOr<FileDescriptor> Handler::Reopen(const FidState& st, int flags) {
  // Only regular files and directories are ever opened; the type was read
  // from the pinned inode, so this is not a check racing a rename.
  if (!S_ISREG(st.type) && !S_ISDIR(st.type)) return Errno(EACCES);
  flags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_PATH)) | O_CLOEXEC;
  if (exp_->proc_self_fd() >= 0) {
    // The magic link names the fid's inode itself, whatever its path now.
    std::string n = std::to_string(st.fd->get());
    FileDescriptor fd(::openat(exp_->proc_self_fd(), n.c_str(), flags));
    if (!fd.valid()) return LastErrno();
    return fd;
  }
  // No /proc: reopen by name, refusing anything that is not the same inode
  // (O_NOFOLLOW, O_NONBLOCK so that a fifo swapped in cannot block us).
  SharedFd parent;
  std::string name;
  {
    auto& mst = const_cast<FidState&>(st);
    base::MutexLock l(&mst.mu);
    parent = mst.parent;
    name = mst.name;
  }
  if (parent == nullptr) {
    // The root: a directory can be reopened as "." of itself.
    FileDescriptor fd(::openat(st.fd->get(), ".", flags | O_DIRECTORY));
    if (!fd.valid()) return LastErrno();
    return fd;
  }
  ASSIGN_OR_RETURN(struct stat want, FstatFd(st.fd->get()));
  ASSIGN_OR_RETURN(struct stat now, StatAt(parent->get(), name));
  if (now.st_dev != want.st_dev || now.st_ino != want.st_ino) {
    return Errno(ESTALE);
  }
  FileDescriptor fd(::openat(parent->get(), name.c_str(),
                             (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return LastErrno();
  ASSIGN_OR_RETURN(struct stat got, FstatFd(fd.get()));
  if (got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
    return Errno(ESTALE);
  }
  if ((flags & O_NONBLOCK) == 0) {
    int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  }
  if ((flags & O_TRUNC) && S_ISREG(got.st_mode) &&
      ::ftruncate(fd.get(), 0) != 0) {
    return LastErrno();
  }
  return fd;
}

// ---------------------------------------------------------------------------
// Session.

ErrnoOr<p9::Rauth> Handler::Auth(const p9::Tauth&) {
  // No authentication: attach with afid = NOFID. ENOENT is how 9P2000.L
  // servers say "not required" (diod's clients proceed to Tattach on it).
  return Errno(ENOENT);
}

ErrnoOr<p9::Rattach> Handler::Attach(const p9::Tattach& t) {
  if (t.afid != p9::kNoFid) return Errno(EINVAL);
  // The attach name: "", "/", the export's own path, a path below it, or
  // a relative path below DIR; walked one safe component at a time.
  std::string_view rest = t.aname;
  const std::string& rp = exp_->config().root_path;
  if (!rp.empty() && rp != "/" && rest.substr(0, rp.size()) == rp &&
      (rest.size() == rp.size() || rest[rp.size()] == '/')) {
    rest.remove_prefix(rp.size());
  }
  SharedFd cur = exp_->root();
  SharedFd parent;
  std::string last;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view comp = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view()
                                           : rest.substr(slash + 1);
    if (comp.empty()) continue;
    if (!IsSafeName(comp)) return Errno(EINVAL);
    std::string name(comp);
    FileDescriptor next(
        ::openat(cur->get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return LastErrno();
    ASSIGN_OR_RETURN(struct stat st, FstatFd(next.get()));
    if (!S_ISDIR(st.st_mode)) return Errno(ENOTDIR);
    parent = cur;
    last = name;
    cur = std::make_shared<const FileDescriptor>(std::move(next));
  }
  ASSIGN_OR_RETURN(struct stat st, FstatFd(cur->get()));
  auto fs = std::make_shared<FidState>();
  fs->fd = cur;
  fs->type = st.st_mode & S_IFMT;
  // The attach point is the client's root: it cannot be renamed or removed
  // through 9P, whether or not it is DIR itself.
  fs->is_root = true;
  RETURN_IF_ERRNO(fids_.Insert(t.fid, fs));
  return p9::Rattach{QidOf(st)};
}

ErrnoOr<p9::Rwalk> Handler::Walk(const p9::Twalk& t) {
  return WalkAndStat(t, nullptr);
}

ErrnoOr<p9::Rwalkstat> Handler::WalkStat(const p9::Twalkstat& t) {
  if (t.newfid == t.fid && !t.names.empty()) return Errno(EINVAL);
  std::vector<struct stat> stats;  // fid's, then each element's
  ASSIGN_OR_RETURN(p9::Rwalk w,
                   WalkAndStat(p9::Twalk{t.fid, t.newfid, t.names}, &stats));
  p9::Rwalkstat r;
  r.dir = AttrOf(stats.at(0));
  r.attrs.reserve(stats.size() - 1);
  for (size_t i = 1; i < stats.size(); ++i) r.attrs.push_back(AttrOf(stats[i]));
  return r;
}

ErrnoOr<p9::Rwalk> Handler::WalkAndStat(const p9::Twalk& t,
                                        std::vector<struct stat>* stats) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (t.newfid != t.fid) {
    // Fail fast on a clashing newfid (Insert re-checks at the end).
    if (fids_.Get(t.newfid).ok()) return Errno(EBADF);
  }
  for (const auto& name : t.names) {
    if (!IsSafeName(name)) return Errno(EINVAL);
  }
  p9::Rwalk r;
  SharedFd cur = st->fd;
  mode_t type = st->type;
  SharedFd parent;
  std::string last;
  bool is_root = st->is_root;
  {
    base::MutexLock l(&st->mu);
    parent = st->parent;
    last = st->name;
  }
  if (stats != nullptr) {
    ASSIGN_OR_RETURN(struct stat s0, FstatFd(cur->get()));
    stats->push_back(s0);
  }
  for (const auto& name : t.names) {
    // One component, relative to the fd of the previous step, never
    // following a symlink: what the walk reaches is decided by inodes we
    // hold, not by any path a concurrent rename could change.
    Errno err;
    if (!S_ISDIR(type)) {
      err = Errno(ENOTDIR);
    } else {
      FileDescriptor next(
          ::openat(cur->get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) {
        err = LastErrno();
      } else {
        ErrnoOr<struct stat> s = FstatFd(next.get());
        if (!s.ok()) {
          err = s.error();
        } else {
          parent = cur;
          last = name;
          cur = std::make_shared<const FileDescriptor>(std::move(next));
          type = s->st_mode & S_IFMT;
          is_root = false;
          r.qids.push_back(QidOf(*s));
          if (stats != nullptr) stats->push_back(*s);
          continue;
        }
      }
    }
    if (r.qids.empty()) return err;
    return r;  // Partial walk: newfid is not bound.
  }
  auto ns = std::make_shared<FidState>();
  if (t.names.empty()) {
    // A clone shares the pinned fd.
    ns->fd = st->fd;
  } else {
    ns->fd = cur;
  }
  ns->type = type;
  ns->is_root = is_root;
  {
    base::MutexLock l(&ns->mu);
    ns->parent = parent;
    ns->name = last;
  }
  if (t.newfid == t.fid) {
    fids_.Replace(t.newfid, ns);
  } else {
    RETURN_IF_ERRNO(fids_.Insert(t.newfid, ns));
  }
  return r;
}

ErrnoOr<p9::Rclunk> Handler::Clunk(const p9::Tclunk& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Remove(t.fid));
  if (st->is_xattr && st->xattr_writing) {
    // Txattrcreate's value is stored when its fid is clunked; a zero size
    // removes the attribute (how Linux's 9p client sends removexattr).
    base::MutexLock l(&st->mu);
    int rc = st->xattr_size == 0
                 ? ::fremovexattr(st->xattr_fd.get(), st->xattr_name.c_str())
                 : ::fsetxattr(st->xattr_fd.get(), st->xattr_name.c_str(),
                               st->xattr_data.data(), st->xattr_data.size(),
                               st->xattr_flags);
    if (rc != 0) return LastErrno();
  }
  return p9::Rclunk{};
}

ErrnoOr<p9::Rremove> Handler::Remove(const p9::Tremove& t) {
  // Tremove clunks the fid whatever the outcome.
  ASSIGN_OR_RETURN(auto st, fids_.Remove(t.fid));
  if (ro()) return Errno(EROFS);
  if (st->is_root) return Errno(EBUSY);
  SharedFd parent;
  std::string name;
  {
    base::MutexLock l(&st->mu);
    parent = st->parent;
    name = st->name;
  }
  if (parent == nullptr) return Errno(EBUSY);
  if (::unlinkat(parent->get(), name.c_str(),
                 st->is_dir() ? AT_REMOVEDIR : 0) != 0) {
    return LastErrno();
  }
  return p9::Rremove{};
}

// ---------------------------------------------------------------------------
// Attributes.

ErrnoOr<p9::Rgetattr> Handler::GetAttr(const p9::Tgetattr& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  ASSIGN_OR_RETURN(struct stat s, FstatFd(st->fd->get()));
  return p9::Rgetattr{AttrOf(s)};
}

ErrnoOr<p9::Rsetattr> Handler::SetAttr(const p9::Tsetattr& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (ro()) return Errno(EROFS);
  const p9::SetAttr& a = t.attr;
  const int fd = st->fd->get();
  if (a.valid & p9::kSetAttrSize) {
    if (st->is_dir()) return Errno(EISDIR);
    if (!S_ISREG(st->type)) return Errno(EINVAL);
    int ofd = st->open_fd_get();
    ErrnoOr<FileDescriptor> tmp = Errno(EBADF);
    if (ofd < 0 || (::fcntl(ofd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
      tmp = Reopen(*st, O_WRONLY);
      if (!tmp.ok()) return tmp.error();
      ofd = tmp->get();
    }
    if (::ftruncate(ofd, static_cast<off_t>(a.size)) != 0) return LastErrno();
  }
  if (a.valid & p9::kSetAttrMode) {
    if (S_ISLNK(st->type)) return Errno(EOPNOTSUPP);
      // fchmodat2(AT_EMPTY_PATH) changes the pinned inode (Linux >= 6.6);
      // older kernels: fchmod on a reopened fd.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
    if (::syscall(SYS_fchmodat2, fd, "", a.mode & 07777, AT_EMPTY_PATH) != 0) {
      if (errno != ENOSYS && errno != EINVAL) return LastErrno();
      ASSIGN_OR_RETURN(FileDescriptor o, Reopen(*st, O_RDONLY | O_NONBLOCK));
      if (::fchmod(o.get(), a.mode & 07777) != 0) return LastErrno();
    }
  }
  if (a.valid & (p9::kSetAttrUid | p9::kSetAttrGid)) {
    uid_t u = (a.valid & p9::kSetAttrUid) ? a.uid : static_cast<uid_t>(-1);
    gid_t g = (a.valid & p9::kSetAttrGid) ? a.gid : static_cast<gid_t>(-1);
    if (::fchownat(fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      // In a user namespace (an unprivileged gofer), an id with no mapping
      // is EINVAL; to the client it is a chown this gofer may not do, the
      // EPERM an unprivileged process gets outside one.
      if (errno == EINVAL) return Errno(EPERM);
      return LastErrno();
    }
  }
  if (a.valid & (p9::kSetAttrAtime | p9::kSetAttrMtime)) {
    struct timespec ts[2];
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_OMIT;
    ts[0].tv_sec = ts[1].tv_sec = 0;
    if (a.valid & p9::kSetAttrAtime) {
      if (a.valid & p9::kSetAttrAtimeSet) {
        ts[0].tv_sec = static_cast<time_t>(a.atime_sec);
        ts[0].tv_nsec = static_cast<long>(a.atime_nsec);
      } else {
        ts[0].tv_nsec = UTIME_NOW;
      }
    }
    if (a.valid & p9::kSetAttrMtime) {
      if (a.valid & p9::kSetAttrMtimeSet) {
        ts[1].tv_sec = static_cast<time_t>(a.mtime_sec);
        ts[1].tv_nsec = static_cast<long>(a.mtime_nsec);
      } else {
        ts[1].tv_nsec = UTIME_NOW;
      }
    }
    // On the pinned inode itself (a symlink's own times, never its
    // target's).
    if (::utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrno();
    }
  }
  // kSetAttrCtime alone: ctime follows any change; nothing to do.
  return p9::Rsetattr{};
}

// ---------------------------------------------------------------------------
// Open, create, I/O.

ErrnoOr<p9::Rlopen> Handler::Lopen(const p9::Tlopen& t,
                                   FileDescriptor* donate_fd) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (ro() && IsWriteOpen(t.flags)) return Errno(EROFS);
  {
    base::MutexLock l(&st->mu);
    if (st->opened) return Errno(EBADF);
  }
  if (S_ISLNK(st->type)) return Errno(ELOOP);
  if (S_ISSOCK(st->type)) return Errno(ENXIO);
  if (!S_ISREG(st->type) && !S_ISDIR(st->type)) return Errno(EACCES);
  int flags = static_cast<int>(t.flags) & kClientOpenFlags;
  if (st->is_dir()) flags = (flags & ~O_TRUNC) | O_DIRECTORY;
  ASSIGN_OR_RETURN(FileDescriptor fd, Reopen(*st, flags));
  ASSIGN_OR_RETURN(struct stat s, FstatFd(fd.get()));
  if (donate_fd != nullptr && S_ISREG(s.st_mode)) {
    donate_fd->reset(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  }
  base::MutexLock l(&st->mu);
  if (st->opened) return Errno(EBADF);
  st->open_fd = std::move(fd);
  st->opened = true;
  return p9::Rlopen{QidOf(s), 0};
}

ErrnoOr<std::shared_ptr<Handler::FidState>> Handler::Create(
    p9::Fid fid, const std::string& name, uint32_t flags, uint32_t mode,
    uint32_t uid, uint32_t gid, p9::Qid* qid) {
  ASSIGN_OR_RETURN(auto dir, DirFid(fid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(name)) return Errno(EINVAL);
  {
    base::MutexLock l(&dir->mu);
    if (dir->opened) return Errno(EBADF);
  }
  // O_EXCL: never opens an existing file (a fifo, a device, a symlink's
  // target); O_NOFOLLOW for good measure.
  int oflags = (static_cast<int>(flags) & kClientOpenFlags & ~O_DIRECTORY) |
               O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  FileDescriptor fd(
      ::openat(dir->fd->get(), name.c_str(), oflags, mode & 07777));
  if (!fd.valid()) return LastErrno();
  ChownBestEffort(fd.get(), "", AT_EMPTY_PATH, uid, gid);
  ASSIGN_OR_RETURN(struct stat s, FstatFd(fd.get()));
  auto ns = std::make_shared<FidState>();
  ns->fd = std::make_shared<const FileDescriptor>(
      ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!ns->fd->valid()) return LastErrno();
  ns->type = s.st_mode & S_IFMT;
  {
    base::MutexLock l(&ns->mu);
    ns->parent = dir->fd;
    ns->name = name;
    ns->open_fd = std::move(fd);
    ns->opened = true;
  }
  *qid = QidOf(s);
  // The fid now names the new, open file.
  fids_.Replace(fid, ns);
  return ns;
}

ErrnoOr<p9::Rlcreate> Handler::Lcreate(const p9::Tlcreate& t) {
  p9::Qid qid;
  RETURN_IF_ERRNO(
      Create(t.fid, t.name, t.flags, t.mode, p9::kNoUid, t.gid, &qid));
  return p9::Rlcreate{qid, 0};
}

ErrnoOr<p9::Rucreate> Handler::UCreate(const p9::Tucreate& t) {
  p9::Qid qid;
  RETURN_IF_ERRNO(Create(t.fid, t.name, t.flags, t.mode, t.uid, t.gid, &qid));
  return p9::Rucreate{qid, 0};
}

ErrnoOr<uint32_t> Handler::Read(const p9::Tread& t, std::span<uint8_t> out) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (st->is_xattr) {
    if (st->xattr_writing) return Errno(EBADF);
    base::MutexLock l(&st->mu);
    const size_t have = st->xattr_data.size();
    if (t.offset >= have) return 0u;
    size_t len = std::min<size_t>(out.size(), have - t.offset);
    std::memcpy(out.data(), st->xattr_data.data() + t.offset, len);
    return static_cast<uint32_t>(len);
  }
  // Hold a reference to the fd across the pread: a concurrent Tclunk drops
  // the fid but not this FidState.
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  if (st->is_dir()) return Errno(EISDIR);
  ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(t.offset));
  if (n < 0) return LastErrno();
  return static_cast<uint32_t>(n);
}

ErrnoOr<p9::Rwrite> Handler::Write(const p9::Twrite& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (ro()) return Errno(EROFS);
  const auto& d = t.data.data;
  if (st->is_xattr) {
    if (!st->xattr_writing) return Errno(EBADF);
    base::MutexLock l(&st->mu);
    auto& buf = st->xattr_data;
    if (t.offset > buf.size() || d.size() > buf.size() - t.offset) {
      return Errno(ENOSPC);  // More than Txattrcreate announced.
    }
    std::memcpy(buf.data() + t.offset, d.data(), d.size());
    return p9::Rwrite{static_cast<uint32_t>(d.size())};
  }
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  if (st->is_dir()) return Errno(EISDIR);
  ssize_t n = ::pwrite(fd, d.data(), d.size(), static_cast<off_t>(t.offset));
  if (n < 0) return LastErrno();
  return p9::Rwrite{static_cast<uint32_t>(n)};
}

ErrnoOr<p9::Rreaddir> Handler::Readdir(const p9::Treaddir& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (!st->is_dir()) return Errno(ENOTDIR);
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  base::MutexLock l(&st->dir_mu);
  // The offset is a getdents64 d_off cookie (0: the start).
  if (::lseek(fd, static_cast<off_t>(t.offset), SEEK_SET) < 0) {
    return LastErrno();
  }
  p9::Rreaddir r;
  size_t budget = t.count;
  size_t used = 0;
  // Host records are about the size of ours, so twice the budget reads a
  // reply's worth per getdents64. Capped (the loop reads more) and left
  // uninitialised: a 256 KiB zeroed vector per request was an mmap, a
  // memset and 64 page faults each time.
  const size_t buf_size =
      std::min<size_t>(std::max<size_t>(budget, 512) * 2, 64 * 1024);
  std::unique_ptr<char[]> buf(new char[buf_size]);
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buf.get(), buf_size);
    if (n < 0) return LastErrno();
    if (n == 0) break;
    bool full = false;
    for (long pos = 0; pos < n;) {
      struct Dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        uint16_t d_reclen;
        uint8_t d_type;
        char d_name[];
      };
      auto* d = reinterpret_cast<Dirent64*>(buf.get() + pos);
      p9::Dirent e;
      e.name = d->d_name;
      e.offset = static_cast<uint64_t>(d->d_off);
      e.type = d->d_type;
      e.qid.path = d->d_ino;
      e.qid.type = d->d_type == DT_DIR   ? p9::kQidTypeDir
                   : d->d_type == DT_LNK ? p9::kQidTypeSymlink
                                         : p9::kQidTypeFile;
      if (e.name == "." || e.name == "..") {
        // Not listed: walking them is refused, so the client synthesizes
        // them (and DIR's parent stays unseen).
        pos += d->d_reclen;
        continue;
      }
      const size_t sz = p9::DirentSize(e);
      if (used + sz > budget) {
        full = true;
        break;
      }
      used += sz;
      r.entries.push_back(std::move(e));
      pos += d->d_reclen;
    }
    if (full) break;
  }
  return r;
}

ErrnoOr<p9::Rfsync> Handler::Fsync(const p9::Tfsync& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  int rc = t.datasync ? ::fdatasync(fd) : ::fsync(fd);
  if (rc != 0) return LastErrno();
  return p9::Rfsync{};
}

// ---------------------------------------------------------------------------
// Namespace operations. Each names one safe component relative to a
// directory fd we hold; none of them follows a final symlink.

ErrnoOr<p9::Rmkdir> Handler::Mkdir(const p9::Tmkdir& t) {
  ASSIGN_OR_RETURN(auto dir, DirFid(t.dfid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  const int dfd = dir->fd->get();
  if (::mkdirat(dfd, t.name.c_str(), t.mode & 07777) != 0) return LastErrno();
  ChownBestEffort(dfd, t.name.c_str(), 0, p9::kNoUid, t.gid);
  ASSIGN_OR_RETURN(struct stat s, StatAt(dfd, t.name));
  return p9::Rmkdir{QidOf(s)};
}

ErrnoOr<p9::Rsymlink> Handler::Symlink(const p9::Tsymlink& t) {
  ASSIGN_OR_RETURN(auto dir, DirFid(t.fid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  if (t.target.find('\0') != std::string::npos) return Errno(EINVAL);
  const int dfd = dir->fd->get();
  // The target is stored, never resolved by us.
  if (::symlinkat(t.target.c_str(), dfd, t.name.c_str()) != 0) {
    return LastErrno();
  }
  ChownBestEffort(dfd, t.name.c_str(), 0, p9::kNoUid, t.gid);
  ASSIGN_OR_RETURN(struct stat s, StatAt(dfd, t.name));
  return p9::Rsymlink{QidOf(s)};
}

ErrnoOr<p9::Rmknod> Handler::Mknod(const p9::Tmknod& t) {
  ASSIGN_OR_RETURN(auto dir, DirFid(t.dfid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  const mode_t type = t.mode & S_IFMT;
  if (type != 0 && type != S_IFREG && type != S_IFIFO && type != S_IFSOCK) {
    // Device nodes are never created, privileged or not.
    return Errno(EPERM);
  }
  const int dfd = dir->fd->get();
  if (::mknodat(dfd, t.name.c_str(), (type ? type : S_IFREG) | (t.mode & 07777),
                0) != 0) {
    return LastErrno();
  }
  ChownBestEffort(dfd, t.name.c_str(), 0, p9::kNoUid, t.gid);
  ASSIGN_OR_RETURN(struct stat s, StatAt(dfd, t.name));
  return p9::Rmknod{QidOf(s)};
}

ErrnoOr<p9::Rlink> Handler::Link(const p9::Tlink& t) {
  ASSIGN_OR_RETURN(auto dir, DirFid(t.dfid));
  ASSIGN_OR_RETURN(auto src, fids_.Get(t.fid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  if (src->is_dir()) return Errno(EPERM);
  // AT_EMPTY_PATH links the pinned inode itself (needs
  // CAP_DAC_READ_SEARCH); otherwise by its name in its parent, flags 0 so
  // that a symlink there is linked, not followed.
  if (::linkat(src->fd->get(), "", dir->fd->get(), t.name.c_str(),
               AT_EMPTY_PATH) == 0) {
    return p9::Rlink{};
  }
  if (errno != ENOENT && errno != EPERM) return LastErrno();
  SharedFd parent;
  std::string name;
  {
    base::MutexLock l(&src->mu);
    parent = src->parent;
    name = src->name;
  }
  if (parent == nullptr) return Errno(EPERM);
  if (::linkat(parent->get(), name.c_str(), dir->fd->get(), t.name.c_str(),
               0) != 0) {
    return LastErrno();
  }
  return p9::Rlink{};
}

ErrnoOr<p9::Rrename> Handler::Rename(const p9::Trename& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  ASSIGN_OR_RETURN(auto dir, DirFid(t.dfid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  if (st->is_root) return Errno(EBUSY);
  base::MutexLock l(&st->mu);
  if (st->parent == nullptr) return Errno(EBUSY);
  if (::renameat(st->parent->get(), st->name.c_str(), dir->fd->get(),
                 t.name.c_str()) != 0) {
    return LastErrno();
  }
  st->parent = dir->fd;
  st->name = t.name;
  return p9::Rrename{};
}

ErrnoOr<p9::Rrenameat> Handler::Renameat(const p9::Trenameat& t) {
  ASSIGN_OR_RETURN(auto od, DirFid(t.olddirfid));
  ASSIGN_OR_RETURN(auto nd, DirFid(t.newdirfid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.oldname) || !IsSafeName(t.newname)) return Errno(EINVAL);
  if (::renameat(od->fd->get(), t.oldname.c_str(), nd->fd->get(),
                 t.newname.c_str()) != 0) {
    return LastErrno();
  }
  return p9::Rrenameat{};
}

ErrnoOr<p9::Runlinkat> Handler::Unlinkat(const p9::Tunlinkat& t) {
  ASSIGN_OR_RETURN(auto dir, DirFid(t.dirfid));
  if (ro()) return Errno(EROFS);
  if (!IsSafeName(t.name)) return Errno(EINVAL);
  if (t.flags & ~p9::kUnlinkRemoveDir) return Errno(EINVAL);
  if (::unlinkat(dir->fd->get(), t.name.c_str(),
                 (t.flags & p9::kUnlinkRemoveDir) ? AT_REMOVEDIR : 0) != 0) {
    return LastErrno();
  }
  return p9::Runlinkat{};
}

ErrnoOr<p9::Rreadlink> Handler::Readlink(const p9::Treadlink& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (!S_ISLNK(st->type)) return Errno(EINVAL);
  std::string buf(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(st->fd->get(), "", buf.data(), buf.size());
  if (n < 0) return LastErrno();
  buf.resize(static_cast<size_t>(n));
  return p9::Rreadlink{std::move(buf)};
}

ErrnoOr<p9::Rstatfs> Handler::Statfs(const p9::Tstatfs& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  struct statfs s;
  if (::fstatfs(st->fd->get(), &s) != 0) return LastErrno();
  p9::Rstatfs r;
  r.statfs.type = static_cast<uint32_t>(s.f_type);
  r.statfs.bsize = static_cast<uint32_t>(s.f_bsize);
  r.statfs.blocks = s.f_blocks;
  r.statfs.bfree = s.f_bfree;
  r.statfs.bavail = s.f_bavail;
  r.statfs.files = s.f_files;
  r.statfs.ffree = s.f_ffree;
  uint64_t fsid;
  static_assert(sizeof(fsid) == sizeof(s.f_fsid));
  std::memcpy(&fsid, &s.f_fsid, sizeof(fsid));
  r.statfs.fsid = fsid;
  r.statfs.namelen = static_cast<uint32_t>(s.f_namelen);
  return r;
}

// ---------------------------------------------------------------------------
// Locks: open file description locks on the fid's open fd.

namespace {

ErrnoOr<short> LockType(uint8_t t) {
  switch (t) {
    case p9::kLockTypeRead:
      return static_cast<short>(F_RDLCK);
    case p9::kLockTypeWrite:
      return static_cast<short>(F_WRLCK);
    case p9::kLockTypeUnlock:
      return static_cast<short>(F_UNLCK);
  }
  return Errno(EINVAL);
}

ErrnoOr<struct flock> MakeFlock(uint8_t type, uint64_t start, uint64_t length) {
  ASSIGN_OR_RETURN(short lt, LockType(type));
  if (start > static_cast<uint64_t>(INT64_MAX) ||
      length > static_cast<uint64_t>(INT64_MAX)) {
    return Errno(EINVAL);
  }
  struct flock fl {};
  fl.l_type = lt;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(start);
  fl.l_len = static_cast<off_t>(length);  // 0: to EOF.
  fl.l_pid = 0;                           // Required by OFD locks.
  return fl;
}

}  // namespace

ErrnoOr<p9::Rlock> Handler::Lock(const p9::Tlock& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  ASSIGN_OR_RETURN(struct flock fl, MakeFlock(t.type, t.start, t.length));
  // Never block a worker: a lock that would wait is "blocked", and the
  // client polls.
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      return p9::Rlock{p9::kLockStatusBlocked};
    }
    return LastErrno();
  }
  return p9::Rlock{p9::kLockStatusSuccess};
}

ErrnoOr<p9::Rgetlock> Handler::GetLock(const p9::Tgetlock& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  int fd = st->open_fd_get();
  if (fd < 0) return Errno(EBADF);
  if (t.type == p9::kLockTypeUnlock) return Errno(EINVAL);
  ASSIGN_OR_RETURN(struct flock fl, MakeFlock(t.type, t.start, t.length));
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return LastErrno();
  p9::Rgetlock r;
  if (fl.l_type == F_UNLCK) {
    r.type = p9::kLockTypeUnlock;
    r.start = t.start;
    r.length = t.length;
    r.proc_id = t.proc_id;
    r.client_id = t.client_id;
  } else {
    r.type = fl.l_type == F_RDLCK ? p9::kLockTypeRead : p9::kLockTypeWrite;
    r.start = static_cast<uint64_t>(fl.l_start);
    r.length = static_cast<uint64_t>(fl.l_len);
    // The holder is another fid (of this or another connection); its 9P
    // proc_id is not known here.
    r.proc_id = 0;
    r.client_id = "";
  }
  return r;
}

// Only the user.* namespace passes through: the others (trusted,
// security, system) carry host policy the sandbox must neither see nor set.
// Linux keeps user.* xattrs on regular files and directories only, which
// are exactly the files Reopen will open.
namespace {
constexpr std::string_view kUserXattrPrefix = "user.";
constexpr size_t kMaxXattrSize = 64 * 1024;  // XATTR_SIZE_MAX
bool IsUserXattr(std::string_view name) {
  return name.size() > kUserXattrPrefix.size() &&
         name.substr(0, kUserXattrPrefix.size()) == kUserXattrPrefix &&
         name.find('\0') == std::string_view::npos;
}
}  // namespace

ErrnoOr<p9::Rxattrwalk> Handler::Xattrwalk(const p9::Txattrwalk& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (st->is_xattr) return Errno(EINVAL);
  if (!t.name.empty() && !IsUserXattr(t.name)) return Errno(EOPNOTSUPP);
  if (!S_ISREG(st->type) && !S_ISDIR(st->type)) {
    return t.name.empty() ? ErrnoOr<p9::Rxattrwalk>(p9::Rxattrwalk{0})
                          : ErrnoOr<p9::Rxattrwalk>(Errno(ENODATA));
  }
  ASSIGN_OR_RETURN(
      FileDescriptor fd,
      Reopen(*st, O_RDONLY | O_NONBLOCK | (st->is_dir() ? O_DIRECTORY : 0)));
  std::vector<uint8_t> data;
  if (t.name.empty()) {
    // The list, filtered to user.* names.
    std::vector<char> buf(kMaxXattrSize);
    ssize_t n = ::flistxattr(fd.get(), buf.data(), buf.size());
    if (n < 0) return LastErrno();
    for (ssize_t pos = 0; pos < n;) {
      std::string_view name(buf.data() + pos);
      if (IsUserXattr(name)) {
        data.insert(data.end(), name.begin(), name.end());
        data.push_back(0);
      }
      pos += static_cast<ssize_t>(name.size()) + 1;
    }
  } else {
    data.resize(kMaxXattrSize);
    ssize_t n = ::fgetxattr(fd.get(), t.name.c_str(), data.data(), data.size());
    if (n < 0) return LastErrno();
    data.resize(static_cast<size_t>(n));
  }
  auto ns = std::make_shared<FidState>();
  ns->fd = st->fd;
  ns->type = st->type;
  ns->is_xattr = true;
  ns->xattr_name = t.name;
  const uint64_t size = data.size();
  {
    base::MutexLock l(&ns->mu);
    ns->xattr_data = std::move(data);
    ns->opened = true;
  }
  if (t.newfid == t.fid) {
    fids_.Replace(t.newfid, ns);
  } else {
    RETURN_IF_ERRNO(fids_.Insert(t.newfid, ns));
  }
  return p9::Rxattrwalk{size};
}

ErrnoOr<p9::Rxattrcreate> Handler::Xattrcreate(const p9::Txattrcreate& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (ro()) return Errno(EROFS);
  if (st->is_xattr) return Errno(EINVAL);
  if (!IsUserXattr(t.name)) return Errno(EOPNOTSUPP);
  if (t.attr_size > kMaxXattrSize) return Errno(E2BIG);
  if (t.flags & ~static_cast<uint32_t>(XATTR_CREATE | XATTR_REPLACE)) {
    return Errno(EINVAL);
  }
  if (!S_ISREG(st->type) && !S_ISDIR(st->type)) return Errno(EPERM);
  ASSIGN_OR_RETURN(
      FileDescriptor fd,
      Reopen(*st, O_RDONLY | O_NONBLOCK | (st->is_dir() ? O_DIRECTORY : 0)));
  auto ns = std::make_shared<FidState>();
  ns->fd = st->fd;
  ns->type = st->type;
  ns->is_xattr = true;
  ns->xattr_writing = true;
  ns->xattr_name = t.name;
  ns->xattr_size = t.attr_size;
  ns->xattr_flags = static_cast<int>(t.flags);
  ns->xattr_fd = std::move(fd);
  {
    base::MutexLock l(&ns->mu);
    ns->xattr_data.assign(t.attr_size, 0);
    ns->opened = true;
  }
  fids_.Replace(t.fid, ns);
  return p9::Rxattrcreate{};
}

}  // namespace fsgofer
