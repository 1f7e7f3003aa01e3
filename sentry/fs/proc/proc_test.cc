#include "sentry/fs/proc/proc.h"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/proc/parse.h"
#include "sentry/fs/proc/proc_fixture.h"

namespace sentry::fs::proc {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using testutil::IsErrno;
using testutil::ListDir;
using testutil::Succeeds;

std::string LineFor(const std::string& text, const std::string& needle) {
  for (std::string_view l : parse::Lines(text)) {
    if (l.find(needle) != std::string_view::npos) return std::string(l);
  }
  return "";
}

TEST_F(ProcTest, SelfIsTheCallersPid) {
  EXPECT_EQ(Readlink("/proc/self"), "1");
  kernel::Task* other = AddTask(42);
  EXPECT_EQ(Readlink("/proc/self", other), "42");
  EXPECT_THAT(testutil::ReadFile(other, "/proc/self/status"),
              HasSubstr("\nPid:\t42\n"));
  EXPECT_THAT(testutil::ReadFile(other, "/proc/self/status"),
              HasSubstr("\nPPid:\t1\n"));
  EXPECT_THAT(Read("/proc/self/status"), HasSubstr("\nPid:\t1\n"));
}

TEST_F(ProcTest, RootListsPidsAndTheyGo) {
  AddTask(42);
  auto names = ListDir(t_.get(), "/proc");
  EXPECT_THAT(names, IsSupersetOf({"1", "42", "self", "mounts", "filesystems",
                                   "meminfo", "cpuinfo", "stat", "uptime",
                                   "loadavg", "version", "sys"}));
  struct stat st1, st2;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/proc/42", &st1, 0), Succeeds());
  EXPECT_EQ(st1.st_mode, S_IFDIR | 0555);
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/proc/42/status", &st2, 0), Succeeds());
  EXPECT_EQ(st2.st_mode, S_IFREG | 0444);
  EXPECT_EQ(st2.st_size, 0);
  // Identity holds across walks.
  struct stat again;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/proc/42/status", &again, 0), Succeeds());
  EXPECT_EQ(again.st_ino, st2.st_ino);
  table_.Remove(42);
  EXPECT_THAT(t_->Fstatat(AT_FDCWD, "/proc/42", &st1, 0), IsErrno(ENOENT));
  EXPECT_THAT(ListDir(t_.get(), "/proc"), Not(Contains("42")));
  struct statfs sf;
  ASSERT_THAT(t_->Statfs("/proc", &sf), Succeeds());
  EXPECT_EQ(sf.f_type, 0x9fa0);
}

TEST_F(ProcTest, PidDirectoryEntries) {
  EXPECT_THAT(
      ListDir(t_.get(), "/proc/1"),
      IsSupersetOf({"cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo",
                    "gid_map", "limits", "mountinfo", "mounts", "ns", "root",
                    "stat", "statm", "status", "uid_map"}));
  EXPECT_EQ(Read("/proc/self/cmdline"),
            std::string("/bin/sh\0-c\0echo hi\0", 19));
  EXPECT_EQ(Read("/proc/self/environ"),
            std::string("PATH=/bin\0HOME=/root\0", 21));
  EXPECT_EQ(Read("/proc/self/comm"), "sh\n");
  EXPECT_EQ(Readlink("/proc/self/exe"), "/bin/sh");
  EXPECT_EQ(Read("/proc/self/uid_map"), "         0          0 4294967295\n");
  EXPECT_EQ(Read("/proc/self/gid_map"), "         0          0 4294967295\n");
  std::string mnt = Readlink("/proc/self/ns/mnt");
  EXPECT_TRUE(mnt.rfind("mnt:[", 0) == 0 && mnt.back() == ']') << mnt;
  EXPECT_EQ(Readlink("/proc/self/ns/user"), "user:[4026531837]");
  std::string statm = Read("/proc/self/statm");
  EXPECT_EQ(std::count(statm.begin(), statm.end(), ' '), 6) << statm;
}

TEST_F(ProcTest, CwdAndRootLinks) {
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/work", 0755), Succeeds());
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/work/dir", 0755), Succeeds());
  EXPECT_EQ(Readlink("/proc/self/cwd"), "/");
  ASSERT_THAT(t_->Chdir("/work/dir"), Succeeds());
  EXPECT_EQ(Readlink("/proc/self/cwd"), "/work/dir");
  EXPECT_EQ(Readlink("/proc/1/root"), "/");
  struct stat st;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/proc/self/cwd", &st, AT_SYMLINK_NOFOLLOW),
              Succeeds());
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_THAT(t_->Chdir("/"), Succeeds());
}

