// Tests of ramfs::MakeDirectoryTree.
#include "sentry/fs/ramfs/ramfs.h"

#include <sys/stat.h>

#include <string>
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
