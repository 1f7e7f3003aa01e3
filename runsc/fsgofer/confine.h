// Self-confinement of the gofer process before it serves (see README.md).
//
//   EnterPrivateRoot  no_new_privs; a private mount namespace whose root is
//                     a bind mount of DIR (pivot_root, old root detached),
//                     read-only for --ro. Without CAP_SYS_ADMIN, the mount
//                     namespace is made inside a new user namespace that
//                     maps only our own uid/gid (capabilities dropped once
//                     the mounts are made); where the kernel refuses that,
//                     nothing but the dirfd discipline. Returns a fresh
//                     O_PATH fd on the new root.
//   CloseOtherFds     closes every fd not in `keep`.
//   InstallSeccomp    the syscall allowlist (all threads).
//
// Not used by the handler's unit tests: confinement is per process and
// irreversible.
#ifndef RUNSC_FSGOFER_CONFINE_H_
#define RUNSC_FSGOFER_CONFINE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "p9/transport.h"

namespace fsgofer {

struct PrivateRoot {
  p9::FileDescriptor root;  // O_PATH|O_DIRECTORY on the served directory.
  bool mount_ns = false;    // A private mount namespace was entered.
  bool user_ns = false;     // ... inside a user namespace of our own.
  bool pivoted = false;     // The host's root is no longer reachable by path.
  std::string why_not;      // Without a mount namespace: the kernel's reason.
};

// Must be called while the process is single-threaded (unshare of a user
// namespace requires it).
absl::StatusOr<PrivateRoot> EnterPrivateRoot(const std::string& dir,
                                             bool read_only);

// One line for --debug: which of the modes above was entered, and why not
// a stronger one. `uid`/`gid` are the ids the gofer runs as.
std::string DescribeConfinement(const PrivateRoot& pr, uid_t uid, gid_t gid);

absl::Status CloseOtherFds(const std::vector<int>& keep);

// The syscalls the serving code needs, by name (resolved for the running
// architecture; names it does not know are skipped).
const std::vector<const char*>& AllowedSyscalls();

// Default action for anything else: kill the process (a gofer that tries
// something unexpected is either buggy or compromised, and a dead gofer
// gives the sandbox EIO, never host access). Sanitizer builds use EPERM,
// since their runtimes make syscalls of their own.
absl::Status InstallSeccomp();

}  // namespace fsgofer

#endif  // RUNSC_FSGOFER_CONFINE_H_
