// The FUSE server in process: a tmpfs namespace served at a temporary
// mount point on worker threads, driven by host syscalls on the mount
// from the test thread. Needs root and /dev/fuse.
#include "runsc/fuse/server.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/file.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/testutil/testutil.h"

namespace runsc::fuse {
namespace {

using sentry::fs::testutil::NewTmpfsTask;
using sentry::fs::testutil::Succeeds;
using sentry::fs::testutil::TmpfsTask;

// Dirents and Files are freed through the epoch (sentry/fs/epoch.h):
// count after what is deferred has gone.
int64_t LiveDirents() {
  sentry::fs::epoch::Synchronize();
  return base::LiveCounter<sentry::fs::Dirent>::Live();
}
int64_t LiveInodes() {
  sentry::fs::epoch::Synchronize();
  return base::LiveCounter<sentry::fs::Inode>::Live();
}
int64_t LiveFiles() {
  sentry::fs::epoch::Synchronize();
  return base::LiveCounter<sentry::fs::File>::Live();
}

// Drops the host's unused dentries and inodes, so the kernel sends FORGET
// for every node nothing holds.
void DropCaches() { std::ofstream("/proc/sys/vm/drop_caches") << "2\n"; }

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "needs root and /dev/fuse";
    }
    t_ = NewTmpfsTask(sentry::kernel::auth::Credentials::Root(), "mode=755");
    char dir[] = "/tmp/fuse_server_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    mnt_ = dir;
    server_ = std::make_unique<Server>(t_.ns, ServerOptions{});
    absl::Status s = server_->Mount(mnt_, {});
    ASSERT_TRUE(s.ok()) << s;
    serving_ = std::thread([this] { server_->Serve(); });
  }
  void TearDown() override {
    if (server_) {
      server_->Unmount();
      serving_.join();
      server_.reset();
    }
    if (!mnt_.empty()) rmdir(mnt_.c_str());
    t_.reset();
  }
  std::string M(const std::string& p) { return mnt_ + p; }

  TmpfsTask t_;
  std::string mnt_;
  std::unique_ptr<Server> server_;
  std::thread serving_;
};

// Each round stats every file (LOOKUP: the zero entry timeout sends one
// per stat) and then drops the host's caches (FORGET for each): a
// million lookups and forgets must leave the node table and the VFS's
// live objects where they started.
TEST_F(ServerTest, MillionLookupsAndForgetsLeaveNothingBehind) {
  constexpr int kFiles = 5000;
  constexpr int kRounds = 200;
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  for (int i = 0; i < kFiles; ++i) {
    std::string p = absl::StrCat("/d/f", i);
    long fd = t_->Openat(AT_FDCWD, p.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_THAT(fd, Succeeds());
    t_->Close(fd);
  }
  // Several threads, so the server's workers overlap their waits.
  constexpr int kThreads = 4;
  std::atomic<int> failed{0};
  auto round = [&] {
    std::vector<std::thread> ts;
    for (int k = 0; k < kThreads; ++k) {
      ts.emplace_back([&, k] {
        struct stat st;
        for (int i = k; i < kFiles; i += kThreads) {
          if (lstat(M(absl::StrCat("/d/f", i)).c_str(), &st) != 0) ++failed;
        }
      });
    }
    for (auto& t : ts) t.join();
    ASSERT_EQ(failed.load(), 0);
    DropCaches();
  };
  round();
  for (int i = 0; i < 500 && server_->NodeCount() > 2; ++i) usleep(2000);
  const uint64_t lookups0 = server_->LookupCount();
  const int64_t dirents = LiveDirents(), inodes = LiveInodes(),
                files = LiveFiles();
  for (int r = 0; r < kRounds; ++r) {
    round();
    if (HasFatalFailure()) return;
    // Between rounds nothing may have grown. (FORGETs are queued: give
    // them a moment to arrive.)
    for (int i = 0; i < 500 && server_->NodeCount() > 2; ++i) usleep(2000);
    ASSERT_LE(server_->NodeCount(), 2u) << "round " << r;
  }
  EXPECT_GE(server_->LookupCount() - lookups0,
            static_cast<uint64_t>(kFiles) * kRounds);
  EXPECT_EQ(server_->ForgetCount(), server_->LookupCount());
  EXPECT_EQ(LiveDirents(), dirents);
  EXPECT_EQ(LiveInodes(), inodes);
  EXPECT_EQ(LiveFiles(), files);
  EXPECT_EQ(server_->OpenHandles(), 0);
}

// Fresh names that do not exist make no nodes, and the VFS's negative
// dirents stay within their bound.
TEST_F(ServerTest, LookupsOfFreshMissingNamesStayBounded) {
  const int64_t dirents = LiveDirents();
  struct stat st;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(lstat(M(absl::StrCat("/missing", i)).c_str(), &st), -1);
    ASSERT_EQ(errno, ENOENT);
  }
  EXPECT_EQ(server_->NodeCount(), 1u);
  EXPECT_LE(LiveDirents() - dirents,
            sentry::fs::MountSource::kMaxNegativeDirents);
}