TEST_F(ProcTest, MountsReflectTaskMounts) {
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/tmp", 01777), Succeeds());
  ASSERT_THAT(t_->Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID, "size=1m"),
              Succeeds());
  ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/a b", 0755), Succeeds());
  ASSERT_THAT(
      t_->Mount("none", "/a b", "tmpfs", MS_RDONLY | MS_NOATIME, nullptr),
      Succeeds());

  std::string mounts = Read("/proc/self/mounts");
  EXPECT_EQ(Read("/proc/mounts"), mounts);
  // (tmpfs may add its own options after size=.)
  EXPECT_THAT(
      LineFor(mounts, " /tmp "),
      ::testing::StartsWith("tmpfs /tmp tmpfs rw,nosuid,relatime,size=1024k"));
  EXPECT_THAT(LineFor(mounts, " /tmp "), ::testing::EndsWith(" 0 0"));
  EXPECT_EQ(LineFor(mounts, " /proc "),
            "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0");
  EXPECT_THAT(LineFor(mounts, "/a\\040b"),
              ::testing::StartsWith("none /a\\040b tmpfs ro,noatime"));

  std::string mi = Read("/proc/self/mountinfo");
  auto tmp = parse::ParseMountInfoLine(LineFor(mi, " /tmp "));
  ASSERT_TRUE(tmp) << mi;
  EXPECT_EQ(tmp->mount_point, "/tmp");
  EXPECT_EQ(tmp->root, "/");
  EXPECT_EQ(tmp->mount_options, "rw,nosuid,relatime");
  EXPECT_EQ(tmp->fs_type, "tmpfs");
  EXPECT_EQ(tmp->source, "tmpfs");
  EXPECT_THAT(tmp->super_options, ::testing::StartsWith("rw,size=1024k"));
  EXPECT_EQ(tmp->major, 0u);
  auto spaced = parse::ParseMountInfoLine(LineFor(mi, "/a\\040b"));
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->mount_point, "/a b");
  EXPECT_EQ(spaced->mount_options, "ro,noatime");
  EXPECT_THAT(spaced->super_options, ::testing::StartsWith("ro"));
  // Parent ids name mounts in the table (the root's parent is itself here).
  auto root = parse::ParseMountInfoLine(std::string(parse::Lines(mi)[0]));
  ASSERT_TRUE(root);
  EXPECT_EQ(root->mount_point, "/");
  EXPECT_EQ(tmp->parent_id, root->id);
  // The device is the mount's st_dev.
  struct stat st;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, "/tmp", &st, 0), Succeeds());
  EXPECT_EQ(absl::StrCat(tmp->major, ":", tmp->minor),
            absl::StrCat(major(st.st_dev), ":", minor(st.st_dev)));

  ASSERT_THAT(t_->Umount2("/tmp", 0), Succeeds());
  EXPECT_EQ(LineFor(Read("/proc/self/mounts"), " /tmp "), "");
  ASSERT_THAT(t_->Umount2("/a b", 0), Succeeds());
}

TEST_F(ProcTest, FdLinksAndFdinfo) {
  ASSERT_THAT(testutil::WriteFile(t_.get(), "/file", "hello"), Succeeds());
  long fd = t_->Open("/file", O_RDWR | O_CLOEXEC);
  ASSERT_THAT(fd, Succeeds());
  ASSERT_EQ(t_->Lseek(fd, 3, SEEK_SET), 3);
  long in = t_->InotifyInit1(0);
  ASSERT_THAT(in, Succeeds());
  long dirfd = t_->Open("/proc", O_RDONLY | O_DIRECTORY);
  ASSERT_THAT(dirfd, Succeeds());

  auto names = ListDir(t_.get(), "/proc/self/fd");
  EXPECT_THAT(names, IsSupersetOf({std::to_string(fd), std::to_string(in),
                                   std::to_string(dirfd)}));
  std::string p = absl::StrCat("/proc/self/fd/", fd);
  EXPECT_EQ(Readlink(p.c_str()), "/file");
  EXPECT_EQ(Readlink(absl::StrCat("/proc/self/fd/", in).c_str()),
            "anon_inode:inotify");
  EXPECT_EQ(Readlink(absl::StrCat("/proc/self/fd/", dirfd).c_str()), "/proc");
  struct stat st;
  ASSERT_THAT(t_->Fstatat(AT_FDCWD, p.c_str(), &st, AT_SYMLINK_NOFOLLOW),
              Succeeds());
  EXPECT_EQ(st.st_mode, S_IFLNK | 0700);  // lrwx------
  // Following the link reaches the file.
  EXPECT_EQ(testutil::ReadFile(t_.get(), p.c_str()), "hello");

  std::string info = Read(absl::StrCat("/proc/self/fdinfo/", fd).c_str());
  std::string mi = Read("/proc/self/mountinfo");
  auto root = parse::ParseMountInfoLine(std::string(parse::Lines(mi)[0]));
  ASSERT_TRUE(root);
  EXPECT_EQ(info,
            absl::StrCat(
                "pos:\t3\nflags:\t02100002\nmnt_id:\t", root->id, "\nino:\t",
                [&] {
                  struct stat s;
                  t_->Fstat(fd, &s);
                  return s.st_ino;
                }(),
                "\n"));

  ASSERT_EQ(t_->Dup3(fd, 50, 0), 50);
  EXPECT_EQ(Readlink("/proc/self/fd/50"), "/file");
  EXPECT_THAT(Read("/proc/self/fdinfo/50"), HasSubstr("flags:\t0100002\n"));
  t_->Close(50);
  EXPECT_THAT(ListDir(t_.get(), "/proc/self/fd"), Not(Contains("50")));
  EXPECT_EQ(Readlink("/proc/self/fd/50"), "<-ENOENT>");
  t_->Close(fd);
  t_->Close(in);
  t_->Close(dirfd);
}

