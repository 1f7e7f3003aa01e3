#define FUSE_USE_VERSION 314

#include "runsc/fuse/server.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "abi/linux/linux.h"
#include "absl/strings/str_cat.h"
#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/lock/lock.h"
#include "sentry/kernel/task.h"

// libfuse 3.12's loop, named by its own symbol: the header's
// fuse_session_loop_mt is a versioned symbol, and a shared library that
// leaves the reference unversioned (as test builds' do) binds to the
// FUSE_3.0 one, which takes an int clone_fd and ignores the config.
extern "C" int fuse_session_loop_mt_312(struct fuse_session* se,
                                        struct fuse_loop_config* config);

namespace runsc::fuse {

namespace {

using base::RefPtr;
using sentry::fs::File;
using sentry::fs::Path;
using sentry::kernel::Task;
using sentry::kernel::auth::Credentials;
using sentry::kernel::auth::IdMapEntry;

// The kernel's own flag on an open for execve (__FMODE_EXEC), which FUSE
// passes through in the open flags.
constexpr int kFmodeExec = 0x20;
// Bits of st_ino left to the filesystem's own number (see server.h).
constexpr int kInoBits = 48;
// How many supplementary groups a request may carry (NGROUPS_MAX).
constexpr int kMaxGroups = 65536;
// copy_file_range moves data in pieces of this size.
constexpr size_t kCopyChunk = 1 << 20;

Server* ServerOf(fuse_req_t req) {
  return static_cast<Server*>(fuse_req_userdata(req));
}

uint32_t MapId(const std::vector<IdMapEntry>& map, uint32_t host,
               uint32_t overflow) {
  if (map.empty()) return host;
  for (const IdMapEntry& e : map) {
    if (host >= e.outside && host - e.outside < e.length) {
      return e.inside + (host - e.outside);
    }
  }
  return overflow;
}

// Whether a file's content is made at read time while st_size says 0
// (proc, sysfs): the page cache would show it empty.
bool Synthetic(File* f) {
  const sentry::fs::Filesystem* fs = f->inode()->mount_source()->filesystem();
  if (fs == nullptr) return false;
  return fs->Name() == "proc" || fs->Name() == "sysfs";
}

// How much a synthetic file's content may be measured for its st_size.
constexpr size_t kMaxSyntheticSize = 16 << 20;

// One FUSE request as the VFS sees it: a Task running as the caller, with
// the nodes and files the request names installed as descriptors.
class Request {
 public:
  explicit Request(fuse_req_t req)
      : req_(req),
        server_(ServerOf(req)),
        task_(server_->ns(), Creds(req, server_), server_->options().pid) {
    // The kernel applied the caller's umask already (no FUSE_CAP_DONT_MASK).
    task_.Umask(0);
  }

  Task& task() { return task_; }
  Server* server() { return server_; }
  fuse_req_t req() const { return req_; }

  // An O_PATH descriptor for node id; -ESTALE if the kernel names a node
  // it forgot (a kernel bug, never the caller's).
  long NodeFd(fuse_ino_t id) {
    Path p = server_->PathOf(id);
    if (!p.valid()) return -ESTALE;
    return PathFd(p);
  }
  long PathFd(const Path& p) {
    auto f = base::MakeRef<File>(p.mount, p.dirent, O_PATH,
                                 std::unique_ptr<sentry::fs::FileOperations>(
                                     new sentry::fs::FileOperations()));
    return task_.InstallFile(std::move(f), false);
  }
  // A descriptor for the open file of a FUSE file handle.
  long HandleFd(const fuse_file_info* fi) {
    return task_.InstallFile(RefPtr<File>(HandleFile(fi)), false);
  }
  static File* HandleFile(const fuse_file_info* fi) {
    return reinterpret_cast<File*>(static_cast<uintptr_t>(fi->fh));
  }

  // Replies: errno from a negative result.
  void Err(long r) { fuse_reply_err(req_, r < 0 ? static_cast<int>(-r) : 0); }

