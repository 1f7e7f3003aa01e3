// The differential harness with the FUSE export as the system under test:
// the same random op sequences run through host syscalls on a Linux tmpfs
// and on a FUSE mount of a fresh tmpfs of our VFS (served by runsc/fuse's
// Server in a process of its own), and the two must agree op by op and
// tree by tree, as sentry/kernel/difftest's own runs must.
//
// Some differences are the host kernel's, not the server's: its FUSE
// client answers or checks a few things itself before a request is sent,
// so they cannot be made to agree from the server. Each is listed, with
// its reason, in KnownHostKernelDifference; a sequence whose first
// difference is one of them is reported as such, not as a failure (and is
// not compared further). The statfs type is the FUSE client's own magic
// for every FUSE mount, so it is mapped back before comparing (the block
// size and name length still are compared).
//
// Environment: DIFFTEST_SEED=<n> runs only that seed (both variants).
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runsc/fuse/server.h"
#include "sentry/kernel/difftest/child.h"
#include "sentry/kernel/difftest/generator.h"
#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/vfs_side.h"

namespace runsc::fuse {
namespace {

using difftest::Sequence;
using difftest::SideOutput;

constexpr int kRootSequences = 100;
constexpr int kUserSequences = 60;
constexpr int kTimeoutSeconds = 90;
// Seeds apart from the in-process runs' (random_test uses kBaseSeed + i).
constexpr uint64_t kSeedOffset = 500000;

constexpr char kFuseStatfsType[] = "f_type=0x65735546 ";  // FUSE_SUPER_MAGIC
constexpr char kTmpfsStatfsType[] = "f_type=0x1021994 ";  // TMPFS_MAGIC

bool HasDotComponent(const std::string& path) {
  for (absl::string_view c : absl::StrSplit(path, '/')) {
    if (c == "." || c == "..") return true;
  }
  return false;
}

// Why the first difference of r is the host kernel's doing, or null.
const char* KnownHostKernelDifference(const Sequence& s,
                                      const difftest::DiffResult& r) {
  if (r.failing_op < 0) return nullptr;
  size_t i = r.failing_op;
  const difftest::Op& op =
      i < s.setup.size() ? s.setup[i] : s.ops[i - s.setup.size()];
  auto sig = [&](absl::string_view linux_ret, absl::string_view fuse_ret) {
    return absl::StrContains(r.signature, absl::StrCat(": linux=", linux_ret,
                                                       " vfs=", fuse_ret)) &&
           !absl::StrContains(r.signature, "payload");
  };
  using difftest::OpKind;
  if (op.kind == OpKind::kLseek && sig("-EINVAL", "-ENXIO")) {
    return "lseek(SEEK_DATA/SEEK_HOLE) of a directory is answered by the "
           "host kernel (generic_file_llseek), never sent";
  }
  if (s.unprivileged &&
      absl::StrContains(r.signature, ": linux=-EACCES vfs=") &&
      !absl::StrContains(r.signature, "vfs=-EACCES")) {
    // Search permission is the server's to check, on the lookups it is
    // sent. Linux checks it while walking, before anything else.
    for (const char* local :
         {"-EISDIR", "-ENOTDIR", "-ENOENT", "-EEXIST", "-EBADF"}) {
      if (sig("-EACCES", local)) {
        return "the host kernel failed the call on its own (trailing slash, "
               "a missing source, the type of what it had cached) before "
               "sending the lookup where the server checks search "
               "permission";
      }
    }
    if (HasDotComponent(op.path) || HasDotComponent(op.path2)) {
      return "the host kernel walks \".\" and \"..\" itself, so nothing "
             "asks the server for search permission on the directory they "
             "are in";
    }
  }
  if (s.unprivileged &&
      (op.kind == OpKind::kUnlink || op.kind == OpKind::kRmdir ||
       op.kind == OpKind::kRename) &&
      (sig("-EPERM", "-EISDIR") || sig("-EPERM", "-ENOTDIR"))) {
    return "the host kernel checks the victim's type before sending the "
           "request; the sticky bit, without default_permissions, only the "
           "server checks (the FUSE client clears S_ISVTX from its inodes)";
  }
  return nullptr;
}

// Reads fd to its end.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, n);
  }
  return out;
}

