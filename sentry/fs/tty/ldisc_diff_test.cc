// Differential tests of the line discipline: the same termios and the same
// bytes, fed one at a time to a real Linux pty (openpty(3)) and to ours;
// after each byte both replicas and both masters are drained with the same
// non-blocking reads, and the transcripts must agree.
//
// A Linux pty is asynchronous (the flip buffer is pushed by a work queue),
// but n_tty_read flushes that work before it reports "no input", so
// draining the replica first, then the master, sees everything a byte
// caused.
#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/fs/tty/terminal.h"

namespace sentry::fs::tty {
namespace {

using testutil::NewTmpfsTask;
using testutil::Succeeds;
using testutil::TmpfsTask;

struct Case {
  Case(const char* name, std::function<void(KernelTermios&)> set,
       std::string input, std::string replica_write = "", size_t read_size = 64)
      : name(name),
        set(std::move(set)),
        input(std::move(input)),
        replica_write(std::move(replica_write)),
        read_size(read_size) {}
  const char* name;
  std::function<void(KernelTermios&)> set;
  std::string input;          // fed to the master byte by byte
  std::string replica_write;  // then written by the replica in one write
  size_t read_size;
};

void RawNoEcho(KernelTermios& k) { k.c_lflag &= ~(ICANON | ECHO); }

std::vector<Case> Cases() {
  auto none = [](KernelTermios&) {};
  return {
      {"plain", none, "hello\n"},
      {"cr_icrnl", none, "ab\rcd\n"},
      {"cr_no_icrnl", [](KernelTermios& k) { k.c_iflag &= ~ICRNL; },
       "ab\rcd\n\x04"},
      {"inlcr",
       [](KernelTermios& k) {
         k.c_iflag &= ~ICRNL;
         k.c_iflag |= INLCR;
       },
       "ab\ncd\r\x04"},
      {"igncr", [](KernelTermios& k) { k.c_iflag |= IGNCR; }, "ab\rcd\n"},
      {"erase", none,
       "abc\x7f\x7f"
       "d\n"},
      {"erase_at_start", none, "\x7fx\n"},
      {"erase_no_echoe", [](KernelTermios& k) { k.c_lflag &= ~ECHOE; },
       "abc\x7f"
       "d\n"},
      {"kill", none,
       "abc\x15"
       "def\n"},
      {"kill_no_echoke", [](KernelTermios& k) { k.c_lflag &= ~ECHOKE; },
       "abc\x15"
       "def\n"},
      {"kill_no_echok",
       [](KernelTermios& k) { k.c_lflag &= ~(ECHOKE | ECHOK); },
       "abc\x15"
       "def\n"},
      {"werase", none,
       "foo bar\x17"
       "baz\n"},
      {"eof_at_start", none, "\x04"},
      {"eof_mid_line", none,
       "abc\x04"
       "def\n"},
      {"eof_small_reads", none,
       "abcdef\x04"
       "gh\n",
       "", 3},
      {"small_reads", none, "abcdefgh\n", "", 3},
      {"echoctl", none, "a\x01\x02\x1b\n"},
      {"no_echoctl", [](KernelTermios& k) { k.c_lflag &= ~ECHOCTL; },
       "a\x01\n"},
      {"erase_ctl", none, "a\x01\x7f\x7f\n"},
      {"erase_tab", none, "ab\tc\x7f\x7f\x7f\n"},
      {"echo_off", [](KernelTermios& k) { k.c_lflag &= ~ECHO; }, "secret\n"},
      {"echonl",
       [](KernelTermios& k) {
         k.c_lflag &= ~ECHO;
         k.c_lflag |= ECHONL;
       },
       "ab\n"},
      {"lnext", none,
       "a\x16\x03"
       "b\n"},
      {"isig_intr", none,
       "abc\x03"
       "def\n"},
      {"isig_noflsh", [](KernelTermios& k) { k.c_lflag |= NOFLSH; },
       "abc\x03"
       "def\n"},
      {"no_isig", [](KernelTermios& k) { k.c_lflag &= ~ISIG; }, "ab\x03\x1a\n"},
      {"reprint", none,
       "abc\x12"
       "d\n"},
      {"ixon_stop_start", none,
       "a\x13"
       "b\x11"
       "c\n"},
      {"iutf8_erase", [](KernelTermios& k) { k.c_iflag |= 040000; },
       "a\xc3\xa9\x7f\n"},
      {"echoprt",
       [](KernelTermios& k) {
         k.c_lflag |= ECHOPRT;
         k.c_lflag &= ~ECHOE;
       },
       "abc\x7f\x7f"
       "d\n"},
      {"raw_vmin0_vtime0",
       [](KernelTermios& k) {
         k.c_lflag &= ~ICANON;
         k.c_cc[VMIN] = 0;
         k.c_cc[VTIME] = 0;
       },
       "ab\x7f"
       "c\n"},
      {"raw_vmin0_vtime1",
       [](KernelTermios& k) {
         RawNoEcho(k);
         k.c_cc[VMIN] = 0;
         k.c_cc[VTIME] = 1;
       },
       "xyz"},
      {"raw_vmin3",
       [](KernelTermios& k) {
         RawNoEcho(k);
         k.c_cc[VMIN] = 3;
         k.c_cc[VTIME] = 0;
       },
       "abcd"},
      {"raw_echo_nl", [](KernelTermios& k) { k.c_lflag &= ~ICANON; },
       "a\nb\x01\r"},
      {"makeraw",
       [](KernelTermios& k) {
         k.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                        ICRNL | IXON);
         k.c_oflag &= ~OPOST;
         k.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
       },
       "a\r\n\x03\x04"},
      {"onlcr_output", none, "", "line1\nline2\n"},
      {"opost_off", [](KernelTermios& k) { k.c_oflag &= ~OPOST; }, "x\n",
       "a\nb"},
      {"ocrnl", [](KernelTermios& k) { k.c_oflag |= OCRNL; }, "", "a\rb\n"},
      {"onlret_onocr",
       [](KernelTermios& k) {
         k.c_oflag |= ONOCR | ONLRET;
         k.c_oflag &= ~ONLCR;
       },
       "", "\rab\r\n\r"},
      {"xtabs", [](KernelTermios& k) { k.c_oflag |= XTABS; }, "a\t\x7f\n",
       "ab\tc\td\n"},
      {"olcuc", [](KernelTermios& k) { k.c_oflag |= OLCUC; }, "", "abc\n"},
      {"istrip_iuclc", [](KernelTermios& k) { k.c_iflag |= ISTRIP | IUCLC; },
       "A\xc1"
       "b\n"},
      {"veol", [](KernelTermios& k) { k.c_cc[VEOL] = ';'; }, "ab;cd\n"},
      {"echo_and_output", none, "hi\n", "ok\n"},
  };
}

// One side of the comparison.
class Side {
 public:
  virtual ~Side() = default;
  virtual long WriteMaster(const void* b, size_t n) = 0;
  virtual long WriteReplica(const void* b, size_t n) = 0;
  virtual long ReadMaster(void* b, size_t n) = 0;
  virtual long ReadReplica(void* b, size_t n) = 0;

