// The differential test's op language: one syscall-shaped step, its
// canonical result, and an executor that runs steps against a Sys (either
// the host kernel or our VFS's Task) with identical canonicalisation, so the
// two sides' results can be compared byte for byte.
//
// File descriptors are named by slot (0..kNumSlots-1); each side keeps its
// own slot -> fd map, so fd numbers (which legitimately differ: the host
// child has stdio and a pipe open) never leak into results.
#ifndef SENTRY_KERNEL_DIFFTEST_OP_H_
#define SENTRY_KERNEL_DIFFTEST_OP_H_

#include <fcntl.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sentry/kernel/difftest/sys.h"

namespace difftest {

inline constexpr int kNumSlots = 8;
// A dirfd "slot" meaning AT_FDCWD.
inline constexpr int kCwd = -100;
// An fd slot that is never open (for EBADF cases).
inline constexpr int kBadSlot = -1;

enum class OpKind {
  kOpen,       // openat(dir, path, flags, mode) -> slot
  kClose,      // close(slot)
  kDup,        // dup(slot) -> slot2
  kRead,       // read(slot, len)
  kWrite,      // write(slot, data)
  kPread,      // pread64(slot, len, off)
  kPwrite,     // pwrite64(slot, data, off)
  kReadv,      // readv(slot, [len/2, len - len/2])
  kWritev,     // writev(slot, [data[:n/2], data[n/2:]])
  kLseek,      // lseek(slot, off, whence=flags)
  kFstat,      // fstat(slot)
  kStat,       // fstatat(dir, path, flags)   (flags: AT_SYMLINK_NOFOLLOW...)
  kStatfs,     // statfs(path)
  kGetdents,   // getdents64(slot, bufsize=len) until 0: sorted name/type set
  kListDir,    // open(path, O_DIRECTORY); list with 32 KiB and with len-byte
               // buffers; both must give the same set
  kFtruncate,  // ftruncate(slot, len)
  kTruncate,   // truncate(path, len)
  kFallocate,  // fallocate(slot, mode=flags, off, len)
  kFsync,      // fsync(slot)
  kFcntl,  // fcntl(slot, cmd=flags, arg) for F_GETFL/F_SETFL/F_GETFD/F_SETFD
  kLock,   // fcntl(slot, cmd=flags, struct flock{type=arg, SEEK_SET, off, len})
  kFlock,  // flock(slot, flags)
  kMkdir,  // mkdirat(dir, path, mode)
  kMknod,  // mknodat(dir, path, mode, dev)
  kUnlink,       // unlinkat(dir, path, 0)
  kRmdir,        // unlinkat(dir, path, AT_REMOVEDIR)
  kRename,       // renameat2(dir, path, dir2, path2, flags)
  kLink,         // linkat(dir, path, dir2, path2, flags)
  kSymlink,      // symlinkat(target=path, dir2, linkpath=path2)
  kReadlink,     // readlinkat(dir, path, bufsize=len)
  kChmod,        // fchmodat(dir, path, mode, flags)
  kFchmod,       // fchmod(slot, mode)
  kChown,        // fchownat(dir, path, uid, gid, flags)
  kFchown,       // fchown(slot, uid, gid)
  kUtimens,      // utimensat(dir, path, arg ? {1000,1000} : NULL, flags)
  kAccess,       // faccessat2(dir, path, mode, flags)
  kUmask,        // umask(mode) -> old mask
  kSetxattr,     // [l|f]setxattr(path|slot, name, data, flags)   variant=xv
  kGetxattr,     // [l|f]getxattr(path|slot, name, len)
  kListxattr,    // [l|f]listxattr(path|slot, len): sorted names
  kRemovexattr,  // [l|f]removexattr(path|slot, name)
  kChdir,        // chdir(path)
  kFchdir,       // fchdir(slot)
  kGetcwd,       // getcwd(len)
  // prlimit64(0, resource=flags, arg ? {cur=off, max=len} : NULL, &old):
  // the old limits as payload
  kPrlimit,
};

// Which form of an xattr call.
enum class XattrVariant { kPath = 0, kLpath = 1, kFd = 2 };

struct Op {
  OpKind kind = OpKind::kStat;
  int slot = 0;     // fd slot used / opened into (kBadSlot: never open)
  int slot2 = 0;    // second slot (dup target)
  int dir = kCwd;   // dirfd slot or kCwd
  int dir2 = kCwd;  // second dirfd slot (rename, link, symlink)
  std::string path;
  std::string path2;
  std::string name;  // xattr name
  std::string data;  // bytes written / xattr value
  int flags = 0;     // open flags / AT_* / RENAME_* / whence / cmd / ...
  uint32_t mode = 0;
  int64_t off = 0;
  int64_t len = 0;  // count / buffer size / length
  long arg = 0;     // fcntl arg, lock type, utimens choice
  uint32_t uid = static_cast<uint32_t>(-1);
  uint32_t gid = static_cast<uint32_t>(-1);
  uint64_t dev = 0;
  XattrVariant xv = XattrVariant::kPath;
  // Hand-written cases: what Linux must return (validates the case itself).
  std::optional<long> expect;

  Op& Expect(long r) {
    expect = r;
    return *this;
  }
};

// One op's canonical outcome. ret is the syscall's return, except that
// fd-returning calls report 0 on success (fd numbers differ by design).
struct Result {
  long ret = 0;
  std::string payload;  // canonical data of a successful call
  friend bool operator==(const Result& a, const Result& b) {
    return a.ret == b.ret && a.payload == b.payload;
  }
};

std::string OpToString(const Op& op);
std::string ResultToString(const Result& r);
std::string ErrnoString(long ret);  // "-ENOENT" or the number
std::string OpenFlagsToString(int flags);
// Printable form of file data: escapes, long runs of one byte compressed.
std::string EscapeBytes(const std::string& s, size_t max = 400);

// Runs ops against one Sys, keeping the slot table.
class Executor {
 public:
  explicit Executor(Sys* sys);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  Result Run(const Op& op);
  // Closes every slot (results ignored).
  void CloseAll();

 private:
  int Fd(int slot) const;
  int DirFd(int slot) const;
  void SetSlot(int slot, int fd);
  Sys* sys_;
  int fds_[kNumSlots];
};

// Walks the whole tree from "/" with sys (which must be privileged enough
// to read everything) and renders one line per path: type, permission bits,
// nlink, size, uid, gid, rdev, symlink target, contents and user xattrs.
// Excluded (legitimately differ): inode and device numbers, timestamps,
// st_blocks, directory st_size (see harness.h), getdents order (names are
// sorted).
std::string WalkTree(Sys* sys);

// A stat rendered for comparison (same exclusions as WalkTree).
std::string StatToString(const struct stat& st);

}  // namespace difftest

#endif  // SENTRY_KERNEL_DIFFTEST_OP_H_
