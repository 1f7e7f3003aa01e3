// Task: one process's view of the VFS, with syscall-shaped entry points.
//
// What an embedding kernel calls, and what the differential tests compare
// with Linux: each method takes what the syscall takes and returns what it
// returns — a non-negative result or -errno — so a caller can hand the value
// straight back to the application. Structures use the x86-64 Linux ABI
// (linux_abi pins struct stat, statfs, flock and friends to the host's).
//
// A Task owns its FD table and filesystem state (root, cwd, umask) and
// runs with its Context's credentials. Thread-safe: several threads of one
// task may call in at once (the FD table and fs state are locked).
#ifndef SENTRY_KERNEL_TASK_H_
#define SENTRY_KERNEL_TASK_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/linux/linux.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "base/spinlock.h"
#include "sentry/context/context.h"
#include "sentry/fs/file.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"

namespace sentry::kernel {

// The FD table: numbers to open files, with the close-on-exec flag.
// Thread-safe. Changes are made under mu_; Get takes no lock (as Linux's
// RCU fdget): it reads a published array of the files inside an
// epoch::ReadGuard, and Files are freed through epoch::Retire.
class FDTable {
 public:
  static constexpr int kDefaultLimit = 1024;  // RLIMIT_NOFILE soft default
  FDTable() = default;
  ~FDTable();

