// The gofer client against a hostile server: a 9P peer whose replies are
// well formed but lie (cycles, impossible attributes, garbage directory
// entries, walks longer than asked), and one whose replies are corrupted
// byte by byte. Whatever the server says, the client must not crash,
// hang, loop or hand the VFS a name it could never have: every call
// returns a value or an errno. Run under ASan in CI (see .ci/run).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "p9/memfs_handler.h"
#include "p9/server.h"
#include "p9/transport.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::gofer {
namespace {

using base::Errno;
using base::ErrnoOr;
using testutil::Succeeds;
using testutil::WriteFile;

bool IsErrnoResult(long r) { return r >= -4095 && r <= -1; }

// The lies a HostileHandler tells, one at a time.
enum class Lie {
  kNone,
  kWalkLongerThanAsked,  // Rwalk/Rwalkstat with more elements than names
  kChildIsParent,        // every directory's children have its own qid
  kDirBecomesFile,       // getattr of a directory says S_IFREG, and back
  kAbsurdAttrs,          // sizes, times, nlink, blksize out of range
  kGarbageDirents,       // "", ".", "..", "a/b", NUL, duplicates, loops
  kHugeSymlink,          // readlink gives a 65535-byte target
  kBadErrno,             // errors with numbers Linux does not have
  kAbsurdStatfs,
};

// MemFsHandler with one lie switched on after the tree is built.
class HostileHandler : public p9::testing::MemFsHandler {
 public:
  void Tell(Lie l) { lie_.store(l); }
  Lie lie() const { return lie_.load(); }

  ErrnoOr<p9::Rwalk> Walk(const p9::Twalk& t) override {
    ASSIGN_OR_RETURN(p9::Rwalk r, MemFsHandler::Walk(t));
    if (lie() == Lie::kWalkLongerThanAsked && !r.qids.empty() &&
        r.qids.size() < p9::kMaxWalkNames) {
      r.qids.push_back(r.qids.back());
    }
    if (lie() == Lie::kChildIsParent && !t.names.empty() && !r.qids.empty()) {
      auto parent = MemFsHandler::GetAttr(p9::Tgetattr{t.fid, 0});
      if (parent.ok() && (r.qids.back().type & p9::kQidTypeDir)) {
        for (auto& q : r.qids) q = parent->attr.qid;
      }
    }
    return r;
  }
  ErrnoOr<p9::Rwalkstat> WalkStat(const p9::Twalkstat& t) override {
    ASSIGN_OR_RETURN(p9::Rwalkstat r, Handler::WalkStat(t));
    if (lie() == Lie::kWalkLongerThanAsked && !r.attrs.empty() &&
        r.attrs.size() < p9::kMaxWalkNames) {
      r.attrs.push_back(r.attrs.back());
    }
    if (lie() == Lie::kChildIsParent) {
      for (auto& a : r.attrs) {
        if (S_ISDIR(a.mode)) a.qid = r.dir.qid;
      }
    }
    // (Handler::WalkStat got its attrs from GetAttr below: distorted.)
    return r;
  }
  ErrnoOr<p9::Rgetattr> GetAttr(const p9::Tgetattr& t) override {
    ASSIGN_OR_RETURN(p9::Rgetattr r, MemFsHandler::GetAttr(t));
    Distort(&r.attr);
    return r;
  }
  ErrnoOr<p9::Rreaddir> Readdir(const p9::Treaddir& t) override {
    if (lie() != Lie::kGarbageDirents) return MemFsHandler::Readdir(t);
    // Always the same page, whatever the offset: a client that trusts
    // offsets to advance reads forever.
    p9::Rreaddir r;
    const std::string names[] = {"",
                                 ".",
                                 "..",
                                 "a/b",
                                 std::string("x\0y", 3),
                                 "dup",
                                 "dup",
                                 "fine",
                                 std::string(300, 'n')};
    uint64_t off = 1;
    for (const std::string& n : names) {
      p9::Dirent d;
      d.qid = p9::Qid{0, 0, 1000 + off};
      d.offset = off++ % 3;  // offsets that go back
      d.type = DT_REG;
      d.name = n;
      r.entries.push_back(d);
    }
    return r;
  }
  ErrnoOr<p9::Rreadlink> Readlink(const p9::Treadlink& t) override {
    if (lie() == Lie::kHugeSymlink) {
      return p9::Rreadlink{std::string(p9::kMaxStringLength, 'L')};
    }
    return MemFsHandler::Readlink(t);
  }
  ErrnoOr<p9::Rmkdir> Mkdir(const p9::Tmkdir& t) override {
    if (lie() == Lie::kBadErrno) return Errno(4000);
    return MemFsHandler::Mkdir(t);
  }
  ErrnoOr<p9::Rlopen> Lopen(const p9::Tlopen& t,
                            p9::FileDescriptor* donate) override {
    if (lie() == Lie::kBadErrno) return Errno(100000);
    ASSIGN_OR_RETURN(p9::Rlopen r, MemFsHandler::Lopen(t, donate));
    if (lie() == Lie::kAbsurdAttrs) r.iounit = 0xFFFFFFFFu;
    return r;
  }
  ErrnoOr<p9::Rstatfs> Statfs(const p9::Tstatfs& t) override {
    ASSIGN_OR_RETURN(p9::Rstatfs r, MemFsHandler::Statfs(t));
    if (lie() == Lie::kAbsurdStatfs) {
      r.statfs.bsize = 0;
      r.statfs.blocks = ~0ull;
      r.statfs.bfree = ~0ull;
      r.statfs.bavail = ~0ull;
      r.statfs.files = 0;
      r.statfs.ffree = ~0ull;
      r.statfs.namelen = 0;
    }
    return r;
  }

