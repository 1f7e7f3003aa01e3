// ChildIndex: the name-keyed set of a directory's cached children.
#include "sentry/fs/internal/child_index.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::fs::internal {
namespace {

class FakeFile : public Inode {
 public:
  explicit FakeFile(RefPtr<MountSource> msrc)
      : Inode(msrc, StableAttr{InodeType::kRegular, msrc->device(),
                               msrc->NextIno(), 0, 4096}) {}
  ErrnoOr<UnstableAttr> GetAttr(const Context&) override {
    return UnstableAttr{};
  }
};

// The index holds no references: the test's `keep` does, and every test
// empties the index before it goes.
class ChildIndexTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::vector<Dirent*> rest;
    index_.Clear(&rest);
    keep_.clear();
    epoch::Synchronize();
  }
  // A positive (or, with negative, a negative) dirent called name.
  Dirent* Make(const std::string& name, bool negative = false) {
    RefPtr<Inode> in;
    if (!negative) in = base::AdoptRef<Inode>(new FakeFile(msrc_));
    keep_.push_back(Dirent::NewDetached(std::move(in), name, nullptr));
    return keep_.back().get();
  }
  Dirent* FindUnlocked(std::string_view name) {
    epoch::ReadGuard g;
    return index_.Find(name);
  }

  RefPtr<MountSource> msrc_ = base::AdoptRef(
      new MountSource(nullptr, MountSourceFlags{}, CachePolicy::kKeep, "t"));
  std::vector<RefPtr<Dirent>> keep_;
  ChildIndex index_;
};

TEST_F(ChildIndexTest, EmptyFindsNothing) {
  EXPECT_EQ(index_.Find("a"), nullptr);
  EXPECT_EQ(index_.FindLocked("a"), nullptr);
  EXPECT_EQ(index_.Erase("a"), nullptr);
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_EQ(index_.negative(), 0u);
}

TEST_F(ChildIndexTest, PutFindEraseByTheDirentsOwnName) {
  Dirent* a = Make("a");
  Dirent* b = Make("b");
  EXPECT_EQ(index_.Put(a), nullptr);
  EXPECT_EQ(index_.Put(b), nullptr);
  EXPECT_EQ(FindUnlocked("a"), a);
  EXPECT_EQ(index_.FindLocked("b"), b);
  EXPECT_EQ(FindUnlocked("c"), nullptr);
  EXPECT_EQ(FindUnlocked(""), nullptr);
  EXPECT_EQ(FindUnlocked("aa"), nullptr);
  EXPECT_EQ(index_.size(), 2u);
  EXPECT_EQ(index_.Erase("a"), a);
  EXPECT_EQ(FindUnlocked("a"), nullptr);
  EXPECT_EQ(index_.Erase("a"), nullptr);
  EXPECT_EQ(FindUnlocked("b"), b);
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(ChildIndexTest, PutOverTheSameNameHandsBackTheOldEntry) {
  Dirent* neg = Make("x", /*negative=*/true);
  Dirent* pos = Make("x");
  EXPECT_EQ(index_.Put(neg), nullptr);
  EXPECT_EQ(index_.negative(), 1u);
  EXPECT_EQ(index_.Put(pos), neg);
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(index_.negative(), 0u);
  EXPECT_EQ(FindUnlocked("x"), pos);
  EXPECT_EQ(index_.Put(neg), pos);
  EXPECT_EQ(index_.negative(), 1u);
  EXPECT_EQ(index_.Erase("x"), neg);
  EXPECT_EQ(index_.negative(), 0u);
}

// Two names whose hashes share the 16-bit tag: only the name tells them
// apart.
TEST_F(ChildIndexTest, NamesWithTheSameTagAreTellApartByName) {
  std::map<uint64_t, std::string> by_tag;
  std::string first, second;
  for (int i = 0; second.empty(); ++i) {
    std::string n = absl::StrCat("n", i);
    uint64_t tag = ChildIndex::Hash(n) >> 48;
    auto [it, fresh] = by_tag.emplace(tag, n);
    if (!fresh) {
      first = it->second;
      second = n;
    }
  }
  Dirent* a = Make(first);
  Dirent* b = Make(second);
  index_.Put(a);
  EXPECT_EQ(FindUnlocked(second), nullptr);
  index_.Put(b);
  EXPECT_EQ(FindUnlocked(first), a);
  EXPECT_EQ(FindUnlocked(second), b);
  EXPECT_EQ(index_.Erase(first), a);
  EXPECT_EQ(FindUnlocked(second), b);
  EXPECT_EQ(FindUnlocked(first), nullptr);
}

// A rename as Dirent::Rename does it: out under the old name, in under
// the new (a new dirent stands in for the renamed one here).
TEST_F(ChildIndexTest, RenameIsEraseThenPutUnderTheNewName) {
  Dirent* old_name = Make("old");
  index_.Put(old_name);
  Dirent* victim = Make("new");
  index_.Put(victim);
  EXPECT_EQ(index_.Erase("old"), old_name);
  Dirent* moved = Make("new");
  EXPECT_EQ(index_.Put(moved), victim);  // renamed over
  EXPECT_EQ(FindUnlocked("old"), nullptr);
  EXPECT_EQ(FindUnlocked("new"), moved);
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(ChildIndexTest, ManyEntriesGrowAndSurviveErasure) {
  constexpr int kN = 20000;
  std::vector<Dirent*> ds;
  for (int i = 0; i < kN; ++i) {
    ds.push_back(Make(absl::StrCat("f", i), /*negative=*/i % 7 == 0));
    ASSERT_EQ(index_.Put(ds.back()), nullptr);
  }
  EXPECT_EQ(index_.size(), size_t{kN});
  EXPECT_EQ(index_.negative(), size_t{(kN + 6) / 7});
  for (int i = 0; i < kN; i += 2) {
    ASSERT_EQ(index_.Erase(absl::StrCat("f", i)), ds[i]);
  }
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(FindUnlocked(absl::StrCat("f", i)), i % 2 ? ds[i] : nullptr) << i;
  }
  // Refill the erased names: tombstones are reused or outgrown.
  for (int i = 0; i < kN; i += 2) ASSERT_EQ(index_.Put(ds[i]), nullptr);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(index_.FindLocked(absl::StrCat("f", i)), ds[i]) << i;
  }
  EXPECT_EQ(index_.size(), size_t{kN});
  EXPECT_EQ(index_.negative(), size_t{(kN + 6) / 7});
  // Churn in place (create/unlink): the table does not grow without end.
  for (int r = 0; r < 5 * kN; ++r) {
    Dirent* d = ds[r % kN];
    ASSERT_EQ(index_.Erase(NameOf(d)), d);
    ASSERT_EQ(index_.Put(d), nullptr);
  }
  EXPECT_EQ(index_.size(), size_t{kN});
}

