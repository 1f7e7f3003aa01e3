// The gofer Handler through the real p9::Client over a socketpair, against a
// temporary host directory; each operation is checked on the host too.
#include "runsc/fsgofer/fsgofer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runsc/fsgofer/test_util.h"

namespace fsgofer::testing {
namespace {

using base::Errno;

std::set<std::string> HostListing(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") {
      names.insert(e->d_name);
    }
  }
  ::closedir(d);
  return names;
}

std::set<std::string> Listing(Served& s, p9::Fid dir, uint32_t count = 0) {
  auto fid = s.client().Walk(dir, {});
  EXPECT_TRUE(fid.ok());
  EXPECT_TRUE(s.client().Lopen(fid->newfid, kORdonly).ok());
  std::set<std::string> names;
  uint64_t off = 0;
  for (int i = 0; i < 10000; ++i) {
    auto ents = s.client().Readdir(fid->newfid, off, count);
    EXPECT_TRUE(ents.ok()) << ents.error().ToString();
    if (!ents.ok() || ents->empty()) break;
    for (const auto& e : *ents) {
      EXPECT_TRUE(names.insert(e.name).second) << "duplicate " << e.name;
      off = e.offset;
    }
  }
  EXPECT_TRUE(s.client().Clunk(fid->newfid).ok());
  return names;
}

class FsGoferTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(FsGoferTest, AttachAndGetattrMatchHost) {
  Served s(dir_.path());
  auto a = s.client().GetAttr(s.root());
  ASSERT_TRUE(a.ok());
  struct stat st;
  ASSERT_EQ(::stat(dir_.path().c_str(), &st), 0);
  EXPECT_EQ(a->qid.type, p9::kQidTypeDir);
  EXPECT_EQ(a->qid.path, st.st_ino);
  EXPECT_EQ(a->mode, st.st_mode);
  EXPECT_EQ(a->uid, st.st_uid);
  EXPECT_EQ(a->nlink, st.st_nlink);
}

TEST_F(FsGoferTest, CreateWriteReadShowsOnHost) {
  Served s(dir_.path());
  auto fid = s.client().Walk(s.root(), {});
  ASSERT_TRUE(fid.ok());
  auto c = s.client().Lcreate(fid->newfid, "f", kORdwr, 0640, 0);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->qid.type, p9::kQidTypeFile);
  auto w = s.client().Write(fid->newfid, 0, AsBytes("hello world"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 11u);
  std::vector<uint8_t> buf(64);
  auto n = s.client().Read(fid->newfid, 6, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "world");
  EXPECT_TRUE(s.client().Clunk(fid->newfid).ok());
  EXPECT_EQ(ReadHostFile(dir_.Sub("f")), "hello world");
  struct stat st;
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~0u & 0777);
  // Creating an existing name is EEXIST (never an open of the old file).
  auto fid2 = s.client().Walk(s.root(), {});
  ASSERT_TRUE(fid2.ok());
  EXPECT_EQ(s.client().Lcreate(fid2->newfid, "f", kORdwr, 0644, 0).error(),
            Errno(EEXIST));
  EXPECT_EQ(s.ReadAll({"f"}), "hello world");
}

TEST_F(FsGoferTest, UcreateAndWalkGetattrExtensions) {
  Served s(dir_.path());
  ASSERT_EQ(s.client().extension_level(), p9::kExtensionLevel);
  auto fid = s.client().Walk(s.root(), {});
  ASSERT_TRUE(fid.ok());
  auto c = s.client().UCreate(fid->newfid, "u", kORdwr, 0600, ::geteuid(),
                              ::getegid());
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_TRUE(s.client().FsyncClunk(fid->newfid).ok());
  auto wg = s.client().WalkGetAttr(s.root(), {"u"});
  ASSERT_TRUE(wg.ok());
  EXPECT_EQ(wg->attr.mode & 0777, 0600u);
  EXPECT_EQ(wg->attr.uid, ::geteuid());
  EXPECT_TRUE(s.client().Clunk(wg->newfid).ok());
  EXPECT_EQ(s.client().WalkGetAttr(s.root(), {"nope"}).error(), Errno(ENOENT));
}

