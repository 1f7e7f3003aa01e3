// The VFS side: a fresh tmpfs instance of our VFS per sequence, driven
// through sentry::kernel::Task, in a forked child (crash/hang isolation).
#include <string>

#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"
#include "sentry/kernel/difftest/child.h"
#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/sys.h"
#include "sentry/kernel/task.h"

namespace difftest {

namespace {
constexpr int kTimeoutSeconds = 20;
}  // namespace

SideOutput RunOnVfs(const Sequence& s) {
  using sentry::kernel::auth::Credentials;
  return internal::RunInChild(
      [&](internal::RecordWriter& w) {
        sentry::context::Context ctx(Credentials::Root());
        auto fs = sentry::fs::FindFilesystem("tmpfs");
        if (!fs.ok()) {
          w.WriteError("FindFilesystem(tmpfs): " + fs.error().ToString());
          return;
        }
        // Mode 1777 and owned by root, like the Linux side's root.
        auto root_inode = (*fs)->Mount(
            ctx, "none", sentry::fs::MountSourceFlags{}, "mode=1777");
        if (!root_inode.ok()) {
          w.WriteError("tmpfs Mount: " + root_inode.error().ToString());
          return;
        }
        auto ns = sentry::fs::MountNamespace::New(
            sentry::fs::Dirent::NewRoot(*root_inode));
        {
          sentry::kernel::Task t(ns, Credentials::Root());
          TaskSys sys(&t);
          Executor ex(&sys);
          for (const Op& op : s.setup) w.WriteResult(ex.Run(op));
          ex.CloseAll();
        }
        {
          sentry::kernel::Task t(
              ns, s.unprivileged ? Credentials::User(kUserUid, kUserGid,
                                                     {kUserGid, kUserGroup2})
                                 : Credentials::Root());
          TaskSys sys(&t);
          Executor ex(&sys);
          for (const Op& op : s.ops) w.WriteResult(ex.Run(op));
          ex.CloseAll();
        }
        {
          sentry::kernel::Task t(ns, Credentials::Root());
          TaskSys sys(&t);
          w.WriteTree(WalkTree(&sys));
        }
      },
      kTimeoutSeconds, "vfs");
}

}  // namespace difftest