  // The lowest free fd >= min_fd; EMFILE past the limit.
  base::ErrnoOr<int> Install(base::RefPtr<fs::File> f, bool cloexec,
                             int min_fd = 0) ABSL_LOCKS_EXCLUDED(mu_);
  // dup2/dup3: replaces newfd; returns the file it displaced (the caller
  // releases it, and its locks, outside the table lock).
  base::ErrnoOr<base::RefPtr<fs::File>> InstallAt(base::RefPtr<fs::File> f,
                                                  int fd, bool cloexec)
      ABSL_LOCKS_EXCLUDED(mu_);
  // EBADF if fd is not open.
  base::ErrnoOr<base::RefPtr<fs::File>> Get(int fd) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The file at fd without a reference, or null (fd not open, its file
  // not borrowable_io(), or its inode ever locked). Only for the caller's
  // epoch::ReadGuard: a close meanwhile retires the File, so it stays valid (if
  // closed) until the guard ends.
  fs::File* Borrow(int fd) const;
  // The file at fd without a reference, or null if fd is not open; for
  // reads of what the File holds (its inode's attributes) inside the
  // caller's epoch::ReadGuard, as Borrow.
  fs::File* Peek(int fd) const;
  base::ErrnoOr<base::RefPtr<fs::File>> Remove(int fd) ABSL_LOCKS_EXCLUDED(mu_);
  base::ErrnoOr<bool> GetCloexec(int fd) const ABSL_LOCKS_EXCLUDED(mu_);
  base::Errno SetCloexec(int fd, bool cloexec) ABSL_LOCKS_EXCLUDED(mu_);
  // Every open fd, ascending (for /proc/[pid]/fd).
  std::vector<int> Fds() const ABSL_LOCKS_EXCLUDED(mu_);
  // Closes everything, returning the files for release.
  std::vector<base::RefPtr<fs::File>> RemoveAll() ABSL_LOCKS_EXCLUDED(mu_);
  // RLIMIT_NOFILE's soft limit: no fd at or past it is given out (EMFILE;
  // dup2 EBADF). Lowering it closes nothing.
  int limit() const { return limit_.load(std::memory_order_relaxed); }
  void set_limit(int limit) { limit_.store(limit, std::memory_order_relaxed); }

 private:
  struct Slot {
    base::RefPtr<fs::File> file;
    bool cloexec = false;
  };
  // What Get reads without mu_: slots_'s files by number. Written under
  // mu_; replaced whole when it grows (the old one retired).
  struct Published {
    explicit Published(size_t n)
        : size(n), files(new std::atomic<fs::File*>[n]()) {}
    const size_t size;
    const std::unique_ptr<std::atomic<fs::File*>[]> files;
  };
  // Makes fd a slot of slots_ and of the published array.
  void EnsureLocked(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts f at fd (EnsureLocked first) and returns what was there.
  base::RefPtr<fs::File> SetLocked(int fd, base::RefPtr<fs::File> f)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The lowest free fd >= from, for Install (may be past slots_).
  int LowestFreeLocked(int from) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable base::SpinLock mu_;  // held for a few instructions only
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  // Which slots_ hold a file, a bit each (as Linux's open_fds), so Install
  // finds the lowest free number a word at a time; and below which every
  // number is in use (Linux's next_fd), so the usual open, which takes the
  // lowest, starts where the last one left off.
  std::vector<uint64_t> used_ ABSL_GUARDED_BY(mu_);
  int next_fd_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<Published*> published_{nullptr};
  std::atomic<int> limit_{kDefaultLimit};
};

class Task {
 public:
  // A task at ns's root, running with creds.
  Task(base::RefPtr<fs::MountNamespace> ns, auth::Credentials creds,
       int32_t pid = 1);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  context::Context& ctx() { return ctx_; }
  fs::MountNamespace* mount_namespace() const { return ns_.get(); }
  FDTable& fd_table() { return fds_; }
  fs::Path root() const ABSL_LOCKS_EXCLUDED(fs_mu_);
  fs::Path cwd() const ABSL_LOCKS_EXCLUDED(fs_mu_);
  uint32_t umask() const ABSL_LOCKS_EXCLUDED(fs_mu_);

  // Files and descriptors.
  long Openat(int dirfd, const char* path, int flags, mode_t mode = 0);
  long Open(const char* path, int flags, mode_t mode = 0) {
    return Openat(AT_FDCWD, path, flags, mode);
  }
  long Close(int fd);
  long Dup(int fd);
  long Dup3(int oldfd, int newfd, int flags);
  long Read(int fd, void* buf, size_t count);
  long Write(int fd, const void* buf, size_t count);
  long Pread64(int fd, void* buf, size_t count, off_t offset);
  long Pwrite64(int fd, const void* buf, size_t count, off_t offset);
  long Readv(int fd, const struct iovec* iov, int iovcnt);
  long Writev(int fd, const struct iovec* iov, int iovcnt);
  long Lseek(int fd, off_t offset, int whence);
  long Fstat(int fd, struct stat* st);
  long Fstatat(int dirfd, const char* path, struct stat* st, int flags);
  long Statfs(const char* path, struct statfs* st);
  long Fstatfs(int fd, struct statfs* st);
  long Getdents64(int fd, void* buf, size_t count);
  long Ftruncate(int fd, off_t length);
  long Truncate(const char* path, off_t length);
  // truncate(2) of dirfd/path, or with AT_EMPTY_PATH and "" of the file
  // dirfd refers to (an O_PATH descriptor will do); checks as truncate(2).
  // No Linux syscall has this shape: it is for embedders that address
  // files by descriptor (the FUSE export), as truncate("/proc/self/fd/N").
  long Truncateat(int dirfd, const char* path, off_t length, int flags);
  long Fallocate(int fd, int mode, off_t offset, off_t len);
  long Fsync(int fd);
  long Fdatasync(int fd);
  long Fcntl(int fd, int cmd, unsigned long arg = 0);
  // ioctl(2): FIOCLEX/FIONCLEX here, everything else by the file's
  // FileOperations (ENOTTY by default). arg is the caller's pointer or
  // value, as the syscall passes it.
  long Ioctl(int fd, unsigned long cmd, unsigned long arg = 0);
  long Flock(int fd, int operation);

  // Names.
  long Mkdirat(int dirfd, const char* path, mode_t mode);
  long Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev);
  long Unlinkat(int dirfd, const char* path, int flags);
  long Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                 const char* newpath, unsigned flags);
  long Linkat(int olddirfd, const char* oldpath, int newdirfd,
              const char* newpath, int flags);
  long Symlinkat(const char* target, int newdirfd, const char* linkpath);
  long Readlinkat(int dirfd, const char* path, char* buf, size_t bufsiz);

  // Attributes.
  long Fchmodat(int dirfd, const char* path, mode_t mode, int flags = 0);
  long Fchmod(int fd, mode_t mode);
  long Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags);
  long Fchown(int fd, uid_t uid, gid_t gid);
  long Utimensat(int dirfd, const char* path, const struct timespec times[2],
                 int flags);
  long Faccessat(int dirfd, const char* path, int mode, int flags);
  long Umask(mode_t mask);

