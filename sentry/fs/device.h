// The character device registry: what opening a device node reaches.
//
// Device implementations (sentry/fs/dev, sentry/fs/tty) register an opener
// for a major number and a range of minors from a static initializer. Any
// filesystem's device node (devtmpfs, a tmpfs mknod, a gofer file) opens
// through Inode::Open's default, which asks this registry by the node's
// rdev, so /dev/null is the same device wherever its node lives.
// Thread-safe; registration normally happens before main.
#ifndef SENTRY_FS_DEVICE_H_
#define SENTRY_FS_DEVICE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "base/errno.h"
#include "sentry/context/context.h"
#include "sentry/fs/file.h"

namespace sentry::fs {

// Makes the FileOperations of one open of a device; `flags` are open(2)'s.
using DeviceOpener = std::function<ErrnoOr<FileOpsPtr>(
    const Context& ctx, uint32_t major, uint32_t minor, int flags)>;

// Registers opener for major:[minor_lo, minor_hi]. Overlapping an
// existing range aborts: it is a build mistake, not an input.
void RegisterCharDevice(uint32_t major, uint32_t minor_lo, uint32_t minor_hi,
                        DeviceOpener opener);

// Opens the character device rdev (linux_abi::MakeDev encoding). ENXIO if
// nothing is registered for it, as Linux says for a node with no driver.
ErrnoOr<FileOpsPtr> OpenCharDevice(const Context& ctx, uint64_t rdev,
                                   int flags);

// Static registration: `static CharDeviceRegistrar r(1, 3, 3, OpenNull);`.
struct CharDeviceRegistrar {
  CharDeviceRegistrar(uint32_t major, uint32_t minor_lo, uint32_t minor_hi,
                      DeviceOpener opener) {
    RegisterCharDevice(major, minor_lo, minor_hi, std::move(opener));
  }
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_DEVICE_H_