  // Fills e for the file at fd (an O_PATH descriptor installed here),
  // counting a lookup. 0 or -errno.
  long Entry(long fd, fuse_entry_param* e) {
    std::memset(e, 0, sizeof(*e));
    long r = Stat(fd, &e->attr);
    if (r < 0) return r;
    auto f = task_.GetFile(static_cast<int>(fd));
    if (!f.ok()) return f.error().AsSyscallResult();
    e->ino = server_->AddLookup(Path{(*f)->mount_ref(), (*f)->dirent_ref()});
    return 0;
  }
  // Looks name up in the directory at dirfd and fills e.
  long LookupEntry(long dirfd, const char* name, fuse_entry_param* e) {
    long fd = task_.Openat(static_cast<int>(dirfd), name, O_PATH | O_NOFOLLOW);
    if (fd < 0) return fd;
    return Entry(fd, e);
  }
  // The attributes the kernel is shown. A synthetic file (proc, sysfs)
  // says st_size 0 on Linux, but the host kernel's splice path (sendfile,
  // as busybox cat uses) stops at st_size, so it is shown with the size
  // of its content now.
  long Stat(long fd, struct stat* st) {
    long r = task_.Fstat(static_cast<int>(fd), st);
    if (r < 0) return r;
    st->st_ino = server_->MapIno(st->st_dev, st->st_ino);
    if (S_ISREG(st->st_mode) && st->st_size == 0) {
      auto f = task_.GetFile(static_cast<int>(fd));
      if (f.ok() && Synthetic(f->get())) st->st_size = ContentSize(fd);
    }
    return 0;
  }
  // Bytes a read of the file at fd yields now; 0 if it cannot be read.
  long ContentSize(long fd) {
    long rfd = task_.Reopen(static_cast<int>(fd), O_RDONLY);
    if (rfd < 0) return 0;
    std::string buf(64 << 10, '\0');
    size_t total = 0;
    while (total < kMaxSyntheticSize) {
      long n = task_.Pread64(rfd, buf.data(), buf.size(), total);
      if (n <= 0) break;
      total += n;
    }
    task_.Close(static_cast<int>(rfd));
    return static_cast<long>(total);
  }
  // Replies with e, forgetting the lookup if the kernel never got it
  // (the request was interrupted).
  void ReplyEntry(const fuse_entry_param& e) {
    if (fuse_reply_entry(req_, &e) != 0) server_->Forget(e.ino, 1);
  }

 private:
  static Credentials Creds(fuse_req_t req, Server* s) {
    const fuse_ctx* c = fuse_req_ctx(req);
    std::vector<gid_t> groups;
    // Reading the groups costs a read of /proc/PID/status per request.
    // The sandbox's root holds every capability, and no decision it
    // meets turns on its supplementary groups, so root goes without.
    if (!s->IsRoot(c->uid)) {
      groups.resize(64);
      int n = fuse_req_getgroups(req, static_cast<int>(groups.size()),
                                 groups.data());
      if (n > static_cast<int>(groups.size()) && n <= kMaxGroups) {
        groups.resize(n);
        n = fuse_req_getgroups(req, n, groups.data());
      }
      groups.resize(n > 0 ? std::min<size_t>(n, groups.size()) : 0);
    }
    return s->CredsFor(c->uid, c->gid, groups);
  }

  fuse_req_t req_;
  Server* server_;
  Task task_;
};

// ---- Names.

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  fuse_entry_param e;
  long ret = r.LookupEntry(dfd, name, &e);
  if (ret < 0) return r.Err(ret);
  r.ReplyEntry(e);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  ServerOf(req)->Forget(ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Server* s = ServerOf(req);
  for (size_t i = 0; i < count; ++i)
    s->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

// After a call that made `name` in parent: its entry.
void ReplyCreated(Request& r, long dfd, long ret, const char* name) {
  if (ret < 0) return r.Err(ret);
  fuse_entry_param e;
  ret = r.LookupEntry(dfd, name, &e);
  if (ret < 0) return r.Err(ret);
  r.ReplyEntry(e);
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
           dev_t rdev) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  ReplyCreated(r, dfd, r.task().Mknodat(dfd, name, mode, rdev), name);
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  ReplyCreated(r, dfd, r.task().Mkdirat(dfd, name, mode), name);
}

void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent,
             const char* name) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  ReplyCreated(r, dfd, r.task().Symlinkat(link, dfd, name), name);
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char* newname) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  long dfd = r.NodeFd(newparent);
  if (dfd < 0) return r.Err(dfd);
  ReplyCreated(r, dfd, r.task().Linkat(fd, "", dfd, newname, AT_EMPTY_PATH),
               newname);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  r.Err(r.task().Unlinkat(dfd, name, 0));
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  r.Err(r.task().Unlinkat(dfd, name, AT_REMOVEDIR));
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
            fuse_ino_t newparent, const char* newname, unsigned int flags) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  long ndfd = r.NodeFd(newparent);
  if (ndfd < 0) return r.Err(ndfd);
  r.Err(r.task().Renameat2(dfd, name, ndfd, newname, flags));
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  std::string buf(linux_abi::kPathMax + 1, '\0');
  long n = r.task().Readlinkat(fd, "", buf.data(), buf.size() - 1);
  if (n < 0) return r.Err(n);
  buf.resize(n);
  fuse_reply_readlink(req, buf.c_str());
}

