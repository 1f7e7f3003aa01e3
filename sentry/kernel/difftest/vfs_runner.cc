// The VFS side: a fresh tmpfs instance of our VFS per sequence, driven
// through sentry::kernel::Task, in a forked child (crash/hang isolation).
#include <string>

#include "absl/strings/str_cat.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/overlay/overlay.h"
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
        if (s.overlay) {
          // The lower tmpfs gets `lower`, then an overlay with a fresh
          // upper tmpfs becomes the root.
          auto upper = (*fs)->Mount(ctx, "none", sentry::fs::MountSourceFlags{},
                                    "mode=1777");
          if (!upper.ok()) {
            w.WriteError("tmpfs Mount: " + upper.error().ToString());
            return;
          }
          {
            auto lns = sentry::fs::MountNamespace::New(
                sentry::fs::Dirent::NewRoot(*root_inode));
            sentry::kernel::Task t(lns, Credentials::Root());
            TaskSys sys(&t);
            Executor ex(&sys);
            for (size_t i = 0; i < s.lower.size(); ++i) {
              Result r = ex.Run(s.lower[i]);
              if (r.ret < 0) {
                w.WriteError(absl::StrCat("lower op ", i, " (",
                                          OpToString(s.lower[i]),
                                          ") failed: ", ErrnoString(r.ret)));
                return;
              }
            }
            ex.CloseAll();
          }
          auto ov =
              sentry::fs::overlay::NewOverlayRoot(ctx, *upper, *root_inode);
          if (!ov.ok()) {
            w.WriteError("NewOverlayRoot: " + ov.error().ToString());
            return;
          }
          root_inode = std::move(*ov);
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
        // Every sequence must leave nothing alive once the namespace goes.
        ns.reset();
        root_inode = sentry::fs::Errno(ENOENT);
        std::string leaks;
        sentry::fs::epoch::Synchronize();  // deferred dirent frees
        auto count = [&](const char* what, int64_t n) {
          if (n != 0) leaks += absl::StrCat(" ", what, "=", n);
        };
        count("Inode", base::LiveCounter<sentry::fs::Inode>::Live());
        count("Dirent", base::LiveCounter<sentry::fs::Dirent>::Live());
        count("MountSource",
              base::LiveCounter<sentry::fs::MountSource>::Live());
        count("File", base::LiveCounter<sentry::fs::File>::Live());
        count("Mount", base::LiveCounter<sentry::fs::Mount>::Live());
        if (!leaks.empty())
          w.WriteError("live objects after teardown:" + leaks);
      },
      kTimeoutSeconds, "vfs");
}

}  // namespace difftest
