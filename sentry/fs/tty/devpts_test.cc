// Tests of devpts and the pty ioctls: mounting and options, ptmx and the
// replicas' lifecycle, locking, hangup, queues and blocking, and every
// ioctl a pty end answers.
#include "sentry/fs/tty/devpts.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/fs/tty/terminal.h"

namespace sentry::fs::tty {
namespace {

using ::testing::ElementsAre;
using testutil::IsErrno;
using testutil::ListDir;
using testutil::NewTmpfsTask;
using testutil::Succeeds;
using testutil::TmpfsTask;

TmpfsTask WithDevpts(const char* opts = "") {
  TmpfsTask t = NewTmpfsTask();
  EXPECT_THAT(t->Mkdirat(AT_FDCWD, "/dev", 0755), Succeeds());
  EXPECT_THAT(t->Mkdirat(AT_FDCWD, "/dev/pts", 0755), Succeeds());
  EXPECT_THAT(t->Mount("none", "/dev/pts", "devpts", 0, opts), Succeeds());
  return t;
}

// Opens a master, unlocks it, opens its replica; returns {master, replica, n}.
struct Pty {
  int m = -1, s = -1;
  unsigned n = 0;
};
Pty OpenPty(kernel::Task* t, int extra_flags = O_NONBLOCK) {
  Pty p;
  p.m = t->Open("/dev/pts/ptmx", O_RDWR | extra_flags);
  EXPECT_THAT(p.m, Succeeds());
  EXPECT_THAT(t->Ioctl(p.m, TIOCGPTN, reinterpret_cast<uintptr_t>(&p.n)),
              Succeeds());
  int unlock = 0;
  EXPECT_THAT(t->Ioctl(p.m, TIOCSPTLCK, reinterpret_cast<uintptr_t>(&unlock)),
              Succeeds());
  std::string path = "/dev/pts/" + std::to_string(p.n);
  p.s = t->Open(path.c_str(), O_RDWR | extra_flags);
  EXPECT_THAT(p.s, Succeeds());
  return p;
}

std::string ReadAll(kernel::Task* t, int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    long r = t->Read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.append(buf, r);
  }
  return out;
}

long Put(kernel::Task* t, int fd, std::string_view s) {
  return t->Write(fd, s.data(), s.size());
}

uintptr_t A(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(DevptsTest, PtmxReplicaLifecycle) {
  TmpfsTask t = WithDevpts();
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx"));
  struct stat st;
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/ptmx", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFCHR | 0000u);
  EXPECT_EQ(st.st_rdev, makedev(5, 2));
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFDIR | 0755u);

  int m = t->Open("/dev/pts/ptmx", O_RDWR | O_NONBLOCK);
  ASSERT_THAT(m, Succeeds());
  unsigned n = 99;
  ASSERT_THAT(t->Ioctl(m, TIOCGPTN, A(&n)), Succeeds());
  EXPECT_EQ(n, 0u);
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx", "0"));
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFCHR | 0600u);
  EXPECT_EQ(st.st_rdev, makedev(136, 0));
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_ino, 3u);

  // Locked until TIOCSPTLCK 0.
  int lk = -1;
  ASSERT_THAT(t->Ioctl(m, TIOCGPTLCK, A(&lk)), Succeeds());
  EXPECT_EQ(lk, 1);
  EXPECT_THAT(t->Open("/dev/pts/0", O_RDWR), IsErrno(EIO));
  int zero = 0;
  ASSERT_THAT(t->Ioctl(m, TIOCSPTLCK, A(&zero)), Succeeds());
  int s = t->Open("/dev/pts/0", O_RDWR | O_NONBLOCK);
  ASSERT_THAT(s, Succeeds());
  ASSERT_THAT(t->Fstat(s, &st), Succeeds());
  EXPECT_EQ(st.st_rdev, makedev(136, 0));
  ASSERT_THAT(t->Fstat(m, &st), Succeeds());
  EXPECT_EQ(st.st_rdev, makedev(5, 2));
  EXPECT_THAT(t->Lseek(s, 0, SEEK_SET), IsErrno(ESPIPE));

  // Both ways.
  EXPECT_EQ(Put(t.get(), m, "hi\n"), 3);
  EXPECT_EQ(ReadAll(t.get(), s), "hi\n");
  EXPECT_EQ(ReadAll(t.get(), m), "hi\r\n");  // the echo, through ONLCR
  EXPECT_EQ(Put(t.get(), s, "out\n"), 4);
  EXPECT_EQ(ReadAll(t.get(), m), "out\r\n");
  char c;
  EXPECT_THAT(t->Read(s, &c, 1), IsErrno(EAGAIN));
  EXPECT_THAT(t->Read(m, &c, 1), IsErrno(EAGAIN));

  // The replica's close: the master drains, then reads EIO; N stays.
  EXPECT_EQ(Put(t.get(), s, "bye"), 3);
  ASSERT_THAT(t->Close(s), Succeeds());
  EXPECT_EQ(ReadAll(t.get(), m), "bye");
  EXPECT_THAT(t->Read(m, &c, 1), IsErrno(EIO));
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), Succeeds());
  // Reopening clears TTY_OTHER_CLOSED.
  s = t->Open("/dev/pts/0", O_RDWR | O_NONBLOCK);
  ASSERT_THAT(s, Succeeds());
  EXPECT_THAT(t->Read(m, &c, 1), IsErrno(EAGAIN));
  ASSERT_THAT(t->Close(s), Succeeds());

  ASSERT_THAT(t->Close(m), Succeeds());
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), IsErrno(ENOENT));
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx"));

  // The index is free again.
  m = t->Open("/dev/pts/ptmx", O_RDWR);
  ASSERT_THAT(t->Ioctl(m, TIOCGPTN, A(&n)), Succeeds());
  EXPECT_EQ(n, 0u);
  int m2 = t->Open("/dev/pts/ptmx", O_RDWR);
  ASSERT_THAT(t->Ioctl(m2, TIOCGPTN, A(&n)), Succeeds());
  EXPECT_EQ(n, 1u);
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx", "0", "1"));
  EXPECT_THAT(t->Close(m), Succeeds());
  EXPECT_THAT(t->Close(m2), Succeeds());
}