// ---- Attributes.

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req);
  long fd = fi ? r.HandleFd(fi) : r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  struct stat st;
  long ret = r.Stat(fd, &st);
  if (ret < 0) return r.Err(ret);
  fuse_reply_attr(req, &st, 0.0);
}

// chown, chmod, truncate and utimens, in notify_change's order of effect:
// ownership (which may clear set-id bits), mode, size, then times, so an
// explicit time is not overwritten by the truncate's own mtime.
void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
             fuse_file_info* fi) {
  Request r(req);
  Task& t = r.task();
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  long ret = 0;
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : uid_t(-1);
    gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : gid_t(-1);
    ret = t.Fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    if (ret < 0) return r.Err(ret);
  }
  if (to_set & FUSE_SET_ATTR_MODE) {
    ret = t.Fchmodat(fd, "", attr->st_mode & 07777, AT_EMPTY_PATH);
    if (ret < 0) return r.Err(ret);
  }
  const bool sized = to_set & FUSE_SET_ATTR_SIZE;
  if (sized) {
    if (fi) {
      long hfd = r.HandleFd(fi);
      if (hfd < 0) return r.Err(hfd);
      ret = t.Ftruncate(hfd, attr->st_size);
    } else {
      ret = t.Truncateat(fd, "", attr->st_size, AT_EMPTY_PATH);
    }
    if (ret < 0) return r.Err(ret);
  }
  const bool atime = to_set & FUSE_SET_ATTR_ATIME;
  const bool mtime = to_set & FUSE_SET_ATTR_MTIME;
  const bool atime_now = to_set & FUSE_SET_ATTR_ATIME_NOW;
  const bool mtime_now = to_set & FUSE_SET_ATTR_MTIME_NOW;
  // truncate(2) and O_TRUNC come with "mtime = now", which the truncate
  // already did (and which a writer who is not the owner may not ask for
  // on its own).
  const bool only_truncate_mtime = sized && !atime && mtime && mtime_now;
  if ((atime || mtime) && !only_truncate_mtime) {
    struct timespec ts[2];
    ts[0] = atime ? (atime_now ? timespec{0, UTIME_NOW} : attr->st_atim)
                  : timespec{0, UTIME_OMIT};
    ts[1] = mtime ? (mtime_now ? timespec{0, UTIME_NOW} : attr->st_mtim)
                  : timespec{0, UTIME_OMIT};
    ret = t.Utimensat(fd, nullptr, ts, 0);
    if (ret < 0) return r.Err(ret);
  }
  struct stat st;
  ret = r.Stat(fd, &st);
  if (ret < 0) return r.Err(ret);
  fuse_reply_attr(req, &st, 0.0);
}

void Access(fuse_req_t req, fuse_ino_t ino, int mask) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  r.Err(r.task().Faccessat(fd, "", mask, AT_EMPTY_PATH | AT_EACCESS));
}

