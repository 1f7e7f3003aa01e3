// A hostile client against the gofer: names that climb, symlinks that point
// out, special files, a rename race swapping a directory for a symlink to
// the outside, and a read-only export. A canary outside the export must
// never be read, written or stat'ed through the gofer.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runsc/fsgofer/fsgofer.h"
#include "runsc/fsgofer/test_util.h"

namespace fsgofer::testing {
namespace {

using base::Errno;

constexpr char kCanary[] = "CANARY-OUTSIDE-THE-EXPORT";
constexpr char kInside[] = "inside";

class EscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = base_.Sub("root");
    outside_ = base_.Sub("outside");
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    WriteHostFile(outside_ + "/secret", kCanary);
    struct stat st;
    ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &st), 0);
    canary_ino_ = st.st_ino;
    canary_mode_ = st.st_mode;
    ASSERT_EQ(::stat(outside_.c_str(), &st), 0);
    outside_ino_ = st.st_ino;
    ASSERT_EQ(::stat(base_.path().c_str(), &st), 0);
    base_ino_ = st.st_ino;
  }
  void TearDown() override {
    // The canary is untouched.
    EXPECT_EQ(ReadHostFile(outside_ + "/secret"), kCanary);
    struct stat st;
    ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode, canary_mode_);
  }

  p9::Client::Options Opts() {
    p9::Client::Options o;
    // A gofer that opened a fifo would block forever: fail instead.
    o.call_timeout = absl::Seconds(10);
    return o;
  }

  void ExpectNotCanary(const p9::Qid& q) {
    EXPECT_NE(q.path, canary_ino_);
    EXPECT_NE(q.path, outside_ino_);
    EXPECT_NE(q.path, base_ino_);
  }

  TempDir base_;
  std::string root_, outside_;
  ino_t canary_ino_ = 0, outside_ino_ = 0, base_ino_ = 0;
  mode_t canary_mode_ = 0;
};