TEST(DevptsTest, MasterCloseHangsUpReplica) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  EXPECT_EQ(Put(t.get(), p.m, "pending\n"), 8);
  ASSERT_THAT(t->Close(p.m), Succeeds());
  struct stat st;
  // Gone from the directory at once, as Linux's devpts_pty_kill.
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), IsErrno(ENOENT));
  char buf[16];
  EXPECT_EQ(t->Read(p.s, buf, sizeof buf), 0);
  EXPECT_THAT(Put(t.get(), p.s, "x"), IsErrno(EIO));
  KernelTermios kt;
  EXPECT_THAT(t->Ioctl(p.s, TCGETS, A(&kt)), IsErrno(EIO));
  // The index stays taken while the replica is open.
  int m = t->Open("/dev/pts/ptmx", O_RDWR);
  unsigned n = ~0u;  // the ioctl writes it
  ASSERT_THAT(t->Ioctl(m, TIOCGPTN, A(&n)), Succeeds());
  EXPECT_EQ(n, 1u);
  EXPECT_THAT(t->Close(m), Succeeds());
  EXPECT_THAT(t->Close(p.s), Succeeds());
  m = t->Open("/dev/pts/ptmx", O_RDWR);
  ASSERT_THAT(t->Ioctl(m, TIOCGPTN, A(&n)), Succeeds());
  EXPECT_EQ(n, 0u);
  EXPECT_THAT(t->Close(m), Succeeds());
}