// Twalkstat, native: every element's attributes match the host's lstat;
// the walk stops at a symlink (never followed) and at a file.
TEST_F(FsGoferTest, WalkStatReturnsEveryElementsAttrs) {
  ASSERT_EQ(::mkdir(dir_.Sub("a").c_str(), 0751), 0);
  ASSERT_EQ(::mkdir(dir_.Sub("a/b").c_str(), 0700), 0);
  WriteHostFile(dir_.Sub("a/b/f"), "hello");
  ASSERT_EQ(::symlink("/", dir_.Sub("a/up").c_str()), 0);
  Served s(dir_.path());
  p9::Client& c = s.client();
  const size_t fids = s.handler().fid_count();
  auto w = c.WalkStat(s.root(), {"a", "b", "f"});
  ASSERT_TRUE(w.ok()) << w.error().ToString();
  ASSERT_EQ(w->attrs.size(), 3u);
  const char* rel[] = {"a", "a/b", "a/b/f"};
  for (int i = 0; i < 3; ++i) {
    struct stat st;
    ASSERT_EQ(::lstat(dir_.Sub(rel[i]).c_str(), &st), 0);
    EXPECT_EQ(w->attrs[i].mode, st.st_mode) << rel[i];
    EXPECT_EQ(w->attrs[i].qid.path, st.st_ino) << rel[i];
    EXPECT_EQ(w->attrs[i].size, static_cast<uint64_t>(st.st_size)) << rel[i];
    EXPECT_EQ(w->attrs[i].nlink, st.st_nlink) << rel[i];
  }
  struct stat rst;
  ASSERT_EQ(::stat(dir_.path().c_str(), &rst), 0);
  EXPECT_EQ(w->dir.qid.path, rst.st_ino);
  EXPECT_EQ(w->dir.mode, rst.st_mode);
  EXPECT_EQ(s.handler().fid_count(), fids + 1);
  EXPECT_TRUE(c.Clunk(w->newfid).ok());
  // A symlink to "/" ends the walk: its own attrs, nothing beyond.
  auto l = c.WalkStat(s.root(), {"a", "up", "etc", "passwd"});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->attrs.size(), 2u);
  EXPECT_TRUE(S_ISLNK(l->attrs[1].mode));
  EXPECT_EQ(l->newfid, p9::kNoFid);
  auto f = c.WalkStat(s.root(), {"a", "b", "f", "x"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->attrs.size(), 3u);
  EXPECT_EQ(c.WalkStat(s.root(), {"zz", "a"}).error(), Errno(ENOENT));
  EXPECT_EQ(c.WalkStat(s.root(), {"a", ".."}).error(), Errno(EINVAL));
  EXPECT_EQ(s.handler().fid_count(), fids);
}

