// Shorthand constructors for Ops, for hand-written cases and the generator.
#ifndef SENTRY_KERNEL_DIFFTEST_BUILDERS_H_
#define SENTRY_KERNEL_DIFFTEST_BUILDERS_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "sentry/kernel/difftest/op.h"

namespace difftest::ops {

inline Op Make(OpKind k) {
  Op op;
  op.kind = k;
  return op;
}
inline Op Openat(int slot, int dir, std::string path, int flags,
                 uint32_t mode = 0) {
  Op op = Make(OpKind::kOpen);
  op.slot = slot;
  op.dir = dir;
  op.path = std::move(path);
  op.flags = flags;
  op.mode = mode;
  return op;
}
inline Op Open(int slot, std::string path, int flags, uint32_t mode = 0) {
  return Openat(slot, kCwd, std::move(path), flags, mode);
}
inline Op Close(int slot) {
  Op op = Make(OpKind::kClose);
  op.slot = slot;
  return op;
}
inline Op Dup(int slot, int slot2) {
  Op op = Make(OpKind::kDup);
  op.slot = slot;
  op.slot2 = slot2;
  return op;
}
inline Op Read(int slot, int64_t len) {
  Op op = Make(OpKind::kRead);
  op.slot = slot;
  op.len = len;
  return op;
}
inline Op Readv(int slot, int64_t len) {
  Op op = Read(slot, len);
  op.kind = OpKind::kReadv;
  return op;
}
inline Op Pread(int slot, int64_t len, int64_t off) {
  Op op = Read(slot, len);
  op.kind = OpKind::kPread;
  op.off = off;
  return op;
}
inline Op Write(int slot, std::string data) {
  Op op = Make(OpKind::kWrite);
  op.slot = slot;
  op.data = std::move(data);
  return op;
}
inline Op Writev(int slot, std::string data) {
  Op op = Write(slot, std::move(data));
  op.kind = OpKind::kWritev;
  return op;
}
inline Op Pwrite(int slot, std::string data, int64_t off) {
  Op op = Write(slot, std::move(data));
  op.kind = OpKind::kPwrite;
  op.off = off;
  return op;
}
inline Op Lseek(int slot, int64_t off, int whence) {
  Op op = Make(OpKind::kLseek);
  op.slot = slot;
  op.off = off;
  op.flags = whence;
  return op;
}
inline Op Fstat(int slot) {
  Op op = Make(OpKind::kFstat);
  op.slot = slot;
  return op;
}
inline Op Stat(std::string path, int flags = 0, int dir = kCwd) {
  Op op = Make(OpKind::kStat);
  op.path = std::move(path);
  op.flags = flags;
  op.dir = dir;
  return op;
}
inline Op Lstat(std::string path) {
  return Stat(std::move(path), AT_SYMLINK_NOFOLLOW);
}
inline Op Statfs(std::string path) {
  Op op = Make(OpKind::kStatfs);
  op.path = std::move(path);
  return op;
}
inline Op Getdents(int slot, int64_t bufsize) {
  Op op = Make(OpKind::kGetdents);
  op.slot = slot;
  op.len = bufsize;
  return op;
}
inline Op ListDir(std::string path, int64_t small_bufsize = 24) {
  Op op = Make(OpKind::kListDir);
  op.path = std::move(path);
  op.len = small_bufsize;
  return op;
}
inline Op Ftruncate(int slot, int64_t len) {
  Op op = Make(OpKind::kFtruncate);
  op.slot = slot;
  op.len = len;
  return op;
}
inline Op Truncate(std::string path, int64_t len) {
  Op op = Make(OpKind::kTruncate);
  op.path = std::move(path);
  op.len = len;
  return op;
}
inline Op Fallocate(int slot, int mode, int64_t off, int64_t len) {
  Op op = Make(OpKind::kFallocate);
  op.slot = slot;
  op.flags = mode;
  op.off = off;
  op.len = len;
  return op;
}
inline Op Fsync(int slot) {
  Op op = Make(OpKind::kFsync);
  op.slot = slot;
  return op;
}
inline Op Fcntl(int slot, int cmd, long arg = 0) {
  Op op = Make(OpKind::kFcntl);
  op.slot = slot;
  op.flags = cmd;
  op.arg = arg;
  return op;
}
inline Op Lock(int slot, int cmd, short type, int64_t start, int64_t len) {
  Op op = Make(OpKind::kLock);
  op.slot = slot;
  op.flags = cmd;
  op.arg = type;
  op.off = start;
  op.len = len;
  return op;
}
inline Op Flock(int slot, int operation) {
  Op op = Make(OpKind::kFlock);
  op.slot = slot;
  op.flags = operation;
  return op;
}
inline Op Mkdir(std::string path, uint32_t mode = 0755, int dir = kCwd) {
  Op op = Make(OpKind::kMkdir);
  op.path = std::move(path);
  op.mode = mode;
  op.dir = dir;
  return op;
}
inline Op Mknod(std::string path, uint32_t mode, uint64_t dev = 0) {
  Op op = Make(OpKind::kMknod);
  op.path = std::move(path);
  op.mode = mode;
  op.dev = dev;
  return op;
}
inline Op Unlink(std::string path, int dir = kCwd) {
  Op op = Make(OpKind::kUnlink);
  op.path = std::move(path);
  op.dir = dir;
  return op;
}
inline Op Rmdir(std::string path, int dir = kCwd) {
  Op op = Unlink(std::move(path), dir);
  op.kind = OpKind::kRmdir;
  return op;
}
inline Op Rename(std::string from, std::string to, unsigned flags = 0) {
  Op op = Make(OpKind::kRename);
  op.path = std::move(from);
  op.path2 = std::move(to);
  op.flags = static_cast<int>(flags);
  return op;
}
inline Op Link(std::string from, std::string to, int flags = 0) {
  Op op = Make(OpKind::kLink);
  op.path = std::move(from);
  op.path2 = std::move(to);
  op.flags = flags;
  return op;
}
inline Op Symlink(std::string target, std::string linkpath) {
  Op op = Make(OpKind::kSymlink);
  op.path = std::move(target);
  op.path2 = std::move(linkpath);
  return op;
}
inline Op Readlink(std::string path, int64_t bufsize = 4096) {
  Op op = Make(OpKind::kReadlink);
  op.path = std::move(path);
  op.len = bufsize;
  return op;
}
inline Op Chmod(std::string path, uint32_t mode, int flags = 0) {
  Op op = Make(OpKind::kChmod);
  op.path = std::move(path);
  op.mode = mode;
  op.flags = flags;
  return op;
}
inline Op Fchmod(int slot, uint32_t mode) {
  Op op = Make(OpKind::kFchmod);
  op.slot = slot;
  op.mode = mode;
  return op;
}
inline Op Chown(std::string path, uint32_t uid, uint32_t gid, int flags = 0) {
  Op op = Make(OpKind::kChown);
  op.path = std::move(path);
  op.uid = uid;
  op.gid = gid;
  op.flags = flags;
  return op;
}
inline Op Fchown(int slot, uint32_t uid, uint32_t gid) {
  Op op = Make(OpKind::kFchown);
  op.slot = slot;
  op.uid = uid;
  op.gid = gid;
  return op;
}
// which: 0 NULL, 1 explicit times, 2 UTIME_NOW, 3 UTIME_OMIT.
inline Op Utimens(std::string path, int which, int flags = 0) {
  Op op = Make(OpKind::kUtimens);
  op.path = std::move(path);
  op.arg = which;
  op.flags = flags;
  return op;
}
inline Op Access(std::string path, int mode, int flags = 0) {
  Op op = Make(OpKind::kAccess);
  op.path = std::move(path);
  op.mode = static_cast<uint32_t>(mode);
  op.flags = flags;
  return op;
}
// new_lim: set {cur, max} (RLIM_INFINITY as ~0); otherwise only read.
inline Op Prlimit(int resource, bool new_lim = false, uint64_t cur = 0,
                  uint64_t max = 0) {
  Op op = Make(OpKind::kPrlimit);
  op.flags = resource;
  op.arg = new_lim;
  op.off = static_cast<int64_t>(cur);
  op.len = static_cast<int64_t>(max);
  return op;
}
inline Op Umask(uint32_t mask) {
  Op op = Make(OpKind::kUmask);
  op.mode = mask;
  return op;
}
inline Op Setxattr(std::string path, std::string name, std::string value,
                   int flags = 0, XattrVariant xv = XattrVariant::kPath) {
  Op op = Make(OpKind::kSetxattr);
  op.path = std::move(path);
  op.name = std::move(name);
  op.data = std::move(value);
  op.flags = flags;
  op.xv = xv;
  return op;
}
inline Op Getxattr(std::string path, std::string name, int64_t size = 1024,
                   XattrVariant xv = XattrVariant::kPath) {
  Op op = Make(OpKind::kGetxattr);
  op.path = std::move(path);
  op.name = std::move(name);
  op.len = size;
  op.xv = xv;
  return op;
}
inline Op Listxattr(std::string path, int64_t size = 1024,
                    XattrVariant xv = XattrVariant::kPath) {
  Op op = Make(OpKind::kListxattr);
  op.path = std::move(path);
  op.len = size;
  op.xv = xv;
  return op;
}
inline Op Removexattr(std::string path, std::string name,
                      XattrVariant xv = XattrVariant::kPath) {
  Op op = Make(OpKind::kRemovexattr);
  op.path = std::move(path);
  op.name = std::move(name);
  op.xv = xv;
  return op;
}
inline Op Chdir(std::string path) {
  Op op = Make(OpKind::kChdir);
  op.path = std::move(path);
  return op;
}
inline Op Fchdir(int slot) {
  Op op = Make(OpKind::kFchdir);
  op.slot = slot;
  return op;
}
inline Op Getcwd(int64_t size = 4096) {
  Op op = Make(OpKind::kGetcwd);
  op.len = size;
  return op;
}
// Shorthand: create path with contents (open, write, close) in slot 7.
inline std::vector<Op> MakeFile(const std::string& path,
                                const std::string& data, uint32_t mode = 0644) {
  return {Open(7, path, O_WRONLY | O_CREAT | O_EXCL, mode), Write(7, data),
          Close(7)};
}

}  // namespace difftest::ops

#endif  // SENTRY_KERNEL_DIFFTEST_BUILDERS_H_