TEST(DevptsTest, Options) {
  TmpfsTask t = WithDevpts("gid=5,mode=620,ptmxmode=666");
  struct stat st;
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/ptmx", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFCHR | 0666u);
  int m = t->Open("/dev/pts/ptmx", O_RDWR);
  ASSERT_THAT(m, Succeeds());
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode, S_IFCHR | 0620u);
  EXPECT_EQ(st.st_gid, 5u);
  struct statfs sfs;
  ASSERT_THAT(t->Statfs("/dev/pts", &sfs), Succeeds());
  EXPECT_EQ(sfs.f_type, 0x1cd1);
  EXPECT_THAT(t->Close(m), Succeeds());

  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/p2", 0755), Succeeds());
  EXPECT_THAT(t->Mount("none", "/p2", "devpts", 0, "bogus"), IsErrno(EINVAL));
  EXPECT_THAT(t->Mount("none", "/p2", "devpts", 0, "mode=9"), IsErrno(EINVAL));
  EXPECT_THAT(t->Mount("none", "/p2", "devpts", 0, "gid=x"), IsErrno(EINVAL));
  EXPECT_THAT(t->Mount("none", "/p2", "devpts", 0, "newinstance=1"),
              IsErrno(EINVAL));
  ASSERT_THAT(t->Mount("none", "/p2", "devpts", 0, "newinstance,max=1"),
              Succeeds());
  // Its own instance: numbering starts again, and max= holds.
  m = t->Open("/p2/ptmx", O_RDWR);
  ASSERT_THAT(m, Succeeds());
  EXPECT_THAT(t->Open("/p2/ptmx", O_RDWR), IsErrno(ENOSPC));
  EXPECT_THAT(ListDir(t.get(), "/p2"), ElementsAre("ptmx", "0"));
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx"));
  EXPECT_THAT(t->Close(m), Succeeds());

  auto o =
      ParseDevptsOptions("uid=1,gid=2,mode=0600,ptmxmode=0666,newinstance");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->uid, 1u);
  EXPECT_EQ(o->mode, 0600u);
  EXPECT_EQ(o->ptmxmode, 0666u);
  EXPECT_TRUE(o->newinstance);
  // devpts makes no files of its own.
  EXPECT_THAT(t->Mkdirat(AT_FDCWD, "/dev/pts/d", 0755), IsErrno(EPERM));
}

TEST(DevptsTest, DeviceNodesOutsideDevpts) {
  TmpfsTask t = NewTmpfsTask();
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/dev", 0755), Succeeds());
  ASSERT_THAT(t->Mknodat(AT_FDCWD, "/dev/ptmx", S_IFCHR | 0666, makedev(5, 2)),
              Succeeds());
  ASSERT_THAT(t->Mknodat(AT_FDCWD, "/dev/tty", S_IFCHR | 0666, makedev(5, 0)),
              Succeeds());
  ASSERT_THAT(
      t->Mknodat(AT_FDCWD, "/dev/pts0", S_IFCHR | 0666, makedev(136, 0)),
      Succeeds());
  EXPECT_THAT(t->Open("/dev/ptmx", O_RDWR), IsErrno(ENODEV));
  EXPECT_THAT(t->Open("/dev/tty", O_RDWR), IsErrno(ENXIO));
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/dev/pts", 0755), Succeeds());
  ASSERT_THAT(t->Mount("none", "/dev/pts", "devpts", 0, ""), Succeeds());
  int m = t->Open("/dev/ptmx", O_RDWR | O_NONBLOCK);
  ASSERT_THAT(m, Succeeds());
  EXPECT_THAT(ListDir(t.get(), "/dev/pts"), ElementsAre("ptmx", "0"));
  int zero = 0;
  ASSERT_THAT(t->Ioctl(m, TIOCSPTLCK, A(&zero)), Succeeds());
  int s = t->Open("/dev/pts0", O_RDWR | O_NONBLOCK);  // 136:0 by number
  ASSERT_THAT(s, Succeeds());
  EXPECT_EQ(Put(t.get(), s, "x"), 1);
  EXPECT_EQ(ReadAll(t.get(), m), "x");

  // /dev/tty: the controlling terminal once TIOCSCTTY made one.
  EXPECT_THAT(t->Open("/dev/tty", O_RDWR), IsErrno(ENXIO));
  ASSERT_THAT(t->Ioctl(s, TIOCSCTTY, 0), Succeeds());
  int tty = t->Open("/dev/tty", O_RDWR | O_NONBLOCK);
  ASSERT_THAT(tty, Succeeds());
  EXPECT_EQ(Put(t.get(), tty, "y"), 1);
  EXPECT_EQ(ReadAll(t.get(), m), "y");
  ASSERT_THAT(t->Ioctl(s, TIOCNOTTY, 0), Succeeds());
  EXPECT_THAT(t->Open("/dev/tty", O_RDWR), IsErrno(ENXIO));
  EXPECT_THAT(t->Close(tty), Succeeds());
  EXPECT_THAT(t->Close(s), Succeeds());
  EXPECT_THAT(t->Close(m), Succeeds());
  EXPECT_THAT(t->Open("/dev/pts0", O_RDWR), IsErrno(EIO));
}