  // Extended attributes. The l* forms do not follow a final symlink.
  long Setxattr(const char* path, const char* name, const void* value,
                size_t size, int flags);
  long Lsetxattr(const char* path, const char* name, const void* value,
                 size_t size, int flags);
  long Fsetxattr(int fd, const char* name, const void* value, size_t size,
                 int flags);
  long Getxattr(const char* path, const char* name, void* value, size_t size);
  long Lgetxattr(const char* path, const char* name, void* value, size_t size);
  long Fgetxattr(int fd, const char* name, void* value, size_t size);
  long Listxattr(const char* path, char* list, size_t size);
  long Llistxattr(const char* path, char* list, size_t size);
  long Flistxattr(int fd, char* list, size_t size);
  long Removexattr(const char* path, const char* name);
  long Lremovexattr(const char* path, const char* name);
  long Fremovexattr(int fd, const char* name);
  // Linux 6.13's *xattrat(2) (dirfd, path, AT_SYMLINK_NOFOLLOW and
  // AT_EMPTY_PATH; an O_PATH dirfd will do), with the value and flags as
  // plain arguments instead of struct xattr_args.
  long Setxattrat(int dirfd, const char* path, int at_flags, const char* name,
                  const void* value, size_t size, int flags);
  long Getxattrat(int dirfd, const char* path, int at_flags, const char* name,
                  void* value, size_t size);
  long Listxattrat(int dirfd, const char* path, int at_flags, char* list,
                   size_t size);
  long Removexattrat(int dirfd, const char* path, int at_flags,
                     const char* name);

  // Process filesystem state.
  long Chdir(const char* path);
  long Fchdir(int fd);
  long Getcwd(char* buf, size_t size);
  long Chroot(const char* path);

