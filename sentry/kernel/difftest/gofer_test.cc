// The differential harness over a gofer mount: the same op sequences run
// through host syscalls on a Linux tmpfs and through our VFS (a Task) on a
// "9p" mount served by a real `runsc gofer` process, which itself serves a
// fresh host tmpfs. So every answer crosses the 9P client, the protocol
// and the confined gofer, and must still be the answer Linux gives.
//
// Differences by construction, mapped before comparing: statfs's f_type is
// V9FS_MAGIC on a 9p mount (the block size and name length are compared).
// Differences by design, each in KnownGoferDifference with its reason: the
// gofer never makes device nodes or privileged xattrs on the host, and
// 9P2000.L has no fallocate, no RENAME_EXCHANGE, no lseek (for SEEK_DATA
// and SEEK_HOLE) and no empty xattr value. A sequence whose first
// difference is one of them is counted as such (and not compared further).
// Named pipes live in the sandbox (the gofer never opens a host fifo).
//
// Both cache policies the seed's conf.FileAccess picks are run: exclusive
// (cache=fscache) and shared (cache=remote_revalidating).
//
// Environment: DIFFTEST_SEED=<n> runs only that seed.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"
#include "sentry/kernel/difftest/child.h"
#include "sentry/kernel/difftest/generator.h"
#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/vfs_side.h"

