#include "sentry/fs/dirent.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/context/context.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs {
namespace {

// A directory whose entries a test sets directly, standing in for a
// backing store that others change (a remote filesystem).
class FakeDir : public Inode {
 public:
  FakeDir(RefPtr<MountSource> msrc)
      : Inode(msrc, StableAttr{InodeType::kDirectory, msrc->device(),
                               msrc->NextIno(), 0, 4096}) {}
  ErrnoOr<UnstableAttr> GetAttr(const Context&) override {
    UnstableAttr a;
    a.perms = 0755;
    a.nlink = 2;
    return a;
  }
  ErrnoOr<RefPtr<Inode>> Lookup(const Context&, std::string_view name) override {
    ++lookups;
    auto it = entries.find(std::string(name));
    if (it == entries.end()) return Errno(ENOENT);
    return it->second;
  }
  std::map<std::string, RefPtr<Inode>> entries;
  int lookups = 0;
};

class FakeFile : public Inode {
 public:
  explicit FakeFile(MountSource* msrc)
      : Inode(RefPtr<MountSource>(msrc),
              StableAttr{InodeType::kRegular, msrc->device(), msrc->NextIno(),
                         0, 4096}) {}
  ErrnoOr<UnstableAttr> GetAttr(const Context&) override {
    return UnstableAttr{};
  }
};

class DirentTest : public ::testing::TestWithParam<CachePolicy> {
 protected:
  void SetUp() override {
    auto msrc = base::AdoptRef(
        new MountSource(nullptr, MountSourceFlags{}, GetParam(), "fake"));
    dir_ = base::AdoptRef(new FakeDir(msrc));
    root_ = Dirent::NewRoot(dir_);
  }
  void TearDown() override {
    root_->DetachTree();
    root_.reset();
    dir_.reset();
  }
  RefPtr<Inode> NewFile() {
    return base::AdoptRef<Inode>(new FakeFile(dir_->mount_source()));
  }
  context::Context ctx_{kernel::auth::Credentials::Root()};
  RefPtr<FakeDir> dir_;
  RefPtr<Dirent> root_;
};

TEST_P(DirentTest, TwoWalksShareOneDirentAndInode) {
  dir_->entries["f"] = NewFile();
  auto a = root_->Walk(ctx_, "f");
  auto b = root_->Walk(ctx_, "f");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->inode(), dir_->entries["f"].get());
}

TEST_P(DirentTest, MissingNameGivesACachedNegativeDirent) {
  auto a = root_->Walk(ctx_, "none");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE((*a)->negative());
  auto b = root_->Walk(ctx_, "none");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
}

TEST_P(DirentTest, KeepTrustsTheCacheOthersRevalidate) {
  dir_->entries["f"] = NewFile();
  ASSERT_TRUE(root_->Walk(ctx_, "f").ok());
  int before = dir_->lookups;
  ASSERT_TRUE(root_->Walk(ctx_, "f").ok());
  if (GetParam() == CachePolicy::kKeep) {
    EXPECT_EQ(dir_->lookups, before);
  } else {
    EXPECT_EQ(dir_->lookups, before + 1);
  }
}

TEST_P(DirentTest, ChangedBackingEntryReplacesTheDirentWhenRevalidating) {
  if (GetParam() == CachePolicy::kKeep) GTEST_SKIP() << "kKeep trusts it";
  dir_->entries["f"] = NewFile();
  auto old = root_->Walk(ctx_, "f");
  ASSERT_TRUE(old.ok());
  dir_->entries["f"] = NewFile();  // replaced behind our back
  auto now = root_->Walk(ctx_, "f");
  ASSERT_TRUE(now.ok());
  EXPECT_NE(old->get(), now->get());
  EXPECT_TRUE((*old)->unlinked());
  EXPECT_EQ((*now)->inode(), dir_->entries["f"].get());
  dir_->entries.erase("f");  // gone behind our back
  auto gone = root_->Walk(ctx_, "f");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE((*gone)->negative());
}

TEST_P(DirentTest, NegativeEntriesAreBounded) {
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(root_->Walk(ctx_, absl::StrCat("missing", i)).ok());
  }
  EXPECT_LE(root_->CachedChildrenForTest(), 1025u);
}

TEST_P(DirentTest, PositiveEntriesAreBoundedUnlessKept) {
  for (int i = 0; i < 3000; ++i) dir_->entries[absl::StrCat("f", i)] = NewFile();
  RefPtr<Dirent> held;
  for (int i = 0; i < 3000; ++i) {
    auto d = root_->Walk(ctx_, absl::StrCat("f", i));
    ASSERT_TRUE(d.ok());
    if (i == 0) held = *d;
  }
  if (GetParam() == CachePolicy::kKeep) {
    EXPECT_EQ(root_->CachedChildrenForTest(), 3000u);
  } else {
    EXPECT_LE(root_->CachedChildrenForTest(), 1025u);
  }
  // A dirent in use is never evicted: walking it again finds the same one.
  auto again = root_->Walk(ctx_, "f0");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), held.get());
}

INSTANTIATE_TEST_SUITE_P(Policies, DirentTest,
                         ::testing::Values(CachePolicy::kKeep,
                                           CachePolicy::kRevalidate,
                                           CachePolicy::kNone));

}  // namespace
}  // namespace sentry::fs
