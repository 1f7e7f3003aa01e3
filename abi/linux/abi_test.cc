// Checks abi/linux against the host's own headers.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstddef>

#include "abi/linux/linux.h"
#include "gtest/gtest.h"

namespace al = linux_abi;

static_assert(O_ACCMODE == 03, "O_ACCMODE");
static_assert(O_RDONLY == 00, "O_RDONLY");
static_assert(O_WRONLY == 01, "O_WRONLY");
static_assert(O_RDWR == 02, "O_RDWR");
static_assert(O_CREAT == 0100, "O_CREAT");
static_assert(O_EXCL == 0200, "O_EXCL");
static_assert(O_NOCTTY == 0400, "O_NOCTTY");
static_assert(O_TRUNC == 01000, "O_TRUNC");
static_assert(O_APPEND == 02000, "O_APPEND");
static_assert(O_NONBLOCK == 04000, "O_NONBLOCK");
static_assert(O_DSYNC == 010000, "O_DSYNC");
static_assert(O_ASYNC == 020000, "O_ASYNC");
static_assert(O_DIRECT == 040000, "O_DIRECT");
static_assert(O_DIRECTORY == 0200000, "O_DIRECTORY");
static_assert(O_NOFOLLOW == 0400000, "O_NOFOLLOW");
static_assert(O_NOATIME == 01000000, "O_NOATIME");
static_assert(O_CLOEXEC == 02000000, "O_CLOEXEC");
static_assert(O_SYNC == 04010000, "O_SYNC");
static_assert(O_PATH == 010000000, "O_PATH");
static_assert(O_TMPFILE == 020200000, "O_TMPFILE");
static_assert(AT_FDCWD == -100, "AT_FDCWD");
static_assert(AT_SYMLINK_NOFOLLOW == 0x100, "AT_SYMLINK_NOFOLLOW");
static_assert(AT_REMOVEDIR == 0x200, "AT_REMOVEDIR");
static_assert(AT_SYMLINK_FOLLOW == 0x400, "AT_SYMLINK_FOLLOW");
static_assert(AT_NO_AUTOMOUNT == 0x800, "AT_NO_AUTOMOUNT");
static_assert(AT_EMPTY_PATH == 0x1000, "AT_EMPTY_PATH");
static_assert(AT_EACCESS == 0x200, "AT_EACCESS");
static_assert(RENAME_NOREPLACE == 1, "RENAME_NOREPLACE");
static_assert(RENAME_EXCHANGE == 2, "RENAME_EXCHANGE");
static_assert(RENAME_WHITEOUT == 4, "RENAME_WHITEOUT");
static_assert(S_IFMT == 0170000, "S_IFMT");
static_assert(S_IFSOCK == 0140000, "S_IFSOCK");
static_assert(S_IFLNK == 0120000, "S_IFLNK");
static_assert(S_IFREG == 0100000, "S_IFREG");
static_assert(S_IFBLK == 0060000, "S_IFBLK");
static_assert(S_IFDIR == 0040000, "S_IFDIR");
static_assert(S_IFCHR == 0020000, "S_IFCHR");
static_assert(S_IFIFO == 0010000, "S_IFIFO");
static_assert(S_ISUID == 04000, "S_ISUID");
static_assert(S_ISGID == 02000, "S_ISGID");
static_assert(S_ISVTX == 01000, "S_ISVTX");
static_assert(S_IXGRP == 00010, "S_IXGRP");
static_assert(DT_UNKNOWN == 0, "DT_UNKNOWN");
static_assert(DT_FIFO == 1, "DT_FIFO");
static_assert(DT_CHR == 2, "DT_CHR");
static_assert(DT_DIR == 4, "DT_DIR");
static_assert(DT_BLK == 6, "DT_BLK");
static_assert(DT_REG == 8, "DT_REG");
static_assert(DT_LNK == 10, "DT_LNK");
static_assert(DT_SOCK == 12, "DT_SOCK");
static_assert(F_OK == 0, "F_OK");
static_assert(X_OK == 1, "X_OK");
static_assert(W_OK == 2, "W_OK");
static_assert(R_OK == 4, "R_OK");
static_assert(SEEK_SET == 0, "SEEK_SET");
static_assert(SEEK_CUR == 1, "SEEK_CUR");
static_assert(SEEK_END == 2, "SEEK_END");
static_assert(SEEK_DATA == 3, "SEEK_DATA");
static_assert(SEEK_HOLE == 4, "SEEK_HOLE");
static_assert(FALLOC_FL_KEEP_SIZE == 0x01, "FALLOC_FL_KEEP_SIZE");
static_assert(FALLOC_FL_PUNCH_HOLE == 0x02, "FALLOC_FL_PUNCH_HOLE");
static_assert(FALLOC_FL_ZERO_RANGE == 0x10, "FALLOC_FL_ZERO_RANGE");
static_assert(F_DUPFD == 0, "F_DUPFD");
static_assert(F_GETFD == 1, "F_GETFD");
static_assert(F_SETFD == 2, "F_SETFD");
static_assert(F_GETFL == 3, "F_GETFL");
static_assert(F_SETFL == 4, "F_SETFL");
static_assert(F_GETLK == 5, "F_GETLK");
static_assert(F_SETLK == 6, "F_SETLK");
static_assert(F_SETLKW == 7, "F_SETLKW");
static_assert(F_DUPFD_CLOEXEC == 1030, "F_DUPFD_CLOEXEC");
static_assert(FD_CLOEXEC == 1, "FD_CLOEXEC");
static_assert(F_RDLCK == 0, "F_RDLCK");
static_assert(F_WRLCK == 1, "F_WRLCK");
static_assert(F_UNLCK == 2, "F_UNLCK");
static_assert(LOCK_SH == 1, "LOCK_SH");
static_assert(LOCK_EX == 2, "LOCK_EX");
static_assert(LOCK_NB == 4, "LOCK_NB");
static_assert(LOCK_UN == 8, "LOCK_UN");
static_assert(UTIME_NOW == (1l << 30) - 1, "UTIME_NOW");
static_assert(UTIME_OMIT == (1l << 30) - 2, "UTIME_OMIT");
static_assert(XATTR_CREATE == 1, "XATTR_CREATE");
static_assert(XATTR_REPLACE == 2, "XATTR_REPLACE");
static_assert(MS_RDONLY == 1, "MS_RDONLY");
static_assert(MS_NOSUID == 2, "MS_NOSUID");
static_assert(MS_NODEV == 4, "MS_NODEV");
static_assert(MS_NOEXEC == 8, "MS_NOEXEC");
static_assert(MS_SYNCHRONOUS == 16, "MS_SYNCHRONOUS");
static_assert(MS_REMOUNT == 32, "MS_REMOUNT");
static_assert(MS_MANDLOCK == 64, "MS_MANDLOCK");
static_assert(MS_DIRSYNC == 128, "MS_DIRSYNC");
static_assert(MS_NOATIME == 1024, "MS_NOATIME");
static_assert(MS_NODIRATIME == 2048, "MS_NODIRATIME");
static_assert(MS_BIND == 4096, "MS_BIND");
static_assert(MS_MOVE == 8192, "MS_MOVE");
static_assert(MS_REC == 16384, "MS_REC");
static_assert(MS_RELATIME == (1 << 21), "MS_RELATIME");
static_assert(MS_STRICTATIME == (1 << 24), "MS_STRICTATIME");
static_assert(MNT_FORCE == 1, "MNT_FORCE");
static_assert(MNT_DETACH == 2, "MNT_DETACH");
static_assert(MNT_EXPIRE == 4, "MNT_EXPIRE");
static_assert(UMOUNT_NOFOLLOW == 8, "UMOUNT_NOFOLLOW");
static_assert(IN_ACCESS == 0x00000001, "IN_ACCESS");
static_assert(IN_MODIFY == 0x00000002, "IN_MODIFY");
static_assert(IN_ATTRIB == 0x00000004, "IN_ATTRIB");
static_assert(IN_CLOSE_WRITE == 0x00000008, "IN_CLOSE_WRITE");
static_assert(IN_CLOSE_NOWRITE == 0x00000010, "IN_CLOSE_NOWRITE");
static_assert(IN_OPEN == 0x00000020, "IN_OPEN");
static_assert(IN_MOVED_FROM == 0x00000040, "IN_MOVED_FROM");
static_assert(IN_MOVED_TO == 0x00000080, "IN_MOVED_TO");
static_assert(IN_CREATE == 0x00000100, "IN_CREATE");
static_assert(IN_DELETE == 0x00000200, "IN_DELETE");
static_assert(IN_DELETE_SELF == 0x00000400, "IN_DELETE_SELF");
static_assert(IN_MOVE_SELF == 0x00000800, "IN_MOVE_SELF");
static_assert(IN_ALL_EVENTS == 0x00000fff, "IN_ALL_EVENTS");
static_assert(IN_UNMOUNT == 0x00002000, "IN_UNMOUNT");
static_assert(IN_Q_OVERFLOW == 0x00004000, "IN_Q_OVERFLOW");
static_assert(IN_IGNORED == 0x00008000, "IN_IGNORED");
static_assert(IN_ONLYDIR == 0x01000000, "IN_ONLYDIR");
static_assert(IN_DONT_FOLLOW == 0x02000000, "IN_DONT_FOLLOW");
static_assert(IN_EXCL_UNLINK == 0x04000000, "IN_EXCL_UNLINK");
static_assert(IN_MASK_CREATE == 0x10000000, "IN_MASK_CREATE");
static_assert(IN_MASK_ADD == 0x20000000, "IN_MASK_ADD");
static_assert(IN_ISDIR == 0x40000000, "IN_ISDIR");
static_assert(IN_ONESHOT == 0x80000000, "IN_ONESHOT");
static_assert(IN_CLOEXEC == O_CLOEXEC, "IN_CLOEXEC");
static_assert(IN_NONBLOCK == O_NONBLOCK, "IN_NONBLOCK");
static_assert(CAP_CHOWN == 0, "CAP_CHOWN");
static_assert(CAP_DAC_OVERRIDE == 1, "CAP_DAC_OVERRIDE");
static_assert(CAP_DAC_READ_SEARCH == 2, "CAP_DAC_READ_SEARCH");
static_assert(CAP_FOWNER == 3, "CAP_FOWNER");
static_assert(CAP_FSETID == 4, "CAP_FSETID");
static_assert(CAP_SETGID == 6, "CAP_SETGID");
static_assert(CAP_SETUID == 7, "CAP_SETUID");
static_assert(CAP_LINUX_IMMUTABLE == 9, "CAP_LINUX_IMMUTABLE");
static_assert(CAP_SYS_CHROOT == 18, "CAP_SYS_CHROOT");
static_assert(CAP_SYS_ADMIN == 21, "CAP_SYS_ADMIN");
static_assert(CAP_MKNOD == 27, "CAP_MKNOD");
static_assert(CAP_LAST_CAP == 40, "CAP_LAST_CAP");
static_assert(ST_RDONLY == 1, "ST_RDONLY");
static_assert(ST_NOSUID == 2, "ST_NOSUID");
static_assert(ST_NODEV == 4, "ST_NODEV");
static_assert(ST_NOEXEC == 8, "ST_NOEXEC");
static_assert(ST_NOATIME == 1024, "ST_NOATIME");

