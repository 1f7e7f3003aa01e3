// Tests of host-FD files: pipes, regular files, sockets and terminals
// imported as Files, each compared with the same calls on the host.
#include "sentry/fs/host/host.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs::host {
namespace {

using testutil::IsErrno;
using testutil::NewTmpfsTask;
using testutil::Succeeds;
using testutil::TmpfsTask;

long Host(long r) { return r < 0 ? -errno : r; }

bool HostFdOpen(int fd) { return fcntl(fd, F_GETFD) >= 0 || errno != EBADF; }

// Imports host_fd and installs it in t; returns the sandbox fd.
long Install(TmpfsTask& t, int host_fd, bool is_tty = false) {
  auto f = ImportFile(t->ctx(), host_fd, is_tty);
  if (!f.ok()) return f.error().AsSyscallResult();
  return t->InstallFile(std::move(*f), false);
}

// The File a sandbox fd holds, and the host FD behind it.
int HostFdOf(TmpfsTask& t, long fd) {
  auto f = t->GetFile(static_cast<int>(fd));
  if (!f.ok()) return -1;
  return HostFDForTest(**f);
}

std::string TempPath() {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/hostfile.XXXXXX";
}

TEST(HostTest, BadFds) {
  TmpfsTask t = NewTmpfsTask();
  EXPECT_THAT(Install(t, -1), IsErrno(EBADF));
  EXPECT_THAT(Install(t, 1000000), IsErrno(EBADF));
  int p = open("/", O_PATH);
  ASSERT_GE(p, 0);
  EXPECT_THAT(Install(t, p), IsErrno(EINVAL));
  close(p);
}

TEST(HostTest, PipeReadEnd) {
  TmpfsTask t = NewTmpfsTask();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  long fd = Install(t, p[0]);
  ASSERT_THAT(fd, Succeeds());
  close(p[0]);  // ours is a dup: the pipe stays open

  // Read through the File directly, then through the Task.
  ASSERT_EQ(write(p[1], "hello", 5), 5);
  {
    auto f = t->GetFile(static_cast<int>(fd));
    ASSERT_TRUE(f.ok());
    char buf[16];
    auto n = (*f)->Read(t->ctx(), IOSequence(buf, sizeof(buf)));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), "hello");
  }
  ASSERT_EQ(write(p[1], "world!", 6), 6);
  char buf[16];
  EXPECT_EQ(t->Read(fd, buf, 3), 3);
  EXPECT_EQ(std::string(buf, 3), "wor");
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 3);
  EXPECT_EQ(std::string(buf, 3), "ld!");

  // Not seekable.
  EXPECT_THAT(t->Lseek(fd, 0, SEEK_CUR), IsErrno(ESPIPE));
  EXPECT_THAT(t->Pread64(fd, buf, 1, 0), IsErrno(ESPIPE));
  // Opened read-only, as the host end.
  EXPECT_THAT(t->Write(fd, "x", 1), IsErrno(EBADF));
  EXPECT_EQ(t->Fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);

  // FIONREAD as the host's.
  ASSERT_EQ(write(p[1], "abcd", 4), 4);
  int ours = -1;
  EXPECT_THAT(t->Ioctl(fd, FIONREAD, reinterpret_cast<unsigned long>(&ours)),
              Succeeds());
  EXPECT_EQ(ours, 4);
  EXPECT_THAT(t->Ioctl(fd, TCGETS, reinterpret_cast<unsigned long>(buf)),
              IsErrno(ENOTTY));
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 4);

  // fstat: the host's type and permissions, our device and inode number.
  struct stat ours_st, host_st;
  ASSERT_THAT(t->Fstat(fd, &ours_st), Succeeds());
  ASSERT_EQ(fstat(p[1], &host_st), 0);
  EXPECT_TRUE(S_ISFIFO(ours_st.st_mode));
  EXPECT_EQ(ours_st.st_mode, host_st.st_mode);
  EXPECT_EQ(ours_st.st_uid, host_st.st_uid);
  EXPECT_EQ(ours_st.st_gid, host_st.st_gid);
  EXPECT_EQ(ours_st.st_nlink, host_st.st_nlink);
  EXPECT_EQ(ours_st.st_blksize, host_st.st_blksize);
  EXPECT_NE(ours_st.st_dev, host_st.st_dev);
  EXPECT_EQ(major(ours_st.st_dev), 0u);

  // Nonblocking: EAGAIN on an empty pipe, as the host.
  EXPECT_THAT(t->Fcntl(fd, F_SETFL, O_NONBLOCK), Succeeds());
  EXPECT_THAT(t->Read(fd, buf, 1), IsErrno(EAGAIN));
  EXPECT_THAT(t->Fcntl(fd, F_SETFL, 0), Succeeds());

  // EOF once the host's write end closes.
  ASSERT_EQ(write(p[1], "z", 1), 1);
  close(p[1]);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 1);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 0);

  int hfd = HostFdOf(t, fd);
  ASSERT_GE(hfd, 0);
  EXPECT_TRUE(HostFdOpen(hfd));
  // Close-on-exec on the host, so no host child inherits it.
  EXPECT_EQ(fcntl(hfd, F_GETFD), FD_CLOEXEC);
  EXPECT_THAT(t->Close(fd), Succeeds());
  EXPECT_FALSE(HostFdOpen(hfd));
}