void Statfs(fuse_req_t req, fuse_ino_t ino) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  struct statfs s;
  long ret = r.task().Fstatfs(fd, &s);
  if (ret < 0) return r.Err(ret);
  struct statvfs v {};
  v.f_bsize = s.f_bsize;
  v.f_frsize = s.f_frsize ? s.f_frsize : s.f_bsize;
  v.f_blocks = s.f_blocks;
  v.f_bfree = s.f_bfree;
  v.f_bavail = s.f_bavail;
  v.f_files = s.f_files;
  v.f_ffree = s.f_ffree;
  v.f_favail = s.f_ffree;
  v.f_namemax = s.f_namelen;
  fuse_reply_statfs(req, &v);
}

// ---- Extended attributes (the node itself; a symlink is not followed).

constexpr int kXattrAt = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name,
              const char* value, size_t size, int flags) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  r.Err(r.task().Setxattrat(fd, "", kXattrAt, name, value, size, flags));
}

// getxattr and listxattr: size 0 asks for the length.
template <typename Call>
void ReplyXattr(Request& r, size_t size, Call call) {
  std::string buf(size, '\0');
  long n = call(size ? buf.data() : nullptr, size);
  if (n < 0) return r.Err(n);
  if (size == 0) {
    fuse_reply_xattr(r.req(), n);
  } else {
    fuse_reply_buf(r.req(), buf.data(), n);
  }
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  ReplyXattr(r, size, [&](char* buf, size_t n) {
    return r.task().Getxattrat(fd, "", kXattrAt, name, buf, n);
  });
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  ReplyXattr(r, size, [&](char* buf, size_t n) {
    return r.task().Listxattrat(fd, "", kXattrAt, buf, n);
  });
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  r.Err(r.task().Removexattrat(fd, "", kXattrAt, name));
}

// ---- Open files.

// Keeps the File of a new descriptor in fi; the handle owns a reference.
void SetHandle(Request& r, long fd, fuse_file_info* fi) {
  auto f = r.task().GetFile(static_cast<int>(fd));
  File* file = f->release();
  fi->fh = reinterpret_cast<uintptr_t>(file);
  fi->direct_io = Synthetic(file);
  fi->keep_cache = 0;
  r.server()->AddHandle(file);
}

void DropHandle(Server* s, fuse_file_info* fi) {
  s->DropHandle(Request::HandleFile(fi));
}

// The flags of an open(2) the kernel forwards, less what it handled.
int OpenFlags(int flags) {
  return flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC | kFmodeExec);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  if (fi->flags & kFmodeExec) {
    // The kernel checks only that some x bit is set; whether this caller
    // may execute the file is the sandbox's question.
    long ret = r.task().Faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS);
    if (ret < 0) return r.Err(ret);
  }
  long ofd = r.task().Reopen(fd, OpenFlags(fi->flags));
  if (ofd < 0) return r.Err(ofd);
  SetHandle(r, ofd, fi);
  if (fuse_reply_open(req, fi) != 0) DropHandle(r.server(), fi);
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Request r(req);
  long dfd = r.NodeFd(parent);
  if (dfd < 0) return r.Err(dfd);
  long fd = r.task().Openat(
      dfd, name, (fi->flags & ~(O_NOCTTY | O_CLOEXEC)) | O_CREAT, mode);
  if (fd < 0) return r.Err(fd);
  fuse_entry_param e;
  long ret = r.Entry(fd, &e);
  if (ret < 0) return r.Err(ret);
  SetHandle(r, fd, fi);
  if (fuse_reply_create(req, &e, fi) != 0) {
    DropHandle(r.server(), fi);
    r.server()->Forget(e.ino, 1);
  }
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          fuse_file_info* fi) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  std::string buf(size, '\0');
  long n = r.task().Pread64(fd, buf.data(), size, off);
  if (n < 0) return r.Err(n);
  fuse_reply_buf(req, buf.data(), n);
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
           off_t off, fuse_file_info* fi) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  long n = r.task().Pwrite64(fd, buf, size, off);
  if (n < 0) return r.Err(n);
  fuse_reply_write(req, n);
}

