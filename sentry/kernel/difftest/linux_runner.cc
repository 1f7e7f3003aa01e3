// The Linux side: a fresh tmpfs per sequence, ops run in a child chrooted
// into it (dropping to kUserUid for unprivileged sequences), the tree walked
// by a second, root, chrooted child.
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "sentry/kernel/difftest/child.h"
#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/sys.h"

namespace difftest {

namespace {

constexpr int kTimeoutSeconds = 20;

// Mounts made by the test go into a private mount namespace, so nothing
// leaks into the host's if the test dies.
void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (geteuid() != 0) return;
    if (unshare(CLONE_NEWNS) == 0) {
      (void)mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    }
  });
}

struct HostRoot {
  std::string path;
  std::string merged;  // overlay mode: the overlay mount, under path
  bool mounted = false;
  std::string error;
};

std::string& RootKind() {
  static std::string kind = "(not yet made)";
  return kind;
}

HostRoot MakeHostRoot() {
  InitOnce();
  HostRoot h;
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl =
      absl::StrCat(base && *base ? base : "/tmp", "/difftest.XXXXXX");
  if (mkdtemp(tmpl.data()) != nullptr) {
    if (mount("none", tmpl.c_str(), "tmpfs", 0, "mode=1777") == 0) {
      h.path = tmpl;
      h.mounted = true;
    } else {
      rmdir(tmpl.c_str());
    }
  }
  if (!h.mounted) {
    // Fallback: a directory on /dev/shm (itself a tmpfs).
    std::string shm = "/dev/shm/difftest.XXXXXX";
    if (mkdtemp(shm.data()) == nullptr) {
      h.error = absl::StrCat("mkdtemp: ", strerror(errno));
      return h;
    }
    h.path = shm;
  }
  // Like the VFS root (tmpfs "mode=1777", made by root).
  if (chown(h.path.c_str(), 0, 0) != 0 || chmod(h.path.c_str(), 01777) != 0) {
    h.error = absl::StrCat("chown/chmod root: ", strerror(errno));
  }
  RootKind() = h.mounted ? "tmpfs mount" : "/dev/shm directory";
  return h;
}

int RemoveOne(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP) return rmdir(path) == 0 ? 0 : 0;
  return unlink(path) == 0 ? 0 : 0;
}

void RemoveHostRoot(const HostRoot& h) {
  if (h.path.empty()) return;
  if (!h.merged.empty()) (void)umount2(h.merged.c_str(), MNT_DETACH);
  if (h.mounted) {
    (void)umount2(h.path.c_str(), MNT_DETACH);
    (void)rmdir(h.path.c_str());
  } else {
    (void)nftw(h.path.c_str(), RemoveOne, 16, FTW_DEPTH | FTW_PHYS);
  }
}

bool EnterRoot(const std::string& dir, internal::RecordWriter& w) {
  if (chroot(dir.c_str()) != 0 || chdir("/") != 0) {
    w.WriteError(absl::StrCat("chroot ", dir, ": ", strerror(errno)));
    return false;
  }
  umask(022);
  // A write past RLIMIT_FSIZE also sends SIGXFSZ, which would end the
  // child: ignored, it leaves the EFBIG the VFS returns too.
  signal(SIGXFSZ, SIG_IGN);
  return true;
}

// The limits a Task starts with (Task::DefaultRlimits) for the two a
// sequence may change, set before privileges are dropped.
bool StartLimits(internal::RecordWriter& w) {
  const struct rlimit nofile = {1024, 4096};
  const struct rlimit fsize = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_NOFILE, &nofile) != 0 ||
      setrlimit(RLIMIT_FSIZE, &fsize) != 0) {
    w.WriteError(absl::StrCat("setrlimit: ", strerror(errno)));
    return false;
  }
  return true;
}

bool DropPrivileges(internal::RecordWriter& w) {
  const gid_t groups[] = {kUserGid, kUserGroup2};
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || setgroups(2, groups) != 0 ||
      setresgid(kUserGid, kUserGid, kUserGid) != 0 ||
      setresuid(kUserUid, kUserUid, kUserUid) != 0) {
    w.WriteError(absl::StrCat("dropping privileges: ", strerror(errno)));
    return false;
  }
  return true;
}

}  // namespace