TEST_F(EscapeTest, ClimbingNamesAreRefused) {
  ASSERT_EQ(::mkdir((root_ + "/a").c_str(), 0755), 0);
  WriteHostFile(root_ + "/a/b", kInside);
  Served s(root_, {}, false, Opts());
  for (const std::string& bad : std::vector<std::string>{
           "..", ".", "", "a/b", "/", "../outside", std::string("a\0b", 3)}) {
    EXPECT_EQ(s.client().Walk(s.root(), {bad}).error(), Errno(EINVAL))
        << "name \"" << bad << "\"";
    // Also after a good first name: the whole walk is refused.
    EXPECT_EQ(s.client().Walk(s.root(), {"a", bad}).error(), Errno(EINVAL));
    EXPECT_EQ(s.client().WalkGetAttr(s.root(), {bad}).error(), Errno(EINVAL));
  }
  // Names that create are checked the same way.
  auto d = s.client().Walk(s.root(), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(s.client().Lcreate(d->newfid, "..", kORdwr, 0644, 0).error(),
            Errno(EINVAL));
  EXPECT_EQ(s.client().Mkdir(s.root(), "../x", 0755, 0).error(), Errno(EINVAL));
  EXPECT_EQ(s.client().Symlink(s.root(), "a/x", "y", 0).error(), Errno(EINVAL));
  EXPECT_EQ(s.client().Renameat(s.root(), "a", s.root(), "../a"),
            Errno(EINVAL));
  EXPECT_EQ(s.client().Unlinkat(s.root(), "..", p9::kUnlinkRemoveDir),
            Errno(EINVAL));
  EXPECT_EQ(s.client().Attach("u", "../outside", 0).error(), Errno(EINVAL));
  EXPECT_TRUE(HostExists(root_ + "/a/b"));
  EXPECT_FALSE(HostExists(base_.Sub("x")));
}

TEST_F(EscapeTest, HostileSymlinksAreReturnedNeverFollowed) {
  ASSERT_EQ(::symlink("/", (root_ + "/toroot").c_str()), 0);
  ASSERT_EQ(::symlink("../..", (root_ + "/up").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", (root_ + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/abs").c_str()), 0);
  ASSERT_EQ(
      ::symlink((outside_ + "/secret").c_str(), (root_ + "/absfile").c_str()),
      0);
  // A long chain ending outside.
  ASSERT_EQ(::symlink("absfile", (root_ + "/chain0").c_str()), 0);
  for (int i = 1; i < 50; ++i) {
    ASSERT_EQ(::symlink(("chain" + std::to_string(i - 1)).c_str(),
                        (root_ + "/chain" + std::to_string(i)).c_str()),
              0);
  }
  Served s(root_, {}, false, Opts());
  struct Case {
    std::string name, target;
  };
  for (const Case& c : std::vector<Case>{{"toroot", "/"},
                                         {"up", "../.."},
                                         {"rel", "../outside"},
                                         {"abs", outside_},
                                         {"absfile", outside_ + "/secret"},
                                         {"chain49", "chain48"}}) {
    SCOPED_TRACE(c.name);
    // Readlink returns the target.
    auto l = s.WalkTo({c.name});
    ASSERT_TRUE(l.ok());
    auto t = s.client().Readlink(*l);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, c.target);
    // Its attributes are the link's own.
    auto a = s.client().GetAttr(*l);
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(S_ISLNK(a->mode));
    EXPECT_EQ(a->qid.type, p9::kQidTypeSymlink);
    ExpectNotCanary(a->qid);
    // Opening it does not open the target.
    EXPECT_EQ(s.client().Lopen(*l, kORdonly).error(), Errno(ELOOP));
    EXPECT_TRUE(s.client().Clunk(*l).ok());
    // Walking through it fails.
    for (std::string next : {"secret", "etc", "outside", "root"}) {
      // The client reports a walk that stops short as ENOENT; the
      // server's answer is one qid, the link's.
      auto w = s.client().Walk(s.root(), {c.name, next});
      EXPECT_FALSE(w.ok());
      p9::Twalk tw;
      tw.fid = s.root();
      tw.newfid = s.client().AllocateFid();
      tw.names = {c.name, next};
      auto raw = s.client().Rpc(tw);
      ASSERT_TRUE(raw.ok());
      const auto& rw = std::get<p9::Rwalk>(raw->msg);
      ASSERT_EQ(rw.qids.size(), 1u);
      EXPECT_EQ(rw.qids[0].type, p9::kQidTypeSymlink);
      // From the link itself, the first step fails: ENOTDIR.
      auto lf = s.WalkTo({c.name});
      ASSERT_TRUE(lf.ok());
      EXPECT_EQ(s.client().Walk(*lf, {next}).error(), Errno(ENOTDIR));
      EXPECT_TRUE(s.client().Clunk(*lf).ok());
      auto wg = s.client().WalkGetAttr(s.root(), {c.name, next});
      EXPECT_FALSE(wg.ok() && wg->qids.size() == 2);
    }
    Errno err;
    EXPECT_EQ(s.ReadAll({c.name, "secret"}, &err), "");
    EXPECT_FALSE(err.ok());
    // Setattr on the link changes the link, never the target.
    p9::SetAttr sa;
    sa.valid = p9::kSetAttrMode;
    sa.mode = 0777;
    auto l2 = s.WalkTo({c.name});
    ASSERT_TRUE(l2.ok());
    (void)s.client().SetAttr(*l2, sa);
    sa.valid = p9::kSetAttrSize;
    sa.size = 0;
    EXPECT_FALSE(s.client().SetAttr(*l2, sa).ok());
    EXPECT_TRUE(s.client().Clunk(*l2).ok());
  }
  struct stat st;
  // Creating over a symlink to the outside is EEXIST, not a write through.
  auto d = s.client().Walk(s.root(), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(s.client()
                .Lcreate(d->newfid, "absfile", kORdwr | kOTrunc, 0644, 0)
                .error(),
            Errno(EEXIST));
  // Renaming the link moves the link; unlinking it removes the link.
  EXPECT_TRUE(s.client().Renameat(s.root(), "abs", s.root(), "abs2").ok());
  EXPECT_TRUE(s.client().Unlinkat(s.root(), "abs2", 0).ok());
  EXPECT_TRUE(HostExists(outside_ + "/secret"));
  // A hard link of the symlink is a link to the link.
  auto af = s.WalkTo({"absfile"});
  ASSERT_TRUE(af.ok());
  ASSERT_TRUE(s.client().Link(s.root(), *af, "hl").ok());
  ASSERT_EQ(::lstat((root_ + "/hl").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(EscapeTest, SpecialFilesAreNeverOpened) {
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0666), 0);
  const bool have_dev =
      ::mknod((root_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  ASSERT_EQ(::mknod((root_ + "/sock").c_str(), S_IFSOCK | 0666, 0), 0);
  Served s(root_, {}, false, Opts());
  // A fifo: getattr works; no open (which would block without a writer).
  auto f = s.WalkTo({"fifo"});
  ASSERT_TRUE(f.ok());
  auto a = s.client().GetAttr(*f);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(S_ISFIFO(a->mode));
  for (uint32_t flags : {kORdonly, kOWronly, kORdwr, kORdonly | 04000u}) {
    EXPECT_EQ(s.client().Lopen(*f, flags).error(), Errno(EACCES));
  }
  p9::SetAttr sa;
  sa.valid = p9::kSetAttrSize;
  EXPECT_FALSE(s.client().SetAttr(*f, sa).ok());
  // A socket node: ENXIO, as open(2) says.
  auto so = s.WalkTo({"sock"});
  ASSERT_TRUE(so.ok());
  EXPECT_EQ(s.client().Lopen(*so, kORdwr).error(), Errno(ENXIO));
  // A device node (if we may make one here): EACCES; getattr shows rdev.
  if (!have_dev) std::printf("no device node test: mknod refused here\n");
  if (have_dev) {
    auto n = s.WalkTo({"null"});
    ASSERT_TRUE(n.ok());
    auto na = s.client().GetAttr(*n);
    ASSERT_TRUE(na.ok());
    EXPECT_TRUE(S_ISCHR(na->mode));
    EXPECT_EQ(na->rdev, makedev(1, 3));
    EXPECT_EQ(s.client().Lopen(*n, kORdwr).error(), Errno(EACCES));
    EXPECT_EQ(s.client().Lopen(*n, kORdonly).error(), Errno(EACCES));
    EXPECT_FALSE(s.client().SetAttr(*n, sa).ok());
  }
  // Lcreate over them is EEXIST (O_EXCL), never an open.
  auto d = s.client().Walk(s.root(), {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(s.client().Lcreate(d->newfid, "fifo", kORdwr, 0644, 0).error(),
            Errno(EEXIST));
}

TEST_F(EscapeTest, ReaddirAtRootHidesTheParent) {
  WriteHostFile(root_ + "/f", "x");
  Served s(root_, {}, false, Opts());
  auto d = s.client().Walk(s.root(), {});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(s.client().Lopen(d->newfid, kORdonly).ok());
  auto ents = s.client().Readdir(d->newfid, 0);
  ASSERT_TRUE(ents.ok());
  ASSERT_EQ(ents->size(), 1u);
  EXPECT_EQ((*ents)[0].name, "f");
  for (const auto& e : *ents) ExpectNotCanary(e.qid);
}

// A thread swaps directory "d" with a symlink to the outside while the
// client walks and reads through "d". Every step is openat(O_NOFOLLOW) of
// one name relative to the previous fd, so the walk either reaches the real
// directory or stops at the symlink; the canary is never returned.
TEST_F(EscapeTest, RenameRaceCannotSteerAWalkOutside) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  WriteHostFile(root_ + "/d/secret", kInside);
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/s").c_str()), 0);
  Served s(root_, {}, false, Opts());
  std::atomic<bool> stop{false};
  std::atomic<int> swaps{0};
  std::thread swapper([&] {
    const std::string a = root_ + "/d", b = root_ + "/s";
    while (!stop) {
      if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(),
                      RENAME_EXCHANGE) == 0) {
        ++swaps;
      }
    }
  });
  int inside = 0, refused = 0;
  const auto deadline = absl::Now() + absl::Seconds(2);
  while (absl::Now() < deadline) {
    for (const char* name : {"d", "s"}) {
      Errno err;
      std::string got = s.ReadAll({name, "secret"}, &err);
      ASSERT_NE(got, kCanary);
      if (err.ok()) {
        EXPECT_EQ(got, kInside);
        ++inside;
      } else {
        ++refused;
      }
      auto wg = s.client().WalkGetAttr(s.root(), {name, "secret"});
      if (wg.ok()) {
        for (const auto& q : wg->qids) ExpectNotCanary(q);
        if (wg->qids.size() == 2) {
          ExpectNotCanary(wg->attr.qid);
          EXPECT_EQ(wg->attr.size, sizeof(kInside) - 1);
          (void)s.client().Clunk(wg->newfid);
        }
      }
      // Attaching by name races the same way.
      auto at = s.client().Attach("u", name, 0);
      if (at.ok()) {
        ExpectNotCanary(at->qid);
        auto w = s.client().Walk(at->fid, {"secret"});
        if (w.ok()) {
          ASSERT_TRUE(s.client().Lopen(w->newfid, kORdonly).ok());
          std::vector<uint8_t> buf(64);
          auto n = s.client().Read(w->newfid, 0, buf);
          ASSERT_TRUE(n.ok());
          ASSERT_EQ(std::string(buf.begin(), buf.begin() + *n), kInside);
          (void)s.client().Clunk(w->newfid);
        }
        (void)s.client().Clunk(at->fid);
      }
    }
  }
  stop = true;
  swapper.join();
  EXPECT_GT(swaps.load(), 0);
  EXPECT_GT(inside + refused, 0);
  std::printf("race: %d swaps, %d reads inside, %d refused\n", swaps.load(),
              inside, refused);
}

// A directory fid keeps naming the directory when the host moves it and
// puts a symlink to the outside in its place.
TEST_F(EscapeTest, HeldDirectoryFidFollowsTheInodeNotThePath) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  WriteHostFile(root_ + "/d/secret", kInside);
  Served s(root_, {}, false, Opts());
  auto d = s.WalkTo({"d"});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(::rename((root_ + "/d").c_str(), (root_ + "/moved").c_str()), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/d").c_str()), 0);
  auto w = s.client().Walk(*d, {"secret"});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(s.client().Lopen(w->newfid, kORdonly).ok());
  std::vector<uint8_t> buf(64);
  auto n = s.client().Read(w->newfid, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), kInside);
}

TEST_F(EscapeTest, ReadOnlyRefusesEveryChange) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  WriteHostFile(root_ + "/f", "data");
  Config cfg;
  cfg.read_only = true;
  Served s(root_, cfg, false, Opts());
  auto f = s.WalkTo({"f"});
  auto d = s.WalkTo({"d"});
  ASSERT_TRUE(f.ok() && d.ok());
  const Errno rofs(EROFS);
  // Tlopen for writing or truncating.
  EXPECT_EQ(s.client().Lopen(*f, kOWronly).error(), rofs);
  EXPECT_EQ(s.client().Lopen(*f, kORdwr).error(), rofs);
  EXPECT_EQ(s.client().Lopen(*f, kORdonly | kOTrunc).error(), rofs);
  // Reading is fine; Twrite on the read-only fid is EROFS.
  ASSERT_TRUE(s.client().Lopen(*f, kORdonly).ok());
  EXPECT_EQ(s.client().Write(*f, 0, AsBytes("x")).error(), rofs);
  p9::SetAttr sa;
  for (uint32_t bit : {p9::kSetAttrMode, p9::kSetAttrUid, p9::kSetAttrSize,
                       p9::kSetAttrMtime}) {
    sa.valid = bit;
    EXPECT_EQ(s.client().SetAttr(*d, sa), rofs);
  }
  auto c = s.client().Walk(s.root(), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(s.client().Lcreate(c->newfid, "n", kORdwr, 0644, 0).error(), rofs);
  EXPECT_EQ(s.client().UCreate(c->newfid, "n", kORdwr, 0644, 0, 0).error(),
            rofs);
  EXPECT_EQ(s.client().Mkdir(s.root(), "n", 0755, 0).error(), rofs);
  EXPECT_EQ(s.client().Symlink(s.root(), "n", "t", 0).error(), rofs);
  EXPECT_EQ(s.client().Mknod(s.root(), "n", S_IFIFO | 0644, 0, 0, 0).error(),
            rofs);
  auto f2 = s.WalkTo({"f"});
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(s.client().Link(s.root(), *f2, "n"), rofs);
  EXPECT_EQ(s.client().Rename(*f2, s.root(), "n"), rofs);
  EXPECT_EQ(s.client().Renameat(s.root(), "f", s.root(), "n"), rofs);
  EXPECT_EQ(s.client().Unlinkat(s.root(), "f", 0), rofs);
  EXPECT_EQ(s.client().Unlinkat(s.root(), "d", p9::kUnlinkRemoveDir), rofs);
  EXPECT_EQ(s.client().Remove(*f2), rofs);
  auto x = s.client().Walk(s.root(), {"f"});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(s.client().Xattrcreate(x->newfid, "user.x", 1, 0), rofs);
  // Nothing changed; reads and stats still work.
  EXPECT_EQ(ReadHostFile(root_ + "/f"), "data");
  EXPECT_FALSE(HostExists(root_ + "/n"));
  EXPECT_TRUE(HostExists(root_ + "/d"));
  EXPECT_EQ(s.ReadAll({"f"}), "data");
  EXPECT_TRUE(s.client().Statfs(s.root()).ok());
}

}  // namespace
}  // namespace fsgofer::testing
