// Sys: the syscall surface the differential test drives, with two
// implementations — the host kernel (raw syscalls, -errno on failure) and
// our VFS (sentry::kernel::Task). Every method returns what the raw Linux
// syscall returns: >= 0 or -errno.
#ifndef SENTRY_KERNEL_DIFFTEST_SYS_H_
#define SENTRY_KERNEL_DIFFTEST_SYS_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

namespace sentry::kernel {
class Task;
}

namespace difftest {

class Sys {
 public:
  virtual ~Sys() = default;
  virtual long Openat(int dirfd, const char* path, int flags, mode_t mode) = 0;
  virtual long Close(int fd) = 0;
  virtual long Dup(int fd) = 0;
  virtual long Read(int fd, void* buf, size_t count) = 0;
  virtual long Write(int fd, const void* buf, size_t count) = 0;
  virtual long Pread64(int fd, void* buf, size_t count, off_t off) = 0;
  virtual long Pwrite64(int fd, const void* buf, size_t count, off_t off) = 0;
  virtual long Readv(int fd, const struct iovec* iov, int iovcnt) = 0;
  virtual long Writev(int fd, const struct iovec* iov, int iovcnt) = 0;
  virtual long Lseek(int fd, off_t off, int whence) = 0;
  virtual long Fstat(int fd, struct stat* st) = 0;
  virtual long Fstatat(int dirfd, const char* path, struct stat* st,
                       int flags) = 0;
  virtual long Statfs(const char* path, struct statfs* st) = 0;
  virtual long Getdents64(int fd, void* buf, size_t count) = 0;
  virtual long Ftruncate(int fd, off_t len) = 0;
  virtual long Truncate(const char* path, off_t len) = 0;
  virtual long Fallocate(int fd, int mode, off_t off, off_t len) = 0;
  virtual long Fsync(int fd) = 0;
  virtual long Fcntl(int fd, int cmd, unsigned long arg) = 0;
  virtual long Flock(int fd, int op) = 0;
  virtual long Mkdirat(int dirfd, const char* path, mode_t mode) = 0;
  virtual long Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) = 0;
  virtual long Unlinkat(int dirfd, const char* path, int flags) = 0;
  virtual long Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                         const char* newpath, unsigned flags) = 0;
  virtual long Linkat(int olddirfd, const char* oldpath, int newdirfd,
                      const char* newpath, int flags) = 0;
  virtual long Symlinkat(const char* target, int dirfd,
                         const char* linkpath) = 0;
  virtual long Readlinkat(int dirfd, const char* path, char* buf,
                          size_t size) = 0;
  virtual long Fchmodat(int dirfd, const char* path, mode_t mode,
                        int flags) = 0;
  virtual long Fchmod(int fd, mode_t mode) = 0;
  virtual long Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                        int flags) = 0;
  virtual long Fchown(int fd, uid_t uid, gid_t gid) = 0;
  virtual long Utimensat(int dirfd, const char* path,
                         const struct timespec times[2], int flags) = 0;
  virtual long Faccessat(int dirfd, const char* path, int mode, int flags) = 0;
  virtual long Umask(mode_t mask) = 0;
  virtual long Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                         struct rlimit* old_lim) = 0;
  virtual long Setxattr(const char* path, const char* name, const void* value,
                        size_t size, int flags) = 0;
  virtual long Lsetxattr(const char* path, const char* name, const void* value,
                         size_t size, int flags) = 0;
  virtual long Fsetxattr(int fd, const char* name, const void* value,
                         size_t size, int flags) = 0;
  virtual long Getxattr(const char* path, const char* name, void* value,
                        size_t size) = 0;
  virtual long Lgetxattr(const char* path, const char* name, void* value,
                         size_t size) = 0;
  virtual long Fgetxattr(int fd, const char* name, void* value,
                         size_t size) = 0;
  virtual long Listxattr(const char* path, char* list, size_t size) = 0;
  virtual long Llistxattr(const char* path, char* list, size_t size) = 0;
  virtual long Flistxattr(int fd, char* list, size_t size) = 0;
  virtual long Removexattr(const char* path, const char* name) = 0;
  virtual long Lremovexattr(const char* path, const char* name) = 0;
  virtual long Fremovexattr(int fd, const char* name) = 0;
  virtual long Chdir(const char* path) = 0;
  virtual long Fchdir(int fd) = 0;
  virtual long Getcwd(char* buf, size_t size) = 0;
};