  // The transcript of one case.
  std::string Run(const Case& c) {
    std::string out;
    auto drain = [&] {
      std::vector<char> buf(c.read_size);
      for (int i = 0; i < 64; ++i) {
        long r = ReadReplica(buf.data(), buf.size());
        if (r < 0) {
          if (r != -EAGAIN) out += "R!" + std::to_string(-r);
          break;
        }
        out += "R[" + absl::CHexEscape(std::string(buf.data(), r)) + "]";
        if (r == 0) break;
      }
      std::string m;
      char mb[256];
      for (;;) {
        long r = ReadMaster(mb, sizeof mb);
        if (r <= 0) break;
        m.append(mb, r);
      }
      if (!m.empty()) out += "M[" + absl::CHexEscape(m) + "]";
      out += "|";
    };
    for (char ch : c.input) {
      EXPECT_EQ(WriteMaster(&ch, 1), 1);
      drain();
    }
    if (!c.replica_write.empty()) {
      EXPECT_EQ(WriteReplica(c.replica_write.data(), c.replica_write.size()),
                long(c.replica_write.size()));
      drain();
    }
    return out;
  }
};

long Sys(long r) { return r < 0 ? -errno : r; }

class LinuxSide : public Side {
 public:
  bool Open(const KernelTermios& k) {
    if (openpty(&m_, &s_, nullptr, nullptr, nullptr) != 0) return false;
    struct termios t;
    tcgetattr(s_, &t);
    t.c_iflag = k.c_iflag;
    t.c_oflag = k.c_oflag;
    t.c_cflag = k.c_cflag;
    t.c_lflag = k.c_lflag;
    t.c_line = k.c_line;
    for (int i = 0; i < 19; ++i) t.c_cc[i] = k.c_cc[i];
    if (tcsetattr(s_, TCSANOW, &t) != 0) return false;
    fcntl(m_, F_SETFL, O_NONBLOCK);
    fcntl(s_, F_SETFL, O_NONBLOCK);
    return true;
  }
  ~LinuxSide() override {
    if (s_ >= 0) close(s_);
    if (m_ >= 0) close(m_);
  }
  long WriteMaster(const void* b, size_t n) override {
    return Sys(write(m_, b, n));
  }
  long WriteReplica(const void* b, size_t n) override {
    return Sys(write(s_, b, n));
  }
  long ReadMaster(void* b, size_t n) override { return Sys(read(m_, b, n)); }
  long ReadReplica(void* b, size_t n) override { return Sys(read(s_, b, n)); }
  int s_ = -1, m_ = -1;
};

class OurSide : public Side {
 public:
  explicit OurSide(const KernelTermios& k) : t_(NewTmpfsTask()) {
    EXPECT_THAT(t_->Mkdirat(AT_FDCWD, "/pts", 0755), Succeeds());
    EXPECT_THAT(t_->Mount("none", "/pts", "devpts", 0, "newinstance"),
                Succeeds());
    m_ = t_->Open("/pts/ptmx", O_RDWR | O_NONBLOCK);
    unsigned n = 0;
    int zero = 0;
    EXPECT_THAT(t_->Ioctl(m_, TIOCGPTN, reinterpret_cast<uintptr_t>(&n)),
                Succeeds());
    EXPECT_THAT(t_->Ioctl(m_, TIOCSPTLCK, reinterpret_cast<uintptr_t>(&zero)),
                Succeeds());
    s_ = t_->Open(("/pts/" + std::to_string(n)).c_str(), O_RDWR | O_NONBLOCK);
    EXPECT_THAT(s_, Succeeds());
    EXPECT_THAT(t_->Ioctl(s_, TCSETS, reinterpret_cast<uintptr_t>(&k)),
                Succeeds());
  }
  ~OurSide() override {
    t_->Close(s_);
    t_->Close(m_);
  }
  long WriteMaster(const void* b, size_t n) override {
    return t_->Write(m_, b, n);
  }
  long WriteReplica(const void* b, size_t n) override {
    return t_->Write(s_, b, n);
  }
  long ReadMaster(void* b, size_t n) override { return t_->Read(m_, b, n); }
  long ReadReplica(void* b, size_t n) override { return t_->Read(s_, b, n); }