TEST_F(FsGoferTest, ReaddirMatchesHostWithStableOffsets) {
  for (int i = 0; i < 300; ++i) {
    WriteHostFile(dir_.Sub("file_with_a_longish_name_" + std::to_string(i)),
                  "x");
  }
  ASSERT_EQ(::mkdir(dir_.Sub("sub").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("/etc/passwd", dir_.Sub("ln").c_str()), 0);
  Served s(dir_.path());
  EXPECT_EQ(Listing(s, s.root()), HostListing(dir_.path()));
  // Small pages: resuming from each page's last cookie loses nothing.
  EXPECT_EQ(Listing(s, s.root(), 300), HostListing(dir_.path()));
  // Entry types.
  auto fid = s.client().Walk(s.root(), {});
  ASSERT_TRUE(fid.ok());
  ASSERT_TRUE(s.client().Lopen(fid->newfid, kORdonly).ok());
  bool saw_dir = false, saw_link = false;
  uint64_t off = 0;
  for (;;) {
    auto ents = s.client().Readdir(fid->newfid, off);
    ASSERT_TRUE(ents.ok());
    if (ents->empty()) break;
    for (const auto& e : *ents) {
      off = e.offset;
      if (e.name == "sub") saw_dir = e.type == DT_DIR && e.qid.type == 0x80;
      if (e.name == "ln") saw_link = e.type == DT_LNK;
    }
  }
  EXPECT_TRUE(saw_dir);
  EXPECT_TRUE(saw_link);
  EXPECT_TRUE(s.client().Clunk(fid->newfid).ok());
}

TEST_F(FsGoferTest, MkdirRenameUnlinkOnHost) {
  Served s(dir_.path());
  auto q = s.client().Mkdir(s.root(), "d", 0750, 0);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->type, p9::kQidTypeDir);
  struct stat st;
  ASSERT_EQ(::stat(dir_.Sub("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  WriteHostFile(dir_.Sub("a"), "A");
  auto d = s.WalkTo({"d"});
  ASSERT_TRUE(d.ok());
  // Trenameat.
  EXPECT_TRUE(s.client().Renameat(s.root(), "a", *d, "b").ok());
  EXPECT_FALSE(HostExists(dir_.Sub("a")));
  EXPECT_EQ(ReadHostFile(dir_.Sub("d/b")), "A");
  // Trename moves the fid's file; the fid follows it.
  auto b = s.WalkTo({"d", "b"});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(s.client().Rename(*b, s.root(), "c").ok());
  EXPECT_EQ(ReadHostFile(dir_.Sub("c")), "A");
  EXPECT_TRUE(s.client().Rename(*b, *d, "e").ok());
  EXPECT_EQ(ReadHostFile(dir_.Sub("d/e")), "A");
  // Tremove via the fid's current name.
  EXPECT_TRUE(s.client().Remove(*b).ok());
  EXPECT_FALSE(HostExists(dir_.Sub("d/e")));
  // Tunlinkat, of a file and of a directory.
  WriteHostFile(dir_.Sub("d/x"), "");
  EXPECT_EQ(s.client().Unlinkat(s.root(), "d", 0), Errno(EISDIR));
  EXPECT_EQ(s.client().Unlinkat(s.root(), "d", p9::kUnlinkRemoveDir),
            Errno(ENOTEMPTY));
  EXPECT_TRUE(s.client().Unlinkat(*d, "x", 0).ok());
  EXPECT_TRUE(s.client().Unlinkat(s.root(), "d", p9::kUnlinkRemoveDir).ok());
  EXPECT_FALSE(HostExists(dir_.Sub("d")));
  // The root cannot be renamed or removed.
  auto r = s.client().Walk(s.root(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(s.client().Rename(r->newfid, s.root(), "zz"), Errno(EBUSY));
}

TEST_F(FsGoferTest, SymlinkReadlinkAndHardLink) {
  Served s(dir_.path());
  auto q = s.client().Symlink(s.root(), "l", "../some/where", 0);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->type, p9::kQidTypeSymlink);
  char buf[64] = {};
  ASSERT_GT(::readlink(dir_.Sub("l").c_str(), buf, sizeof(buf)), 0);
  EXPECT_STREQ(buf, "../some/where");
  auto l = s.WalkTo({"l"});
  ASSERT_TRUE(l.ok());
  auto t = s.client().Readlink(*l);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "../some/where");
  // Readlink of a non-link is EINVAL, as readlink(2).
  EXPECT_EQ(s.client().Readlink(s.root()).error(), Errno(EINVAL));
  // Hard link.
  WriteHostFile(dir_.Sub("f"), "data");
  auto f = s.WalkTo({"f"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(s.client().Link(s.root(), *f, "g").ok());
  struct stat a, b;
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &a), 0);
  ASSERT_EQ(::stat(dir_.Sub("g").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  // A hard link to the symlink links the symlink itself.
  EXPECT_TRUE(s.client().Link(s.root(), *l, "l2").ok());
  ASSERT_EQ(::lstat(dir_.Sub("l2").c_str(), &b), 0);
  EXPECT_TRUE(S_ISLNK(b.st_mode));
}

TEST_F(FsGoferTest, SetattrModeSizeOwnerTimes) {
  WriteHostFile(dir_.Sub("f"), "0123456789");
  Served s(dir_.path());
  auto f = s.WalkTo({"f"});
  ASSERT_TRUE(f.ok());
  p9::SetAttr sa;
  sa.valid = p9::kSetAttrMode;
  sa.mode = 0604;
  ASSERT_TRUE(s.client().SetAttr(*f, sa).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  // Size on an unopened fid.
  sa = {};
  sa.valid = p9::kSetAttrSize;
  sa.size = 4;
  ASSERT_TRUE(s.client().SetAttr(*f, sa).ok());
  EXPECT_EQ(ReadHostFile(dir_.Sub("f")), "0123");
  // Owner (to what we are: always allowed).
  sa = {};
  sa.valid = p9::kSetAttrUid | p9::kSetAttrGid;
  sa.uid = ::geteuid();
  sa.gid = ::getegid();
  ASSERT_TRUE(s.client().SetAttr(*f, sa).ok());
  // Explicit times.
  sa = {};
  sa.valid = p9::kSetAttrAtime | p9::kSetAttrAtimeSet | p9::kSetAttrMtime |
             p9::kSetAttrMtimeSet;
  sa.atime_sec = 1000;
  sa.atime_nsec = 5;
  sa.mtime_sec = 2000;
  sa.mtime_nsec = 7;
  ASSERT_TRUE(s.client().SetAttr(*f, sa).ok());
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  auto ga = s.client().GetAttr(*f);
  ASSERT_TRUE(ga.ok());
  EXPECT_EQ(ga->mtime_sec, 2000u);
  EXPECT_EQ(ga->size, 4u);
  // NOW.
  sa = {};
  sa.valid = p9::kSetAttrMtime;
  const time_t before = ::time(nullptr);
  ASSERT_TRUE(s.client().SetAttr(*f, sa).ok());
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &st), 0);
  EXPECT_GE(st.st_mtim.tv_sec, before - 1);
  EXPECT_EQ(st.st_atim.tv_sec, 1000);  // Untouched.
  // A symlink's times are its own, never its target's.
  ASSERT_EQ(::symlink("f", dir_.Sub("l").c_str()), 0);
  auto l = s.WalkTo({"l"});
  ASSERT_TRUE(l.ok());
  sa = {};
  sa.valid = p9::kSetAttrMtime | p9::kSetAttrMtimeSet;
  sa.mtime_sec = 3000;
  ASSERT_TRUE(s.client().SetAttr(*l, sa).ok());
  ASSERT_EQ(::stat(dir_.Sub("f").c_str(), &st), 0);
  EXPECT_NE(st.st_mtim.tv_sec, 3000);
  ASSERT_EQ(::lstat(dir_.Sub("l").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 3000);
  // Size on a directory.
  sa = {};
  sa.valid = p9::kSetAttrSize;
  EXPECT_EQ(s.client().SetAttr(s.root(), sa), Errno(EISDIR));
}

TEST_F(FsGoferTest, StatfsMatchesHost) {
  Served s(dir_.path());
  auto fs = s.client().Statfs(s.root());
  ASSERT_TRUE(fs.ok());
  struct statfs h;
  ASSERT_EQ(::statfs(dir_.path().c_str(), &h), 0);
  EXPECT_EQ(fs->type, static_cast<uint32_t>(h.f_type));
  EXPECT_EQ(fs->bsize, static_cast<uint32_t>(h.f_bsize));
  EXPECT_EQ(fs->blocks, h.f_blocks);
  EXPECT_EQ(fs->namelen, static_cast<uint32_t>(h.f_namelen));
}

TEST_F(FsGoferTest, MknodRegularFifoSocketButNeverDevices) {
  Served s(dir_.path());
  EXPECT_TRUE(s.client().Mknod(s.root(), "fifo", S_IFIFO | 0600, 0, 0, 0).ok());
  EXPECT_TRUE(
      s.client().Mknod(s.root(), "sock", S_IFSOCK | 0600, 0, 0, 0).ok());
  EXPECT_TRUE(s.client().Mknod(s.root(), "reg", S_IFREG | 0600, 0, 0, 0).ok());
  struct stat st;
  ASSERT_EQ(::lstat(dir_.Sub("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::lstat(dir_.Sub("sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(s.client().Mknod(s.root(), "null", S_IFCHR | 0666, 1, 3, 0).error(),
            Errno(EPERM));
  EXPECT_EQ(s.client().Mknod(s.root(), "sda", S_IFBLK | 0666, 8, 0, 0).error(),
            Errno(EPERM));
  EXPECT_FALSE(HostExists(dir_.Sub("null")));
  EXPECT_FALSE(HostExists(dir_.Sub("sda")));
}

TEST_F(FsGoferTest, LocksConflictBetweenFids) {
  WriteHostFile(dir_.Sub("f"), "x");
  Served s(dir_.path());
  auto a = s.WalkTo({"f"});
  auto b = s.WalkTo({"f"});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(s.client().Lopen(*a, kORdwr).ok());
  ASSERT_TRUE(s.client().Lopen(*b, kORdwr).ok());
  p9::Tlock lk;
  lk.fid = *a;
  lk.type = p9::kLockTypeWrite;
  lk.length = 0;
  lk.client_id = "a";
  auto r = s.client().Lock(lk);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, p9::kLockStatusSuccess);
  lk.fid = *b;
  lk.flags = p9::kLockFlagBlock;
  r = s.client().Lock(lk);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, p9::kLockStatusBlocked);
  p9::Tgetlock gl;
  gl.fid = *b;
  gl.type = p9::kLockTypeRead;
  auto g = s.client().GetLock(gl);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->type, p9::kLockTypeWrite);
  lk.fid = *a;
  lk.type = p9::kLockTypeUnlock;
  ASSERT_TRUE(s.client().Lock(lk).ok());
  g = s.client().GetLock(gl);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->type, p9::kLockTypeUnlock);
  EXPECT_TRUE(s.client().Fsync(*a).ok());
}

TEST_F(FsGoferTest, AttachNameSelectsSubdirectory) {
  ASSERT_EQ(::mkdir(dir_.Sub("sub").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dir_.Sub("sub/deeper").c_str(), 0755), 0);
  WriteHostFile(dir_.Sub("sub/deeper/f"), "deep");
  ASSERT_EQ(::symlink("sub", dir_.Sub("lnk").c_str()), 0);
  Served s(dir_.path());
  for (const std::string& aname : std::vector<std::string>{
           "sub/deeper", "/sub/deeper", dir_.Sub("sub/deeper"),
           dir_.path() + "//sub/deeper/"}) {
    auto a = s.client().Attach("u", aname, 0);
    ASSERT_TRUE(a.ok()) << aname;
    auto w = s.client().Walk(a->fid, {"f"});
    ASSERT_TRUE(w.ok()) << aname;
    EXPECT_TRUE(s.client().Clunk(w->newfid).ok());
    EXPECT_TRUE(s.client().Clunk(a->fid).ok());
  }
  auto a = s.client().Attach("u", dir_.path(), 0);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(s.client().Clunk(a->fid).ok());
  EXPECT_EQ(s.client().Attach("u", "sub/../..", 0).error(), Errno(EINVAL));
  EXPECT_EQ(s.client().Attach("u", "nope", 0).error(), Errno(ENOENT));
  EXPECT_EQ(s.client().Attach("u", "sub/deeper/f", 0).error(), Errno(ENOTDIR));
  // A symlink in the attach name is not followed.
  EXPECT_EQ(s.client().Attach("u", "lnk/deeper", 0).error(), Errno(ENOTDIR));
}

TEST_F(FsGoferTest, OpenTwiceAndIoOnUnopenedFid) {
  WriteHostFile(dir_.Sub("f"), "x");
  Served s(dir_.path());
  auto f = s.WalkTo({"f"});
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> buf(8);
  EXPECT_EQ(s.client().Read(*f, 0, buf).error(), Errno(EBADF));
  ASSERT_TRUE(s.client().Lopen(*f, kORdonly).ok());
  EXPECT_EQ(s.client().Lopen(*f, kORdonly).error(), Errno(EBADF));
  EXPECT_EQ(s.client().Write(*f, 0, AsBytes("y")).error(), Errno(EBADF));
  EXPECT_EQ(s.client().Lopen(s.root(), kOWronly).error(), Errno(EISDIR));
  // Walking from an opened fid is allowed; walking to a file then from it
  // is ENOTDIR.
  EXPECT_EQ(s.client().Walk(*f, {"x"}).error(), Errno(ENOTDIR));
  EXPECT_TRUE(s.client().Clunk(*f).ok());
  EXPECT_EQ(s.client().Clunk(*f), Errno(EBADF));
}

TEST_F(FsGoferTest, FdDonationWithExtendedDialect) {
  WriteHostFile(dir_.Sub("f"), "donated");
  Served s(dir_.path(), {}, /*pass_fds=*/true);
  auto f = s.WalkTo({"f"});
  ASSERT_TRUE(f.ok());
  auto o = s.client().Lopen(*f, kORdonly);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->host_fd.valid());
  char buf[16] = {};
  EXPECT_EQ(::pread(o->host_fd.get(), buf, sizeof(buf), 0), 7);
  EXPECT_STREQ(buf, "donated");
  // Directories are not donated.
  auto d = s.client().Walk(s.root(), {});
  ASSERT_TRUE(d.ok());
  auto od = s.client().Lopen(d->newfid, kORdonly);
  ASSERT_TRUE(od.ok());
  EXPECT_FALSE(od->host_fd.valid());
}

TEST_F(FsGoferTest, PlainDialectWorksToo) {
  WriteHostFile(dir_.Sub("f"), "plain");
  p9::Client::Options o;
  o.use_extensions = false;
  Served s(dir_.path(), {}, false, o);
  EXPECT_EQ(s.client().extension_level(), 0);
  EXPECT_EQ(s.ReadAll({"f"}), "plain");
  auto wg = s.client().WalkGetAttr(s.root(), {"f"});
  ASSERT_TRUE(wg.ok());
  EXPECT_EQ(wg->attr.size, 5u);
}

TEST_F(FsGoferTest, UserXattrsPassThrough) {
  WriteHostFile(dir_.Sub("f"), "x");
  if (::setxattr(dir_.Sub("f").c_str(), "user.probe", "1", 1, 0) != 0) {
    GTEST_SKIP() << "no user xattrs on " << dir_.path();
  }
  ::removexattr(dir_.Sub("f").c_str(), "user.probe");
  Served s(dir_.path());
  auto f = s.WalkTo({"f"});
  ASSERT_TRUE(f.ok());
  // Set user.color = "blue" (the value follows as Twrite; Tclunk stores it).
  auto x = s.client().Walk(*f, {});
  ASSERT_TRUE(x.ok());
  ASSERT_TRUE(s.client().Xattrcreate(x->newfid, "user.color", 4, 0).ok());
  ASSERT_TRUE(s.client().Write(x->newfid, 0, AsBytes("blue")).ok());
  // Past the announced size: refused.
  EXPECT_EQ(s.client().Write(x->newfid, 2, AsBytes("xyz")).error(),
            Errno(ENOSPC));
  ASSERT_TRUE(s.client().Clunk(x->newfid).ok());
  char buf[16] = {};
  ASSERT_EQ(::getxattr(dir_.Sub("f").c_str(), "user.color", buf, sizeof(buf)),
            4);
  EXPECT_STREQ(buf, "blue");
  // Get.
  auto w = s.client().Xattrwalk(*f, "user.color");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->size, 4u);
  std::vector<uint8_t> out(16);
  auto n = s.client().Read(w->newfid, 0, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(out.begin(), out.begin() + *n), "blue");
  EXPECT_TRUE(s.client().Clunk(w->newfid).ok());
  // List: user.* only.
  auto l = s.client().Xattrwalk(*f, "");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size, sizeof("user.color"));
  EXPECT_TRUE(s.client().Clunk(l->newfid).ok());
  EXPECT_EQ(s.client().Xattrwalk(*f, "user.none").error(), Errno(ENODATA));
  // Other namespaces are not passed through.
  EXPECT_EQ(s.client().Xattrwalk(*f, "trusted.x").error(), Errno(EOPNOTSUPP));
  EXPECT_EQ(s.client().Xattrwalk(*f, "security.selinux").error(),
            Errno(EOPNOTSUPP));
  auto y = s.client().Walk(*f, {});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(s.client().Xattrcreate(y->newfid, "trusted.x", 1, 0),
            Errno(EOPNOTSUPP));
  // Size 0 removes.
  ASSERT_TRUE(s.client().Xattrcreate(y->newfid, "user.color", 0, 0).ok());
  ASSERT_TRUE(s.client().Clunk(y->newfid).ok());
  EXPECT_LT(::getxattr(dir_.Sub("f").c_str(), "user.color", buf, sizeof(buf)),
            0);
}

TEST_F(FsGoferTest, FidsAreReleased) {
  WriteHostFile(dir_.Sub("f"), "x");
  Served s(dir_.path());
  const size_t base = s.handler().fid_count();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.ReadAll({"f"}), "x");
  EXPECT_EQ(s.handler().fid_count(), base);
}

}  // namespace
}  // namespace fsgofer::testing