TEST(HostTest, PipeBlockingReadWaitsAndIsInterruptible) {
  TmpfsTask t = NewTmpfsTask();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  long fd = Install(t, p[0]);
  ASSERT_THAT(fd, Succeeds());
  close(p[0]);
  // A blocked read gets data written later.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(write(p[1], "late", 4), 4);
  });
  char buf[8];
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 4);
  writer.join();
  // And an interrupt ends a wait with EINTR.
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    t->ctx().Interrupt();
  });
  EXPECT_THAT(t->Read(fd, buf, sizeof(buf)), IsErrno(EINTR));
  interrupter.join();
  t->ctx().ClearInterrupt();
  close(p[1]);
  EXPECT_THAT(t->Close(fd), Succeeds());
}

TEST(HostTest, PipeWriteEnd) {
  TmpfsTask t = NewTmpfsTask();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  long fd = Install(t, p[1]);
  ASSERT_THAT(fd, Succeeds());
  close(p[1]);
  EXPECT_EQ(t->Write(fd, "to host", 7), 7);
  char buf[16];
  ASSERT_EQ(read(p[0], buf, sizeof(buf)), 7);
  EXPECT_EQ(std::string(buf, 7), "to host");
  EXPECT_THAT(t->Read(fd, buf, 1), IsErrno(EBADF));
  EXPECT_EQ(t->Write(fd, "", 0), 0);
  // A large write arrives whole, with the host reading concurrently.
  std::string big(300000, 'q');
  std::string got;
  std::thread reader([&] {
    char b[65536];
    while (got.size() < big.size()) {
      ssize_t n = read(p[0], b, sizeof(b));
      if (n <= 0) break;
      got.append(b, n);
    }
  });
  EXPECT_EQ(t->Write(fd, big.data(), big.size()), long(big.size()));
  reader.join();
  EXPECT_EQ(got, big);
  // No reader: EPIPE, as the host's write (with SIGPIPE ignored) says,
  // and the sentry is not killed by SIGPIPE.
  close(p[0]);
  EXPECT_THAT(t->Write(fd, "x", 1), IsErrno(EPIPE));
  EXPECT_THAT(t->Write(fd, "x", 1), IsErrno(EPIPE));
  EXPECT_THAT(t->Close(fd), Succeeds());
}

