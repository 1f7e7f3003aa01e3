// Tests of tmpfs: option parsing, size and inode limits, statfs, sparse
// files.
#include "sentry/fs/tmpfs/tmpfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs::tmpfs {
namespace {

using testutil::IsErrno;
using testutil::NewTmpfsTask;
using testutil::Succeeds;
using testutil::TmpfsTask;

uint64_t PhysBytes() {
  return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
         static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

struct OptCase {
  const char* data;
  uint64_t max_bytes;
  uint64_t max_inodes;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  bool uid_set;
  bool gid_set;
};

TEST(ParseOptionsTest, ValidOptions) {
  const std::vector<OptCase> cases = {
      {"", 0, 0, 01777, 0, 0, false, false},
      {"size=4096", 4096, 0, 01777, 0, 0, false, false},
      {"size=4k", 4096, 0, 01777, 0, 0, false, false},
      {"size=4K", 4096, 0, 01777, 0, 0, false, false},
      {"size=2m", 2u << 20, 0, 01777, 0, 0, false, false},
      {"size=1g", 1u << 30, 0, 01777, 0, 0, false, false},
      {"size=0", 0, 0, 01777, 0, 0, false, false},
      {"nr_inodes=100", 0, 100, 01777, 0, 0, false, false},
      {"nr_inodes=2k", 0, 2048, 01777, 0, 0, false, false},
      {"mode=755", 0, 0, 0755, 0, 0, false, false},
      {"mode=0700", 0, 0, 0700, 0, 0, false, false},
      {"uid=1000", 0, 0, 01777, 1000, 0, true, false},
      {"gid=2000", 0, 0, 01777, 0, 2000, false, true},
      {"size=1m,nr_inodes=10,mode=750,uid=1,gid=2", 1u << 20, 10, 0750, 1, 2,
       true, true},
      {"nr_blocks=2", 8192, 0, 01777, 0, 0, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.data);
    auto o = ParseOptions(c.data);
    ASSERT_TRUE(o.ok()) << o.error().name();
    EXPECT_EQ(o->max_bytes, c.max_bytes);
    EXPECT_EQ(o->max_inodes, c.max_inodes);
    EXPECT_EQ(o->mode, c.mode);
    EXPECT_EQ(o->uid, c.uid);
    EXPECT_EQ(o->gid, c.gid);
    EXPECT_EQ(o->uid_set, c.uid_set);
    EXPECT_EQ(o->gid_set, c.gid_set);
  }
}

TEST(ParseOptionsTest, SizePercentOfMemory) {
  for (int pct : {1, 50, 100}) {
    SCOPED_TRACE(pct);
    auto o = ParseOptions("size=" + std::to_string(pct) + "%");
    ASSERT_TRUE(o.ok());
    uint64_t want = PhysBytes() / 100 * pct;
    // Allow page rounding differences.
    EXPECT_NEAR(static_cast<double>(o->max_bytes), static_cast<double>(want),
                4096.0 * 100);
  }
}

TEST(ParseOptionsTest, InvalidOptionsAreEinval) {
  const std::vector<const char*> cases = {
      "bogus=1",  "bogus",        "size",       "size=",
      "size=abc", "size=1x",      "size=1kk",   "size=-1",
      "mode=9",   "mode=abc",     "uid=abc",    "uid=",
      "gid=1.5",  "nr_inodes=1%", "nr_inodes=", "size=1m,bogus=2",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    auto o = ParseOptions(c);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().value(), EINVAL);
  }
}

TEST(TmpfsMountTest, UnknownOptionFailsMount) {
  auto fs = FindFilesystem("tmpfs");
  ASSERT_TRUE(fs.ok());
  context::Context ctx(kernel::auth::Credentials::Root());
  auto r = (*fs)->Mount(ctx, "none", {}, "nosuchopt=1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().value(), EINVAL);
}

class TmpfsTest : public ::testing::Test {
 protected:
  void TearDown() override { t_.reset(); }
  TmpfsTask t_;
};

TEST_F(TmpfsTest, RootModeAndOwnerFromOptions) {
  t_ =
      NewTmpfsTask(kernel::auth::Credentials::Root(), "mode=750,uid=12,gid=34");
  struct stat st;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFDIR | 0750u);
  EXPECT_EQ(st.st_uid, 12u);
  EXPECT_EQ(st.st_gid, 34u);
}

TEST_F(TmpfsTest, SizeLimitGivesPartialWriteThenEnospc) {
  t_ = NewTmpfsTask(kernel::auth::Credentials::Root(), "size=16k");
  long fd = t_->Open("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(fd, Succeeds());
  std::string big(6000, 'x');
  ASSERT_EQ(t_->Write(fd, big.data(), big.size()), 6000);
  ASSERT_EQ(t_->Write(fd, big.data(), big.size()), 6000);
  // 12000 of 16384 used: the next write fits only partially.
  EXPECT_EQ(t_->Write(fd, big.data(), big.size()), 16384 - 12000);
  EXPECT_THAT(t_->Write(fd, big.data(), big.size()), IsErrno(ENOSPC));
  struct stat st;
  ASSERT_THAT(t_->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_size, 16384);
  // Truncating frees the space again.
  ASSERT_THAT(t_->Ftruncate(fd, 0), Succeeds());
  EXPECT_EQ(t_->Pwrite64(fd, big.data(), big.size(), 0), 6000);
  t_->Close(fd);
}

TEST_F(TmpfsTest, SizeLimitAppliesAcrossFiles) {
  t_ = NewTmpfsTask(kernel::auth::Credentials::Root(), "size=8k");
  std::string page(4096, 'a');
  ASSERT_THAT(testutil::WriteFile(t_.get(), "/a", page), Succeeds());
  ASSERT_THAT(testutil::WriteFile(t_.get(), "/b", page), Succeeds());
  long fd = t_->Open("/c", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t_->Write(fd, "x", 1), IsErrno(ENOSPC));
  t_->Close(fd);
  ASSERT_THAT(t_->Unlinkat(AT_FDCWD, "/a", 0), Succeeds());
  EXPECT_THAT(testutil::WriteFile(t_.get(), "/c", page), Succeeds());
}

TEST_F(TmpfsTest, InodeLimitGivesEnospcOnCreate) {
  // The root counts as one inode, as in Linux.
  t_ = NewTmpfsTask(kernel::auth::Credentials::Root(), "nr_inodes=4");
  int made = 0;
  long r = 0;
  for (int i = 0; i < 10; ++i) {
    std::string p = "/f" + std::to_string(i);
    r = t_->Open(p.c_str(), O_CREAT | O_WRONLY, 0644);
    if (r < 0) break;
    t_->Close(r);
    ++made;
  }
  EXPECT_EQ(made, 3);
  EXPECT_THAT(r, IsErrno(ENOSPC));
  EXPECT_THAT(t_->Mkdirat(AT_FDCWD, "/d", 0755), IsErrno(ENOSPC));
  EXPECT_THAT(t_->Symlinkat("x", AT_FDCWD, "/s"), IsErrno(ENOSPC));
  // Hard links take no inode.
  EXPECT_THAT(t_->Linkat(AT_FDCWD, "/f0", AT_FDCWD, "/l", 0), Succeeds());
  ASSERT_THAT(t_->Unlinkat(AT_FDCWD, "/f1", 0), Succeeds());
  EXPECT_THAT(t_->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
}

TEST_F(TmpfsTest, StatfsFigures) {
  t_ =
      NewTmpfsTask(kernel::auth::Credentials::Root(), "size=40k,nr_inodes=100");
  struct statfs sf;
  ASSERT_THAT(t_->Statfs("/", &sf), Succeeds());
  EXPECT_EQ(sf.f_type, 0x01021994);  // TMPFS_MAGIC
  EXPECT_EQ(sf.f_bsize, 4096);
  EXPECT_EQ(sf.f_blocks, 10u);
  EXPECT_EQ(sf.f_bfree, 10u);
  EXPECT_EQ(sf.f_bavail, 10u);
  EXPECT_EQ(sf.f_files, 100u);
  EXPECT_EQ(sf.f_ffree, 99u);
  EXPECT_EQ(sf.f_namelen, 255);
  ASSERT_THAT(testutil::WriteFile(t_.get(), "/f", std::string(5000, 'z')),
              Succeeds());
  ASSERT_THAT(t_->Statfs("/f", &sf), Succeeds());
  EXPECT_EQ(sf.f_bfree, 8u);
  EXPECT_EQ(sf.f_ffree, 98u);
}

TEST_F(TmpfsTest, SizeIsRoundedUpToPages) {
  t_ = NewTmpfsTask(kernel::auth::Credentials::Root(), "size=5000");
  struct statfs sf;
  ASSERT_THAT(t_->Statfs("/", &sf), Succeeds());
  EXPECT_EQ(sf.f_blocks, 2u);
}

TEST_F(TmpfsTest, SparseHolesReadAsZerosAndUseNoBlocks) {
  t_ = NewTmpfsTask();
  long fd = t_->Open("/sparse", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(fd, Succeeds());
  ASSERT_EQ(t_->Pwrite64(fd, "abc", 3, 1 << 20), 3);
  struct stat st;
  ASSERT_THAT(t_->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_size, (1 << 20) + 3);
  EXPECT_EQ(st.st_blocks, 8);  // one 4 KiB page
  std::string buf(8192, 'q');
  ASSERT_EQ(t_->Pread64(fd, buf.data(), buf.size(), 4096), 8192);
  EXPECT_EQ(buf, std::string(8192, '\0'));
  char got[3];
  ASSERT_EQ(t_->Pread64(fd, got, 3, 1 << 20), 3);
  EXPECT_EQ(std::string(got, 3), "abc");
  ASSERT_EQ(t_->Pwrite64(fd, "x", 1, 0), 1);
  ASSERT_THAT(t_->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_blocks, 16);
  // Extending with ftruncate allocates nothing.
  ASSERT_THAT(t_->Ftruncate(fd, 10 << 20), Succeeds());
  ASSERT_THAT(t_->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_blocks, 16);
  t_->Close(fd);
}

TEST_F(TmpfsTest, SparseFilesDoNotCountAgainstSize) {
  t_ = NewTmpfsTask(kernel::auth::Credentials::Root(), "size=8k");
  long fd = t_->Open("/sparse", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t_->Ftruncate(fd, 1 << 30), Succeeds());
  EXPECT_EQ(t_->Pwrite64(fd, "abc", 3, 1 << 29), 3);
  t_->Close(fd);
}

}  // namespace
}  // namespace sentry::fs::tmpfs