 private:
  void Distort(p9::Attr* a) const {
    switch (lie()) {
      case Lie::kDirBecomesFile:
        a->mode = (a->mode & 07777) |
                  (S_ISDIR(a->mode) ? S_IFREG
                                    : (S_ISREG(a->mode) ? S_IFDIR : S_IFLNK));
        break;
      case Lie::kAbsurdAttrs:
        a->size = ~0ull;
        a->blocks = ~0ull;
        a->nlink = 0;
        a->blksize = 3;
        a->atime_sec = a->mtime_sec = a->ctime_sec = ~0ull;
        a->atime_nsec = a->mtime_nsec = a->ctime_nsec = ~0ull;
        a->mode |= 0170000;  // every type bit at once
        break;
      default:
        break;
    }
  }

  std::atomic<Lie> lie_{Lie::kNone};
};

// A transport that corrupts the replies it receives: with probability
// 1/every, one to three random bytes of a message change.
class CorruptingTransport : public p9::Transport {
 public:
  CorruptingTransport(std::unique_ptr<p9::Transport> t, uint32_t seed,
                      int every)
      : t_(std::move(t)), rng_(seed), every_(every) {}
  Errno Send(std::span<const uint8_t> head, std::span<const uint8_t> tail,
             int fd) override {
    return t_->Send(head, tail, fd);
  }
  Errno Recv(uint32_t max, std::vector<uint8_t>* msg,
             p9::FileDescriptor* fd) override {
    RETURN_IF_ERRNO(t_->Recv(max, msg, fd));
    std::lock_guard<std::mutex> l(mu_);
    // Leave Rversion alone so that the mount gets going.
    if (++count_ > 1 && msg->size() > 4 &&
        std::uniform_int_distribution<int>(0, every_ - 1)(rng_) == 0) {
      const int n = std::uniform_int_distribution<int>(1, 3)(rng_);
      for (int i = 0; i < n; ++i) {
        const size_t at =
            std::uniform_int_distribution<size_t>(4, msg->size() - 1)(rng_);
        (*msg)[at] ^= static_cast<uint8_t>(
            std::uniform_int_distribution<int>(1, 255)(rng_));
      }
      ++corrupted_;
    }
    return Errno();
  }
  void Shutdown() override { t_->Shutdown(); }
  bool CanPassFds() const override { return t_->CanPassFds(); }
  int corrupted() {
    std::lock_guard<std::mutex> l(mu_);
    return corrupted_;
  }