 private:
  TmpfsTask t_;
  int m_ = -1, s_ = -1;
};

class LdiscDiffTest : public ::testing::TestWithParam<Case> {};

TEST_P(LdiscDiffTest, SameAsLinux) {
  const Case& c = GetParam();
  KernelTermios k = DefaultReplicaTermios();
  c.set(k);
  LinuxSide linux_side;
  if (!linux_side.Open(k)) GTEST_SKIP() << "no host pty: " << strerror(errno);
  std::string want = linux_side.Run(c);
  OurSide ours(k);
  std::string got = ours.Run(c);
  EXPECT_EQ(got, want) << "case " << c.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, LdiscDiffTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           return std::string(info.param.name);
                         });

// The default termios of a new pair is Linux's.
TEST(LdiscDefaultsTest, DefaultTermiosIsLinuxs) {
  int m, s;
  if (openpty(&m, &s, nullptr, nullptr, nullptr) != 0) GTEST_SKIP();
  KernelTermios host;
  ASSERT_EQ(ioctl(s, TCGETS, &host), 0);
  close(s);
  close(m);
  KernelTermios ours = DefaultReplicaTermios();
  EXPECT_EQ(ours.c_iflag, host.c_iflag);
  EXPECT_EQ(ours.c_oflag, host.c_oflag);
  EXPECT_EQ(ours.c_lflag, host.c_lflag);
  EXPECT_EQ(ours.c_cflag, host.c_cflag);
  for (int i = 0; i < 19; ++i) EXPECT_EQ(ours.c_cc[i], host.c_cc[i]) << i;
}

}  // namespace
}  // namespace sentry::fs::tty
