// The client against a real 9P2000.L server: Debian's diod, spawned on a
// socketpair (diod -r FD -w FD) serving a temporary directory. Checks the
// host directory's state after each operation, and the version fallback
// (diod only speaks plain 9P2000.L). Skips if diod is not installed.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "p9/client.h"
#include "p9/transport.h"

namespace p9 {
namespace {

using base::Errno;

constexpr char kDiod[] = "/usr/sbin/diod";
// Linux open(2) flags, as 9P2000.L carries them.
constexpr uint32_t kORdonly = 0;
constexpr uint32_t kORdwr = 02;
constexpr uint32_t kOCreat = 0100;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ReadHostFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DiodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kDiod, X_OK) != 0) GTEST_SKIP() << "diod not installed";
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/p9diod.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    client_ = Spawn();
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    client_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;  // best effort, as rm -rf
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Starts diod on one end of a socketpair and connects a client to the
  // other end.
  std::unique_ptr<Client> Spawn(Client::Options opts = {}) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return nullptr;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: keep sv[1] across exec.
      int fd = ::dup(sv[1]);  // dup clears FD_CLOEXEC.
      std::string fds = std::to_string(fd);
      ::execl(kDiod, "diod", "-f", "-n", "-N", "-r", fds.c_str(), "-w",
              fds.c_str(), "-e", dir_.c_str(), "-c", "/dev/null", "-L",
              "stderr", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(sv[1]);
    auto c = Client::Connect(
        std::make_unique<SocketTransport>(FileDescriptor(sv[0]), false), opts);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  Fid Attach() {
    auto a = client_->Attach("root", dir_, ::getuid());
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? a->fid : kNoFid;
  }

  std::string Host(const std::string& rel) { return dir_ + "/" + rel; }

  std::string dir_;
  pid_t pid_ = -1;
  std::unique_ptr<Client> client_;
};

TEST_F(DiodTest, FallsBackToPlain9P2000L) {
  EXPECT_EQ(client_->version(), "9P2000.L");
  EXPECT_EQ(client_->extension_level(), 0);
  EXPECT_GE(client_->msize(), kMinMsize);
  EXPECT_LE(client_->msize(), kDefaultMsize);
}