TEST(HostTest, RegularFileMatchesHost) {
  TmpfsTask t = NewTmpfsTask();
  std::string path = TempPath();
  int hfd = mkstemp(path.data());
  ASSERT_GE(hfd, 0);
  ASSERT_EQ(write(hfd, "0123456789", 10), 10);
  ASSERT_EQ(lseek(hfd, 3, SEEK_SET), 3);
  long fd = Install(t, hfd);
  ASSERT_THAT(fd, Succeeds());
  // A second, independent host description to compare with.
  int cmp = open(path.c_str(), O_RDWR);
  ASSERT_GE(cmp, 0);
  ASSERT_EQ(lseek(cmp, 3, SEEK_SET), 3);

  // The offset starts where the host's was.
  EXPECT_EQ(t->Lseek(fd, 0, SEEK_CUR), 3);
  char a[32] = {}, b[32] = {};
  EXPECT_EQ(t->Read(fd, a, 4), Host(read(cmp, b, 4)));
  EXPECT_EQ(std::string(a, 4), std::string(b, 4));
  EXPECT_EQ(t->Pread64(fd, a, 5, 2), Host(pread(cmp, b, 5, 2)));
  EXPECT_EQ(std::string(a, 5), "23456");
  EXPECT_EQ(t->Pread64(fd, a, 5, 100), Host(pread(cmp, b, 5, 100)));
  EXPECT_EQ(t->Pread64(fd, a, 5, -1), Host(pread(cmp, b, 5, -1)));
  for (auto [off, whence] : {std::pair{0, SEEK_END},
                             {-2, SEEK_END},
                             {1, SEEK_CUR},
                             {4, SEEK_SET},
                             {-1, SEEK_SET},
                             {0, SEEK_DATA},
                             {0, SEEK_HOLE},
                             {100, SEEK_DATA},
                             {3, SEEK_SET}}) {
    SCOPED_TRACE(std::to_string(off) + " " + std::to_string(whence));
    EXPECT_EQ(t->Lseek(fd, off, whence), Host(lseek(cmp, off, whence)));
  }
  // Writes land in the host file.
  EXPECT_EQ(t->Pwrite64(fd, "AB", 2, 8), 2);
  EXPECT_EQ(t->Write(fd, "xyz", 3), 3);
  EXPECT_EQ(t->Lseek(fd, 0, SEEK_CUR), 6);
  EXPECT_EQ(pread(cmp, b, sizeof(b), 0), 10);
  EXPECT_EQ(std::string(b, 10), "012xyz67AB");
  // Extending past the end, then reading at the end.
  EXPECT_EQ(t->Pwrite64(fd, "tail", 4, 20), 4);
  EXPECT_EQ(t->Pread64(fd, a, sizeof(a), 24), 0);
  EXPECT_EQ(t->Pread64(fd, a, sizeof(a), 10),
            Host(pread(cmp, b, sizeof(b), 10)));
  EXPECT_EQ(std::memcmp(a, b, 14), 0);

  // fstat matches the host's but for our st_dev and st_ino.
  struct stat so, sh;
  ASSERT_THAT(t->Fstat(fd, &so), Succeeds());
  ASSERT_EQ(fstat(cmp, &sh), 0);
  EXPECT_EQ(so.st_mode, sh.st_mode);
  EXPECT_EQ(so.st_size, sh.st_size);
  EXPECT_EQ(so.st_size, 24);
  EXPECT_EQ(so.st_uid, sh.st_uid);
  EXPECT_EQ(so.st_gid, sh.st_gid);
  EXPECT_EQ(so.st_nlink, sh.st_nlink);
  EXPECT_EQ(so.st_rdev, sh.st_rdev);
  EXPECT_EQ(so.st_blocks, sh.st_blocks);
  EXPECT_EQ(so.st_blksize, sh.st_blksize);
  EXPECT_EQ(so.st_mtim.tv_sec, sh.st_mtim.tv_sec);
  EXPECT_EQ(so.st_mtim.tv_nsec, sh.st_mtim.tv_nsec);
  EXPECT_EQ(so.st_ctim.tv_nsec, sh.st_ctim.tv_nsec);
  EXPECT_EQ(so.st_atim.tv_nsec, sh.st_atim.tv_nsec);
  EXPECT_NE(so.st_dev, sh.st_dev);

  // FIONREAD: the bytes past the offset, as do_vfs_ioctl.
  int avail = -1, havail = -2;
  ASSERT_EQ(lseek(cmp, 6, SEEK_SET), 6);
  EXPECT_THAT(t->Ioctl(fd, FIONREAD, reinterpret_cast<unsigned long>(&avail)),
              Succeeds());
  ASSERT_EQ(ioctl(cmp, FIONREAD, &havail), 0);
  EXPECT_EQ(avail, havail);
  EXPECT_THAT(t->Ioctl(fd, TCGETS, reinterpret_cast<unsigned long>(a)),
              IsErrno(ENOTTY));

  // fsync, ftruncate, fchmod reach the host file.
  EXPECT_THAT(t->Fsync(fd), Succeeds());
  EXPECT_THAT(t->Ftruncate(fd, 5), Succeeds());
  ASSERT_EQ(fstat(cmp, &sh), 0);
  EXPECT_EQ(sh.st_size, 5);
  EXPECT_THAT(t->Fchmod(fd, 0640), Succeeds());
  ASSERT_EQ(fstat(cmp, &sh), 0);
  EXPECT_EQ(sh.st_mode & 07777, 0640u);
  // Owners stay the host's.
  EXPECT_THAT(t->Fchown(fd, 1234, 1234), IsErrno(EPERM));
  struct statfs sfo, sfh;
  EXPECT_THAT(t->Fstatfs(fd, &sfo), Succeeds());
  ASSERT_EQ(fstatfs(cmp, &sfh), 0);
  EXPECT_EQ(sfo.f_type, sfh.f_type);

  int host_copy = HostFdOf(t, fd);
  EXPECT_THAT(t->Close(fd), Succeeds());
  EXPECT_FALSE(HostFdOpen(host_copy));
  // The caller's own descriptor is untouched.
  EXPECT_TRUE(HostFdOpen(hfd));
  close(hfd);
  close(cmp);
  unlink(path.c_str());
}