// The server in a process of its own, forked before it has any thread:
// the ops then run in children of a process without threads, as fork
// wants. It says "ready" (or why not) on ready_fd once mounted, serves
// until the mount goes, and writes the VFS objects still alive after
// teardown to report_fd.
[[noreturn]] void ServeInChild(const Sequence& s, const std::string& dir,
                               int ready_fd, int report_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string leaks;
  {
    base::RefPtr<sentry::fs::MountNamespace> ns;
    std::string e = difftest::NewVfsNamespace(s, &ns);
    if (!e.empty()) {
      (void)!write(ready_fd, e.data(), e.size());
      _exit(1);
    }
    {
      Server server(ns, ServerOptions{});
      // The unprivileged sequences' user reaches it too.
      absl::Status st = server.Mount(dir, {"allow_other"});
      if (!st.ok()) {
        (void)!write(ready_fd, st.message().data(), st.message().size());
        _exit(1);
      }
      (void)!write(ready_fd, "ready", 5);
      close(ready_fd);
      server.Serve();
    }
    ns.reset();
    leaks = difftest::LiveObjects();
  }
  (void)!write(report_fd, leaks.data(), leaks.size());
  _exit(0);
}

SideOutput RunOnFuse(const Sequence& s) {
  return difftest::internal::RunInChild(
      [&](difftest::internal::RecordWriter& w) {
        char dir[] = "/tmp/fuse_difftest.XXXXXX";
        int ready[2], report[2];
        if (mkdtemp(dir) == nullptr || chmod(dir, 0755) != 0 ||
            pipe2(ready, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
          w.WriteError(absl::StrCat("setting up: ", strerror(errno)));
          return;
        }
        pid_t server = fork();
        if (server == 0) {
          close(ready[0]);
          close(report[0]);
          ServeInChild(s, dir, ready[1], report[1]);
        }
        close(ready[1]);
        close(report[1]);
        std::string said = ReadAll(ready[0]);
        close(ready[0]);
        if (said != "ready") {
          w.WriteError("fuse server: " + said);
        } else {
          SideOutput out = difftest::RunOnHostDir(s, dir, "fuse");
          for (difftest::Result r : out.results) {
            if (r.payload.rfind(kFuseStatfsType, 0) == 0) {
              r.payload = kTmpfsStatfsType +
                          r.payload.substr(sizeof(kFuseStatfsType) - 1);
            }
            w.WriteResult(r);
          }
          w.WriteTree(out.tree);
          if (!out.error.empty()) w.WriteError(out.error);
          // The ops are done: the connection ends with the mount.
          umount2(dir, MNT_DETACH);
          std::string leaks = ReadAll(report[0]);
          if (!leaks.empty()) {
            w.WriteError("live objects after unmount:" + leaks);
          }
        }
        close(report[0]);
        waitpid(server, nullptr, 0);
        rmdir(dir);
      },
      kTimeoutSeconds, "fuse");
}

void RunMany(bool unprivileged, int count) {
  std::string why = difftest::LinuxSideUnavailableReason();
  if (!why.empty()) GTEST_SKIP() << why;
  if (access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/fuse";
  std::vector<uint64_t> seeds;
  if (const char* only = getenv("DIFFTEST_SEED")) {
    seeds.push_back(strtoull(only, nullptr, 0));
  } else {
    uint64_t base =
        difftest::kBaseSeed + kSeedOffset + (unprivileged ? 100000 : 0);
    for (int i = 0; i < count; ++i) seeds.push_back(base + i);
  }
  std::map<std::string, std::vector<uint64_t>> by_signature;
  std::map<std::string, int> known;
  int agreed = 0;
  for (uint64_t seed : seeds) {
    Sequence s = difftest::GenerateSequence(seed, unprivileged);
    difftest::DiffResult r = difftest::RunDiffAgainst(s, RunOnFuse);
    if (r.ok) {
      ++agreed;
      continue;
    }
    if (const char* why = KnownHostKernelDifference(s, r)) {
      ++known[absl::StrCat(r.signature, ": ", why)];
      continue;
    }
    if (by_signature.find(r.signature) == by_signature.end()) {
      ADD_FAILURE() << r.report;
    }
    by_signature[r.signature].push_back(seed);
  }
  std::printf("%d of %zu sequences agree throughout\n", agreed, seeds.size());
  for (const auto& [what, n] : known) {
    std::printf("known host-kernel difference x%d: %s\n", n, what.c_str());
  }
  // The known differences must not swallow the run.
  if (seeds.size() > 1) {
    EXPECT_GE(agreed * 3, static_cast<int>(seeds.size()));
  }
  for (const auto& [sig, ss] : by_signature) {
    ADD_FAILURE() << sig << " x" << ss.size() << " (first seed " << ss[0]
                  << ")";
  }
}

TEST(FuseDifferential, AsRoot) { RunMany(false, kRootSequences); }
TEST(FuseDifferential, AsUser) { RunMany(true, kUserSequences); }

}  // namespace
}  // namespace runsc::fuse
