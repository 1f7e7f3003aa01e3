// runsc/boot's filesystem half: an OCI spec becomes mount namespaces.
//
// As gVisor's runsc/boot/fs.go (2018) does it:
//  - CompileMounts: /dev (devtmpfs) and /dev/pts (devpts) always; the
//    spec's mounts, less the /dev mounts the sandbox provides itself; and
//    /proc, /sys and /tmp where the spec has none, placed before the spec's
//    mounts so that submounts of them land on top.
//  - The root comes from a gofer (9P over an inherited FD), overlaid on a
//    ramfs of stub directories for every mount point (so mount points that
//    are missing from a read-only image exist), and with Config::overlay, a
//    tmpfs over it; each bind mount gets the next gofer FD in order, and an
//    FD left over at the end is an error.
//  - Child containers mount under /__runsc_containers__/<cid> of the root
//    namespace.
//  - CreateRestoreEnvironment lists the mounts a restore would recreate.
// Unknown mount types and options are ignored with a warning, as the seed
// does; the warnings are returned for the caller to show.
#ifndef RUNSC_BOOT_FS_H_
#define RUNSC_BOOT_FS_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/refcount.h"
#include "runsc/specutils/spec.pb.h"
#include "sentry/context/context.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/mount_source.h"

namespace runsc::boot {

using runsc::specutils::Mount;
using runsc::specutils::Spec;

inline constexpr char kChildContainersDir[] = "/__runsc_containers__";
inline constexpr char kRootDevice[] = "9pfs-/";

// How the sandbox may cache gofer files (the seed's conf.FileAccess).
enum class FileAccess {
  kExclusive,  // nobody else changes the files: cache fully
  kShared,     // others may: revalidate (cache=remote_revalidating)
};

struct Config {
  FileAccess file_access = FileAccess::kExclusive;
  // A tmpfs over the root and over every writable bind mount.
  bool overlay = false;
  // The 9P attach name for the root's gofer ("" for the server's default),
  // for a root served by any 9P2000.L server (runsc do --root-9p).
  std::string root_aname;
};

// What boot did, for --debug, and what it ignored, for the user.
struct BootLog {
  std::vector<std::string> warnings;
  std::vector<std::string> debug;
};

// Gofer FDs, handed out in order: the root first, then one per bind mount.
class FdDispenser {
 public:
  explicit FdDispenser(std::vector<int> fds) : fds_(fds.begin(), fds.end()) {}
  absl::StatusOr<int> Remove();
  bool empty() const { return fds_.empty(); }
  size_t size() const { return fds_.size(); }

 private:
  std::deque<int> fds_;
};

// The spec's mounts, as the sandbox will make them, in order.
std::vector<Mount> CompileMounts(const Spec& spec, BootLog* log);

// Builds the root mount namespace. `ctx` should be root's (it makes mount
// points); io_fds are the gofer FDs (each a connected socket).
absl::StatusOr<base::RefPtr<sentry::fs::MountNamespace>> CreateMountNamespace(
    const sentry::context::Context& ctx, const Spec& spec, const Config& conf,
    std::vector<int> io_fds, BootLog* log);

// Sets up child container `cid` in the root namespace ns: its root at
// /__runsc_containers__/<cid>, its mounts below that. Returns the Path a
// process of the container uses as its root.
absl::StatusOr<sentry::fs::Path> SetupChildContainer(
    const sentry::context::Context& ctx, sentry::fs::MountNamespace* ns,
    const Spec& spec, const Config& conf, std::vector<int> io_fds,
    const std::string& cid, BootLog* log);

// The mounts a restore must recreate, per filesystem name (the seed's
// fs.RestoreEnvironment).
struct MountArgs {
  std::string dev;
  sentry::fs::MountSourceFlags flags;
  std::string data;
};
struct RestoreEnvironment {
  std::map<std::string, std::vector<MountArgs>> mount_sources;
};
absl::StatusOr<RestoreEnvironment> CreateRestoreEnvironment(const Spec& spec,
                                                            const Config& conf,
                                                            FdDispenser* fds,
                                                            BootLog* log);

// Resolves an executable as the container sees it: a name without '/' is
// searched along env's PATH for a file the caller may read and execute;
// a path is returned cleaned. NotFound if there is none.
absl::StatusOr<std::string> GetExecutablePath(
    const sentry::context::Context& ctx, sentry::fs::MountNamespace* ns,
    const sentry::fs::Path& root, const std::string& filename,
    const std::vector<std::string>& env);

// Helpers, exposed for tests.
// Mount flags from OCI options: ro, rw, noatime, nosuid, nodev, noexec;
// others are warned about (unless `quiet_keys` lists them, e.g. the
// filesystem options a mount passes on).
sentry::fs::MountSourceFlags MountFlagsFromOptions(
    const std::vector<std::string>& opts, BootLog* log,
    const std::vector<std::string>& quiet_keys = {});
// Options among opts whose key is in allowed; others warned about.
absl::StatusOr<std::vector<std::string>> ParseAndFilterOptions(
    const std::vector<std::string>& opts,
    const std::vector<std::string>& allowed, BootLog* log);
// Mount destinations strictly below root, relative to it.
std::vector<std::string> Subtargets(const std::string& root,
                                    const std::vector<Mount>& mounts);
// The 9P mount options for a gofer FD.
std::vector<std::string> P9MountOptions(const Config& conf, int fd);

}  // namespace runsc::boot

#endif  // RUNSC_BOOT_FS_H_
