// tmpfs: ramfs with the options and limits of Linux's tmpfs.
//
// Registered as "tmpfs". Options: size= (bytes, k/m/g suffixes or a
// percentage of memory; 0 is unlimited), nr_blocks=, nr_inodes=, mode=
// (octal), uid=, gid=. An unknown option or a malformed value is EINVAL, as
// shmem_parse_one says. A full instance fails writes with ENOSPC after
// writing what fits, as Linux does.
#ifndef SENTRY_FS_TMPFS_TMPFS_H_
#define SENTRY_FS_TMPFS_TMPFS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/errno.h"
#include "sentry/fs/ramfs/ramfs.h"

namespace sentry::fs::tmpfs {

struct Options {
  uint64_t max_bytes = 0;   // 0: unlimited
  uint64_t max_inodes = 0;  // 0: unlimited
  uint32_t mode = 01777;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool uid_set = false;
  bool gid_set = false;
};

// Parses a mount(2) data string ("size=1m,mode=755").
base::ErrnoOr<Options> ParseOptions(std::string_view data);

class TmpfsMountSource : public ramfs::RamMountSource {
 public:
  using RamMountSource::RamMountSource;
  int64_t Magic() const override { return linux_abi::kTmpfsMagic; }
};

}  // namespace sentry::fs::tmpfs

#endif  // SENTRY_FS_TMPFS_TMPFS_H_