static_assert(sizeof(al::Stat) == sizeof(struct stat));
static_assert(offsetof(al::Stat, st_size) == offsetof(struct stat, st_size));
static_assert(offsetof(al::Stat, st_mtim) == offsetof(struct stat, st_mtim));
static_assert(sizeof(al::Statfs) == sizeof(struct statfs));
static_assert(offsetof(al::Statfs, f_flags) ==
              offsetof(struct statfs, f_flags));
static_assert(sizeof(al::Flock) == sizeof(struct flock));
static_assert(offsetof(al::Flock, l_pid) == offsetof(struct flock, l_pid));
static_assert(sizeof(al::InotifyEvent) == sizeof(struct inotify_event));
static_assert(al::kRlimNlimits == RLIM_NLIMITS);
static_assert(al::kRlimInfinity == RLIM_INFINITY);
static_assert(sizeof(al::Rlimit) == sizeof(struct rlimit));
static_assert(offsetof(al::Rlimit, max) == offsetof(struct rlimit, rlim_max));

TEST(AbiTest, RlimitNamesAreInResourceOrder) {
  const std::pair<int, const char*> known[] = {
      {RLIMIT_CPU, "RLIMIT_CPU"},
      {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
      {RLIMIT_STACK, "RLIMIT_STACK"},
      {RLIMIT_NPROC, "RLIMIT_NPROC"},
      {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
      {RLIMIT_AS, "RLIMIT_AS"},
      {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
      {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
      {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
      {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
      {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
      {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"}};
  for (const auto& [r, name] : known) {
    EXPECT_STREQ(al::kRlimitNames[r].constant, name);
  }
}

TEST(AbiTest, DeviceNumbersEncodeAsGlibc) {
  for (unsigned major : {0u, 1u, 5u, 136u, 4095u, 4096u, 70000u}) {
    for (unsigned minor : {0u, 1u, 3u, 255u, 256u, 1u << 19}) {
      SCOPED_TRACE(testing::Message() << major << ":" << minor);
      EXPECT_EQ(al::MakeDev(major, minor), makedev(major, minor));
      EXPECT_EQ(al::DevMajor(makedev(major, minor)), major);
      EXPECT_EQ(al::DevMinor(makedev(major, minor)), minor);
    }
  }
}

TEST(AbiTest, DirentTypeFromMode) {
  EXPECT_EQ(al::ModeToDirentType(S_IFDIR | 0755), DT_DIR);
  EXPECT_EQ(al::ModeToDirentType(S_IFREG), DT_REG);
  EXPECT_EQ(al::ModeToDirentType(S_IFLNK), DT_LNK);
  EXPECT_EQ(al::ModeToDirentType(S_IFIFO), DT_FIFO);
}