TEST(DevptsTest, ReplicaOwnerIsTheOpener) {
  TmpfsTask t = WithDevpts();
  ASSERT_THAT(t->Fchmodat(AT_FDCWD, "/dev/pts/ptmx", 0666), Succeeds());
  auto u =
      testutil::NewTaskIn(t.ns, kernel::auth::Credentials::User(1000, 1000), 2);
  int m = u->Open("/dev/pts/ptmx", O_RDWR);
  ASSERT_THAT(m, Succeeds());
  struct stat st;
  ASSERT_THAT(u->Fstatat(AT_FDCWD, "/dev/pts/0", &st, 0), Succeeds());
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_THAT(u->Close(m), Succeeds());
}

TEST(PtyIoctlTest, TermiosSharedByBothEnds) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  KernelTermios a, b;
  ASSERT_THAT(t->Ioctl(p.m, TCGETS, A(&a)), Succeeds());
  ASSERT_THAT(t->Ioctl(p.s, TCGETS, A(&b)), Succeeds());
  KernelTermios d = DefaultReplicaTermios();
  EXPECT_EQ(0, memcmp(&a, &d, sizeof d));
  EXPECT_EQ(0, memcmp(&b, &d, sizeof d));
  EXPECT_EQ(a.c_lflag,
            ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN);
  for (unsigned long cmd : {TCSETS, TCSETSW, TCSETSF}) {
    a.c_lflag &= ~ECHO;
    ASSERT_THAT(t->Ioctl(p.m, cmd, A(&a)), Succeeds());
    ASSERT_THAT(t->Ioctl(p.s, TCGETS, A(&b)), Succeeds());
    EXPECT_EQ(b.c_lflag & ECHO, 0u);
    a.c_lflag |= ECHO;
    ASSERT_THAT(t->Ioctl(p.s, cmd, A(&a)), Succeeds());
    ASSERT_THAT(t->Ioctl(p.m, TCGETS, A(&b)), Succeeds());
    EXPECT_EQ(b.c_lflag & ECHO, unsigned{ECHO});
  }
  // TCSETSF flushes pending input.
  EXPECT_EQ(Put(t.get(), p.m, "gone\n"), 5);
  ASSERT_THAT(t->Ioctl(p.s, TCSETSF, A(&a)), Succeeds());
  char c;
  EXPECT_THAT(t->Read(p.s, &c, 1), IsErrno(EAGAIN));
  EXPECT_THAT(t->Ioctl(p.s, TCGETS, 0), IsErrno(EFAULT));
  t->Close(p.s);
  t->Close(p.m);
}

