#include "sentry/fs/dirent.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/context/context.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount.h"
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
  ErrnoOr<RefPtr<Inode>> Lookup(const Context&,
                                std::string_view name) override {
    ++lookups;
    auto it = entries.find(std::string(name));
    if (it == entries.end()) return Errno(ENOENT);
    return it->second;
  }
  // One "round trip" for the whole chain, as a 9P Twalk.
  ErrnoOr<std::vector<RefPtr<Inode>>> LookupChain(
      const Context&, const std::vector<std::string_view>& names) override {
    ++chains;
    std::vector<RefPtr<Inode>> out;
    FakeDir* d = this;
    for (std::string_view n : names) {
      auto it = d->entries.find(std::string(n));
      if (it == d->entries.end()) break;
      out.push_back(it->second);
      d = dynamic_cast<FakeDir*>(it->second.get());
      if (d == nullptr) break;
    }
    return out;
  }
  std::map<std::string, RefPtr<Inode>> entries;
  int lookups = 0;
  int chains = 0;
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
  for (int i = 0; i < 3000; ++i)
    dir_->entries[absl::StrCat("f", i)] = NewFile();
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

TEST_P(DirentTest, PathWalkFetchesAChainInOneCallUnlessKept) {
  // /a/b/c/d, each a FakeDir.
  FakeDir* d = dir_.get();
  std::vector<FakeDir*> dirs{d};
  for (const char* n : {"a", "b", "c", "d"}) {
    auto child =
        base::AdoptRef(new FakeDir(RefPtr<MountSource>(dir_->mount_source())));
    d->entries[n] = child;
    d = child.get();
    dirs.push_back(d);
  }
  {
    auto ns = MountNamespace::New(root_);
    Path root = ns->Root();
    auto p = ns->Resolve(ctx_, root, root, "/a/b/c/d");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->inode(), dirs[4]);
    int calls = 0;
    for (FakeDir* x : dirs) calls += x->chains + x->lookups;
    EXPECT_EQ(dir_->chains, 1);
    EXPECT_EQ(calls, 1);
    // A missing name at the end costs one chain from the last cached
    // directory where the cache is kept, and from the top elsewhere.
    auto missing = ns->Resolve(ctx_, root, root, "/a/b/x/y");
    EXPECT_EQ(missing.error(), Errno(ENOENT));
    if (GetParam() == CachePolicy::kKeep) {
      EXPECT_EQ(dir_->chains, 1);
      EXPECT_EQ(dirs[2]->chains, 1);
      // Now all cached: no calls at all.
      calls = 0;
      for (FakeDir* x : dirs) calls += x->chains + x->lookups;
      ASSERT_TRUE(ns->Resolve(ctx_, root, root, "/a/b/c/d").ok());
      int again = 0;
      for (FakeDir* x : dirs) again += x->chains + x->lookups;
      EXPECT_EQ(again, calls);
    } else {
      EXPECT_EQ(dir_->chains, 2);
    }
  }
  // Deepest first: each directory is kept alive by its parent's entry.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) (*it)->entries.clear();
}

// A namespace change that begins while a chain walk's round trip is out
// must keep a kept cache (kKeep) from taking what the walk fetched: the
// walk falls back to one careful Walk of the first name.
TEST_P(DirentTest, ChainRacingANamespaceChangeIsNotCachedWhenKept) {
  if (GetParam() != CachePolicy::kKeep) {
    GTEST_SKIP() << "elsewhere every walk starts at the top and revalidates";
  }
  class RacingDir : public FakeDir {
   public:
    using FakeDir::FakeDir;
    ErrnoOr<std::vector<RefPtr<Inode>>> LookupChain(
        const Context& ctx,
        const std::vector<std::string_view>& names) override {
      if (during) during();
      return FakeDir::LookupChain(ctx, names);
    }
    std::function<void()> during;
  };
  auto msrc = RefPtr<MountSource>(dir_->mount_source());
  auto racing = base::AdoptRef(new RacingDir(msrc));
  auto inner = base::AdoptRef(new FakeDir(msrc));
  racing->entries["in"] = inner;
  inner->entries["f"] = base::AdoptRef(new FakeFile(msrc.get()));
  dir_->entries["r"] = racing;
  auto ns = MountNamespace::New(root_);
  Path root = ns->Root();
  ASSERT_TRUE(ns->Resolve(ctx_, root, root, "/r").ok());
  RefPtr<Dirent> rd = root_->CachedChild("r");
  ASSERT_TRUE(rd);
  // The change: something removed elsewhere on the same mount source.
  racing->during = [&] {
    msrc->BeginNamespaceChange();
    msrc->EndNamespaceChange();
  };
  auto p = ns->Resolve(ctx_, root, root, "/r/in/f");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(racing->chains, 1);
  EXPECT_EQ(racing->lookups, 1) << "fell back to Walk(\"in\")";
  // ... and went on name by name, caching each.
  racing->during = nullptr;
  RefPtr<Dirent> in = rd->CachedChild("in");
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->CachedChild("f"));
  EXPECT_EQ(p->inode(), inner->entries["f"].get());

  inner->entries.clear();
  racing->entries.clear();
  dir_->entries.clear();
}

// A dirent's name lives in its own allocation, just past the struct:
// every length, from empty to longer than NAME_MAX (a root may be named
// after a host path), comes back whole, for files (no children block) and
// directories alike (renames, which publish a name of their own, are in
// the kernel's and the difftests' renames).
TEST_P(DirentTest, NamesOfEveryLengthComeBackWhole) {
  std::string name;
  for (int len = 0; len <= 300; ++len) {
    SCOPED_TRACE(len);
    RefPtr<Dirent> f = Dirent::NewDetached(NewFile(), name, root_);
    EXPECT_EQ(f->name(), name);
    EXPECT_EQ(f->CachedChildrenForTest(), 0u);
    RefPtr<Dirent> d = Dirent::NewRoot(dir_, name);
    EXPECT_EQ(d->name(), name);
    name.push_back(static_cast<char>('a' + len % 26));
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, DirentTest,
                         ::testing::Values(CachePolicy::kKeep,
                                           CachePolicy::kRevalidate,
                                           CachePolicy::kNone));

}  // namespace
}  // namespace sentry::fs