 private:
  std::unique_ptr<p9::Transport> t_;
  std::mutex mu_;
  std::mt19937 rng_;
  const int every_;
  int count_ = 0;
  int corrupted_ = 0;
};

// A server thread over one end of a socketpair; the client mount over the
// other end (through `wrap`, if given).
class Peer {
 public:
  Peer(p9::Handler* h, CachePolicy policy,
       std::function<
           std::unique_ptr<p9::Transport>(std::unique_ptr<p9::Transport>)>
           wrap = nullptr) {
    auto pair = p9::SocketPair(false);
    EXPECT_TRUE(pair.ok());
    server_ = std::make_unique<p9::Server>(std::move(pair->second), h);
    serve_ = std::thread([this] { (void)server_->Serve(); });
    std::unique_ptr<p9::Transport> t = std::move(pair->first);
    if (wrap) t = wrap(std::move(t));
    MountOptions o;
    o.policy = policy;
    context::Context ctx(kernel::auth::Credentials::Root());
    auto root = MountOverTransport(ctx, std::move(t), o);
    if (!root.ok()) {
      mount_error_ = root.error();
      return;
    }
    ns_ = MountNamespace::New(Dirent::NewRoot(std::move(*root)));
    task_ =
        std::make_unique<kernel::Task>(ns_, kernel::auth::Credentials::Root());
  }
  ~Peer() {
    task_.reset();
    if (ns_) ns_->Root().dirent->DetachTree();
    ns_.reset();
    server_->Stop();
    serve_.join();
  }
  kernel::Task* task() { return task_.get(); }
  Errno mount_error() const { return mount_error_; }

 private:
  std::unique_ptr<p9::Server> server_;
  std::thread serve_;
  RefPtr<MountNamespace> ns_;
  std::unique_ptr<kernel::Task> task_;
  Errno mount_error_;
};

// /d/e/f (file "hello"), /d/link -> e, /top (file).
void BuildTree(kernel::Task* t) {
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/d/e", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t, "/d/e/f", "hello"), Succeeds());
  ASSERT_THAT(WriteFile(t, "/top", "x"), Succeeds());
  ASSERT_THAT(t->Symlinkat("e", AT_FDCWD, "/d/link"), Succeeds());
}

// Every kind of call the VFS makes of a gofer mount, checking only what
// must hold whatever the server says.
void Exercise(kernel::Task* t) {
  struct stat st;
  for (const char* p : {"/", "/d", "/d/e", "/d/e/f", "/d/link/f", "/top",
                        "/d/e/f/x", "/d/d/d/d/d/d/d/d", "/nope/x"}) {
    long r = t->Fstatat(AT_FDCWD, p, &st, 0);
    EXPECT_TRUE(r == 0 || IsErrnoResult(r)) << p << " " << r;
    r = t->Fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW);
    EXPECT_TRUE(r == 0 || IsErrnoResult(r)) << p << " " << r;
  }
  for (const char* p : {"/", "/d", "/d/e"}) {
    long fd = t->Open(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
      EXPECT_TRUE(IsErrnoResult(fd));
      continue;
    }
    alignas(8) char buf[4096];
    for (int round = 0; round < 64; ++round) {  // bounded, whatever it says
      long n = t->Getdents64(static_cast<int>(fd), buf, sizeof(buf));
      if (n <= 0) {
        EXPECT_TRUE(n == 0 || IsErrnoResult(n)) << n;
        break;
      }
      for (long off = 0; off < n;) {
        auto* e = reinterpret_cast<linux_abi::Dirent64Header*>(buf + off);
        ASSERT_GT(e->d_reclen, 0);
        ASSERT_LE(off + e->d_reclen, n);
        const char* name = buf + off + linux_abi::kDirent64NameOffset;
        const size_t len =
            strnlen(name, e->d_reclen - linux_abi::kDirent64NameOffset);
        EXPECT_GT(len, 0u) << "empty name from getdents";
        EXPECT_EQ(std::string_view(name, len).find('/'), std::string_view::npos)
            << "a name with '/' from getdents";
        off += e->d_reclen;
      }
    }
    t->Close(static_cast<int>(fd));
  }
  {
    long fd = t->Open("/d/e/f", O_RDWR);
    EXPECT_TRUE(fd >= 0 || IsErrnoResult(fd));
    if (fd >= 0) {
      char buf[256];
      long n = t->Pread64(static_cast<int>(fd), buf, sizeof(buf), 0);
      EXPECT_TRUE((n >= 0 && n <= static_cast<long>(sizeof(buf))) ||
                  IsErrnoResult(n));
      n = t->Pwrite64(static_cast<int>(fd), "abc", 3, 2);
      EXPECT_TRUE(n == 3 || IsErrnoResult(n)) << n;
      n = t->Lseek(static_cast<int>(fd), 0, SEEK_END);
      EXPECT_TRUE(n >= 0 || IsErrnoResult(n));
      t->Close(static_cast<int>(fd));
    }
  }
  char link[8192];
  long n = t->Readlinkat(AT_FDCWD, "/d/link", link, sizeof(link));
  EXPECT_TRUE((n >= 0 && n <= static_cast<long>(sizeof(link))) ||
              IsErrnoResult(n));
  for (long r :
       {t->Mkdirat(AT_FDCWD, "/d/new", 0700), WriteFile(t, "/d/e/g", "data"),
        t->Renameat2(AT_FDCWD, "/d/e/g", AT_FDCWD, "/d/g2", 0),
        t->Unlinkat(AT_FDCWD, "/d/g2", 0),
        t->Unlinkat(AT_FDCWD, "/d/new", AT_REMOVEDIR),
        t->Fchmodat(AT_FDCWD, "/top", 0600), t->Truncate("/top", 100)}) {
    EXPECT_TRUE(r >= 0 || IsErrnoResult(r)) << r;
  }
  struct statfs sfs;
  long r = t->Statfs("/", &sfs);
  EXPECT_TRUE(r == 0 || IsErrnoResult(r));
  char cwd[4096];
  if (t->Chdir("/d/e") == 0) {
    r = t->Getcwd(cwd, sizeof(cwd));
    EXPECT_TRUE(r > 0 || IsErrnoResult(r));
    t->Chdir("/");
  }
}