TEST(HostTest, AppendFile) {
  TmpfsTask t = NewTmpfsTask();
  std::string path = TempPath();
  int tmp = mkstemp(path.data());
  ASSERT_GE(tmp, 0);
  ASSERT_EQ(write(tmp, "abc", 3), 3);
  close(tmp);
  int hfd = open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(hfd, 0);
  long fd = Install(t, hfd);
  close(hfd);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_EQ(t->Fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND),
            O_WRONLY | O_APPEND);
  EXPECT_EQ(t->Write(fd, "de", 2), 2);
  EXPECT_EQ(t->Lseek(fd, 0, SEEK_CUR), 5);
  EXPECT_EQ(t->Pwrite64(fd, "f", 1, 0), 1);  // O_APPEND wins, as on Linux
  char buf[16];
  int r = open(path.c_str(), O_RDONLY);
  ASSERT_EQ(read(r, buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf, 6), "abcdef");
  close(r);
  EXPECT_THAT(t->Close(fd), Succeeds());
  unlink(path.c_str());
}

TEST(HostTest, Socketpair) {
  TmpfsTask t = NewTmpfsTask();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  long fd = Install(t, sv[0]);
  ASSERT_THAT(fd, Succeeds());
  close(sv[0]);
  EXPECT_EQ(t->Write(fd, "ping", 4), 4);
  char buf[16];
  ASSERT_EQ(read(sv[1], buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  ASSERT_EQ(write(sv[1], "pong", 4), 4);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
  EXPECT_THAT(t->Lseek(fd, 0, SEEK_SET), IsErrno(ESPIPE));
  EXPECT_THAT(t->Pwrite64(fd, "x", 1, 0), IsErrno(ESPIPE));
  struct stat st;
  ASSERT_THAT(t->Fstat(fd, &st), Succeeds());
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  ASSERT_EQ(write(sv[1], "xyz", 3), 3);
  int n = -1;
  EXPECT_THAT(t->Ioctl(fd, FIONREAD, reinterpret_cast<unsigned long>(&n)),
              Succeeds());
  EXPECT_EQ(n, 3);
  EXPECT_THAT(t->Fcntl(fd, F_SETFL, O_NONBLOCK), Succeeds());
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 3);
  EXPECT_THAT(t->Read(fd, buf, sizeof(buf)), IsErrno(EAGAIN));
  EXPECT_THAT(t->Fcntl(fd, F_SETFL, 0), Succeeds());
  // Peer gone: EOF, and EPIPE without a SIGPIPE.
  close(sv[1]);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 0);
  EXPECT_THAT(t->Write(fd, "x", 1), IsErrno(EPIPE));
  EXPECT_THAT(t->Close(fd), Succeeds());
}

TEST(HostTest, DatagramSocketKeepsMessages) {
  TmpfsTask t = NewTmpfsTask();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  long fd = Install(t, sv[0]);
  ASSERT_THAT(fd, Succeeds());
  close(sv[0]);
  EXPECT_EQ(t->Write(fd, "one", 3), 3);
  EXPECT_EQ(t->Write(fd, "two", 3), 3);
  char buf[16];
  EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 3);
  EXPECT_EQ(read(sv[1], buf, sizeof(buf)), 3);
  ASSERT_EQ(write(sv[1], "abc", 3), 3);
  ASSERT_EQ(write(sv[1], "de", 2), 2);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 3);
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 2);
  close(sv[1]);
  EXPECT_THAT(t->Close(fd), Succeeds());
}

// The kernel's struct termios, as TCGETS fills it.
struct KTermios {
  tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
  cc_t c_line;
  cc_t c_cc[19];
};
static_assert(sizeof(KTermios) == 36);

