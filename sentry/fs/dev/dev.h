// dev: the memory devices and the filesystem of a sandbox's /dev.
//
// The memory devices are Linux's drivers/char/mem.c and random.c, opened
// by device number through the registry (sentry/fs/device.h), so a node
// for 1:3 on any filesystem is /dev/null:
//   null    1:3  reads EOF, writes swallow everything
//   zero    1:5  reads zeros, writes swallow everything
//   full    1:7  reads zeros, writes fail with ENOSPC
//   random  1:8  reads from the host's getrandom(2); writes are discarded
//   urandom 1:9  the same
// As on Linux, their offset never moves from 0 and fsync is EINVAL; ioctl
// is ENOTTY.
//
// "devtmpfs" (also registered as "dev") mounts a fresh, writable in-memory
// tree shaped as a container's /dev: the nodes above and tty (5:0), ptmx
// (5:2), all 0666; the directories pts (0755, a mount point for devpts) and
// shm (1777); the symlinks fd -> /proc/self/fd and stdin, stdout, stderr
// -> /proc/self/fd/0..2. tty and ptmx are only nodes here: sentry/fs/tty
// registers what they open (ENXIO until it is linked in). Mount options
// are tmpfs's (mode=, uid=, gid=, size=, nr_inodes=); the root is 0755
// unless mode= says otherwise. statfs reports TMPFS_MAGIC, as devtmpfs.
#ifndef SENTRY_FS_DEV_DEV_H_
#define SENTRY_FS_DEV_DEV_H_

#include <cstdint>

#include "base/errno.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/ramfs/ramfs.h"

namespace sentry::fs::dev {

inline constexpr uint32_t kMemMajor = 1;
inline constexpr uint32_t kNullMinor = 3;
inline constexpr uint32_t kZeroMinor = 5;
inline constexpr uint32_t kFullMinor = 7;
inline constexpr uint32_t kRandomMinor = 8;
inline constexpr uint32_t kURandomMinor = 9;
inline constexpr uint32_t kTtyAuxMajor = 5;
inline constexpr uint32_t kTtyMinor = 0;
inline constexpr uint32_t kPtmxMinor = 2;

// Populates root (an empty ramfs directory of msrc) with the /dev tree
// described above, owned by uid:gid.
base::Errno PopulateDevTree(const context::Context& ctx,
                            base::RefPtr<MountSource> msrc, ramfs::Dir* root,
                            uint32_t uid, uint32_t gid);

}  // namespace sentry::fs::dev

#endif  // SENTRY_FS_DEV_DEV_H_