class LieTest : public ::testing::TestWithParam<std::tuple<Lie, CachePolicy>> {
};

TEST_P(LieTest, ClientSurvivesAndAnswers) {
  const auto [lie, policy] = GetParam();
  HostileHandler h;
  Peer peer(&h, policy);
  ASSERT_TRUE(peer.mount_error().ok());
  BuildTree(peer.task());
  h.Tell(lie);
  Exercise(peer.task());
  // Twice: now with whatever the first round cached.
  Exercise(peer.task());
  h.Tell(Lie::kNone);
  // The truth again: the mount still works (where the cache allows).
  struct stat st;
  EXPECT_THAT(peer.task()->Fstatat(AT_FDCWD, "/", &st, 0), Succeeds());
}

// Specific answers, not just survival.
TEST(HostileServerTest, SpecificAnswers) {
  for (CachePolicy policy : {CachePolicy::kRevalidate, CachePolicy::kNone}) {
    HostileHandler h;
    Peer peer(&h, policy);
    ASSERT_TRUE(peer.mount_error().ok());
    kernel::Task* t = peer.task();
    BuildTree(t);
    struct stat st;
    // A walk reply longer than the walk is a protocol violation: EIO.
    h.Tell(Lie::kWalkLongerThanAsked);
    EXPECT_EQ(t->Fstatat(AT_FDCWD, "/d/e/f", &st, 0), -EIO);
    // A directory whose child claims the directory's own identity: no
    // cycle in the tree, and the walk ends.
    h.Tell(Lie::kChildIsParent);
    long r = t->Fstatat(AT_FDCWD, "/d/e/f", &st, 0);
    EXPECT_TRUE(r == 0 || IsErrnoResult(r));
    // Errno numbers Linux lacks become EIO.
    h.Tell(Lie::kBadErrno);
    EXPECT_EQ(t->Mkdirat(AT_FDCWD, "/d/bad", 0755), -EIO);
    // A symlink target no Linux symlink can have (over PATH_MAX) is
    // neither followed nor read back.
    h.Tell(Lie::kHugeSymlink);
    EXPECT_EQ(t->Fstatat(AT_FDCWD, "/d/link/f", &st, 0), -ENAMETOOLONG);
    char buf[100];
    EXPECT_EQ(t->Readlinkat(AT_FDCWD, "/d/link", buf, sizeof(buf)),
              -ENAMETOOLONG);
    // Garbage entries never reach getdents.
    h.Tell(Lie::kGarbageDirents);
    long fd = t->Open("/d", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    std::vector<std::string> names;
    alignas(8) char dbuf[4096];
    long n;
    int rounds = 0;
    while ((n = t->Getdents64(static_cast<int>(fd), dbuf, sizeof(dbuf))) > 0 &&
           ++rounds < 100) {
      for (long off = 0; off < n;) {
        auto* e = reinterpret_cast<linux_abi::Dirent64Header*>(dbuf + off);
        names.emplace_back(dbuf + off + linux_abi::kDirent64NameOffset);
        off += e->d_reclen;
      }
    }
    EXPECT_LT(rounds, 100) << "getdents never ended";
    t->Close(static_cast<int>(fd));
    for (const std::string& nm : names) {
      EXPECT_FALSE(nm.empty());
      EXPECT_EQ(nm.find('/'), std::string::npos) << nm;
      if (nm != "." && nm != "..") {
        EXPECT_LE(nm.size(), 255u) << "over NAME_MAX";
      }
    }
    h.Tell(Lie::kNone);
  }
}

std::string LieName(Lie l) {
  switch (l) {
    case Lie::kNone:
      return "None";
    case Lie::kWalkLongerThanAsked:
      return "WalkLongerThanAsked";
    case Lie::kChildIsParent:
      return "ChildIsParent";
    case Lie::kDirBecomesFile:
      return "DirBecomesFile";
    case Lie::kAbsurdAttrs:
      return "AbsurdAttrs";
    case Lie::kGarbageDirents:
      return "GarbageDirents";
    case Lie::kHugeSymlink:
      return "HugeSymlink";
    case Lie::kBadErrno:
      return "BadErrno";
    case Lie::kAbsurdStatfs:
      return "AbsurdStatfs";
  }
  return "?";
}

std::string TestName(const std::tuple<Lie, CachePolicy>& p) {
  static const char* const kPolicy[] = {"Keep", "Revalidate", "None"};
  return LieName(std::get<0>(p)) + kPolicy[static_cast<int>(std::get<1>(p))];
}

INSTANTIATE_TEST_SUITE_P(
    Lies, LieTest,
    ::testing::Combine(
        ::testing::Values(Lie::kNone, Lie::kWalkLongerThanAsked,
                          Lie::kChildIsParent, Lie::kDirBecomesFile,
                          Lie::kAbsurdAttrs, Lie::kGarbageDirents,
                          Lie::kHugeSymlink, Lie::kBadErrno,
                          Lie::kAbsurdStatfs),
        ::testing::Values(CachePolicy::kKeep, CachePolicy::kRevalidate,
                          CachePolicy::kNone)),
    [](const auto& info) { return TestName(info.param); });

// Replies corrupted at random (seeded, so a failure reproduces). Once the
// corruption kills the connection every call is EIO; a fresh mount then
// carries on, so each seed exercises several connections.
TEST(CorruptedRepliesTest, NoCrashNoHang) {
  int corrupted = 0;
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    SCOPED_TRACE(seed);
    p9::testing::MemFsHandler h;
    CorruptingTransport* ct = nullptr;
    Peer peer(&h, seed % 2 ? CachePolicy::kRevalidate : CachePolicy::kKeep,
              [&](std::unique_ptr<p9::Transport> t) {
                auto c = std::make_unique<CorruptingTransport>(std::move(t),
                                                               seed, 8);
                ct = c.get();
                return c;
              });
    if (!peer.mount_error().ok()) continue;  // the attach itself was hit
    kernel::Task* t = peer.task();
    // The tree, built through the same corrupted connection.
    (void)t->Mkdirat(AT_FDCWD, "/d", 0755);
    (void)t->Mkdirat(AT_FDCWD, "/d/e", 0755);
    (void)WriteFile(t, "/d/e/f", "hello");
    (void)WriteFile(t, "/top", "x");
    (void)t->Symlinkat("e", AT_FDCWD, "/d/link");
    Exercise(t);
    corrupted += ct->corrupted();
  }
  EXPECT_GT(corrupted, 120) << "the corruption did not happen";
}

}  // namespace
}  // namespace sentry::fs::gofer
