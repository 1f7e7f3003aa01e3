// The VFS side: a fresh tmpfs instance of our VFS per sequence, driven
// through sentry::kernel::Task, in a forked child (crash/hang isolation).
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/kernel/auth/credentials.h"
#include "sentry/kernel/difftest/child.h"
#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/sys.h"
#include "sentry/kernel/difftest/vfs_side.h"
#include "sentry/kernel/task.h"

namespace difftest {

namespace {
constexpr int kTimeoutSeconds = 20;
using sentry::kernel::auth::Credentials;

// Root as the Linux side's root is: this process's. A container may run
// it without CAP_SYS_RESOURCE (raising a hard rlimit is then EPERM even
// for root), and the sequence's root must be the same.
Credentials OpsRoot() {
  Credentials c = Credentials::Root();
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) == 0 &&
      (data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective &
       CAP_TO_MASK(CAP_SYS_RESOURCE)) == 0) {
    c.effective_caps = c.effective_caps.Without(CAP_SYS_RESOURCE);
  }
  return c;
}
}  // namespace

std::string NewVfsNamespace(const Sequence& s,
                            base::RefPtr<sentry::fs::MountNamespace>* ns) {
  sentry::context::Context ctx(Credentials::Root());
  auto fs = sentry::fs::FindFilesystem("tmpfs");
  if (!fs.ok()) return "FindFilesystem(tmpfs): " + fs.error().ToString();
  // Mode 1777 and owned by root, like the Linux side's root.
  auto root_inode =
      (*fs)->Mount(ctx, "none", sentry::fs::MountSourceFlags{}, "mode=1777");
  if (!root_inode.ok()) return "tmpfs Mount: " + root_inode.error().ToString();
  if (s.overlay) {
    // The lower tmpfs gets `lower`, then an overlay with a fresh upper
    // tmpfs becomes the root.
    auto upper =
        (*fs)->Mount(ctx, "none", sentry::fs::MountSourceFlags{}, "mode=1777");
    if (!upper.ok()) return "tmpfs Mount: " + upper.error().ToString();
    {
      auto lns = sentry::fs::MountNamespace::New(
          sentry::fs::Dirent::NewRoot(*root_inode));
      sentry::kernel::Task t(lns, Credentials::Root());
      TaskSys sys(&t);
      Executor ex(&sys);
      for (size_t i = 0; i < s.lower.size(); ++i) {
        Result r = ex.Run(s.lower[i]);
        if (r.ret < 0) {
          return absl::StrCat("lower op ", i, " (", OpToString(s.lower[i]),
                              ") failed: ", ErrnoString(r.ret));
        }
      }
      ex.CloseAll();
    }
    auto ov = sentry::fs::overlay::NewOverlayRoot(ctx, *upper, *root_inode);
    if (!ov.ok()) return "NewOverlayRoot: " + ov.error().ToString();
    root_inode = std::move(*ov);
  }
  *ns =
      sentry::fs::MountNamespace::New(sentry::fs::Dirent::NewRoot(*root_inode));
  return "";
}

std::string LiveObjects() {
  sentry::fs::epoch::Synchronize();  // deferred dirent frees first
  std::string leaks;
  auto count = [&](const char* what, int64_t n) {
    if (n != 0) leaks += absl::StrCat(" ", what, "=", n);
  };
  count("Inode", base::LiveCounter<sentry::fs::Inode>::Live());
  count("Dirent", base::LiveCounter<sentry::fs::Dirent>::Live());
  count("MountSource", base::LiveCounter<sentry::fs::MountSource>::Live());
  count("File", base::LiveCounter<sentry::fs::File>::Live());
  count("Mount", base::LiveCounter<sentry::fs::Mount>::Live());
  return leaks;
}

SideOutput RunSequence(const Sequence& s,
                       const base::RefPtr<sentry::fs::MountNamespace>& ns) {
  SideOutput out;
  {
    sentry::kernel::Task t(ns, Credentials::Root());
    TaskSys sys(&t);
    Executor ex(&sys);
    for (const Op& op : s.setup) out.results.push_back(ex.Run(op));
    ex.CloseAll();
  }
  {
    sentry::kernel::Task t(
        ns, s.unprivileged
                ? Credentials::User(kUserUid, kUserGid, {kUserGid, kUserGroup2})
                : OpsRoot());
    TaskSys sys(&t);
    Executor ex(&sys);
    for (const Op& op : s.ops) out.results.push_back(ex.Run(op));
    ex.CloseAll();
  }
  {
    sentry::kernel::Task t(ns, Credentials::Root());
    TaskSys sys(&t);
    out.tree = WalkTree(&sys);
  }
  return out;
}

SideOutput RunOnVfs(const Sequence& s) {
  return internal::RunInChild(
      [&](internal::RecordWriter& w) {
        base::RefPtr<sentry::fs::MountNamespace> ns;
        if (std::string e = NewVfsNamespace(s, &ns); !e.empty()) {
          w.WriteError(e);
          return;
        }
        SideOutput out = RunSequence(s, ns);
        for (const Result& r : out.results) w.WriteResult(r);
        w.WriteTree(out.tree);
        // Every sequence must leave nothing alive once the namespace goes.
        ns.reset();
        if (std::string leaks = LiveObjects(); !leaks.empty()) {
          w.WriteError("live objects after teardown:" + leaks);
        }
      },
      kTimeoutSeconds, "vfs");
}

}  // namespace difftest
