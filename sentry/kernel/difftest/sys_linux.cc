// Sys implementations: the host kernel (raw syscalls).
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "sentry/kernel/difftest/sys.h"

namespace difftest {

namespace {
// syscall(2) reports -1/errno; the raw kernel ABI is -errno.
long R(long r) { return r == -1 ? -errno : r; }
}  // namespace

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

long LinuxSys::Openat(int dirfd, const char* path, int flags, mode_t mode) {
  return R(syscall(SYS_openat, dirfd, path, flags, mode));
}

long LinuxSys::Close(int fd) { return R(syscall(SYS_close, fd)); }

long LinuxSys::Dup(int fd) { return R(syscall(SYS_dup, fd)); }

long LinuxSys::Read(int fd, void* buf, size_t count) {
  return R(syscall(SYS_read, fd, buf, count));
}

long LinuxSys::Write(int fd, const void* buf, size_t count) {
  return R(syscall(SYS_write, fd, buf, count));
}

long LinuxSys::Pread64(int fd, void* buf, size_t count, off_t off) {
  return R(syscall(SYS_pread64, fd, buf, count, off));
}

long LinuxSys::Pwrite64(int fd, const void* buf, size_t count, off_t off) {
  return R(syscall(SYS_pwrite64, fd, buf, count, off));
}

long LinuxSys::Readv(int fd, const struct iovec* iov, int iovcnt) {
  return R(syscall(SYS_readv, fd, iov, iovcnt));
}

long LinuxSys::Writev(int fd, const struct iovec* iov, int iovcnt) {
  return R(syscall(SYS_writev, fd, iov, iovcnt));
}

long LinuxSys::Lseek(int fd, off_t off, int whence) {
  return R(syscall(SYS_lseek, fd, off, whence));
}

long LinuxSys::Fstat(int fd, struct stat* st) {
  return R(syscall(SYS_fstat, fd, st));
}

long LinuxSys::Fstatat(int dirfd, const char* path, struct stat* st,
                       int flags) {
  return R(syscall(SYS_newfstatat, dirfd, path, st, flags));
}

long LinuxSys::Statfs(const char* path, struct statfs* st) {
  return R(syscall(SYS_statfs, path, st));
}

long LinuxSys::Getdents64(int fd, void* buf, size_t count) {
  return R(syscall(SYS_getdents64, fd, buf, count));
}

long LinuxSys::Ftruncate(int fd, off_t len) {
  return R(syscall(SYS_ftruncate, fd, len));
}

long LinuxSys::Truncate(const char* path, off_t len) {
  return R(syscall(SYS_truncate, path, len));
}

long LinuxSys::Fallocate(int fd, int mode, off_t off, off_t len) {
  return R(syscall(SYS_fallocate, fd, mode, off, len));
}

long LinuxSys::Fsync(int fd) { return R(syscall(SYS_fsync, fd)); }

long LinuxSys::Fcntl(int fd, int cmd, unsigned long arg) {
  return R(syscall(SYS_fcntl, fd, cmd, arg));
}

long LinuxSys::Flock(int fd, int op) { return R(syscall(SYS_flock, fd, op)); }

long LinuxSys::Mkdirat(int dirfd, const char* path, mode_t mode) {
  return R(syscall(SYS_mkdirat, dirfd, path, mode));
}

long LinuxSys::Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
  return R(syscall(SYS_mknodat, dirfd, path, mode, dev));
}

long LinuxSys::Unlinkat(int dirfd, const char* path, int flags) {
  return R(syscall(SYS_unlinkat, dirfd, path, flags));
}

long LinuxSys::Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                         const char* newpath, unsigned flags) {
  return R(syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags));
}

long LinuxSys::Linkat(int olddirfd, const char* oldpath, int newdirfd,
                      const char* newpath, int flags) {
  return R(syscall(SYS_linkat, olddirfd, oldpath, newdirfd, newpath, flags));
}

