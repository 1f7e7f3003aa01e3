// Tests of ramfs::MakeDirectoryTree.
#include "sentry/fs/ramfs/ramfs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sentry/context/context.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs::ramfs {
namespace {

using base::RefPtr;

context::Context Ctx() {
  return context::Context(kernel::auth::Credentials::Root());
}

// The inode at a '/'-separated path below root, or null.
RefPtr<Inode> WalkTo(const context::Context& ctx, RefPtr<Inode> root,
                     const std::string& path) {
  RefPtr<Inode> cur = root;
  size_t pos = 0;
  while (pos < path.size()) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    if (end == pos) break;
    auto next = cur->Lookup(ctx, path.substr(pos, end - pos));
    if (!next.ok()) return nullptr;
    cur = *next;
    pos = end;
  }
  return cur;
}

TEST(MakeDirectoryTreeTest, NestedPathsAreCreated) {
  auto ctx = Ctx();
  auto root = MakeDirectoryTree(ctx, {"/a/b/c", "/x"});
  ASSERT_TRUE(root.ok());
  for (const char* p : {"/a", "/a/b", "/a/b/c", "/x"}) {
    SCOPED_TRACE(p);
    RefPtr<Inode> n = WalkTo(ctx, *root, p);
    ASSERT_NE(n, nullptr);
    EXPECT_TRUE(n->IsDir());
  }
  EXPECT_EQ(WalkTo(ctx, *root, "/a/c"), nullptr);
}

TEST(MakeDirectoryTreeTest, SharedPrefixesAreCreatedOnce) {
  auto ctx = Ctx();
  auto root = MakeDirectoryTree(ctx, {"/a/b", "/a/c", "/a/b/d"});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ((*root)->EntryCountForTest(), 1u);
  RefPtr<Inode> a = WalkTo(ctx, *root, "/a");
  ASSERT_NE(a, nullptr);
  auto* ad = dynamic_cast<Dir*>(a.get());
  ASSERT_NE(ad, nullptr);
  EXPECT_EQ(ad->EntryCountForTest(), 2u);
  EXPECT_NE(WalkTo(ctx, *root, "/a/b/d"), nullptr);
}

TEST(MakeDirectoryTreeTest, ExistingDirectoriesAreKept) {
  auto ctx = Ctx();
  auto root = MakeDirectoryTree(ctx, {"/a/b", "/a", "/a/b"});
  ASSERT_TRUE(root.ok());
  RefPtr<Inode> a = WalkTo(ctx, *root, "/a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(dynamic_cast<Dir*>(a.get())->EntryCountForTest(), 1u);
  // nlink of /a: 2 + one subdirectory.
  auto attr = a->GetAttr(ctx);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->nlink, 3u);
}

TEST(MakeDirectoryTreeTest, RedundantSlashesAreIgnored) {
  auto ctx = Ctx();
  auto root = MakeDirectoryTree(ctx, {"//a///b/"});
  ASSERT_TRUE(root.ok());
  EXPECT_NE(WalkTo(ctx, *root, "/a/b"), nullptr);
}

TEST(MakeDirectoryTreeTest, EmptyListGivesEmptyRoot) {
  auto ctx = Ctx();
  auto root = MakeDirectoryTree(ctx, {});
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE((*root)->IsDir());
  EXPECT_EQ((*root)->EntryCountForTest(), 0u);
}

TEST(MakeDirectoryTreeTest, InvalidPathsAreEinval) {
  const std::vector<std::string> bad = {"a/b", "", "relative", "/a/../b",
                                        "/a/./b"};
  for (const auto& p : bad) {
    SCOPED_TRACE(p);
    auto ctx = Ctx();
    auto root = MakeDirectoryTree(ctx, {p});
    ASSERT_FALSE(root.ok());
    EXPECT_EQ(root.error().value(), EINVAL);
  }
}

}  // namespace
}  // namespace sentry::fs::ramfs

// ---- The lock-free copy of the access attributes path walks read.

namespace sentry::fs::ramfs {
namespace {

RefPtr<Inode> NewDir(testutil::TmpfsTask& t) {
  EXPECT_EQ(t->Mkdirat(AT_FDCWD, "/d", 0750), 0);
  auto p = t.ns->Resolve(t->ctx(), t.ns->Root(), t.ns->Root(), "/d");
  EXPECT_TRUE(p.ok());
  return p.ok() ? p->dirent->inode_ref() : nullptr;
}

TEST(AccessAttrTest, FollowsSetAttr) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  auto ctx = Ctx();
  auto same = [&] {
    auto full = d->GetAttr(ctx);
    auto acc = d->GetAccessAttr(ctx);
    ASSERT_TRUE(full.ok() && acc.ok());
    EXPECT_EQ(acc->perms, full->perms);
    EXPECT_EQ(acc->uid, full->uid);
    EXPECT_EQ(acc->gid, full->gid);
  };
  same();
  AttrChange ch;
  ch.perms = 01705;
  ch.uid = 1000;
  ch.gid = 2000;
  ASSERT_TRUE(d->SetAttr(ctx, ch).ok());
  same();
  EXPECT_EQ(d->GetAccessAttr(ctx)->perms, 01705u);
  AttrChange only_gid;
  only_gid.gid = 7;
  ASSERT_TRUE(d->SetAttr(ctx, only_gid).ok());
  same();
  d.reset();
  t.reset();
}

// A reader racing chmod/chown sees one whole state or the other, never a
// mix (the sequence count makes the three fields one snapshot).
TEST(AccessAttrTest, ReadersNeverSeeATornUpdate) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  auto ctx = Ctx();
  const AccessAttr a{0700, 1, 1}, b{0755, 2, 2};
  auto set = [&](const AccessAttr& x) {
    AttrChange ch;
    ch.perms = x.perms;
    ch.uid = x.uid;
    ch.gid = x.gid;
    return d->SetAttr(ctx, ch).ok();
  };
  ASSERT_TRUE(set(a));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    auto rctx = Ctx();
    while (!stop.load()) {
      auto r = d->GetAccessAttr(rctx);
      if (!r.ok()) continue;
      bool is_a = r->perms == a.perms && r->uid == a.uid && r->gid == a.gid;
      bool is_b = r->perms == b.perms && r->uid == b.uid && r->gid == b.gid;
      if (!is_a && !is_b) torn.fetch_add(1);
    }
  });
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(set(i % 2 ? a : b));
  stop.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  d.reset();
  t.reset();
}

}  // namespace
}  // namespace sentry::fs::ramfs