// close(2) of a descriptor: the closing process's record locks go, as
// locks_remove_posix does.
void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  File* f = Request::HandleFile(fi);
  if (auto* pl = f->inode()->posix_locks_if_any()) {
    pl->UnlockAll(static_cast<sentry::fs::lock::OwnerId>(fi->lock_owner));
  }
  fuse_reply_err(req, 0);
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  File* f = Request::HandleFile(fi);
  if (fi->flock_release) {
    if (auto* fl = f->inode()->flock_locks_if_any()) {
      fl->Unlock(reinterpret_cast<sentry::fs::lock::OwnerId>(f));
    }
  }
  DropHandle(ServerOf(req), fi);
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  r.Err(datasync ? r.task().Fdatasync(fd) : r.task().Fsync(fd));
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
               off_t length, fuse_file_info* fi) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  r.Err(r.task().Fallocate(fd, mode, offset, length));
}

void Lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
           fuse_file_info* fi) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  long pos = r.task().Lseek(fd, off, whence);
  if (pos < 0) return r.Err(pos);
  fuse_reply_lseek(req, pos);
}

void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                   fuse_file_info* fi_in, fuse_ino_t ino_out, off_t off_out,
                   fuse_file_info* fi_out, size_t len, int flags) {
  Request r(req);
  if (flags != 0) return r.Err(-EINVAL);
  long in = r.HandleFd(fi_in);
  if (in < 0) return r.Err(in);
  long out = r.HandleFd(fi_out);
  if (out < 0) return r.Err(out);
  std::string buf(std::min(len, kCopyChunk), '\0');
  size_t done = 0;
  while (done < len) {
    size_t want = std::min(len - done, buf.size());
    long n = r.task().Pread64(in, buf.data(), want, off_in + done);
    if (n < 0 && done == 0) return r.Err(n);
    if (n <= 0) break;
    long w = r.task().Pwrite64(out, buf.data(), n, off_out + done);
    if (w < 0 && done == 0) return r.Err(w);
    if (w <= 0) break;
    done += w;
    if (w < n) break;
  }
  fuse_reply_write(req, done);
}

// ---- Locks.

void OnInterrupt(fuse_req_t req, void* data) {
  static_cast<Task*>(data)->ctx().Interrupt();
  sentry::fs::lock::InterruptWaiters();
}

void Getlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
           struct flock* lock) {
  Request r(req);
  File* f = Request::HandleFile(fi);
  auto range = sentry::fs::lock::ComputeRange(SEEK_SET, lock->l_start,
                                              lock->l_len, 0, 0);
  if (!range.ok()) return r.Err(range.error().AsSyscallResult());
  const auto owner = static_cast<sentry::fs::lock::OwnerId>(fi->lock_owner);
  // F_UNLCK comes only from F_OFD_GETLK (the kernel refuses it for
  // F_GETLK): the description's own lock over the range (Linux 6.7).
  std::optional<sentry::fs::lock::Conflict> c;
  if (lock->l_type == F_UNLCK) {
    c = f->inode()->posix_locks().TestOwn(owner, *range);
  } else if (lock->l_type == F_RDLCK || lock->l_type == F_WRLCK) {
    c = f->inode()->posix_locks().Test(owner,
                                       lock->l_type == F_RDLCK
                                           ? sentry::fs::lock::LockType::kRead
                                           : sentry::fs::lock::LockType::kWrite,
                                       *range);
  } else {
    return r.Err(-EINVAL);
  }
  if (!c) {
    lock->l_type = F_UNLCK;
  } else {
    lock->l_type =
        c->type == sentry::fs::lock::LockType::kRead ? F_RDLCK : F_WRLCK;
    lock->l_whence = SEEK_SET;
    lock->l_start = static_cast<off_t>(c->range.start);
    lock->l_len = sentry::fs::lock::FlockLen(c->range);
    lock->l_pid = c->pid;
  }
  fuse_reply_lock(req, lock);
}

void Setlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi,
           struct flock* lock, int sleep) {
  Request r(req);
  File* f = Request::HandleFile(fi);
  auto range = sentry::fs::lock::ComputeRange(SEEK_SET, lock->l_start,
                                              lock->l_len, 0, 0);
  if (!range.ok()) return r.Err(range.error().AsSyscallResult());
  auto owner = static_cast<sentry::fs::lock::OwnerId>(fi->lock_owner);
  if (lock->l_type == F_UNLCK) {
    f->inode()->posix_locks().Unlock(owner, *range);
    return r.Err(0);
  }
  if (lock->l_type != F_RDLCK && lock->l_type != F_WRLCK) {
    return r.Err(-EINVAL);
  }
  if (sleep) fuse_req_interrupt_func(req, OnInterrupt, &r.task());
  base::Errno e = f->inode()->posix_locks().Lock(
      owner, lock->l_pid,
      lock->l_type == F_RDLCK ? sentry::fs::lock::LockType::kRead
                              : sentry::fs::lock::LockType::kWrite,
      *range, sleep, r.task().ctx().interrupted());
  r.Err(e.AsSyscallResult());
}

// flock(2): the lock belongs to the open file description, which is our
// handle's File.
void Flock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  if (!(op & LOCK_NB)) fuse_req_interrupt_func(req, OnInterrupt, &r.task());
  r.Err(r.task().Flock(fd, op));
}

// ---- Directories.

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Request r(req);
  long fd = r.NodeFd(ino);
  if (fd < 0) return r.Err(fd);
  long dfd = r.task().Reopen(fd, OpenFlags(fi->flags) | O_DIRECTORY);
  if (dfd < 0) return r.Err(dfd);
  SetHandle(r, dfd, fi);
  fi->direct_io = 0;
  if (fuse_reply_open(req, fi) != 0) DropHandle(r.server(), fi);
}

void DoReaddir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi,
               bool plus) {
  Request r(req);
  long fd = r.HandleFd(fi);
  if (fd < 0) return r.Err(fd);
  Task& t = r.task();
  long pos = t.Lseek(fd, off, SEEK_SET);
  if (pos < 0) return r.Err(pos);
  struct stat dst;
  long ret = r.Stat(fd, &dst);
  if (ret < 0) return r.Err(ret);
  std::string out(size, '\0');
  size_t used = 0;
  std::vector<fuse_ino_t> counted;  // lookups made for this reply
  std::string dents(std::max<size_t>(size, 4096), '\0');
  bool full = false;
  while (!full) {
    long n = t.Getdents64(fd, dents.data(), dents.size());
    if (n < 0) {
      if (used == 0) return r.Err(n);
      break;
    }
    if (n == 0) break;
    for (long at = 0; at < n && !full;) {
      auto* d = reinterpret_cast<struct dirent64*>(dents.data() + at);
      at += d->d_reclen;
      const char* name = d->d_name;
      struct stat st {};
      st.st_ino = r.server()->MapIno(dst.st_dev, d->d_ino);
      st.st_mode = DTTOIF(d->d_type);
      char* buf = out.data() + used;
      size_t room = size - used;
      size_t need;
      if (!plus) {
        need = fuse_add_direntry(req, buf, room, name, &st, d->d_off);
      } else {
        need = fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0);
        if (need <= room) {
          fuse_entry_param e{};
          e.attr = st;
          bool dots = !std::strcmp(name, ".") || !std::strcmp(name, "..");
          // "." and ".." carry no lookup; an entry that vanished since
          // getdents goes without attributes (ino 0), as the protocol
          // allows.
          if (!dots && r.LookupEntry(fd, name, &e) == 0) {
            counted.push_back(e.ino);
          } else {
            e.ino = 0;
          }
          fuse_add_direntry_plus(req, buf, room, name, &e, d->d_off);
        }
      }
      if (need > room) {
        full = true;
      } else {
        used += need;
      }
    }
  }
  if (fuse_reply_buf(req, out.data(), used) != 0) {
    for (fuse_ino_t id : counted) r.server()->Forget(id, 1);
  }
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, /*plus=*/false);
}

void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 fuse_file_info* fi) {
  DoReaddir(req, size, off, fi, /*plus=*/true);
}

void Releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  DropHandle(ServerOf(req), fi);
  fuse_reply_err(req, 0);
}

void Fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
              fuse_file_info* fi) {
  Fsync(req, ino, datasync, fi);
}