TEST_F(DiodTest, FileOperations) {
  Client& c = *client_;
  Fid root = Attach();
  ASSERT_NE(root, kNoFid);
  auto rattr = c.GetAttr(root);
  ASSERT_TRUE(rattr.ok());
  EXPECT_TRUE(S_ISDIR(rattr->mode));

  // lcreate + write + read.
  auto w = c.Walk(root, {});
  ASSERT_TRUE(w.ok());
  Fid f = w->newfid;
  auto cr = c.Lcreate(f, "a.txt", kORdwr | kOCreat, 0644, ::getgid());
  ASSERT_TRUE(cr.ok()) << cr.error().ToString();
  const std::string text = "hello from p9";
  auto n = c.Write(f, 0, AsBytes(text));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, text.size());
  std::vector<uint8_t> buf(64);
  auto r = c.Read(f, 6, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *r), "from p9");
  EXPECT_TRUE(c.Fsync(f).ok());
  EXPECT_TRUE(c.Clunk(f).ok());
  EXPECT_EQ(ReadHostFile(Host("a.txt")), text);

  // getattr via the WalkGetAttr fallback.
  auto wg = c.WalkGetAttr(root, {"a.txt"});
  ASSERT_TRUE(wg.ok());
  EXPECT_EQ(wg->attr.size, text.size());
  EXPECT_TRUE(S_ISREG(wg->attr.mode));
  EXPECT_EQ(wg->attr.mode & 0777, 0644u);
  // setattr: truncate.
  p9::SetAttr sa;
  sa.valid = kSetAttrSize;
  sa.size = 5;
  EXPECT_TRUE(c.SetAttr(wg->newfid, sa).ok());
  EXPECT_EQ(ReadHostFile(Host("a.txt")), "hello");
  EXPECT_TRUE(c.Clunk(wg->newfid).ok());

  // mkdir, renameat into it.
  auto mq = c.Mkdir(root, "sub", 0755, ::getgid());
  ASSERT_TRUE(mq.ok());
  EXPECT_EQ(mq->type & kQidTypeDir, kQidTypeDir);
  struct stat st;
  ASSERT_EQ(::stat(Host("sub").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(c.Mkdir(root, "sub", 0755, ::getgid()).error(), Errno(EEXIST));
  auto sub = c.Walk(root, {"sub"});
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(c.Renameat(root, "a.txt", sub->newfid, "b.txt").ToString(),
            Errno().ToString());
  EXPECT_NE(::access(Host("a.txt").c_str(), F_OK), 0);
  EXPECT_EQ(ReadHostFile(Host("sub/b.txt")), "hello");

  // readdir.
  auto d = c.Walk(root, {"sub"});
  ASSERT_TRUE(c.Lopen(d->newfid, kORdonly).ok());
  std::set<std::string> names;
  uint64_t off = 0;
  for (;;) {
    auto ents = c.Readdir(d->newfid, off);
    ASSERT_TRUE(ents.ok()) << ents.error().ToString();
    if (ents->empty()) break;
    for (const auto& e : *ents) names.insert(e.name);
    off = ents->back().offset;
  }
  EXPECT_TRUE(names.contains("b.txt"));
  EXPECT_TRUE(c.Clunk(d->newfid).ok());

  // statfs.
  auto sfs = c.Statfs(root);
  ASSERT_TRUE(sfs.ok());
  EXPECT_GT(sfs->bsize, 0u);
  EXPECT_GT(sfs->namelen, 0u);

  // symlink/readlink, link, mknod.
  ASSERT_TRUE(c.Symlink(root, "ln", "sub/b.txt", ::getgid()).ok());
  char target[64] = {};
  ASSERT_GT(::readlink(Host("ln").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "sub/b.txt");
  auto l = c.Walk(root, {"ln"});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*c.Readlink(l->newfid), "sub/b.txt");
  auto b = c.Walk(root, {"sub", "b.txt"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->qids.size(), 2u);
  EXPECT_TRUE(c.Link(root, b->newfid, "hard").ok());
  ASSERT_EQ(::stat(Host("hard").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_TRUE(c.Mknod(root, "fifo", S_IFIFO | 0600, 0, 0, ::getgid()).ok());
  ASSERT_EQ(::stat(Host("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  // Locks.
  auto lf = c.Walk(root, {"hard"});
  ASSERT_TRUE(c.Lopen(lf->newfid, kORdwr).ok());
  Tlock lk;
  lk.fid = lf->newfid;
  lk.type = kLockTypeWrite;
  lk.length = 10;
  lk.proc_id = ::getpid();
  lk.client_id = "p9test";
  EXPECT_EQ(*c.Lock(lk), kLockStatusSuccess);
  Tgetlock gl;
  gl.fid = lf->newfid;
  gl.type = kLockTypeWrite;
  gl.length = 10;
  gl.proc_id = ::getpid();
  gl.client_id = "p9test";
  EXPECT_TRUE(c.GetLock(gl).ok());

  // unlinkat.
  EXPECT_EQ(c.Unlinkat(root, "sub", kUnlinkRemoveDir), Errno(ENOTEMPTY));
  EXPECT_TRUE(c.Unlinkat(sub->newfid, "b.txt", 0).ok());
  EXPECT_TRUE(c.Unlinkat(root, "sub", kUnlinkRemoveDir).ok());
  EXPECT_NE(::access(Host("sub").c_str(), F_OK), 0);

  // Errors are the server's errnos.
  EXPECT_EQ(c.Walk(root, {"missing"}).error(), Errno(ENOENT));
  EXPECT_FALSE(c.Walk(root, {"hard", "x"}).ok());
  EXPECT_EQ(c.Unlinkat(root, "hard", kUnlinkRemoveDir), Errno(ENOTDIR));
  EXPECT_EQ(c.Unlinkat(root, "missing", 0), Errno(ENOENT));
  EXPECT_TRUE(c.Unlinkat(root, "hard", 0).ok());
  EXPECT_NE(::access(Host("hard").c_str(), F_OK), 0);
}

TEST_F(DiodTest, ExtensionFallbacksAgainstPlainServer) {
  Client& c = *client_;
  Fid root = Attach();
  auto w = c.Walk(root, {});
  // UCreate falls back to Tlcreate + Tsetattr(uid, gid).
  const uint32_t uid = ::getuid() == 0 ? 1234 : ::getuid();
  auto o =
      c.UCreate(w->newfid, "owned", kORdwr | kOCreat, 0600, uid, ::getgid());
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  ASSERT_EQ(*c.Write(w->newfid, 0, AsBytes("x")), 1u);
  // FsyncClunk falls back to Tfsync + Tclunk.
  EXPECT_TRUE(c.FsyncClunk(w->newfid).ok());
  struct stat st;
  ASSERT_EQ(::stat(Host("owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_size, 1);
  auto wg = c.WalkGetAttr(root, {"owned"});
  ASSERT_TRUE(wg.ok());
  EXPECT_EQ(wg->attr.uid, uid);
}

TEST_F(DiodTest, ConcurrentClients) {
  Client& c = *client_;
  Fid root = Attach();
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::string name = "f" + std::to_string(t);
      auto w = c.Walk(root, {});
      if (!w.ok() ||
          !c.Lcreate(w->newfid, name, kORdwr | kOCreat, 0644, ::getgid())
               .ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < 50; ++i) {
        std::string data = name + "#" + std::to_string(i);
        if (*c.Write(w->newfid, 0, AsBytes(data)) != data.size()) ++failures;
        std::vector<uint8_t> buf(data.size());
        auto n = c.Read(w->newfid, 0, buf);
        if (!n.ok() || std::string(buf.begin(), buf.end()) != data) {
          ++failures;
        }
      }
      if (!c.Clunk(w->newfid).ok()) ++failures;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadHostFile(Host("f3")), "f3#49");
}

TEST_F(DiodTest, ServerDeathGivesEio) {
  Fid root = Attach();
  ASSERT_TRUE(client_->GetAttr(root).ok());
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  EXPECT_EQ(client_->GetAttr(root).error(), Errno(EIO));
  EXPECT_TRUE(client_->dead());
}

}  // namespace
}  // namespace p9