TEST(HostTest, PtyReplicaAsTerminal) {
  TmpfsTask t = NewTmpfsTask();
  int master, replica;
  ASSERT_EQ(openpty(&master, &replica, nullptr, nullptr, nullptr), 0);
  long fd = Install(t, replica, /*is_tty=*/true);
  ASSERT_THAT(fd, Succeeds());

  // TCGETS through the File is the host's ioctl and tcgetattr.
  KTermios ours, host;
  std::memset(&ours, 0xaa, sizeof(ours));
  std::memset(&host, 0x55, sizeof(host));
  EXPECT_THAT(t->Ioctl(fd, TCGETS, reinterpret_cast<unsigned long>(&ours)),
              Succeeds());
  ASSERT_EQ(ioctl(replica, TCGETS, &host), 0);
  EXPECT_EQ(std::memcmp(&ours, &host, sizeof(ours)), 0);
  struct termios tio;
  ASSERT_EQ(tcgetattr(replica, &tio), 0);
  EXPECT_EQ(ours.c_iflag, tio.c_iflag);
  EXPECT_EQ(ours.c_oflag, tio.c_oflag);
  EXPECT_EQ(ours.c_cflag, tio.c_cflag);
  EXPECT_EQ(ours.c_lflag, tio.c_lflag);
  EXPECT_EQ(std::memcmp(ours.c_cc, tio.c_cc, sizeof(ours.c_cc)), 0);

  // TIOCGWINSZ after the host sets a size.
  struct winsize ws = {33, 101, 0, 0};
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
  struct winsize ow = {}, hw = {};
  EXPECT_THAT(t->Ioctl(fd, TIOCGWINSZ, reinterpret_cast<unsigned long>(&ow)),
              Succeeds());
  ASSERT_EQ(ioctl(replica, TIOCGWINSZ, &hw), 0);
  EXPECT_EQ(std::memcmp(&ow, &hw, sizeof(ow)), 0);
  EXPECT_EQ(ow.ws_row, 33);
  EXPECT_EQ(ow.ws_col, 101);
  // TIOCSWINSZ through the File reaches the host.
  struct winsize nw = {40, 120, 0, 0};
  EXPECT_THAT(t->Ioctl(fd, TIOCSWINSZ, reinterpret_cast<unsigned long>(&nw)),
              Succeeds());
  ASSERT_EQ(ioctl(master, TIOCGWINSZ, &hw), 0);
  EXPECT_EQ(hw.ws_row, 40);
  EXPECT_EQ(hw.ws_col, 120);

  // TCSETS/TCSETSW/TCSETSF: raw mode through the File, seen by the host.
  KTermios raw = ours;
  raw.c_lflag &= ~(ICANON | ECHO);
  raw.c_oflag &= ~OPOST;
  for (unsigned long cmd : {TCSETS, TCSETSW, TCSETSF}) {
    EXPECT_THAT(t->Ioctl(fd, cmd, reinterpret_cast<unsigned long>(&raw)),
                Succeeds());
    ASSERT_EQ(tcgetattr(replica, &tio), 0);
    EXPECT_EQ(tio.c_lflag & (ICANON | ECHO), 0u);
    EXPECT_EQ(tio.c_oflag & OPOST, 0u);
  }
  EXPECT_THAT(t->Ioctl(fd, TCSETS, 0), IsErrno(EFAULT));

  // Bytes both ways; FIONREAD as the host's.
  ASSERT_EQ(write(master, "keys", 4), 4);
  // Let the line discipline deliver them.
  struct pollfd p = {replica, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  int on = -1, hn = -2;
  EXPECT_THAT(t->Ioctl(fd, FIONREAD, reinterpret_cast<unsigned long>(&on)),
              Succeeds());
  ASSERT_EQ(ioctl(replica, FIONREAD, &hn), 0);
  EXPECT_EQ(on, hn);
  EXPECT_EQ(on, 4);
  char buf[16];
  EXPECT_EQ(t->Read(fd, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "keys");
  EXPECT_EQ(t->Write(fd, "out\n", 4), 4);
  ASSERT_EQ(read(master, buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "out\n");  // OPOST off: no CR added

  // The foreground process group lives in the sandbox.
  pid_t pg = -1;
  EXPECT_THAT(t->Ioctl(fd, TIOCGPGRP, reinterpret_cast<unsigned long>(&pg)),
              Succeeds());
  EXPECT_EQ(pg, t->ctx().pid());
  pid_t npg = 7;
  EXPECT_THAT(t->Ioctl(fd, TIOCSPGRP, reinterpret_cast<unsigned long>(&npg)),
              Succeeds());
  EXPECT_THAT(t->Ioctl(fd, TIOCGPGRP, reinterpret_cast<unsigned long>(&pg)),
              Succeeds());
  EXPECT_EQ(pg, 7);
  npg = -1;
  EXPECT_THAT(t->Ioctl(fd, TIOCSPGRP, reinterpret_cast<unsigned long>(&npg)),
              IsErrno(EINVAL));

  // Other ioctls: ENOTTY. Not seekable.
  unsigned int ptn;
  EXPECT_THAT(t->Ioctl(fd, TIOCGPTN, reinterpret_cast<unsigned long>(&ptn)),
              IsErrno(ENOTTY));
  EXPECT_THAT(t->Ioctl(fd, TIOCSTI, reinterpret_cast<unsigned long>("x")),
              IsErrno(ENOTTY));
  EXPECT_THAT(t->Lseek(fd, 0, SEEK_CUR), IsErrno(ESPIPE));
  struct stat so, sh;
  ASSERT_THAT(t->Fstat(fd, &so), Succeeds());
  ASSERT_EQ(fstat(replica, &sh), 0);
  EXPECT_TRUE(S_ISCHR(so.st_mode));
  EXPECT_EQ(so.st_mode, sh.st_mode);
  EXPECT_EQ(so.st_rdev, sh.st_rdev);

  int hfd = HostFdOf(t, fd);
  EXPECT_THAT(t->Close(fd), Succeeds());
  EXPECT_FALSE(HostFdOpen(hfd));
  close(replica);
  close(master);
}

TEST(HostTest, TerminalWithoutIsTtyHasNoTerminalIoctls) {
  TmpfsTask t = NewTmpfsTask();
  int master, replica;
  ASSERT_EQ(openpty(&master, &replica, nullptr, nullptr, nullptr), 0);
  long fd = Install(t, replica, /*is_tty=*/false);
  ASSERT_THAT(fd, Succeeds());
  KTermios k;
  EXPECT_THAT(t->Ioctl(fd, TCGETS, reinterpret_cast<unsigned long>(&k)),
              IsErrno(ENOTTY));
  EXPECT_THAT(t->Close(fd), Succeeds());
  close(replica);
  close(master);
}

TEST(HostTest, HostFdClosedWhenFileGoes) {
  TmpfsTask t = NewTmpfsTask();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  auto f = ImportFile(t->ctx(), p[0], false);
  ASSERT_TRUE(f.ok());
  int hfd = HostFDForTest(**f);
  ASSERT_GE(hfd, 0);
  EXPECT_NE(hfd, p[0]);
  EXPECT_TRUE(HostFdOpen(hfd));
  // Shared by two fds and a dup: open until the last goes.
  long a = t->InstallFile(*f, false);
  ASSERT_THAT(a, Succeeds());
  long b = t->Dup(a);
  ASSERT_THAT(b, Succeeds());
  f->reset();
  EXPECT_THAT(t->Close(a), Succeeds());
  EXPECT_TRUE(HostFdOpen(hfd));
  EXPECT_THAT(t->Close(b), Succeeds());
  EXPECT_EQ(fcntl(hfd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
  // Not a host file: -1.
  ASSERT_THAT(testutil::WriteFile(t.get(), "/f", "x"), Succeeds());
  long c = t->Open("/f", O_RDONLY);
  EXPECT_EQ(HostFdOf(t, c), -1);
  EXPECT_THAT(t->Close(c), Succeeds());
  close(p[0]);
  close(p[1]);
}

TEST(HostTest, StdioStyleImportsShareOneDevice) {
  TmpfsTask t = NewTmpfsTask();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  long r = Install(t, p[0]);
  long w = Install(t, p[1]);
  ASSERT_THAT(r, Succeeds());
  ASSERT_THAT(w, Succeeds());
  struct stat sr, sw;
  ASSERT_THAT(t->Fstat(r, &sr), Succeeds());
  ASSERT_THAT(t->Fstat(w, &sw), Succeeds());
  EXPECT_EQ(sr.st_dev, sw.st_dev);
  EXPECT_NE(sr.st_ino, sw.st_ino);
  EXPECT_EQ(t->Write(w, "x", 1), 1);
  char c;
  EXPECT_EQ(t->Read(r, &c, 1), 1);
  EXPECT_THAT(t->Close(r), Succeeds());
  EXPECT_THAT(t->Close(w), Succeeds());
  close(p[0]);
  close(p[1]);
}

}  // namespace
}  // namespace sentry::fs::host