  // Resource limits: getrlimit(2), setrlimit(2) and prlimit64(2) of this
  // process (prlimit's pid 0 or its own; any other is ESRCH, as a Task
  // knows no other process). All 16 are kept and reported (/proc/[pid]/
  // limits); the VFS enforces RLIMIT_NOFILE (EMFILE, dup2's EBADF,
  // F_DUPFD's EINVAL) and RLIMIT_FSIZE (EFBIG). Raising a hard limit
  // takes CAP_SYS_RESOURCE, and no RLIMIT_NOFILE hard limit may pass
  // fs.nr_open (EPERM, root included). struct rlimit and rlimit64 are
  // one layout on x86-64.
  long Getrlimit(int resource, struct rlimit* old_lim);
  long Setrlimit(int resource, const struct rlimit* new_lim);
  long Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                 struct rlimit* old_lim);
  // For the runtime (OCI process.rlimits): setrlimit without the
  // capability check, as runc sets them before it drops privileges.
  // EINVAL for an unknown resource or soft above hard; EPERM for an
  // RLIMIT_NOFILE hard limit past fs.nr_open.
  base::Errno SetRlimitForRuntime(int resource, linux_abi::Rlimit lim);
  std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits> rlimits() const
      ABSL_LOCKS_EXCLUDED(rlim_mu_);
  // What a new Task starts with: Linux's for a process nothing has raised
  // (INIT_RLIMITS: RLIMIT_NOFILE 1024 soft, 4096 hard), but for
  // RLIMIT_NPROC and RLIMIT_SIGPENDING, which Linux sizes from memory at
  // boot: those are the host process's own.
  static const std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits>&
  DefaultRlimits();

  // Mounts.
  long Mount(const char* source, const char* target, const char* fstype,
             unsigned long flags, const void* data);
  long Umount2(const char* target, int flags);

  // inotify.
  long InotifyInit1(int flags);
  long InotifyAddWatch(int fd, const char* path, uint32_t mask);
  long InotifyRmWatch(int fd, int wd);

  // For embedders: the File behind fd, and a new fd for an existing File.
  base::ErrnoOr<base::RefPtr<fs::File>> GetFile(int fd) const {
    return fds_.Get(fd);
  }
  long InstallFile(base::RefPtr<fs::File> f, bool cloexec);
  // Opens the file fd refers to anew, as open("/proc/self/fd/N", flags)
  // does on Linux: the permission checks of open(2) for the file itself
  // (EACCES, EISDIR for writing a directory, ELOOP for a symlink without
  // O_PATH, EROFS), O_TRUNC honoured; O_CREAT and O_TMPFILE are EINVAL.
  // fd may be an O_PATH descriptor. For servers that address files by
  // handle rather than by path (the FUSE export).
  long Reopen(int fd, int flags);

 private:
  struct XattrTarget;
  // The root, and the starting point for dirfd-relative resolution (cwd
  // for AT_FDCWD, else the directory fd: EBADF; left empty for an absolute
  // path, which starts at the root), read under one hold of fs_mu_.
  // Precondition: path is not empty.
  base::Errno RootAndStart(int dirfd, const char* path, fs::Path* root,
                           fs::Path* start) ABSL_LOCKS_EXCLUDED(fs_mu_);
  base::ErrnoOr<fs::Path> ResolveAt(int dirfd, const char* path, bool follow,
                                    bool empty_path_ok = false,
                                    bool must_be_dir = false);
  base::ErrnoOr<fs::ParentAndName> ResolveParentAt(int dirfd, const char* path);
  base::ErrnoOr<base::RefPtr<fs::File>> OpenPath(fs::Path p, int flags);
  // open(2) after resolution: checks, the File, O_TRUNC, the new fd.
  long OpenResolved(fs::Path p, int flags, bool created);
  long OpenTmpfile(int dirfd, const char* path, int flags, mode_t mode);
  // mkdir, mknod and symlink: mode is the type and final permission bits.
  long CreateAt(int dirfd, const char* path, uint32_t mode, uint64_t rdev,
                const char* symlink_target);
  long DoStat(fs::Inode* in, struct stat* st);
  long DoSetAttr(const fs::Path& p, const fs::AttrChange& ch);
  long DoChmod(const fs::Path& p, mode_t mode);
  long DoChown(const fs::Path& p, uid_t uid, gid_t gid);
  long DoTruncate(const fs::Path& p, off_t length, bool through_fd);
  long DoSetxattr(const fs::Path& p, const char* name, const void* value,
                  size_t size, int flags);
  long DoGetxattr(const fs::Path& p, const char* name, void* value,
                  size_t size);
  long DoListxattr(const fs::Path& p, char* list, size_t size);
  long DoRemovexattr(const fs::Path& p, const char* name);
  long DoPosixLock(const base::RefPtr<fs::File>& f, int cmd, struct flock* fl);
  // Closing any fd of an inode drops this process's record locks on it.
  void ReleaseFile(base::RefPtr<fs::File> f);
  // do_prlimit: the checks in Linux's order, then the swap.
  base::Errno DoPrlimit(unsigned resource, const linux_abi::Rlimit* new_lim,
                        linux_abi::Rlimit* old_lim, bool check_cap)
      ABSL_LOCKS_EXCLUDED(rlim_mu_);

  base::RefPtr<fs::MountNamespace> ns_;
  context::Context ctx_;
  FDTable fds_;
  // The root and the cwd. Readers load view_ inside an epoch::ReadGuard
  // and use its Paths without a lock (a stat from many threads writes no
  // shared line); chroot and chdir publish a new view under fs_mu_ and
  // retire the old one through epoch::Retire, which drops its references
  // once no reader can see it.
  struct FsView {
    fs::Path root;
    fs::Path cwd;
  };
  void PublishViewLocked(fs::Path root, fs::Path cwd)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_mu_);
  // stat(2) of path (absolute, or relative to the cwd) walked entirely
  // inside an epoch guard: false, with nothing done, where the lock-free
  // walk cannot finish it (see fs::ResolveInGuard).
  bool StatInGuard(const char* path, bool follow, struct stat* st, long* ret);

  mutable base::Mutex fs_mu_;
  std::atomic<const FsView*> view_{nullptr};  // written under fs_mu_
  uint32_t umask_ ABSL_GUARDED_BY(fs_mu_) = 022;
  // The limits; the two the VFS enforces are mirrored where it reads them
  // (fds_.limit(), ctx_.file_size_limit()) whenever they change.
  mutable base::Mutex rlim_mu_;
  std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits> rlimits_
      ABSL_GUARDED_BY(rlim_mu_) = DefaultRlimits();
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_TASK_H_
