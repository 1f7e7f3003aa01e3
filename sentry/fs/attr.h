// Inode attributes: the stable identity and the changing metadata.
#ifndef SENTRY_FS_ATTR_H_
#define SENTRY_FS_ATTR_H_

#include <cstdint>
#include <new>
#include <optional>
#include <string_view>

#include "abi/linux/linux.h"

namespace sentry::fs {

enum class InodeType : uint8_t {
  kRegular,
  kDirectory,
  kSymlink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
};

// S_IF* bits of a type.
uint32_t FileTypeBits(InodeType t);
// The type of S_IF* bits; nullopt if mode has no valid type.
std::optional<InodeType> TypeFromMode(uint32_t mode);

// What never changes for an inode's lifetime. Every inode has one, so it
// is packed into 24 bytes: device numbers are 32 bits in Linux (dev_t in
// the kernel: 12 bits of major, 20 of minor, which glibc's encoding, as
// linux_abi::MakeDev's, keeps below 2^32), and so is st_blksize's range.
struct StableAttr {
  InodeType type = InodeType::kRegular;
  uint32_t dev = 0;   // st_dev: the mount source's device number
  uint64_t ino = 0;   // st_ino, unique within dev
  uint32_t rdev = 0;  // device nodes: encoded major/minor
  uint32_t block_size = 4096;
};
static_assert(sizeof(StableAttr) == 24);

// What stat(2) reports beyond StableAttr.
struct UnstableAttr {
  uint32_t perms = 0;  // mode & 07777
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 1;
  int64_t size = 0;
  int64_t usage = 0;  // bytes of storage (st_blocks * 512)
  linux_abi::Timespec atime{}, mtime{}, ctime{};
};

// What a permission check reads: the owner, group and permission bits.
// Room for an UnstableAttr that a callee writes whole (GetAttrInGuard,
// ramfs's attribute copy), with none constructed in it: UnstableAttr is
// an implicit-lifetime aggregate, and its member initializers would first
// zero all 88 bytes, which GCC does with `rep stosq` (a third of a
// lock-free stat), for values overwritten at once.
class UnfilledAttr {
 public:
  UnstableAttr* get() {
    return std::launder(reinterpret_cast<UnstableAttr*>(raw_));
  }

 private:
  alignas(UnstableAttr) unsigned char raw_[sizeof(UnstableAttr)];
};

struct AccessAttr {
  uint32_t perms = 0;  // mode & 07777
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// A setattr request (chmod, chown, truncate, utimens). Only set fields
// change; ctime moves whenever anything changes, as Linux does.
struct AttrChange {
  std::optional<uint32_t> perms;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<int64_t> size;
  std::optional<linux_abi::Timespec> atime;
  std::optional<linux_abi::Timespec> mtime;
  // Set explicitly only by copy-up and restore; otherwise "now".
  std::optional<linux_abi::Timespec> ctime;
};

// How a new inode is to be made (create, mkdir, symlink, mknod).
struct CreateSpec {
  uint32_t mode = 0;  // S_IF* type | permission bits, umask already applied
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;                // mknod of a device
  std::string_view symlink_target;  // symlink
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_ATTR_H_
