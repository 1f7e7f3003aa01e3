// Tests of MountNamespace: resolution across mounts, PathOf, Parent,
// CrossMountsDown, the mount table and unmount rules, with tmpfs trees.
#include "sentry/fs/mount.h"

#include <fcntl.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs {
namespace {

using base::RefPtr;

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = MountNamespace::New(NewTmpfsRoot());
    root_ = ns_->Root();
  }
  void TearDown() override {
    root_ = Path{};
    ns_.reset();
  }
  RefPtr<Dirent> NewTmpfsRoot() {
    auto fs = FindFilesystem("tmpfs");
    EXPECT_TRUE(fs.ok());
    auto inode = (*fs)->Mount(ctx_, "none", {}, "");
    EXPECT_TRUE(inode.ok());
    return Dirent::NewRoot(*inode);
  }
  Path Resolve(std::string_view p, const ResolveOptions& o = {}) {
    auto r = ns_->Resolve(ctx_, root_, root_, p, o);
    EXPECT_TRUE(r.ok()) << p << ": " << r.error().name();
    return r.ok() ? *r : Path{};
  }
  int ResolveErr(std::string_view p) {
    auto r = ns_->Resolve(ctx_, root_, root_, p);
    return r.ok() ? 0 : r.error().value();
  }
  Path Mkdir(const Path& parent, std::string_view name) {
    CreateSpec spec;
    spec.mode = S_IFDIR | 0755;
    auto d = parent.dirent->Create(ctx_, name, spec);
    EXPECT_TRUE(d.ok());
    return Path{parent.mount, *d};
  }

  context::Context ctx_{kernel::auth::Credentials::Root()};
  RefPtr<MountNamespace> ns_;
  Path root_;
};

TEST_F(MountTest, ResolveSameDirentTwice) {
  Path a = Mkdir(root_, "a");
  Path b = Mkdir(a, "b");
  Path r1 = Resolve("/a/b");
  Path r2 = Resolve("a//b/");
  EXPECT_TRUE(r1 == b);
  EXPECT_TRUE(r2 == b);
  EXPECT_TRUE(Resolve("/a/b/..") == a);
  EXPECT_TRUE(Resolve("/a/./b/../..") == root_);
}

TEST_F(MountTest, ResolveErrors) {
  Mkdir(root_, "a");
  EXPECT_EQ(ResolveErr("/nope"), ENOENT);
  EXPECT_EQ(ResolveErr(""), ENOENT);
  EXPECT_EQ(ResolveErr("/a/nope/x"), ENOENT);
  EXPECT_EQ(ResolveErr("/" + std::string(256, 'x')), ENAMETOOLONG);
  std::string longpath;
  while (longpath.size() < 4096) longpath += "/a";
  EXPECT_EQ(ResolveErr(longpath), ENAMETOOLONG);
}

TEST_F(MountTest, MountAtShowsNewRootAndParentCrossesUp) {
  Path a = Mkdir(root_, "a");
  auto m = ns_->MountAt(a, NewTmpfsRoot(), {});
  ASSERT_TRUE(m.ok());
  Path inside = Resolve("/a");
  EXPECT_EQ(inside.mount.get(), m->get());
  EXPECT_EQ(inside.dirent.get(), (*m)->root().get());
  EXPECT_TRUE(ns_->CrossMountsDown(a) == inside);
  EXPECT_TRUE(ns_->Parent(inside, root_) == root_);
  EXPECT_TRUE(ns_->Parent(root_, root_) == root_);
  EXPECT_EQ(ns_->PathOf(inside, root_), "/a");
  EXPECT_EQ((*m)->parent(), root_.mount.get());
  EXPECT_EQ((*m)->mount_point(), a.dirent.get());
  EXPECT_EQ(a.dirent->mount_count(), 1);
  auto infos = ns_->Mounts(root_);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[1].mount_point, "/a");
  EXPECT_EQ(infos[1].parent_id, root_.mount->id());
  EXPECT_EQ(infos[1].fs_type, "tmpfs");
  EXPECT_EQ(ns_->FindMount((*m)->id()).get(), m->get());
  inside = Path{};
  m->reset();
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), false).ok());
  EXPECT_EQ(a.dirent->mount_count(), 0);
  EXPECT_TRUE(Resolve("/a") == a);
}

TEST_F(MountTest, StackedMountsShowNewest) {
  Path a = Mkdir(root_, "a");
  auto m1 = ns_->MountAt(a, NewTmpfsRoot(), {});
  ASSERT_TRUE(m1.ok());
  auto m2 = ns_->MountAt(Resolve("/a"), NewTmpfsRoot(), {});
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(Resolve("/a").mount.get(), m2->get());
  m1->reset();
  m2->reset();
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), false).ok());
  EXPECT_NE(Resolve("/a").mount.get(), root_.mount.get());
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), false).ok());
  EXPECT_TRUE(Resolve("/a") == a);
}

TEST_F(MountTest, UnmountRules) {
  Path a = Mkdir(root_, "a");
  EXPECT_EQ(ns_->Unmount(a, false).value(), EINVAL);  // not a mount root
  auto m = ns_->MountAt(a, NewTmpfsRoot(), {});
  ASSERT_TRUE(m.ok());
  m->reset();
  Path held = Resolve("/a");  // a second reference: busy
  Path again = Resolve("/a");
  EXPECT_EQ(ns_->Unmount(again, false).value(), EBUSY);
  again = Path{};
  held = Path{};
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), false).ok());
}

TEST_F(MountTest, DetachedMountPathIsRelative) {
  Path a = Mkdir(root_, "a");
  auto m = ns_->MountAt(a, NewTmpfsRoot(), {});
  ASSERT_TRUE(m.ok());
  m->reset();
  Path inside = Resolve("/a");
  Path sub = Mkdir(inside, "sub");
  EXPECT_EQ(ns_->PathOf(sub, root_), "/a/sub");
  inside = Path{};
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), true).ok());
  EXPECT_TRUE(sub.mount->detached());
  EXPECT_EQ(ns_->PathOf(sub, root_), "/sub");
}

TEST_F(MountTest, BindMountOfSubdirectory) {
  Path a = Mkdir(root_, "a");
  Path b = Mkdir(a, "b");
  Path c = Mkdir(root_, "c");
  auto m = ns_->BindMount(b, c, false, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->root().get(), b.dirent.get());
  Path via = Resolve("/c");
  EXPECT_EQ(via.dirent.get(), b.dirent.get());
  EXPECT_EQ(ns_->PathOf(via, root_), "/c");
  auto infos = ns_->Mounts(root_);
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[1].root, "/a/b");
  via = Path{};
  m->reset();
  EXPECT_TRUE(ns_->Unmount(Resolve("/c"), false).ok());
}

TEST_F(MountTest, ReadOnlyMountFlag) {
  Path a = Mkdir(root_, "a");
  MountFlags f;
  f.read_only = true;
  auto m = ns_->MountAt(a, NewTmpfsRoot(), f);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->ReadOnly());
  EXPECT_FALSE(root_.mount->ReadOnly());
  m->reset();
  EXPECT_TRUE(ns_->Unmount(Resolve("/a"), false).ok());
}

}  // namespace
}  // namespace sentry::fs
