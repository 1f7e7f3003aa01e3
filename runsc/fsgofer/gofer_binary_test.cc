// The real `runsc gofer` process: Debian's diodls/diodcat against
// --listen=tcp (skipped if diod's tools are missing), a p9::Client against
// --io-fds, the confinement it reports in /proc, and its command-line
// errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "p9/client.h"
#include "p9/transport.h"
#include "runsc/fsgofer/test_util.h"

namespace fsgofer::testing {
namespace {

constexpr char kDiodls[] = "/usr/sbin/diodls";
constexpr char kDiodcat[] = "/usr/sbin/diodcat";

std::string RunscPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (ws ? ws : "__main__") +
         "/runsc/runsc";
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout read end
  int err = -1;  // stderr read end
};

// Starts argv; fds in `keep` stay open (same numbers) in the child.
Child Spawn(const std::vector<std::string>& argv,
            const std::vector<int>& keep = {}) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    std::abort();
  }
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : keep) {
      int fl = ::fcntl(fd, F_GETFD);
      ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
    // Sanitizer runtimes must not try ptrace at exit under seccomp.
    ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

std::string Drain(int fd) {
  std::string s;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    s.append(buf, n);
  }
  return s;
}

// Waits up to `timeout` for exit; returns the exit status (or -1 after
// killing it on timeout, -2 on a signal).
int WaitExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return -2;
    }
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

struct Result {
  int code;
  std::string out, err;
};

Result RunProc(const std::vector<std::string>& argv) {
  Child c = Spawn(argv);
  Result r;
  r.out = Drain(c.out);
  r.err = Drain(c.err);
  r.code = WaitExit(c.pid, absl::Seconds(10));
  ::close(c.out);
  ::close(c.err);
  return r;
}

uint16_t FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(s);
  return ntohs(sa.sin_port);
}

bool WaitForPort(uint16_t port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    ::close(s);
    if (rc == 0) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class GoferBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = base_.Sub("root");
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
    WriteHostFile(root_ + "/hello.txt", "hello, diod\n");
    WriteHostFile(root_ + "/sub/inner", "inner file\n");
    std::string big;
    for (int i = 0; i < 300000; ++i) big.push_back(static_cast<char>(i * 7));
    WriteHostFile(root_ + "/big.bin", big);
    ASSERT_EQ(::symlink("/etc/passwd", (root_ + "/passwd").c_str()), 0);
    WriteHostFile(base_.Sub("canary"), "CANARY");
  }

  TempDir base_;
  std::string root_;
};