TEST(PtyIoctlTest, WindowSizeShared) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  WindowSize w{};
  ASSERT_THAT(t->Ioctl(p.s, TIOCGWINSZ, A(&w)), Succeeds());
  EXPECT_EQ(w.ws_row, 0);
  WindowSize set{24, 80, 640, 480};
  ASSERT_THAT(t->Ioctl(p.m, TIOCSWINSZ, A(&set)), Succeeds());
  ASSERT_THAT(t->Ioctl(p.s, TIOCGWINSZ, A(&w)), Succeeds());
  EXPECT_EQ(w.ws_row, 24);
  EXPECT_EQ(w.ws_col, 80);
  EXPECT_EQ(w.ws_ypixel, 480);
  set.ws_row = 50;
  ASSERT_THAT(t->Ioctl(p.s, TIOCSWINSZ, A(&set)), Succeeds());
  ASSERT_THAT(t->Ioctl(p.m, TIOCGWINSZ, A(&w)), Succeeds());
  EXPECT_EQ(w.ws_row, 50);
  t->Close(p.s);
  t->Close(p.m);
}

TEST(PtyIoctlTest, QueuesAndMisc) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  int q = -1;
  EXPECT_EQ(Put(t.get(), p.m, "ab"), 2);
  ASSERT_THAT(t->Ioctl(p.s, FIONREAD, A(&q)), Succeeds());
  EXPECT_EQ(q, 0);  // canonical: no complete line yet
  ASSERT_THAT(t->Ioctl(p.m, FIONREAD, A(&q)), Succeeds());
  EXPECT_EQ(q, 2);  // the echo
  EXPECT_EQ(Put(t.get(), p.m, "\n\x04"), 2);
  ASSERT_THAT(t->Ioctl(p.s, TIOCINQ, A(&q)), Succeeds());
  EXPECT_EQ(q, 3);  // "ab\n"; the EOF mark is not counted
  ASSERT_THAT(t->Ioctl(p.s, TIOCOUTQ, A(&q)), Succeeds());
  EXPECT_EQ(q, 0);
  ASSERT_THAT(t->Ioctl(p.m, TIOCOUTQ, A(&q)), Succeeds());
  EXPECT_EQ(q, 0);
  ASSERT_THAT(t->Ioctl(p.s, TCFLSH, TCIFLUSH), Succeeds());
  ASSERT_THAT(t->Ioctl(p.s, FIONREAD, A(&q)), Succeeds());
  EXPECT_EQ(q, 0);
  ASSERT_THAT(t->Ioctl(p.m, TCFLSH, TCIOFLUSH), Succeeds());
  ASSERT_THAT(t->Ioctl(p.m, FIONREAD, A(&q)), Succeeds());
  EXPECT_EQ(q, 0);
  EXPECT_THAT(t->Ioctl(p.m, TCFLSH, 7), IsErrno(EINVAL));
  EXPECT_THAT(t->Ioctl(p.m, TIOCSCTTY, 0), Succeeds());
  EXPECT_THAT(t->Ioctl(p.s, TCSBRK, 1), Succeeds());

  // Master-only ioctls, and unknown ones.
  unsigned n = 0;
  EXPECT_THAT(t->Ioctl(p.s, TIOCGPTN, A(&n)), IsErrno(ENOTTY));
  int zero = 0;
  EXPECT_THAT(t->Ioctl(p.s, TIOCSPTLCK, A(&zero)), IsErrno(ENOTTY));
  EXPECT_THAT(t->Ioctl(p.m, 0x12345678, 0), IsErrno(ENOTTY));
  EXPECT_THAT(t->Ioctl(p.s, 0x12345678, 0), IsErrno(ENOTTY));
  EXPECT_THAT(t->Ioctl(p.m, TIOCGPTN, 0), IsErrno(EFAULT));

  // TCXONC stops and restarts the replica's output.
  ASSERT_THAT(t->Ioctl(p.s, TCXONC, TCOOFF), Succeeds());
  EXPECT_THAT(Put(t.get(), p.s, "x"), IsErrno(EAGAIN));
  ASSERT_THAT(t->Ioctl(p.s, TCXONC, TCOON), Succeeds());
  EXPECT_EQ(Put(t.get(), p.s, "x"), 1);
  EXPECT_EQ(ReadAll(t.get(), p.m), "x");
  t->Close(p.s);
  t->Close(p.m);
}

