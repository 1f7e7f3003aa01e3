// Sys implementation backed by our VFS (sentry::kernel::Task).
#include "sentry/kernel/difftest/sys.h"
#include "sentry/kernel/task.h"

namespace difftest {

long TaskSys::Openat(int dirfd, const char* path, int flags, mode_t mode) {
  return t_->Openat(dirfd, path, flags, mode);
}

long TaskSys::Close(int fd) { return t_->Close(fd); }

long TaskSys::Dup(int fd) { return t_->Dup(fd); }

long TaskSys::Read(int fd, void* buf, size_t count) {
  return t_->Read(fd, buf, count);
}

long TaskSys::Write(int fd, const void* buf, size_t count) {
  return t_->Write(fd, buf, count);
}

long TaskSys::Pread64(int fd, void* buf, size_t count, off_t off) {
  return t_->Pread64(fd, buf, count, off);
}

long TaskSys::Pwrite64(int fd, const void* buf, size_t count, off_t off) {
  return t_->Pwrite64(fd, buf, count, off);
}

long TaskSys::Readv(int fd, const struct iovec* iov, int iovcnt) {
  return t_->Readv(fd, iov, iovcnt);
}

long TaskSys::Writev(int fd, const struct iovec* iov, int iovcnt) {
  return t_->Writev(fd, iov, iovcnt);
}

long TaskSys::Lseek(int fd, off_t off, int whence) {
  return t_->Lseek(fd, off, whence);
}

long TaskSys::Fstat(int fd, struct stat* st) { return t_->Fstat(fd, st); }

long TaskSys::Fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  return t_->Fstatat(dirfd, path, st, flags);
}

long TaskSys::Statfs(const char* path, struct statfs* st) {
  return t_->Statfs(path, st);
}

long TaskSys::Getdents64(int fd, void* buf, size_t count) {
  return t_->Getdents64(fd, buf, count);
}

long TaskSys::Ftruncate(int fd, off_t len) { return t_->Ftruncate(fd, len); }

long TaskSys::Truncate(const char* path, off_t len) {
  return t_->Truncate(path, len);
}

long TaskSys::Fallocate(int fd, int mode, off_t off, off_t len) {
  return t_->Fallocate(fd, mode, off, len);
}

long TaskSys::Fsync(int fd) { return t_->Fsync(fd); }

long TaskSys::Fcntl(int fd, int cmd, unsigned long arg) {
  return t_->Fcntl(fd, cmd, arg);
}

long TaskSys::Flock(int fd, int op) { return t_->Flock(fd, op); }

long TaskSys::Mkdirat(int dirfd, const char* path, mode_t mode) {
  return t_->Mkdirat(dirfd, path, mode);
}

long TaskSys::Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
  return t_->Mknodat(dirfd, path, mode, dev);
}

long TaskSys::Unlinkat(int dirfd, const char* path, int flags) {
  return t_->Unlinkat(dirfd, path, flags);
}

long TaskSys::Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                        const char* newpath, unsigned flags) {
  return t_->Renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

long TaskSys::Linkat(int olddirfd, const char* oldpath, int newdirfd,
                     const char* newpath, int flags) {
  return t_->Linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

long TaskSys::Symlinkat(const char* target, int dirfd, const char* linkpath) {
  return t_->Symlinkat(target, dirfd, linkpath);
}

long TaskSys::Readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  return t_->Readlinkat(dirfd, path, buf, size);
}

long TaskSys::Fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
  return t_->Fchmodat(dirfd, path, mode, flags);
}

long TaskSys::Fchmod(int fd, mode_t mode) { return t_->Fchmod(fd, mode); }

long TaskSys::Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                       int flags) {
  return t_->Fchownat(dirfd, path, uid, gid, flags);
}

long TaskSys::Fchown(int fd, uid_t uid, gid_t gid) {
  return t_->Fchown(fd, uid, gid);
}

long TaskSys::Utimensat(int dirfd, const char* path,
                        const struct timespec times[2], int flags) {
  return t_->Utimensat(dirfd, path, times, flags);
}

long TaskSys::Faccessat(int dirfd, const char* path, int mode, int flags) {
  return t_->Faccessat(dirfd, path, mode, flags);
}

long TaskSys::Umask(mode_t mask) { return t_->Umask(mask); }
long TaskSys::Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                        struct rlimit* old_lim) {
  return t_->Prlimit64(pid, resource, new_lim, old_lim);
}

long TaskSys::Setxattr(const char* path, const char* name, const void* value,
                       size_t size, int flags) {
  return t_->Setxattr(path, name, value, size, flags);
}

long TaskSys::Lsetxattr(const char* path, const char* name, const void* value,
                        size_t size, int flags) {
  return t_->Lsetxattr(path, name, value, size, flags);
}

long TaskSys::Fsetxattr(int fd, const char* name, const void* value,
                        size_t size, int flags) {
  return t_->Fsetxattr(fd, name, value, size, flags);
}

long TaskSys::Getxattr(const char* path, const char* name, void* value,
                       size_t size) {
  return t_->Getxattr(path, name, value, size);
}

long TaskSys::Lgetxattr(const char* path, const char* name, void* value,
                        size_t size) {
  return t_->Lgetxattr(path, name, value, size);
}

long TaskSys::Fgetxattr(int fd, const char* name, void* value, size_t size) {
  return t_->Fgetxattr(fd, name, value, size);
}

long TaskSys::Listxattr(const char* path, char* list, size_t size) {
  return t_->Listxattr(path, list, size);
}

long TaskSys::Llistxattr(const char* path, char* list, size_t size) {
  return t_->Llistxattr(path, list, size);
}

long TaskSys::Flistxattr(int fd, char* list, size_t size) {
  return t_->Flistxattr(fd, list, size);
}

long TaskSys::Removexattr(const char* path, const char* name) {
  return t_->Removexattr(path, name);
}

long TaskSys::Lremovexattr(const char* path, const char* name) {
  return t_->Lremovexattr(path, name);
}

long TaskSys::Fremovexattr(int fd, const char* name) {
  return t_->Fremovexattr(fd, name);
}

long TaskSys::Chdir(const char* path) { return t_->Chdir(path); }

long TaskSys::Fchdir(int fd) { return t_->Fchdir(fd); }

long TaskSys::Getcwd(char* buf, size_t size) { return t_->Getcwd(buf, size); }

}  // namespace difftest