int ScaledSequenceCount(int count, int cap) {
  const char* scale = getenv("DIFFTEST_SCALE");
  if (scale == nullptr) return count;
  const long k = strtol(scale, nullptr, 10);
  if (k <= 1) return count;
  return static_cast<int>(std::min<long>(k * count, std::max(cap, count)));
}

std::string LinuxSideUnavailableReason() {
  if (geteuid() != 0)
    return "the Linux side needs root (mount, chroot, setuid)";
  return "";
}

std::string LinuxRootKind() { return RootKind(); }

// Overlay mode: lower/, upper/, work/ and merged/ under the host root;
// `lower` ops run chrooted into lower/, then merged/ is mounted.
std::string MakeOverlay(HostRoot& h, const Sequence& s) {
  if (!h.mounted) return "overlay mode needs a tmpfs mount for the layers";
  for (const char* d : {"lower", "upper", "work", "merged"}) {
    std::string p = absl::StrCat(h.path, "/", d);
    if (mkdir(p.c_str(), 0755) != 0 || chmod(p.c_str(), 01777) != 0) {
      return absl::StrCat("mkdir ", p, ": ", strerror(errno));
    }
  }
  SideOutput lo = internal::RunInChild(
      [&](internal::RecordWriter& w) {
        if (!EnterRoot(h.path + "/lower", w)) return;
        LinuxSys sys;
        Executor ex(&sys);
        for (const Op& op : s.lower) w.WriteResult(ex.Run(op));
        ex.CloseAll();
      },
      kTimeoutSeconds, "linux lower");
  if (!lo.error.empty()) return lo.error;
  for (size_t i = 0; i < lo.results.size(); ++i) {
    if (lo.results[i].ret < 0) {
      return absl::StrCat("lower op ", i, " (", OpToString(s.lower[i]),
                          ") failed: ", ErrnoString(lo.results[i].ret));
    }
  }
  std::string opts =
      absl::StrCat("lowerdir=", h.path, "/lower,upperdir=", h.path,
                   "/upper,workdir=", h.path, "/work");
  h.merged = h.path + "/merged";
  if (mount("overlay", h.merged.c_str(), "overlay", 0, opts.c_str()) != 0) {
    std::string e = absl::StrCat("mount -t overlay: ", strerror(errno));
    h.merged.clear();
    return e;
  }
  return "";
}

SideOutput RunOnHostDir(const Sequence& s, const std::string& top,
                        const std::string& side_name) {
  SideOutput out = internal::RunInChild(
      [&](internal::RecordWriter& w) {
        if (!EnterRoot(top, w)) return;
        LinuxSys sys;
        {
          Executor ex(&sys);
          for (const Op& op : s.setup) w.WriteResult(ex.Run(op));
          ex.CloseAll();
        }
        umask(022);
        if (chdir("/") != 0) return;
        if (!StartLimits(w)) return;
        if (s.unprivileged && !DropPrivileges(w)) return;
        Executor ex(&sys);
        for (const Op& op : s.ops) w.WriteResult(ex.Run(op));
        ex.CloseAll();
      },
      kTimeoutSeconds, side_name);
  SideOutput walk = internal::RunInChild(
      [&](internal::RecordWriter& w) {
        if (!EnterRoot(top, w)) return;
        LinuxSys sys;
        w.WriteTree(WalkTree(&sys));
      },
      kTimeoutSeconds, side_name + " walk");
  out.tree = walk.tree;
  out.error += walk.error;
  return out;
}

SideOutput RunOnLinux(const Sequence& s) {
  HostRoot h = MakeHostRoot();
  if (h.error.empty() && s.overlay) h.error = MakeOverlay(h, s);
  if (!h.error.empty()) {
    RemoveHostRoot(h);
    SideOutput o;
    o.error = "linux: " + h.error;
    return o;
  }
  SideOutput out = RunOnHostDir(s, s.overlay ? h.merged : h.path, "linux");
  RemoveHostRoot(h);
  return out;
}

}  // namespace difftest