// The host kernel, via syscall(2). Use it in a process chrooted into the
// test's directory, so absolute paths mean the same on both sides.
class LinuxSys : public Sys {
 public:
  long Openat(int dirfd, const char* path, int flags, mode_t mode) override;
  long Close(int fd) override;
  long Dup(int fd) override;
  long Read(int fd, void* buf, size_t count) override;
  long Write(int fd, const void* buf, size_t count) override;
  long Pread64(int fd, void* buf, size_t count, off_t off) override;
  long Pwrite64(int fd, const void* buf, size_t count, off_t off) override;
  long Readv(int fd, const struct iovec* iov, int iovcnt) override;
  long Writev(int fd, const struct iovec* iov, int iovcnt) override;
  long Lseek(int fd, off_t off, int whence) override;
  long Fstat(int fd, struct stat* st) override;
  long Fstatat(int dirfd, const char* path, struct stat* st,
               int flags) override;
  long Statfs(const char* path, struct statfs* st) override;
  long Getdents64(int fd, void* buf, size_t count) override;
  long Ftruncate(int fd, off_t len) override;
  long Truncate(const char* path, off_t len) override;
  long Fallocate(int fd, int mode, off_t off, off_t len) override;
  long Fsync(int fd) override;
  long Fcntl(int fd, int cmd, unsigned long arg) override;
  long Flock(int fd, int op) override;
  long Mkdirat(int dirfd, const char* path, mode_t mode) override;
  long Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override;
  long Unlinkat(int dirfd, const char* path, int flags) override;
  long Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                 const char* newpath, unsigned flags) override;
  long Linkat(int olddirfd, const char* oldpath, int newdirfd,
              const char* newpath, int flags) override;
  long Symlinkat(const char* target, int dirfd, const char* linkpath) override;
  long Readlinkat(int dirfd, const char* path, char* buf, size_t size) override;
  long Fchmodat(int dirfd, const char* path, mode_t mode, int flags) override;
  long Fchmod(int fd, mode_t mode) override;
  long Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                int flags) override;
  long Fchown(int fd, uid_t uid, gid_t gid) override;
  long Utimensat(int dirfd, const char* path, const struct timespec times[2],
                 int flags) override;
  long Faccessat(int dirfd, const char* path, int mode, int flags) override;
  long Umask(mode_t mask) override;
  long Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                 struct rlimit* old_lim) override;
  long Setxattr(const char* path, const char* name, const void* value,
                size_t size, int flags) override;
  long Lsetxattr(const char* path, const char* name, const void* value,
                 size_t size, int flags) override;
  long Fsetxattr(int fd, const char* name, const void* value, size_t size,
                 int flags) override;
  long Getxattr(const char* path, const char* name, void* value,
                size_t size) override;
  long Lgetxattr(const char* path, const char* name, void* value,
                 size_t size) override;
  long Fgetxattr(int fd, const char* name, void* value, size_t size) override;
  long Listxattr(const char* path, char* list, size_t size) override;
  long Llistxattr(const char* path, char* list, size_t size) override;
  long Flistxattr(int fd, char* list, size_t size) override;
  long Removexattr(const char* path, const char* name) override;
  long Lremovexattr(const char* path, const char* name) override;
  long Fremovexattr(int fd, const char* name) override;
  long Chdir(const char* path) override;
  long Fchdir(int fd) override;
  long Getcwd(char* buf, size_t size) override;
};

// Our VFS: forwards to a Task (not owned).
class TaskSys : public Sys {
 public:
  explicit TaskSys(sentry::kernel::Task* t) : t_(t) {}
  long Openat(int dirfd, const char* path, int flags, mode_t mode) override;
  long Close(int fd) override;
  long Dup(int fd) override;
  long Read(int fd, void* buf, size_t count) override;
  long Write(int fd, const void* buf, size_t count) override;
  long Pread64(int fd, void* buf, size_t count, off_t off) override;
  long Pwrite64(int fd, const void* buf, size_t count, off_t off) override;
  long Readv(int fd, const struct iovec* iov, int iovcnt) override;
  long Writev(int fd, const struct iovec* iov, int iovcnt) override;
  long Lseek(int fd, off_t off, int whence) override;
  long Fstat(int fd, struct stat* st) override;
  long Fstatat(int dirfd, const char* path, struct stat* st,
               int flags) override;
  long Statfs(const char* path, struct statfs* st) override;
  long Getdents64(int fd, void* buf, size_t count) override;
  long Ftruncate(int fd, off_t len) override;
  long Truncate(const char* path, off_t len) override;
  long Fallocate(int fd, int mode, off_t off, off_t len) override;
  long Fsync(int fd) override;
  long Fcntl(int fd, int cmd, unsigned long arg) override;
  long Flock(int fd, int op) override;
  long Mkdirat(int dirfd, const char* path, mode_t mode) override;
  long Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) override;
  long Unlinkat(int dirfd, const char* path, int flags) override;
  long Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                 const char* newpath, unsigned flags) override;
  long Linkat(int olddirfd, const char* oldpath, int newdirfd,
              const char* newpath, int flags) override;
  long Symlinkat(const char* target, int dirfd, const char* linkpath) override;
  long Readlinkat(int dirfd, const char* path, char* buf, size_t size) override;
  long Fchmodat(int dirfd, const char* path, mode_t mode, int flags) override;
  long Fchmod(int fd, mode_t mode) override;
  long Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                int flags) override;
  long Fchown(int fd, uid_t uid, gid_t gid) override;
  long Utimensat(int dirfd, const char* path, const struct timespec times[2],
                 int flags) override;
  long Faccessat(int dirfd, const char* path, int mode, int flags) override;
  long Umask(mode_t mask) override;
  long Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                 struct rlimit* old_lim) override;
  long Setxattr(const char* path, const char* name, const void* value,
                size_t size, int flags) override;
  long Lsetxattr(const char* path, const char* name, const void* value,
                 size_t size, int flags) override;
  long Fsetxattr(int fd, const char* name, const void* value, size_t size,
                 int flags) override;
  long Getxattr(const char* path, const char* name, void* value,
                size_t size) override;
  long Lgetxattr(const char* path, const char* name, void* value,
                 size_t size) override;
  long Fgetxattr(int fd, const char* name, void* value, size_t size) override;
  long Listxattr(const char* path, char* list, size_t size) override;
  long Llistxattr(const char* path, char* list, size_t size) override;
  long Flistxattr(int fd, char* list, size_t size) override;
  long Removexattr(const char* path, const char* name) override;
  long Lremovexattr(const char* path, const char* name) override;
  long Fremovexattr(int fd, const char* name) override;
  long Chdir(const char* path) override;
  long Fchdir(int fd) override;
  long Getcwd(char* buf, size_t size) override;

 private:
  sentry::kernel::Task* t_;
};

}  // namespace difftest

#endif  // SENTRY_KERNEL_DIFFTEST_SYS_H_