TEST(PtyQueueTest, BoundedNonBlocking) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  KernelTermios k = DefaultReplicaTermios();
  k.c_lflag = 0;
  k.c_iflag = 0;
  k.c_oflag = 0;
  ASSERT_THAT(t->Ioctl(p.s, TCSETS, A(&k)), Succeeds());
  std::string big(30000, 'a');
  long total = 0;
  for (;;) {
    long r = Put(t.get(), p.m, big);
    if (r < 0) {
      EXPECT_THAT(r, IsErrno(EAGAIN));
      break;
    }
    total += r;
  }
  EXPECT_EQ(total, long{kQueueTotal});  // as a Linux 6.x pty
  total = 0;
  for (;;) {
    long r = Put(t.get(), p.s, big);
    if (r < 0) break;
    total += r;
  }
  EXPECT_EQ(total, long{kQueueTotal});
  EXPECT_EQ(ReadAll(t.get(), p.s).size(), kQueueTotal);
  EXPECT_EQ(ReadAll(t.get(), p.m).size(), kQueueTotal);
  t->Close(p.s);
  t->Close(p.m);
}

TEST(PtyQueueTest, CanonicalLineMax) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get());
  KernelTermios k = DefaultReplicaTermios();
  k.c_lflag &= ~ECHO;
  ASSERT_THAT(t->Ioctl(p.s, TCSETS, A(&k)), Succeeds());
  std::string line(5000, 'b');
  line += '\n';
  EXPECT_EQ(Put(t.get(), p.m, line), long(line.size()));
  std::string got = ReadAll(t.get(), p.s);
  // 4095 characters and the newline, which replaced the last one.
  ASSERT_EQ(got.size(), kNTtyBufSize);
  EXPECT_EQ(got.back(), '\n');
  t->Close(p.s);
  t->Close(p.m);
}

TEST(PtyBlockingTest, ReadsWaitAndInterrupt) {
  TmpfsTask t = WithDevpts();
  Pty p = OpenPty(t.get(), 0);
  auto w = testutil::NewTaskIn(t.ns, kernel::auth::Credentials::Root(), 2);
  int wm = w->InstallFile(*t->GetFile(p.m), false);
  ASSERT_THAT(wm, Succeeds());
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(w->Write(wm, "line\n", 5), 5);
  });
  char buf[32];
  EXPECT_EQ(t->Read(p.s, buf, sizeof buf), 5);
  writer.join();
  EXPECT_EQ(t->Read(p.m, buf, sizeof buf), 6);  // echo "line\r\n"

  // VMIN=3, VTIME=0: a blocking read waits for three bytes.
  KernelTermios k = DefaultReplicaTermios();
  k.c_lflag = 0;
  k.c_cc[VMIN] = 3;
  k.c_cc[VTIME] = 0;
  ASSERT_THAT(t->Ioctl(p.s, TCSETS, reinterpret_cast<uintptr_t>(&k)),
              Succeeds());
  std::thread w2([&] {
    for (char c : std::string("xyz")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      w->Write(wm, &c, 1);
    }
  });
  EXPECT_EQ(t->Read(p.s, buf, sizeof buf), 3);
  w2.join();

  // VMIN=0, VTIME=2: times out with 0 after ~200ms.
  k.c_cc[VMIN] = 0;
  k.c_cc[VTIME] = 2;
  ASSERT_THAT(t->Ioctl(p.s, TCSETS, reinterpret_cast<uintptr_t>(&k)),
              Succeeds());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(t->Read(p.s, buf, sizeof buf), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(190));

  // Interrupted.
  k.c_cc[VMIN] = 1;
  k.c_cc[VTIME] = 0;
  ASSERT_THAT(t->Ioctl(p.s, TCSETS, reinterpret_cast<uintptr_t>(&k)),
              Succeeds());
  std::thread intr([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    t->ctx().Interrupt();
  });
  EXPECT_THAT(t->Read(p.s, buf, sizeof buf), IsErrno(EINTR));
  intr.join();
  t->ctx().ClearInterrupt();
  w.reset();
  t->Close(p.s);
  t->Close(p.m);
}

}  // namespace
}  // namespace sentry::fs::tty