TEST_F(GoferBinaryTest, DiodlsAndDiodcatSeeTheHostView) {
  if (::access(kDiodls, X_OK) != 0 || ::access(kDiodcat, X_OK) != 0) {
    GTEST_SKIP() << "diodls/diodcat not installed";
  }
  const uint16_t port = FreePort();
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  Child g =
      Spawn({RunscPath(), "gofer", "--root=" + root_, "--listen=tcp:" + addr});
  ASSERT_TRUE(WaitForPort(port, absl::Seconds(10)));

  // The process is confined (the listener is bound first, so a connection
  // may queue before the filter is in: allow it a moment).
  for (int i = 0; i < 500 && ProcStatusField(g.pid, "Seccomp") != "2"; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(ProcStatusField(g.pid, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatusField(g.pid, "Seccomp"), "2");
  char a[64] = {}, b[64] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(g.pid) + "/ns/mnt").c_str(),
                       a, sizeof(a)),
            0);
  ASSERT_GT(::readlink("/proc/self/ns/mnt", b, sizeof(b)), 0);
  EXPECT_STRNE(a, b) << "no private mount namespace";

  // diodls: names.
  Result ls = RunProc({kDiodls, "-s", addr, "-a", root_});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.err, "");
  std::set<std::string> names;
  for (absl::string_view l : absl::StrSplit(ls.out, '\n', absl::SkipEmpty())) {
    names.insert(std::string(l));
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"hello.txt", "sub", "big.bin", "passwd"}));
  // diodls -l: type, size and name against lstat(2).
  Result ll = RunProc({kDiodls, "-l", "-s", addr, "-a", root_});
  ASSERT_EQ(ll.code, 0) << ll.err;
  EXPECT_EQ(ll.err, "");
  int lines = 0;
  for (absl::string_view l : absl::StrSplit(ll.out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(l, ' ', absl::SkipWhitespace());
    ASSERT_GE(f.size(), 6u) << l;
    const std::string& name = f.back();
    struct stat st;
    ASSERT_EQ(::lstat((root_ + "/" + name).c_str(), &st), 0) << name;
    // diodls marks directories only (it prints symlinks as '-' against
    // diod too).
    const char type = f[0][0];
    EXPECT_EQ(type, S_ISDIR(st.st_mode) ? 'd' : '-') << l;
    EXPECT_EQ(f[4], std::to_string(st.st_size)) << l;
    ++lines;
  }
  EXPECT_EQ(lines, 4);
  // A subdirectory, by path and by attach name.
  Result sub = RunProc({kDiodls, "-s", addr, "-a", root_, "sub"});
  EXPECT_EQ(sub.code, 0) << sub.err;
  EXPECT_EQ(sub.out, "inner\n");
  Result suba = RunProc({kDiodls, "-s", addr, "-a", root_ + "/sub"});
  EXPECT_EQ(suba.code, 0) << suba.err;
  EXPECT_EQ(suba.out, "inner\n");

  // diodcat: contents, including a file larger than one msize.
  Result cat = RunProc({kDiodcat, "-s", addr, "-a", root_, "hello.txt"});
  ASSERT_EQ(cat.code, 0) << cat.err;
  EXPECT_EQ(cat.out, "hello, diod\n");
  cat = RunProc({kDiodcat, "-s", addr, "-a", root_, "sub/inner"});
  EXPECT_EQ(cat.out, "inner file\n");
  cat = RunProc({kDiodcat, "-s", addr, "-a", root_, "big.bin"});
  ASSERT_EQ(cat.code, 0) << cat.err;
  EXPECT_TRUE(cat.out == ReadHostFile(root_ + "/big.bin"))
      << "big.bin differs (" << cat.out.size() << " bytes)";
  // Through the symlink, or upwards: nothing.
  cat = RunProc({kDiodcat, "-s", addr, "-a", root_, "passwd"});
  EXPECT_NE(cat.code, 0);
  EXPECT_EQ(cat.out, "");
  cat = RunProc({kDiodcat, "-s", addr, "-a", root_, "../canary"});
  EXPECT_NE(cat.code, 0);
  EXPECT_EQ(cat.out, "");
  cat = RunProc({kDiodcat, "-s", addr, "-a", base_.path(), "canary"});
  EXPECT_NE(cat.code, 0);
  EXPECT_EQ(cat.out, "");

  // SIGTERM: a clean exit.
  ASSERT_EQ(::kill(g.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(g.pid, absl::Seconds(10)), 0);
  EXPECT_EQ(Drain(g.err), "");
  ::close(g.out);
  ::close(g.err);
}

TEST_F(GoferBinaryTest, IoFdsServeAClientAndExitWhenPeersHangUp) {
  int sv1[2], sv2[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv1), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
  Child g = Spawn(
      {RunscPath(), "gofer", "--root", root_,
       "--io-fds=" + std::to_string(sv1[1]) + "," + std::to_string(sv2[1])},
      {sv1[1], sv2[1]});
  ::close(sv1[1]);
  ::close(sv2[1]);
  auto c1 = p9::Client::Connect(std::make_unique<p9::SocketTransport>(
      p9::FileDescriptor(sv1[0]), /*pass_fds=*/true));
  ASSERT_TRUE(c1.ok()) << c1.error().ToString();
  auto c2 = p9::Client::Connect(std::make_unique<p9::SocketTransport>(
      p9::FileDescriptor(sv2[0]), /*pass_fds=*/false));
  ASSERT_TRUE(c2.ok());
  p9::Client& c = **c1;
  EXPECT_EQ(c.extension_level(), p9::kExtensionLevel);
  auto root = c.Attach("u", "", 0);
  ASSERT_TRUE(root.ok());
  // Create and write through one connection...
  auto f = c.Walk(root->fid, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(c.Lcreate(f->newfid, "new", kORdwr, 0644, 0).ok());
  ASSERT_TRUE(c.Write(f->newfid, 0, AsBytes("via io-fd")).ok());
  ASSERT_TRUE(c.FsyncClunk(f->newfid).ok());
  EXPECT_EQ(ReadHostFile(root_ + "/new"), "via io-fd");
  // ...read through the other (attached to a subdirectory by name).
  auto r2 = (*c2)->Attach("u", "sub", 0);
  ASSERT_TRUE(r2.ok());
  auto in = (*c2)->Walk(r2->fid, {"inner"});
  ASSERT_TRUE(in.ok());
  ASSERT_TRUE((*c2)->Lopen(in->newfid, kORdonly).ok());
  std::vector<uint8_t> buf(64);
  auto n = (*c2)->Read(in->newfid, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "inner file\n");
  // fd donation over the unix socket with the extended dialect.
  auto h = c.Walk(root->fid, {"hello.txt"});
  ASSERT_TRUE(h.ok());
  auto o = c.Lopen(h->newfid, kORdonly);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->host_fd.valid());
  char hb[32] = {};
  EXPECT_EQ(::pread(o->host_fd.get(), hb, sizeof(hb), 0), 12);
  EXPECT_STREQ(hb, "hello, diod\n");
  // Readdir and the escape basics through the real process.
  EXPECT_EQ(c.Walk(root->fid, {".."}).error(), base::Errno(EINVAL));
  auto pw = c.Walk(root->fid, {"passwd"});
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(c.Lopen(pw->newfid, kORdonly).error(), base::Errno(ELOOP));
  // One peer hangs up: still serving the other.
  c1->reset();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(::waitpid(g.pid, nullptr, WNOHANG), 0);
  EXPECT_TRUE((*c2)->GetAttr(r2->fid).ok());
  // Both gone: a clean exit.
  c2->reset();
  EXPECT_EQ(WaitExit(g.pid, absl::Seconds(10)), 0);
  EXPECT_EQ(Drain(g.err), "");
  ::close(g.out);
  ::close(g.err);
}

// Every operation once through the confined process: a syscall missing from
// the seccomp allowlist kills it (and fails this test with EIO).
TEST_F(GoferBinaryTest, EveryOperationRunsUnderSeccomp) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Child g = Spawn({RunscPath(), "gofer", "--root=" + root_,
                   "--io-fds=" + std::to_string(sv[1])},
                  {sv[1]});
  ::close(sv[1]);
  auto cc = p9::Client::Connect(
      std::make_unique<p9::SocketTransport>(p9::FileDescriptor(sv[0]), true));
  ASSERT_TRUE(cc.ok());
  p9::Client& c = **cc;
  auto root = c.Attach("u", root_, 0);
  ASSERT_TRUE(root.ok());
  const p9::Fid r = root->fid;
  EXPECT_TRUE(c.Mkdir(r, "dir", 0755, 0).ok());
  EXPECT_TRUE(c.Symlink(r, "sym", "dir", 0).ok());
  EXPECT_TRUE(c.Mknod(r, "fifo", S_IFIFO | 0644, 0, 0, 0).ok());
  auto f = c.Walk(r, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(c.UCreate(f->newfid, "file", kORdwr, 0644, 0, 0).ok());
  EXPECT_TRUE(c.Write(f->newfid, 0, AsBytes("0123456789")).ok());
  p9::Tlock lk;
  lk.fid = f->newfid;
  lk.type = p9::kLockTypeWrite;
  EXPECT_TRUE(c.Lock(lk).ok());
  p9::Tgetlock gl;
  gl.fid = f->newfid;
  gl.type = p9::kLockTypeWrite;
  EXPECT_TRUE(c.GetLock(gl).ok());
  EXPECT_TRUE(c.Fsync(f->newfid, true).ok());
  EXPECT_TRUE(c.FsyncClunk(f->newfid).ok());
  auto file = c.WalkGetAttr(r, {"file"});
  ASSERT_TRUE(file.ok());
  p9::SetAttr sa;
  sa.valid = p9::kSetAttrMode | p9::kSetAttrUid | p9::kSetAttrGid |
             p9::kSetAttrSize | p9::kSetAttrAtime | p9::kSetAttrMtime |
             p9::kSetAttrMtimeSet;
  sa.mode = 0600;
  sa.uid = ::geteuid();
  sa.gid = ::getegid();
  sa.size = 3;
  sa.mtime_sec = 12345;
  EXPECT_TRUE(c.SetAttr(file->newfid, sa).ok());
  EXPECT_TRUE(c.Link(r, file->newfid, "hard").ok());
  EXPECT_TRUE(c.Rename(file->newfid, r, "file2").ok());
  EXPECT_TRUE(c.Renameat(r, "hard", r, "hard2").ok());
  EXPECT_TRUE(c.Statfs(r).ok());
  auto s = c.Walk(r, {"sym"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*c.Readlink(s->newfid), "dir");
  auto d = c.Walk(r, {});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(c.Lopen(d->newfid, kORdonly).ok());
  auto ents = c.Readdir(d->newfid, 0);
  ASSERT_TRUE(ents.ok());
  EXPECT_EQ(ents->size(), 9u);  // 4 from SetUp + dir sym fifo file2 hard2
  EXPECT_TRUE(c.Unlinkat(r, "hard2", 0).ok());
  EXPECT_TRUE(c.Remove(file->newfid).ok());
  EXPECT_TRUE(c.Unlinkat(r, "dir", p9::kUnlinkRemoveDir).ok());
  {
    // xattrs (if the host filesystem keeps user.* ones).
    auto x = c.Walk(r, {});
    ASSERT_TRUE(x.ok());
    if (c.Xattrcreate(x->newfid, "user.k", 1, 0).ok()) {
      EXPECT_TRUE(c.Write(x->newfid, 0, AsBytes("v")).ok());
      EXPECT_TRUE(c.Clunk(x->newfid).ok());
      auto w = c.Xattrwalk(r, "user.k");
      ASSERT_TRUE(w.ok());
      EXPECT_EQ(w->size, 1u);
      EXPECT_TRUE(c.Clunk(w->newfid).ok());
      auto l = c.Xattrwalk(r, "");
      ASSERT_TRUE(l.ok());
      EXPECT_TRUE(c.Clunk(l->newfid).ok());
    }
  }
  EXPECT_FALSE(c.dead());
  struct stat st;
  EXPECT_EQ(::stat((root_ + "/file2").c_str(), &st), -1);
  EXPECT_TRUE(HostExists(root_ + "/fifo"));
  cc->reset();
  EXPECT_EQ(WaitExit(g.pid, absl::Seconds(10)), 0);
  EXPECT_EQ(Drain(g.err), "");
  ::close(g.out);
  ::close(g.err);
}

TEST_F(GoferBinaryTest, ReadOnlyOverUnixListener) {
  // sun_path is short: not under TEST_TMPDIR.
  const std::string sock =
      "/tmp/fsgofer_test." + std::to_string(::getpid()) + ".sock";
  Child g = Spawn({RunscPath(), "gofer", "--root=" + root_,
                   "--listen=unix:" + sock, "--ro"});
  int fd = -1;
  for (int i = 0; i < 500 && fd < 0; ++i) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock.c_str());
    if (::connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
      fd = s;
    } else {
      ::close(s);
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  if (fd < 0) ::kill(g.pid, SIGKILL);
  ASSERT_GE(fd, 0) << Drain(g.err);
  {
    auto c = p9::Client::Connect(
        std::make_unique<p9::SocketTransport>(p9::FileDescriptor(fd), true));
    ASSERT_TRUE(c.ok());
    auto root = (*c)->Attach("u", "", 0);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ((*c)->Mkdir(root->fid, "x", 0755, 0).error(), base::Errno(EROFS));
    auto h = (*c)->Walk(root->fid, {"hello.txt"});
    ASSERT_TRUE(h.ok());
    EXPECT_EQ((*c)->Lopen(h->newfid, kORdwr).error(), base::Errno(EROFS));
    EXPECT_TRUE((*c)->Lopen(h->newfid, kORdonly).ok());
  }
  EXPECT_FALSE(HostExists(root_ + "/x"));
  ASSERT_EQ(::kill(g.pid, SIGINT), 0);
  EXPECT_EQ(WaitExit(g.pid, absl::Seconds(10)), 0);
  ::unlink(sock.c_str());
  ::close(g.out);
  ::close(g.err);
}

// One line on stderr, a non-zero exit.
void ExpectOneLineError(const std::vector<std::string>& args,
                        const std::string& contains) {
  std::vector<std::string> argv = {RunscPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  Result r = RunProc(argv);
  SCOPED_TRACE(absl::StrJoin(args, " "));
  EXPECT_GT(r.code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(contains), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(GoferBinaryTest, CommandLineErrors) {
  const std::string root = "--root=" + root_;
  ExpectOneLineError({"gofer", "--listen=tcp:127.0.0.1:1"}, "--root");
  ExpectOneLineError(
      {"gofer", "--root=" + base_.Sub("missing"), "--listen=tcp:127.0.0.1:1"},
      "No such file");
  ExpectOneLineError(
      {"gofer", "--root=" + root_ + "/hello.txt", "--listen=tcp:127.0.0.1:1"},
      "not a directory");
  ExpectOneLineError({"gofer", root}, "exactly one of");
  ExpectOneLineError({"gofer", root, "--io-fds=5", "--listen=unix:/x"},
                     "exactly one of");
  ExpectOneLineError({"gofer", root, "--listen=bogus"}, "--listen");
  ExpectOneLineError({"gofer", root, "--listen=tcp:10.1.2.3:564"}, "loopback");
  ExpectOneLineError({"gofer", root, "--listen=tcp:127.0.0.1:99999"},
                     "--listen");
  ExpectOneLineError({"gofer", root, "--listen=tcp:127.0.0.1"}, "--listen");
  ExpectOneLineError({"gofer", root, "--io-fds=abc"}, "--io-fds");
  ExpectOneLineError({"gofer", root, "--io-fds=0"}, "not a socket");
  ExpectOneLineError({"gofer", root, "--io-fds=250"}, "not a socket");
  ExpectOneLineError({"gofer", root, "--bogus"}, "unknown flag");
  ExpectOneLineError({"gofer", "--root"}, "needs a value");
  ExpectOneLineError({"gofer", root, "--io-fds=3", "--log-format=xml"},
                     "--log-format must be text or json");
  ExpectOneLineError({"gofer", root, "--io-fds=3", "--status-fd=250"},
                     "--status-fd");
  ExpectOneLineError({"gofer", root, "--io-fds=3", "--status-fd=1"},
                     "--status-fd");
  ExpectOneLineError({"nosuch"}, "unknown subcommand");
}

// A gofer started as `argv` --io-fds=S --status-fd=W: the running child,
// our end of its socket, and what it wrote on the status fd (read to EOF,
// so it is confined or gone).
struct StatusGofer {
  Child child;
  int peer = -1;
  std::string status;
};

StatusGofer StartWithStatusFd(std::vector<std::string> argv) {
  int sv[2], st[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
      ::pipe2(st, O_CLOEXEC) != 0) {
    std::abort();
  }
  argv.push_back("--io-fds=" + std::to_string(sv[1]));
  argv.push_back("--status-fd=" + std::to_string(st[1]));
  StatusGofer g;
  g.child = Spawn(argv, {sv[1], st[1]});
  ::close(sv[1]);
  ::close(st[1]);
  g.status = Drain(st[0]);
  ::close(st[0]);
  g.peer = sv[0];
  return g;
}

// Waits for the exit status; returns it, and its stderr in *err.
int FinishChild(Child& c, std::string* err) {
  int code = WaitExit(c.pid, absl::Seconds(10));
  *err = Drain(c.err);
  ::close(c.out);
  ::close(c.err);
  return code;
}

// --status-fd: "ready" once confined, or the error line (and then nothing
// on stderr: the parent reports it).
TEST_F(GoferBinaryTest, StatusFdSaysReadyOrWhy) {
  for (const bool ok : {true, false}) {
    SCOPED_TRACE(ok ? "ready" : "error");
    StatusGofer g =
        StartWithStatusFd({RunscPath(), "gofer",
                           "--root=" + (ok ? root_ : root_ + "/hello.txt/x")});
    if (ok) {
      EXPECT_EQ(g.status, "ready\n");
      EXPECT_EQ(ProcStatusField(g.child.pid, "Seccomp"), "2");
    } else {
      EXPECT_EQ(g.status,
                "error: --root: " + root_ + "/hello.txt/x: Not a directory\n");
    }
    ::close(g.peer);  // the peer hangs up: the gofer exits
    std::string err;
    EXPECT_EQ(FinishChild(g.child, &err), ok ? 0 : 1);
    EXPECT_EQ(err, "");
  }
}

// SIGTERM stops an --io-fds gofer whose peer is still connected (it used
// to wait for the peer instead).
TEST_F(GoferBinaryTest, SigtermStopsAnIoFdGoferWithAConnectedPeer) {
  StatusGofer g =
      StartWithStatusFd({RunscPath(), "gofer", "--root=" + root_, "--debug"});
  ASSERT_EQ(g.status, "ready\n");
  auto c = p9::Client::Connect(std::make_unique<p9::SocketTransport>(
      p9::FileDescriptor(g.peer), /*pass_fds=*/true));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Attach("u", "", 0).ok());
  ASSERT_EQ(::kill(g.child.pid, SIGTERM), 0);
  std::string err;
  EXPECT_EQ(FinishChild(g.child, &err), 0);
  EXPECT_NE(err.find("runsc gofer: debug: confined to " + root_ + ": "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("runsc gofer: debug: stopped by a signal; exiting\n"),
            std::string::npos)
      << err;
}

// An ordinary user's gofer, in the user namespace it makes for itself:
// its own files carry its uid, others' the overflow id; a chown it may not
// do is EPERM; it is confined as root's is (no capabilities at all).
TEST_F(GoferBinaryTest, AnOrdinaryUsersGoferInItsOwnUserNamespace) {
  constexpr uid_t kUser = 23456;
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
  if (ReadHostFile("/proc/sys/user/max_user_namespaces") == "0\n" ||
      ReadHostFile("/proc/sys/kernel/unprivileged_userns_clone") == "0\n") {
    GTEST_SKIP() << "unprivileged user namespaces are forbidden here";
  }
  // Somewhere the user can reach ($TEST_TMPDIR is under root's home).
  char t[] = "/tmp/gofer_userXXXXXX";
  ASSERT_NE(::mkdtemp(t), nullptr);
  const std::string top = t, dir = top + "/root", bin = top + "/runsc";
  ASSERT_EQ(::chmod(top.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chown(dir.c_str(), kUser, kUser), 0);
  WriteHostFile(dir + "/rootfile", "r");
  WriteHostFile(bin, ReadHostFile(RunscPath()));
  ASSERT_EQ(::chmod(bin.c_str(), 0755), 0);
  const std::string overflow = ReadHostFile("/proc/sys/kernel/overflowuid");

  StatusGofer sg =
      StartWithStatusFd({"/usr/bin/setpriv", "--reuid=23456", "--regid=23456",
                         "--clear-groups", bin, "gofer", "--root=" + dir});
  Child& g = sg.child;
  ASSERT_EQ(sg.status, "ready\n");
  EXPECT_EQ(ProcStatusField(g.pid, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatusField(g.pid, "Seccomp"), "2");
  EXPECT_EQ(ProcStatusField(g.pid, "CapEff"), "0000000000000000");
  char a[64] = {}, b[64] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(g.pid) + "/ns/user").c_str(),
                       a, sizeof(a)),
            0);
  ASSERT_GT(::readlink("/proc/self/ns/user", b, sizeof(b)), 0);
  EXPECT_STRNE(a, b) << "no user namespace of its own";

  {
    auto c = p9::Client::Connect(std::make_unique<p9::SocketTransport>(
        p9::FileDescriptor(sg.peer), /*pass_fds=*/true));
    ASSERT_TRUE(c.ok());
    auto root = (*c)->Attach("u", "", 0);
    ASSERT_TRUE(root.ok());
    auto ra = (*c)->GetAttr(root->fid);
    ASSERT_TRUE(ra.ok());
    EXPECT_EQ(ra->uid, kUser);
    auto rf = (*c)->WalkGetAttr(root->fid, {"rootfile"});
    ASSERT_TRUE(rf.ok());
    EXPECT_EQ(std::to_string(rf->attr.uid) + "\n", overflow);
    EXPECT_EQ(std::to_string(rf->attr.gid) + "\n",
              ReadHostFile("/proc/sys/kernel/overflowgid"));
    // A file of its own: created as the user, and not to be given away.
    auto f = (*c)->Walk(root->fid, {});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*c)->Lcreate(f->newfid, "mine", kORdwr, 0644, 0).ok());
    struct stat hs;
    ASSERT_EQ(::lstat((dir + "/mine").c_str(), &hs), 0);
    EXPECT_EQ(hs.st_uid, kUser);
    p9::SetAttr sa;
    sa.valid = p9::kSetAttrUid;
    sa.uid = 0;
    EXPECT_EQ((*c)->SetAttr(f->newfid, sa), base::Errno(EPERM));
    sa.uid = kUser;  // its own id: a no-op chown is allowed
    EXPECT_TRUE((*c)->SetAttr(f->newfid, sa).ok());
    // Root's file is root's: the gofer has no capability over it.
    ASSERT_TRUE((*c)->Lopen(rf->newfid, kOWronly).error() ==
                base::Errno(EACCES));
    EXPECT_EQ((*c)->Walk(root->fid, {".."}).error(), base::Errno(EINVAL));
  }
  std::string err;
  EXPECT_EQ(FinishChild(g, &err), 0);
  EXPECT_EQ(err, "");
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(top, ec);
}

TEST_F(GoferBinaryTest, HelpAndVersion) {
  Result v = RunProc({RunscPath(), "--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("runsc version ", 0), 0u) << v.out;
  Result h = RunProc({RunscPath(), "help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("gofer"), std::string::npos);
  Result hg = RunProc({RunscPath(), "help", "gofer"});
  EXPECT_EQ(hg.code, 0);
  EXPECT_NE(hg.out.find("--io-fds"), std::string::npos);
  Result none = RunProc({RunscPath()});
  EXPECT_NE(none.code, 0);
}

}  // namespace
}  // namespace fsgofer::testing