long LinuxSys::Symlinkat(const char* target, int dirfd, const char* linkpath) {
  return R(syscall(SYS_symlinkat, target, dirfd, linkpath));
}

long LinuxSys::Readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  return R(syscall(SYS_readlinkat, dirfd, path, buf, size));
}

long LinuxSys::Fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
  // fchmodat(2) has no flags argument; fchmodat2 (Linux 6.6) does.
  if (flags == 0) return R(syscall(SYS_fchmodat, dirfd, path, mode));
  return R(syscall(SYS_fchmodat2, dirfd, path, mode, flags));
}

long LinuxSys::Fchmod(int fd, mode_t mode) {
  return R(syscall(SYS_fchmod, fd, mode));
}

long LinuxSys::Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                        int flags) {
  return R(syscall(SYS_fchownat, dirfd, path, uid, gid, flags));
}

long LinuxSys::Fchown(int fd, uid_t uid, gid_t gid) {
  return R(syscall(SYS_fchown, fd, uid, gid));
}

long LinuxSys::Utimensat(int dirfd, const char* path,
                         const struct timespec times[2], int flags) {
  return R(syscall(SYS_utimensat, dirfd, path, times, flags));
}

long LinuxSys::Faccessat(int dirfd, const char* path, int mode, int flags) {
  return R(syscall(SYS_faccessat2, dirfd, path, mode, flags));
}

long LinuxSys::Umask(mode_t mask) { return R(syscall(SYS_umask, mask)); }
long LinuxSys::Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                         struct rlimit* old_lim) {
  return R(syscall(SYS_prlimit64, pid, resource, new_lim, old_lim));
}

long LinuxSys::Setxattr(const char* path, const char* name, const void* value,
                        size_t size, int flags) {
  return R(syscall(SYS_setxattr, path, name, value, size, flags));
}

long LinuxSys::Lsetxattr(const char* path, const char* name, const void* value,
                         size_t size, int flags) {
  return R(syscall(SYS_lsetxattr, path, name, value, size, flags));
}

long LinuxSys::Fsetxattr(int fd, const char* name, const void* value,
                         size_t size, int flags) {
  return R(syscall(SYS_fsetxattr, fd, name, value, size, flags));
}

long LinuxSys::Getxattr(const char* path, const char* name, void* value,
                        size_t size) {
  return R(syscall(SYS_getxattr, path, name, value, size));
}

long LinuxSys::Lgetxattr(const char* path, const char* name, void* value,
                         size_t size) {
  return R(syscall(SYS_lgetxattr, path, name, value, size));
}

long LinuxSys::Fgetxattr(int fd, const char* name, void* value, size_t size) {
  return R(syscall(SYS_fgetxattr, fd, name, value, size));
}

long LinuxSys::Listxattr(const char* path, char* list, size_t size) {
  return R(syscall(SYS_listxattr, path, list, size));
}

long LinuxSys::Llistxattr(const char* path, char* list, size_t size) {
  return R(syscall(SYS_llistxattr, path, list, size));
}

long LinuxSys::Flistxattr(int fd, char* list, size_t size) {
  return R(syscall(SYS_flistxattr, fd, list, size));
}

long LinuxSys::Removexattr(const char* path, const char* name) {
  return R(syscall(SYS_removexattr, path, name));
}

long LinuxSys::Lremovexattr(const char* path, const char* name) {
  return R(syscall(SYS_lremovexattr, path, name));
}

long LinuxSys::Fremovexattr(int fd, const char* name) {
  return R(syscall(SYS_fremovexattr, fd, name));
}

long LinuxSys::Chdir(const char* path) { return R(syscall(SYS_chdir, path)); }

long LinuxSys::Fchdir(int fd) { return R(syscall(SYS_fchdir, fd)); }

long LinuxSys::Getcwd(char* buf, size_t size) {
  return R(syscall(SYS_getcwd, buf, size));
}

}  // namespace difftest
