// The differential harness: runs one op sequence on a fresh Linux tmpfs
// (in a forked child chrooted into it, optionally as an unprivileged user)
// and on a fresh instance of our VFS (sentry::kernel::Task over the tmpfs
// implementation, also in a forked child so a crash or hang in the VFS is
// reported rather than fatal), then compares them op by op and finally
// compares the two trees.
//
// What is compared, per op: the return value exactly (sign, errno, count,
// offset; fd numbers are mapped through slots) and, for successful calls,
// the canonical payload (bytes read, stat fields, readlink text, getcwd,
// sorted listing, xattr value/list, F_GETLK result).
//
// What is excluded, because it legitimately differs (each also noted where
// it is implemented):
//  - inode numbers and st_dev (different filesystems by construction);
//  - timestamps (different clocks, and the two sides run at different times);
//  - st_blocks / st_blksize (allocation policy);
//  - directory st_size: Linux tmpfs reports BOGO_DIRENT_SIZE (20) per entry,
//    "." and ".." included (an empty directory is 40); an artefact of
//    shmem, not an interface (see DirSizeNote in harness.cc);
//  - the order of getdents64 entries and of listxattr names (sorted);
//  - l_pid of F_GETLK results (different processes);
//  - statfs block/inode counts (host memory); f_type, f_bsize and
//    f_namelen are compared.
#ifndef SENTRY_KERNEL_DIFFTEST_HARNESS_H_
#define SENTRY_KERNEL_DIFFTEST_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sentry/kernel/difftest/op.h"

namespace difftest {

// The unprivileged identity: uid/gid 1000, supplementary groups {1000, 2000}.
inline constexpr uid_t kUserUid = 1000;
inline constexpr gid_t kUserGid = 1000;
inline constexpr gid_t kUserGroup2 = 2000;

struct Sequence {
  std::string name;
  uint64_t seed = 0;  // 0 for hand-written cases
  bool unprivileged = false;
  std::vector<Op> setup;  // always run as root, before ops
  std::vector<Op> ops;    // run as root, or as kUserUid if unprivileged
  // Overlay mode, when true: `lower` runs (as root) on a tmpfs that then
  // becomes the lower layer of an overlay with an empty tmpfs upper, and
  // setup and ops run on the overlay. Linux's side is a real
  // `mount -t overlay`; ours is sentry/fs/overlay over two tmpfs. Lower
  // ops build a fixture and must all succeed (they are not compared).
  bool overlay = false;
  std::vector<Op> lower;
};

// What one side produced.
struct SideOutput {
  std::vector<Result> results;  // setup results, then op results
  std::string tree;             // WalkTree after all ops
  std::string error;            // crash / timeout / environment problem
};

// Whether the Linux side can run here (root, chroot, fork); if not, why.
std::string LinuxSideUnavailableReason();
// How the Linux side's root was made: "tmpfs mount" or "/dev/shm dir".
std::string LinuxRootKind();
// How many random sequences a test that runs `count` in CI runs here:
// DIFFTEST_SCALE=k (for a soak) makes it k times as many, up to `cap`
// (where one test's seed range would reach another's).
int ScaledSequenceCount(int count, int cap);

SideOutput RunOnLinux(const Sequence& s);
SideOutput RunOnVfs(const Sequence& s);
// The host side's executor on any directory: s's setup (as root) and ops
// (dropping to kUserUid if unprivileged) through raw syscalls in a child
// chrooted into top, then the tree walked by another. RunOnLinux passes a
// fresh tmpfs; a caller may pass another mount of the same tree (the FUSE
// export of our VFS), which makes that mount the system under test.
SideOutput RunOnHostDir(const Sequence& s, const std::string& top,
                        const std::string& side_name);

// The side compared with Linux: RunOnVfs, or another.
using SideRunner = std::function<SideOutput(const Sequence&)>;

// The outcome of a differential run.
struct DiffResult {
  bool ok = true;
  // First differing op (index into setup+ops), or -1 for a tree-only (or
  // side-error) difference.
  int failing_op = -1;
  std::string signature;  // short, for de-duplication across seeds
  std::string report;     // full human-readable report
};

// Runs s on both sides and compares. With minimize, a failing sequence is
// shrunk (greedy op removal keeping the same failure signature) and the
// report shows the minimal sequence as well.
DiffResult RunDiff(const Sequence& s, bool minimize = true);
// The same against another system under test than RunOnVfs.
DiffResult RunDiffAgainst(const Sequence& s, const SideRunner& side,
                          bool minimize = true);

}  // namespace difftest

#endif  // SENTRY_KERNEL_DIFFTEST_HARNESS_H_