void Init(void* userdata, fuse_conn_info* conn) {
  auto want = [&](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  // O_TRUNC arrives with the open, so it is checked as part of it.
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  // Our writes and truncates clear set-id bits themselves.
  want(FUSE_CAP_HANDLE_KILLPRIV);
  want(FUSE_CAP_POSIX_LOCKS);
  want(FUSE_CAP_FLOCK_LOCKS);
  // Nothing is cached beyond a request: no writeback cache.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops o{};
  o.init = Init;
  o.lookup = Lookup;
  o.forget = Forget;
  o.forget_multi = ForgetMulti;
  o.getattr = Getattr;
  o.setattr = Setattr;
  o.readlink = Readlink;
  o.mknod = Mknod;
  o.mkdir = Mkdir;
  o.unlink = Unlink;
  o.rmdir = Rmdir;
  o.symlink = Symlink;
  o.rename = Rename;
  o.link = Link;
  o.open = Open;
  o.read = Read;
  o.write = Write;
  o.flush = Flush;
  o.release = Release;
  o.fsync = Fsync;
  o.opendir = Opendir;
  o.readdir = Readdir;
  o.readdirplus = Readdirplus;
  o.releasedir = Releasedir;
  o.fsyncdir = Fsyncdir;
  o.statfs = Statfs;
  o.setxattr = Setxattr;
  o.getxattr = Getxattr;
  o.listxattr = Listxattr;
  o.removexattr = Removexattr;
  o.access = Access;
  o.create = Create;
  o.getlk = Getlk;
  o.setlk = Setlk;
  o.flock = Flock;
  o.fallocate = Fallocate;
  o.lseek = Lseek;
  o.copy_file_range = CopyFileRange;
  return o;
}();

}  // namespace

Server::Server(RefPtr<sentry::fs::MountNamespace> ns, ServerOptions opts)
    : ns_(std::move(ns)), opts_(std::move(opts)) {
  Path root = ns_->Root();
  base::MutexLock l(&mu_);
  dev_index_[root.inode()->stable_attr().dev] = 0;
  auto node = std::make_unique<Node>();
  node->id = FUSE_ROOT_ID;
  node->path = root;
  node->nlookup = 1;  // never forgotten
  by_key_[Key{root.mount.get(), root.inode()}] = node.get();
  nodes_[FUSE_ROOT_ID] = std::move(node);
}

Server::~Server() {
  Unmount();
  if (se_) {
    fuse_session_unmount(se_);  // closes the descriptor; umount is a no-op
    if (signals_) fuse_remove_signal_handlers(se_);
    fuse_session_destroy(se_);
  }
  // Release the nodes and the handles the kernel never released outside
  // the lock: dropping a Dirent or File takes VFS locks.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Node>> nodes;
  absl::flat_hash_set<File*> handles;
  {
    base::MutexLock l(&mu_);
    by_key_.clear();
    nodes.swap(nodes_);
    handles.swap(handles_);
  }
  for (File* f : handles) RefPtr<File>::Adopt(f).reset();
}

void Server::AddHandle(File* f) {
  base::MutexLock l(&mu_);
  handles_.insert(f);
}

void Server::DropHandle(File* f) {
  {
    base::MutexLock l(&mu_);
    if (handles_.erase(f) == 0) return;
  }
  RefPtr<File>::Adopt(f).reset();
}

int64_t Server::OpenHandles() const {
  base::MutexLock l(&mu_);
  return static_cast<int64_t>(handles_.size());
}

absl::Status Server::Mount(const std::string& mountpoint,
                           const std::vector<std::string>& options) {
  if (se_) return absl::FailedPreconditionError("already mounted");
  std::vector<std::string> argv = {"runsc-mount"};
  for (const std::string& o : options) {
    if (o.find("default_permissions") != std::string::npos) {
      return absl::InvalidArgumentError(
          "-o default_permissions: permissions are the sandbox's to check");
    }
    argv.push_back("-o");
    argv.push_back(o);
  }
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(cargv.size()), cargv.data());
  se_ = fuse_session_new(&args, &kOps, sizeof(kOps), this);
  fuse_opt_free_args(&args);
  if (se_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad mount options (-o ",
                     options.empty() ? "" : options.front(), "...)"));
  }
  if (fuse_session_mount(se_, mountpoint.c_str()) != 0) {
    fuse_session_destroy(se_);
    se_ = nullptr;
    return absl::UnavailableError(
        absl::StrCat("mounting FUSE at ", mountpoint, " failed"));
  }
  mountpoint_ = mountpoint;
  mounted_ = true;
  return absl::OkStatus();
}

