// The VFS side's pieces, for sides that run our VFS some other way than
// through a Task in process (runsc/fuse serves it to the host kernel).
#ifndef SENTRY_KERNEL_DIFFTEST_VFS_SIDE_H_
#define SENTRY_KERNEL_DIFFTEST_VFS_SIDE_H_

#include <string>

#include "base/refcount.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/difftest/harness.h"

namespace difftest {

// The namespace a sequence starts from: a fresh tmpfs (mode 1777, owned
// by root, like the Linux side's root), or in overlay mode an overlay of
// a fresh tmpfs over a tmpfs on which s.lower ran. Returns "" and sets
// *ns, or says what failed.
std::string NewVfsNamespace(const Sequence& s,
                            base::RefPtr<sentry::fs::MountNamespace>* ns);

// Runs s's setup (as root) and ops (as kUserUid if unprivileged) through
// Tasks on ns, then walks the tree: results and tree, no error. In-process
// (the caller provides isolation, as RunOnVfs's child does).
SideOutput RunSequence(const Sequence& s,
                       const base::RefPtr<sentry::fs::MountNamespace>& ns);

// The VFS objects still alive, as " Inode=2 File=1", or "" if none: what
// must be empty once a sequence's namespace is gone.
std::string LiveObjects();

}  // namespace difftest

#endif  // SENTRY_KERNEL_DIFFTEST_VFS_SIDE_H_
