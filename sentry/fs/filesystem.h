// Filesystem: a registered filesystem type, and the global registry.
//
// Implementations register themselves with a static Registrar in an
// alwayslink library, so depending on //sentry/fs/tmpfs is what makes
// "tmpfs" mountable. The registry is thread-safe; registration normally
// happens before main.
#ifndef SENTRY_FS_FILESYSTEM_H_
#define SENTRY_FS_FILESYSTEM_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/errno.h"
#include "sentry/context/context.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs {

// Filesystem flags, as /proc/filesystems shows them.
enum FilesystemFlags : unsigned {
  kFilesystemNone = 0,
  kFilesystemRequiresDev = 1,  // needs a backing device ("nodev" otherwise)
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  virtual std::string_view Name() const = 0;
  virtual unsigned Flags() const { return kFilesystemNone; }
  // Mounts an instance and returns its root inode. `data` is the option
  // string of mount(2); an unknown option is EINVAL.
  virtual ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx,
                                       std::string_view device,
                                       const MountSourceFlags& flags,
                                       std::string_view data) const = 0;
  // Whether an unprivileged (user-namespace) mount may make it / list it.
  virtual bool AllowUserMount() const { return false; }
  virtual bool AllowUserList() const { return true; }
};

// Registers fs under its Name(). Registering a name twice aborts: it is a
// build mistake, not an input.
void RegisterFilesystem(std::unique_ptr<Filesystem> fs);
// ENODEV if there is no such type (as mount(2) says).
ErrnoOr<const Filesystem*> FindFilesystem(std::string_view name);
// All registered types, sorted by name.
std::vector<const Filesystem*> GetFilesystems();

// Static registration: `static Registrar<TmpfsFilesystem> reg;`.
template <typename T>
struct Registrar {
  Registrar() { RegisterFilesystem(std::make_unique<T>()); }
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_FILESYSTEM_H_
