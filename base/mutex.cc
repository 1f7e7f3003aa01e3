#include "base/mutex.h"

namespace base {
namespace {

// The VFS nests locks by tree position: a parent directory before its
// child, the ancestor first when a rename locks two directories. That is a
// sound order, but which directory is the ancestor changes with renames
// (always under the one global rename lock), as with Linux's inode locks,
// which lockdep accepts through nesting classes. abseil's debug-build
// detector records orders by mutex identity for the whole run and would
// call a later, equally sound order a cycle and abort. So it is off; the
// order is documented in sentry/fs/dirent.h and checked by the stress and
// TSan tests instead.
const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace
}  // namespace base
