#include "sentry/fs/sys/sys.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/proc/process.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs::sys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testutil::IsErrno;
using testutil::ReadFile;
using testutil::Succeeds;

class FixedMachine : public proc::MachineInfoSource {
 public:
  explicit FixedMachine(int cpus) : cpus_(cpus) {}
  proc::MachineInfo Get() const override {
    proc::MachineInfo m;
    m.cpus = cpus_;
    return m;
  }

 private:
  int cpus_;
};

class SysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proc::SetDefaultMachineInfo(&machine_);
    t_ = testutil::NewTmpfsTask();
    ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/sys", 0755), Succeeds());
    ASSERT_THAT(t_->Mount("sysfs", "/sys", "sysfs",
                          MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
                Succeeds());
  }
  void TearDown() override {
    t_.reset();
    proc::SetDefaultMachineInfo(nullptr);
  }
  uint32_t Mode(const char* p) {
    struct stat st;
    EXPECT_THAT(t_->Fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW), Succeeds())
        << p;
    return st.st_mode;
  }
  FixedMachine machine_{4};
  testutil::TmpfsTask t_;
};

TEST_F(SysTest, CpuLists) {
  EXPECT_EQ(ReadFile(t_.get(), "/sys/devices/system/cpu/online"), "0-3\n");
  EXPECT_EQ(ReadFile(t_.get(), "/sys/devices/system/cpu/possible"), "0-3\n");
  EXPECT_EQ(ReadFile(t_.get(), "/sys/devices/system/cpu/present"), "0-3\n");
  EXPECT_EQ(CpuList(1), "0\n");
  EXPECT_EQ(CpuList(2), "0-1\n");
  auto names = testutil::ListDir(t_.get(), "/sys/devices/system/cpu");
  EXPECT_THAT(names, ElementsAre("cpu0", "cpu1", "cpu2", "cpu3", "online",
                                 "possible", "present"));
}

TEST_F(SysTest, ModesAsLinux) {
  EXPECT_EQ(Mode("/sys"), S_IFDIR | 0555);
  EXPECT_EQ(Mode("/sys/devices"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/devices/system/cpu"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/devices/system/cpu/cpu0"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/devices/system/cpu/online"), S_IFREG | 0444);
  EXPECT_EQ(Mode("/sys/kernel"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/fs/cgroup"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/class"), S_IFDIR | 0755);
  EXPECT_EQ(Mode("/sys/block"), S_IFDIR | 0755);
  struct statfs sf;
  ASSERT_THAT(t_->Statfs("/sys", &sf), Succeeds());
  EXPECT_EQ(sf.f_type, 0x62656572);
}

TEST_F(SysTest, EmptyDirectoriesAndCgroupMountPoint) {
  EXPECT_THAT(testutil::ListDir(t_.get(), "/sys/class"), IsEmpty());
  EXPECT_THAT(testutil::ListDir(t_.get(), "/sys/block"), IsEmpty());
  EXPECT_THAT(testutil::ListDir(t_.get(), "/sys/fs/cgroup"), IsEmpty());
  ASSERT_THAT(t_->Mount("none", "/sys/fs/cgroup", "tmpfs", 0, nullptr),
              Succeeds());
  EXPECT_THAT(testutil::WriteFile(t_.get(), "/sys/fs/cgroup/x", "1"),
              Succeeds());
  EXPECT_THAT(t_->Umount2("/sys/fs/cgroup", MNT_DETACH), Succeeds());
}

TEST_F(SysTest, ReadOnly) {
  EXPECT_THAT(t_->Mkdirat(AT_FDCWD, "/sys/class/x", 0755), IsErrno(EPERM));
  EXPECT_THAT(t_->Open("/sys/newfile", O_CREAT | O_WRONLY, 0644),
              IsErrno(EPERM));
  long fd = t_->Open("/sys/devices/system/cpu/online", O_WRONLY);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t_->Write(fd, "0", 1), IsErrno(EIO));
  t_->Close(fd);
  EXPECT_THAT(t_->Fchmodat(AT_FDCWD, "/sys/kernel", 0777), IsErrno(EPERM));
}

TEST_F(SysTest, RejectsOptions) {
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/sys2", 0755), Succeeds());
  EXPECT_THAT(t_->Mount("sysfs", "/sys2", "sysfs", 0, "bogus"),
              IsErrno(EINVAL));
}

}  // namespace
}  // namespace sentry::fs::sys