// Past 128Ki names the table (256Ki slots, 2 MiB) is mapped memory of its
// own (asked for huge pages), and so are the tables it outgrows into; the
// entries move across both kinds intact.
TEST_F(ChildIndexTest, BigTablesAreMappedAndKeepEveryEntry) {
  constexpr int kN = 200000;
  std::vector<Dirent*> ds;
  ds.reserve(kN);
  for (int i = 0; i < kN; ++i) {
    ds.push_back(Make(absl::StrCat("big", i)));
    ASSERT_EQ(index_.Put(ds.back()), nullptr);
  }
  for (int i = 0; i < kN; i += 997) {
    ASSERT_EQ(FindUnlocked(absl::StrCat("big", i)), ds[i]) << i;
  }
  for (int i = 0; i < kN; i += 2) {
    ASSERT_EQ(index_.Erase(absl::StrCat("big", i)), ds[i]);
  }
  EXPECT_EQ(index_.size(), size_t{kN / 2});
  EXPECT_EQ(FindUnlocked("big0"), nullptr);
  EXPECT_EQ(FindUnlocked("big1"), ds[1]);
}

TEST_F(ChildIndexTest, ForEachEraseIfAndClearSeeEveryEntryOnce) {
  std::set<Dirent*> all;
  for (int i = 0; i < 100; ++i) {
    all.insert(Make(absl::StrCat("e", i), i % 3 == 0));
    index_.Put(keep_.back().get());
  }
  std::set<Dirent*> seen;
  index_.ForEach([&](Dirent* d) { EXPECT_TRUE(seen.insert(d).second); });
  EXPECT_EQ(seen, all);
  std::vector<Dirent*> negs;
  index_.EraseIf([](Dirent* d) { return IsNegative(d); }, &negs);
  EXPECT_EQ(negs.size(), 34u);
  EXPECT_EQ(index_.negative(), 0u);
  EXPECT_EQ(index_.size(), 66u);
  for (Dirent* d : negs) EXPECT_EQ(FindUnlocked(NameOf(d)), nullptr);
  std::vector<Dirent*> rest;
  index_.Clear(&rest);
  EXPECT_EQ(rest.size(), 66u);
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_EQ(FindUnlocked(NameOf(rest[0])), nullptr);
  // Usable again after Clear.
  index_.Put(rest[0]);
  EXPECT_EQ(FindUnlocked(NameOf(rest[0])), rest[0]);
}

// Readers without the lock while a writer churns and grows the table:
// every find is either a miss or the entry of that name.
TEST_F(ChildIndexTest, LockFreeReadersSeeOnlyRightAnswers) {
  constexpr int kN = 2000;
  std::vector<Dirent*> ds;
  for (int i = 0; i < kN; ++i) ds.push_back(Make(absl::StrCat("c", i)));
  for (int i = 0; i < kN / 4; ++i) index_.Put(ds[i]);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      for (int r = 0; !stop.load(std::memory_order_relaxed); ++r) {
        const int i = (r * 7 + t) % kN;
        const std::string n = absl::StrCat("c", i);
        epoch::ReadGuard g;
        Dirent* d = index_.Find(n);
        if (d != nullptr && d != ds[i]) wrong.fetch_add(1);
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kN; ++i) index_.Put(ds[i]);
    for (int i = 0; i < kN; i += 3) index_.Erase(NameOf(ds[i]));
    std::vector<Dirent*> out;
    if (round % 5 == 4) index_.Clear(&out);
  }
  stop.store(true);
  for (auto& th : readers) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace sentry::fs::internal