absl::Status Server::HandleSignals() {
  if (!se_) return absl::FailedPreconditionError("not mounted");
  if (fuse_set_signal_handlers(se_) != 0) {
    return absl::InternalError("installing signal handlers failed");
  }
  signals_ = true;
  return absl::OkStatus();
}

int Server::Serve() {
  if (!se_) return -EINVAL;
  serving_ = true;
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, opts_.max_threads);
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  int r = fuse_session_loop_mt_312(se_, cfg);
  fuse_loop_cfg_destroy(cfg);
  serving_ = false;
  return r > 0 ? 0 : r;
}

void Server::Unmount() {
  if (!mounted_.exchange(false)) return;
  // While the loop runs, its workers read the session's descriptor, which
  // fuse_session_unmount would close under them: detach the mount
  // instead, and the kernel ends the connection (ENODEV to the readers)
  // once nothing uses it. The destructor closes the descriptor.
  if (serving_ && umount2(mountpoint_.c_str(), MNT_DETACH) == 0) return;
  fuse_session_unmount(se_);
}

size_t Server::NodeCount() const {
  base::MutexLock l(&mu_);
  return nodes_.size();
}

Path Server::PathOf(uint64_t id) const {
  base::MutexLock l(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Path{};
  return it->second->path;
}

uint64_t Server::AddLookup(const Path& p) {
  lookups_.fetch_add(1, std::memory_order_relaxed);
  base::MutexLock l(&mu_);
  Key k{p.mount.get(), p.inode()};
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    ++it->second->nlookup;
    return it->second->id;
  }
  auto node = std::make_unique<Node>();
  node->id = next_id_++;
  node->path = p;
  node->nlookup = 1;
  uint64_t id = node->id;
  by_key_[k] = node.get();
  nodes_[id] = std::move(node);
  return id;
}

void Server::Forget(uint64_t id, uint64_t n) {
  forgets_.fetch_add(n, std::memory_order_relaxed);
  if (id == FUSE_ROOT_ID) return;
  std::unique_ptr<Node> gone;
  {
    base::MutexLock l(&mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    Node* node = it->second.get();
    node->nlookup -= std::min(n, node->nlookup);
    if (node->nlookup > 0) return;
    by_key_.erase(Key{node->path.mount.get(), node->path.inode()});
    gone = std::move(it->second);
    nodes_.erase(it);
  }
  // The Path's references go here, outside mu_.
}

uint64_t Server::MapIno(uint64_t dev, uint64_t ino) {
  if (ino >> kInoBits) return ino;  // too big to tag: shown as it is
  uint64_t index;
  {
    base::MutexLock l(&mu_);
    auto [it, added] = dev_index_.try_emplace(dev, dev_index_.size());
    index = it->second;
  }
  if (index >= (uint64_t{1} << (64 - kInoBits))) return ino;
  return (index << kInoBits) | ino;
}

bool Server::IsRoot(uid_t host_uid) const {
  return MapId(opts_.uid_map, host_uid, sentry::kernel::auth::kOverflowUID) ==
         0;
}

Credentials Server::CredsFor(uid_t host_uid, gid_t host_gid,
                             const std::vector<gid_t>& host_groups) const {
  using sentry::kernel::auth::kOverflowGID;
  using sentry::kernel::auth::kOverflowUID;
  uint32_t uid = MapId(opts_.uid_map, host_uid, kOverflowUID);
  uint32_t gid = MapId(opts_.gid_map, host_gid, kOverflowGID);
  std::vector<uint32_t> groups;
  for (gid_t g : host_groups) {
    groups.push_back(MapId(opts_.gid_map, g, kOverflowGID));
  }
  if (uid != 0) return Credentials::User(uid, gid, std::move(groups));
  // Root inside the sandbox is root, with every capability.
  Credentials c = Credentials::Root();
  c.gid = c.egid = c.fsgid = gid;
  c.groups = std::move(groups);
  return c;
}

}  // namespace runsc::fuse