// Open files are handles holding File references; closing every
// descriptor releases them.
TEST_F(ServerTest, HandlesGoWithTheLastClose) {
  const int64_t files = LiveFiles();
  int fds[50];
  for (int i = 0; i < 50; ++i) {
    fds[i] = open(M(absl::StrCat("/f", i % 5)).c_str(), O_CREAT | O_RDWR, 0600);
    ASSERT_GE(fds[i], 0);
    ASSERT_EQ(write(fds[i], "x", 1), 1);
  }
  EXPECT_EQ(server_->OpenHandles(), 50);
  for (int fd : fds) close(fd);
  // release is asynchronous: the kernel sends it after close returns.
  for (int i = 0; i < 200 && server_->OpenHandles() != 0; ++i) usleep(5000);
  EXPECT_EQ(server_->OpenHandles(), 0);
  EXPECT_EQ(LiveFiles(), files);
}

// F_OFD_GETLK with F_UNLCK, which the kernel passes on only for OFD
// locks, reports the description's own lock (Linux 6.7), as on tmpfs.
TEST_F(ServerTest, OfdGetlkWithUnlockReportsTheDescriptionsOwnLock) {
  const int fd = open(M("/lk").c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  // No ASSERTs while fd is open: a descriptor left open keeps the mount
  // busy and the fixture's unmount waiting.
  auto lock = [&](int cmd, short type, off_t start, off_t len) {
    struct flock fl = {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    EXPECT_EQ(fcntl(fd, cmd, &fl), 0) << cmd << " " << type;
    return fl;
  };
  EXPECT_EQ(lock(F_OFD_GETLK, F_UNLCK, 0, 0).l_type, F_UNLCK);  // none yet
  lock(F_OFD_SETLK, F_WRLCK, 10, 5);
  struct flock got = lock(F_OFD_GETLK, F_UNLCK, 0, 0);
  EXPECT_EQ(got.l_type, F_WRLCK);
  EXPECT_EQ(got.l_start, 10);
  EXPECT_EQ(got.l_len, 5);
  close(fd);
}

// Hard links are one node (the kernel shows one inode); the sandbox's
// inode number shows through for the root filesystem.
TEST_F(ServerTest, HardLinksShareANodeAndInodeNumbers) {
  ASSERT_EQ(close(open(M("/a").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_EQ(link(M("/a").c_str(), M("/b").c_str()), 0);
  struct stat a, b, ours;
  ASSERT_EQ(stat(M("/a").c_str(), &a), 0);
  ASSERT_EQ(stat(M("/b").c_str(), &b), 0);
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/a", &ours, 0), Succeeds());
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(a.st_ino, ours.st_ino);
}

// What the VFS changes behind the kernel's back shows at once: the
// timeouts are zero and the page cache is dropped at open.
TEST_F(ServerTest, SandboxSideChangesAreVisibleAtOnce) {
  ASSERT_THAT(sentry::fs::testutil::WriteFile(t_.get(), "/v", "one"),
              Succeeds());
  std::string got;
  std::ifstream(M("/v")) >> got;
  EXPECT_EQ(got, "one");
  ASSERT_THAT(sentry::fs::testutil::WriteFile(t_.get(), "/v", "three"),
              Succeeds());
  std::ifstream(M("/v")) >> got;
  EXPECT_EQ(got, "three");
  ASSERT_THAT(t_->Unlinkat(AT_FDCWD, "/v", 0), Succeeds());
  struct stat st;
  EXPECT_EQ(stat(M("/v").c_str(), &st), -1);
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/v", 0700), Succeeds());
  ASSERT_EQ(stat(M("/v").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace runsc::fuse

namespace runsc::fuse {
namespace {

// The spec's id maps decide who a caller is: a mapped host uid is the
// sandbox's uid (root with every capability), an unmapped one nobody.
TEST(ServerCreds, HostIdsGoThroughTheSpecsMaps) {
  TmpfsTask t = NewTmpfsTask();
  ServerOptions o;
  o.uid_map = {{0, 100000, 65536}};
  o.gid_map = {{0, 200000, 65536}};
  {
    Server s(t.ns, o);
    EXPECT_TRUE(s.IsRoot(100000));
    EXPECT_FALSE(s.IsRoot(0));
    auto root = s.CredsFor(100000, 200000, {200005});
    EXPECT_EQ(root.fsuid, 0u);
    EXPECT_EQ(root.fsgid, 0u);
    EXPECT_TRUE(root.HasCapability(CAP_DAC_OVERRIDE));
    EXPECT_EQ(root.groups, std::vector<uint32_t>{5});
    auto user = s.CredsFor(101000, 201000, {});
    EXPECT_EQ(user.fsuid, 1000u);
    EXPECT_EQ(user.fsgid, 1000u);
    EXPECT_FALSE(user.HasCapability(CAP_DAC_OVERRIDE));
    auto outsider = s.CredsFor(0, 0, {7});
    EXPECT_EQ(outsider.fsuid, sentry::kernel::auth::kOverflowUID);
    EXPECT_EQ(outsider.fsgid, sentry::kernel::auth::kOverflowGID);
    EXPECT_EQ(outsider.groups,
              std::vector<uint32_t>{sentry::kernel::auth::kOverflowGID});
  }
  t.reset();
}

}  // namespace
}  // namespace runsc::fuse
