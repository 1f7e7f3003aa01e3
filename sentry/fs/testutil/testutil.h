// Test helpers for the VFS: a Task on a fresh tmpfs namespace, errno
// matchers for syscall-shaped results, a tree printer for failure messages,
// and (by linking this library) a leak check after every test.
#ifndef SENTRY_FS_TESTUTIL_TESTUTIL_H_
#define SENTRY_FS_TESTUTIL_TESTUTIL_H_

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "base/errno.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::testutil {

struct TmpfsTask {
  base::RefPtr<MountNamespace> ns;
  std::unique_ptr<kernel::Task> task;
  kernel::Task* operator->() const { return task.get(); }
  kernel::Task* get() const { return task.get(); }
  // Drops the task, then the namespace.
  void reset() {
    task.reset();
    ns.reset();
  }
};

// A Task at the root of a new namespace whose root is a fresh tmpfs
// mounted with `options`. Aborts the test binary if tmpfs refuses.
TmpfsTask NewTmpfsTask(
    kernel::auth::Credentials creds = kernel::auth::Credentials::Root(),
    std::string_view options = "");
// Another Task on the same namespace.
std::unique_ptr<kernel::Task> NewTaskIn(base::RefPtr<MountNamespace> ns,
                                        kernel::auth::Credentials creds,
                                        int32_t pid);

std::string ErrnoString(long r);

// Matches a syscall-shaped result of -e.
MATCHER_P(IsErrno, e,
          std::string(negation ? "isn't" : "is") + " -" +
              std::string(base::ErrnoName(e))) {
  long r = static_cast<long>(arg);
  if (r >= 0) {
    *result_listener << "which succeeded with " << r;
  } else {
    *result_listener << "which is " << ErrnoString(r);
  }
  return r == -static_cast<long>(e);
}

// Matches a non-negative result.
MATCHER(Succeeds, std::string(negation ? "fails" : "succeeds")) {
  long r = static_cast<long>(arg);
  if (r < 0) *result_listener << "which failed with " << ErrnoString(r);
  return r >= 0;
}

// Each path under `path` (walking with Getdents64/Fstatat), one a line:
// path, mode (octal), nlink, size.
std::string PrintTree(kernel::Task* t, const std::string& path = "/");

// Live object counts (Inode, Dirent, MountSource, File, Mount,
// MountNamespace), as "Inode=0 Dirent=0 ...".
std::string LiveCounts();
bool AllDead();

// Small helpers.
// Creates (O_CREAT|O_TRUNC) path with contents; returns 0 or -errno.
long WriteFile(kernel::Task* t, const char* path, std::string_view data,
               mode_t mode = 0644);
// Contents of path, or "<-ERRNO>".
std::string ReadFile(kernel::Task* t, const char* path);
// Names in the directory (without . and ..), in getdents order.
std::vector<std::string> ListDir(kernel::Task* t, const char* path);

}  // namespace sentry::fs::testutil

#endif  // SENTRY_FS_TESTUTIL_TESTUTIL_H_