TEST_F(ProcTest, StatusHasLinuxKeys) {
  std::string s = Read("/proc/self/status");
  for (const char* k :
       {"Name:\tsh\n", "Umask:\t0022\n", "State:\tR (running)\n", "Tgid:\t1\n",
        "TracerPid:\t0\n", "Uid:\t0\t0\t0\t0\n", "Gid:\t0\t0\t0\t0\n",
        "FDSize:\t64\n", "Groups:\t \n", "Threads:\t1\n"}) {
    EXPECT_THAT(s, HasSubstr(k));
  }
  t_->Umask(027);
  EXPECT_THAT(Read("/proc/self/status"), HasSubstr("Umask:\t0027\n"));
}

TEST_F(ProcTest, MachineFiles) {
  EXPECT_EQ(Read("/proc/uptime"), "1234.50 2000.25\n");
  EXPECT_EQ(Read("/proc/loadavg"), "0.50 0.00 0.00 1/1 1\n");
  EXPECT_EQ(Read("/proc/sys/kernel/hostname"), "sandbox\n");
  EXPECT_EQ(Read("/proc/sys/kernel/ostype"), "Linux\n");
  EXPECT_EQ(Read("/proc/sys/kernel/osrelease"), "4.4.0\n");
  EXPECT_EQ(Read("/proc/sys/kernel/version"),
            "#1 SMP Sun Jan 10 15:06:54 PST 2016\n");
  EXPECT_EQ(Read("/proc/sys/fs/nr_open"), "1048576\n");
  EXPECT_THAT(Read("/proc/sys/fs/file-max"), Not(HasSubstr("<")));
  EXPECT_THAT(Read("/proc/version"), HasSubstr("Linux version 4.4.0 "));
  EXPECT_THAT(Read("/proc/meminfo"),
              HasSubstr("MemTotal:        8388608 kB\n"));
  std::string cpu = Read("/proc/cpuinfo");
  EXPECT_THAT(cpu, HasSubstr("processor\t: 0\n"));
  EXPECT_THAT(cpu, HasSubstr("processor\t: 1\n"));
  EXPECT_THAT(Read("/proc/stat"), HasSubstr("\nbtime 1700000000\n"));
  std::string fss = Read("/proc/filesystems");
  EXPECT_THAT(fss, HasSubstr("nodev\tproc\n"));
  EXPECT_THAT(fss, HasSubstr("nodev\ttmpfs\n"));
}

TEST_F(ProcTest, ReadOnlyAsLinux) {
  long fd = t_->Open("/proc/meminfo", O_WRONLY);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t_->Write(fd, "x", 1), IsErrno(EIO));
  t_->Close(fd);
  fd = t_->Open("/proc/self/status", O_WRONLY);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t_->Write(fd, "x", 1), IsErrno(EINVAL));
  t_->Close(fd);
  EXPECT_THAT(t_->Open("/proc/x", O_CREAT | O_WRONLY, 0644), IsErrno(ENOENT));
  EXPECT_THAT(t_->Mkdirat(AT_FDCWD, "/proc/x", 0755), IsErrno(ENOENT));
  EXPECT_THAT(t_->Unlinkat(AT_FDCWD, "/proc/meminfo", 0), IsErrno(EPERM));
  EXPECT_THAT(t_->Open("/proc/self/x", O_CREAT | O_WRONLY, 0644),
              IsErrno(ENOENT));
  EXPECT_THAT(t_->Fchmodat(AT_FDCWD, "/proc/version", 0777), IsErrno(EPERM));
}

TEST_F(ProcTest, DirectoriesListWithGetdents) {
  long fd = t_->Open("/proc/self", O_RDONLY | O_DIRECTORY);
  ASSERT_THAT(fd, Succeeds());
  // A small buffer makes several calls resume at offsets.
  std::vector<std::string> names;
  char buf[64];
  for (;;) {
    long n = t_->Getdents64(fd, buf, sizeof(buf));
    ASSERT_THAT(n, Succeeds());
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      names.push_back(d->d_name);
      off += d->d_reclen;
    }
  }
  t_->Close(fd);
  EXPECT_EQ(names.front(), ".");
  EXPECT_EQ(names[1], "..");
  EXPECT_THAT(names, IsSupersetOf({"status", "fd", "mountinfo", "uid_map"}));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
            names.size());
}

TEST(ProcFormat, EscapeMountField) {
  EXPECT_EQ(EscapeMountField("a b\tc\nd\\e"), "a\\040b\\011c\\012d\\134e");
  EXPECT_EQ(parse::Unescape("a\\040b\\011c\\012d\\134e"), "a b\tc\nd\\e");
}

}  // namespace
}  // namespace sentry::fs::proc