namespace difftest {
namespace {

constexpr int kRootSequences = 100;
constexpr int kUserSequences = 50;
constexpr int kTimeoutSeconds = 60;
// Seeds apart from random_test's (kBaseSeed + i) and the FUSE runs'.
constexpr uint64_t kSeedOffset = 700000;

constexpr char kV9fsStatfsType[] = "f_type=0x1021997 ";   // V9FS_MAGIC
constexpr char kTmpfsStatfsType[] = "f_type=0x1021994 ";  // TMPFS_MAGIC

// Why the first difference of r is by design, or null.
const char* KnownGoferDifference(const Sequence& s, const DiffResult& r) {
  if (r.failing_op < 0) return nullptr;
  const size_t i = r.failing_op;
  const Op& op = i < s.setup.size() ? s.setup[i] : s.ops[i - s.setup.size()];
  auto vfs_says = [&](const char* err) {
    return r.signature.find(absl::StrCat(" vfs=", err)) != std::string::npos &&
           r.signature.find("payload") == std::string::npos;
  };
  if (op.kind == OpKind::kMknod && (S_ISCHR(op.mode) || S_ISBLK(op.mode)) &&
      vfs_says("-EPERM")) {
    return "the gofer makes no device nodes on the host (a host process "
           "could open them); with --overlay they go to the tmpfs upper";
  }
  if (op.kind == OpKind::kRename && (op.flags & RENAME_EXCHANGE) &&
      vfs_says("-EINVAL")) {
    return "9P2000.L's Trenameat has no flags: no RENAME_EXCHANGE (Linux's "
           "own 9p client says EINVAL too)";
  }
  if (op.kind == OpKind::kFallocate && vfs_says("-EOPNOTSUPP")) {
    return "9P2000.L has no fallocate message (Linux's own 9p client says "
           "EOPNOTSUPP too)";
  }
  if ((op.kind == OpKind::kSetxattr || op.kind == OpKind::kGetxattr ||
       op.kind == OpKind::kRemovexattr) &&
      op.name.rfind("user.", 0) != 0 &&
      (vfs_says("-EOPNOTSUPP") || vfs_says("-ENODATA"))) {
    return "the gofer serves user.* xattrs only: trusted.* and security.* "
           "on the host are the host's";
  }
  if (op.kind == OpKind::kSetxattr && op.data.empty() && vfs_says("-ENODATA")) {
    return "9P2000.L has no empty xattr value: a zero-size Txattrcreate is "
           "also how removexattr is sent (Linux's 9p client sends both so), "
           "and our gofer takes it as a removal";
  }
  if (op.kind == OpKind::kLseek &&
      (op.flags == SEEK_DATA || op.flags == SEEK_HOLE) &&
      r.signature.find(" vfs=-E") == std::string::npos) {
    return "9P2000.L has no lseek: SEEK_DATA/SEEK_HOLE see the file as all "
           "data, as generic_file_llseek (Linux's own 9p client too)";
  }
  return nullptr;
}

std::string RunscBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/__main__/runsc/runsc";
}

// Our side: a host tmpfs served by `runsc gofer`, mounted as "9p" with
// the given cache option, as the root of a namespace.
SideOutput RunOnGofer(const Sequence& s, const std::string& cache) {
  return internal::RunInChild(
      [&](internal::RecordWriter& w) {
        // Mounts of our own, gone with this child.
        if (unshare(CLONE_NEWNS) != 0 ||
            mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
          w.WriteError(absl::StrCat("mount namespace: ", strerror(errno)));
          return;
        }
        char dir[] = "/tmp/gofer_difftest.XXXXXX";
        if (mkdtemp(dir) == nullptr ||
            mount("tmpfs", dir, "tmpfs", 0, "mode=1777") != 0) {
          w.WriteError(absl::StrCat("host tmpfs: ", strerror(errno)));
          return;
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
          w.WriteError(absl::StrCat("socketpair: ", strerror(errno)));
          return;
        }
        const std::string bin = RunscBinary();
        pid_t gofer = fork();
        if (gofer == 0) {
          prctl(PR_SET_PDEATHSIG, SIGKILL);
          int fd = dup(sv[1]);  // without FD_CLOEXEC
          std::string root = absl::StrCat("--root=", dir);
          std::string io = absl::StrCat("--io-fds=", fd);
          execl(bin.c_str(), "runsc", "gofer", root.c_str(), io.c_str(),
                static_cast<char*>(nullptr));
          _exit(127);
        }
        close(sv[1]);
        {
          base::RefPtr<sentry::fs::MountNamespace> ns;
          {
            sentry::context::Context ctx(
                sentry::kernel::auth::Credentials::Root());
            auto fs = sentry::fs::FindFilesystem("9p");
            if (!fs.ok()) {
              w.WriteError("FindFilesystem(9p): " + fs.error().ToString());
              return;
            }
            std::string opts = absl::StrCat("trans=fd,rfdno=", sv[0],
                                            ",wfdno=", sv[0], ",cache=", cache);
            auto root =
                (*fs)->Mount(ctx, "none", sentry::fs::MountSourceFlags{}, opts);
            close(sv[0]);  // the mount has its own copy
            if (!root.ok()) {
              w.WriteError("9p Mount: " + root.error().ToString());
              kill(gofer, SIGKILL);
              waitpid(gofer, nullptr, 0);
              return;
            }
            ns = sentry::fs::MountNamespace::New(
                sentry::fs::Dirent::NewRoot(std::move(*root)));
          }
          SideOutput out = RunSequence(s, ns);
          for (Result r : out.results) {
            if (r.payload.rfind(kV9fsStatfsType, 0) == 0) {
              r.payload = kTmpfsStatfsType +
                          r.payload.substr(sizeof(kV9fsStatfsType) - 1);
            }
            w.WriteResult(r);
          }
          w.WriteTree(out.tree);
        }
        if (std::string leaks = LiveObjects(); !leaks.empty()) {
          w.WriteError("live objects after teardown:" + leaks);
        }
        kill(gofer, SIGKILL);
        waitpid(gofer, nullptr, 0);
        umount2(dir, MNT_DETACH);
        rmdir(dir);
      },
      kTimeoutSeconds, "gofer");
}

void RunMany(bool unprivileged, int count, const std::string& cache,
             uint64_t offset) {
  std::string why = LinuxSideUnavailableReason();
  if (!why.empty()) GTEST_SKIP() << why;
  std::vector<uint64_t> seeds;
  if (const char* only = getenv("DIFFTEST_SEED")) {
    seeds.push_back(strtoull(only, nullptr, 0));
  } else {
    uint64_t base =
        kBaseSeed + kSeedOffset + offset + (unprivileged ? 100000 : 0);
    // The shared-cache runs start 50,000 seeds on (DIFFTEST_SCALE).
    count = ScaledSequenceCount(count, 50000);
    for (int i = 0; i < count; ++i) seeds.push_back(base + i);
  }
  std::map<std::string, std::vector<uint64_t>> by_signature;
  std::map<std::string, int> known;
  int agreed = 0;
  auto side = [&](const Sequence& s) { return RunOnGofer(s, cache); };
  for (uint64_t seed : seeds) {
    Sequence s = GenerateSequence(seed, unprivileged);
    DiffResult r = RunDiffAgainst(s, side);
    if (r.ok) {
      ++agreed;
      continue;
    }
    if (const char* why = KnownGoferDifference(s, r)) {
      ++known[absl::StrCat(r.signature, ": ", why)];
      continue;
    }
    if (by_signature.find(r.signature) == by_signature.end()) {
      ADD_FAILURE() << "seed " << seed << "\n" << r.report;
    }
    by_signature[r.signature].push_back(seed);
  }
  std::printf("%d of %zu sequences agree throughout\n", agreed, seeds.size());
  for (const auto& [what, n] : known) {
    std::printf("known difference x%d: %s\n", n, what.c_str());
  }
  // The known differences must not swallow the run.
  if (seeds.size() > 1) {
    EXPECT_GE(agreed * 4, static_cast<int>(seeds.size() * 3));
  }
  for (const auto& [sig, ss] : by_signature) {
    ADD_FAILURE() << sig << " x" << ss.size() << " (first seed " << ss[0]
                  << ")";
  }
}

TEST(GoferDifferential, ExclusiveAsRoot) {
  RunMany(false, kRootSequences, "fscache", 0);
}
TEST(GoferDifferential, ExclusiveAsUser) {
  RunMany(true, kUserSequences, "fscache", 0);
}
TEST(GoferDifferential, SharedAsRoot) {
  RunMany(false, kRootSequences / 2, "remote_revalidating", 50000);
}
TEST(GoferDifferential, SharedAsUser) {
  RunMany(true, kUserSequences / 2, "remote_revalidating", 50000);
}

}  // namespace
}  // namespace difftest
