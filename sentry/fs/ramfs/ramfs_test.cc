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

// ---- A directory's entries: one record per name, in insertion order.

namespace sentry::fs::ramfs {
namespace {

struct Listing : DirSink {
  bool Add(const DirEntry& e) override {
    names.emplace_back(e.name);
    offs.push_back(e.next_off);
    return names.size() < limit;
  }
  std::vector<std::string> names;
  std::vector<uint64_t> offs;
  size_t limit = ~size_t{0};
};

// The names IterateDir reports from offset on, without "." and "..".
std::vector<std::string> ListFrom(Inode* d, uint64_t offset) {
  Listing l;
  EXPECT_TRUE(d->IterateDir(Ctx(), offset, l).ok());
  std::vector<std::string> out;
  for (const std::string& n : l.names) {
    if (n != "." && n != "..") out.push_back(n);
  }
  return out;
}

Errno Create(Inode* d, const std::string& name) {
  CreateSpec spec;
  spec.mode = S_IFREG | 0644;
  auto r = d->CreateChild(Ctx(), name, spec);
  return r.ok() ? Errno() : r.error();
}

TEST(DirEntriesTest, ReaddirOffsetsSurviveCreatesAndUnlinks) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Create(d.get(), "e" + std::to_string(i)).ok());
  }
  // Read the first 50 (after "." and ".."), keep the offset.
  Listing first;
  first.limit = 52;
  ASSERT_TRUE(d->IterateDir(Ctx(), 0, first).ok());
  ASSERT_EQ(first.names.size(), 52u);
  EXPECT_EQ(first.names[2], "e0");
  EXPECT_EQ(first.names[51], "e49");
  const uint64_t resume = first.offs.back();
  // Meanwhile: remove some read and unread entries, add new ones, and
  // re-create a removed name (a new entry: it goes last).
  for (int i = 0; i < 100; i += 3) {
    ASSERT_TRUE(d->RemoveChild(Ctx(), "e" + std::to_string(i), false).ok());
  }
  ASSERT_TRUE(Create(d.get(), "new").ok());
  ASSERT_TRUE(Create(d.get(), "e0").ok());
  std::vector<std::string> want;
  for (int i = 50; i < 100; ++i) {
    if (i % 3 != 0) want.push_back("e" + std::to_string(i));
  }
  want.push_back("new");
  want.push_back("e0");
  EXPECT_EQ(ListFrom(d.get(), resume), want);
  // Each reported offset resumes right after its entry.
  Listing all;
  ASSERT_TRUE(d->IterateDir(Ctx(), 0, all).ok());
  for (size_t i = 0; i + 1 < all.names.size(); ++i) {
    Listing one;
    one.limit = 1;
    ASSERT_TRUE(d->IterateDir(Ctx(), all.offs[i], one).ok());
    ASSERT_EQ(one.names.size(), 1u);
    EXPECT_EQ(one.names[0], all.names[i + 1]);
  }
  d.reset();
  t.reset();
}

TEST(DirEntriesTest, NamesOfEveryLengthUpToNameMax) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  std::vector<std::string> names;
  for (size_t len : {1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 100, 254, 255}) {
    names.push_back(std::string(len, 'a' + len % 26));
    ASSERT_TRUE(Create(d.get(), names.back()).ok()) << len;
  }
  EXPECT_EQ(ListFrom(d.get(), 0), names);
  for (const std::string& n : names) {
    auto r = d->Lookup(Ctx(), n);
    ASSERT_TRUE(r.ok()) << n.size();
  }
  // A prefix or extension of a stored name is another name.
  EXPECT_EQ(d->Lookup(Ctx(), std::string(254, 'a' + 255 % 26)).error(),
            Errno(ENOENT));
  EXPECT_EQ(d->Lookup(Ctx(), std::string(3, 'a' + 2)).error(), Errno(ENOENT));
  auto* dir = static_cast<Dir*>(d.get());
  RefPtr<Inode> child = *d->Lookup(Ctx(), names[0]);
  EXPECT_EQ(dir->AddChild(std::string(256, 'x'), child), Errno(ENAMETOOLONG));
  EXPECT_EQ(dir->EntryCountForTest(), names.size());
  child.reset();
  d.reset();
  t.reset();
}

TEST(DirEntriesTest, RenamesKeepOneEntryPerName) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  auto* dir = static_cast<Dir*>(d.get());
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(Create(d.get(), n).ok());
  Inode* a = d->Lookup(Ctx(), "a")->get();
  Inode* b = d->Lookup(Ctx(), "b")->get();
  Inode* c = d->Lookup(Ctx(), "c")->get();
  // a -> long name: the entry moves to the end (a new serial).
  const std::string longer(40, 'z');
  ASSERT_TRUE(d->Rename(Ctx(), "a", d.get(), longer, 0).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), (std::vector<std::string>{"b", "c", longer}));
  EXPECT_EQ(d->Lookup(Ctx(), "a").error(), Errno(ENOENT));
  EXPECT_EQ(d->Lookup(Ctx(), longer)->get(), a);
  // Over an existing name: one entry left for it.
  ASSERT_TRUE(d->Rename(Ctx(), "b", d.get(), "c", 0).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), (std::vector<std::string>{longer, "c"}));
  EXPECT_EQ(d->Lookup(Ctx(), "c")->get(), b);
  EXPECT_EQ(dir->EntryCountForTest(), 2u);
  // Exchange: names stay where they are, inodes swap.
  ASSERT_TRUE(d->Rename(Ctx(), "c", d.get(), longer, RENAME_EXCHANGE).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), (std::vector<std::string>{longer, "c"}));
  EXPECT_EQ(d->Lookup(Ctx(), "c")->get(), a);
  EXPECT_EQ(d->Lookup(Ctx(), longer)->get(), b);
  (void)c;
  d.reset();
  t.reset();
}

TEST(DirEntriesTest, ManyEntries) {
  testutil::TmpfsTask t = testutil::NewTmpfsTask();
  RefPtr<Inode> d = NewDir(t);
  ASSERT_TRUE(d);
  constexpr int kN = 10000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(Create(d.get(), "f" + std::to_string(i)).ok());
  }
  for (int i = 1; i < kN; i += 2) {
    ASSERT_TRUE(d->RemoveChild(Ctx(), "f" + std::to_string(i), false).ok());
  }
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(d->Lookup(Ctx(), "f" + std::to_string(i)).ok(), i % 2 == 0);
  }
  std::vector<std::string> listed = ListFrom(d.get(), 0);
  ASSERT_EQ(listed.size(), size_t{kN / 2});
  for (int i = 0; i < kN / 2; ++i) EXPECT_EQ(listed[i], "f" + std::to_string(2 * i));
  EXPECT_EQ(d->GetAttr(Ctx())->size, (kN / 2 + 2) * Dir::kBogoDirentSize);
  d.reset();
  t.reset();
}

}  // namespace
}  // namespace sentry::fs::ramfs
