// Tests of ramfs::MakeDirectoryTree.
#include "sentry/fs/ramfs/ramfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
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

// A directory on a source that says TMPFS_MAGIC lists as tmpfs does
// (newest first), on a plain one as ramfs (oldest first).
class ShmemMountSource : public RamMountSource {
 public:
  using RamMountSource::RamMountSource;
  int64_t Magic() const override { return linux_abi::kTmpfsMagic; }
};

class DirEntriesTest : public ::testing::TestWithParam<bool> {
 protected:
  bool shmem() const { return GetParam(); }
  RefPtr<Inode> NewDir() {
    RefPtr<RamMountSource> msrc =
        shmem() ? RefPtr<RamMountSource>(base::MakeRef<ShmemMountSource>(
                      nullptr, MountSourceFlags{}))
                : base::MakeRef<RamMountSource>(nullptr, MountSourceFlags{});
    return NewRoot(Ctx(), msrc, 0755, 0, 0);
  }
  // Names in creation order, as this directory lists them.
  std::vector<std::string> Listed(std::vector<std::string> created) const {
    if (shmem()) std::reverse(created.begin(), created.end());
    return created;
  }
};

TEST_P(DirEntriesTest, ReaddirOffsetsSurviveCreatesAndUnlinks) {
  RefPtr<Inode> d = NewDir();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Create(d.get(), "e" + std::to_string(i)).ok());
  }
  // Read the first 50 (after "." and ".."), keep the offset.
  Listing first;
  first.limit = 52;
  ASSERT_TRUE(d->IterateDir(Ctx(), 0, first).ok());
  ASSERT_EQ(first.names.size(), 52u);
  EXPECT_EQ(first.names[2], shmem() ? "e99" : "e0");
  EXPECT_EQ(first.names[51], shmem() ? "e50" : "e49");
  const uint64_t resume = first.offs.back();
  // Meanwhile: remove some read and unread entries, add new ones, and
  // re-create a removed name (a new entry: the newest).
  for (int i = 0; i < 100; i += 3) {
    ASSERT_TRUE(d->RemoveChild(Ctx(), "e" + std::to_string(i), false).ok());
  }
  ASSERT_TRUE(Create(d.get(), "new").ok());
  ASSERT_TRUE(Create(d.get(), "e0").ok());
  // The rest of the first listing, without what went; new entries come
  // at the end of an oldest-first listing and not at all in a
  // newest-first one, which has passed their place.
  std::vector<std::string> want;
  for (int i = 0; i < 100; ++i) {
    if (i % 3 != 0 && (shmem() ? i < 50 : i >= 50)) {
      want.push_back("e" + std::to_string(i));
    }
  }
  if (shmem()) {
    std::reverse(want.begin(), want.end());
  } else {
    want.push_back("new");
    want.push_back("e0");
  }
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
  // The last offset is the end: tmpfs's mark, from which nothing is
  // listed, even an entry made since.
  if (shmem()) {
    EXPECT_EQ(all.offs.back(), Dir::kEndOfDir);
    ASSERT_TRUE(Create(d.get(), "later").ok());
    EXPECT_TRUE(ListFrom(d.get(), all.offs.back()).empty());
  }
}

TEST_P(DirEntriesTest, NamesOfEveryLengthUpToNameMax) {
  RefPtr<Inode> d = NewDir();
  std::vector<std::string> names;
  for (size_t len : {1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 100, 254, 255}) {
    names.push_back(std::string(len, 'a' + len % 26));
    ASSERT_TRUE(Create(d.get(), names.back()).ok()) << len;
  }
  EXPECT_EQ(ListFrom(d.get(), 0), Listed(names));
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
}

TEST_P(DirEntriesTest, RenamesKeepOneEntryPerName) {
  RefPtr<Inode> d = NewDir();
  auto* dir = static_cast<Dir*>(d.get());
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(Create(d.get(), n).ok());
  Inode* a = d->Lookup(Ctx(), "a")->get();
  Inode* b = d->Lookup(Ctx(), "b")->get();
  // a -> long name: the entry is the newest (a new serial).
  const std::string longer(40, 'z');
  ASSERT_TRUE(d->Rename(Ctx(), "a", d.get(), longer, 0).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), Listed({"b", "c", longer}));
  EXPECT_EQ(d->Lookup(Ctx(), "a").error(), Errno(ENOENT));
  EXPECT_EQ(d->Lookup(Ctx(), longer)->get(), a);
  // Over an existing name: one entry left for it.
  ASSERT_TRUE(d->Rename(Ctx(), "b", d.get(), "c", 0).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), Listed({longer, "c"}));
  EXPECT_EQ(d->Lookup(Ctx(), "c")->get(), b);
  EXPECT_EQ(dir->EntryCountForTest(), 2u);
  // Exchange: names stay where they are, inodes swap.
  ASSERT_TRUE(d->Rename(Ctx(), "c", d.get(), longer, RENAME_EXCHANGE).ok());
  EXPECT_EQ(ListFrom(d.get(), 0), Listed({longer, "c"}));
  EXPECT_EQ(d->Lookup(Ctx(), "c")->get(), a);
  EXPECT_EQ(d->Lookup(Ctx(), longer)->get(), b);
}

TEST_P(DirEntriesTest, ManyEntries) {
  RefPtr<Inode> d = NewDir();
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
  std::vector<std::string> want;
  for (int i = 0; i < kN; i += 2) want.push_back("f" + std::to_string(i));
  EXPECT_EQ(ListFrom(d.get(), 0), Listed(want));
  EXPECT_EQ(d->GetAttr(Ctx())->size, (kN / 2 + 2) * Dir::kBogoDirentSize);
}

INSTANTIATE_TEST_SUITE_P(TmpfsAndRamfs, DirEntriesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "tmpfs" : "ramfs";
                         });

}  // namespace
}  // namespace sentry::fs::ramfs

// ---- Reads without the inode lock (the sequence-locked page table).

namespace sentry::fs::ramfs {
namespace {

RefPtr<RegularFile> NewFile(uint64_t max_bytes = RamMountSource::kUnlimited) {
  auto ctx = Ctx();
  RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(
      new RamMountSource(nullptr, MountSourceFlags{}, "ramfs", max_bytes));
  CreateSpec spec;
  spec.mode = S_IFREG | 0644;
  auto in = NewInode(ctx, msrc, spec);
  EXPECT_TRUE(in.ok());
  return RefPtr<RegularFile>(static_cast<RegularFile*>(in->get()));
}

size_t Write(Inode* f, uint64_t off, const std::string& s) {
  uint64_t at;
  auto n = f->WriteAt(Ctx(), IOSequence::FromConst(s.data(), s.size()), off,
                      false, &at);
  EXPECT_TRUE(n.ok());
  return n.ok() ? *n : 0;
}

std::string Read(Inode* f, uint64_t off, size_t len) {
  std::string buf(len, '?');
  auto n = f->ReadAt(Ctx(), IOSequence(buf.data(), buf.size()), off);
  EXPECT_TRUE(n.ok());
  buf.resize(n.ok() ? *n : 0);
  return buf;
}

Errno Truncate(Inode* f, int64_t size) {
  AttrChange ch;
  ch.size = size;
  return f->SetAttr(Ctx(), ch);
}

constexpr uint64_t kPage = RegularFile::kPageSize;

TEST(RegularFileReadTest, HolesAndTailsReadAsZeros) {
  RefPtr<RegularFile> f = NewFile();
  Write(f.get(), 2 * kPage + 10, "abc");  // pages 0 and 1 are holes
  std::string want(2 * kPage + 13, '\0');
  want.replace(2 * kPage + 10, 3, "abc");
  EXPECT_EQ(Read(f.get(), 0, 10 * kPage), want);
  EXPECT_EQ(Read(f.get(), 2 * kPage + 11, 100), "bc");
  EXPECT_EQ(Read(f.get(), 2 * kPage + 13, 100), "");
  // Shrinking zeroes the cut tail, and growing again shows the zeros.
  ASSERT_TRUE(Truncate(f.get(), 2 * kPage + 11).ok());
  ASSERT_TRUE(Truncate(f.get(), 3 * kPage).ok());
  std::string after(3 * kPage, '\0');
  after[2 * kPage + 10] = 'a';
  EXPECT_EQ(Read(f.get(), 0, 10 * kPage), after);
  // Punching the page out makes it a hole again.
  ASSERT_TRUE(f->Allocate(Ctx(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          2 * kPage, kPage)
                  .ok());
  EXPECT_EQ(Read(f.get(), 0, 10 * kPage), std::string(3 * kPage, '\0'));
  EXPECT_EQ(f->GetAttr(Ctx())->usage, 0);
}

// A page far past the others stays off the lock-free table (too sparse);
// reads across both kinds of page see both.
TEST(RegularFileReadTest, SparseAndLargeFilesReadEverything) {
  RefPtr<RegularFile> f = NewFile();
  Write(f.get(), 0, "head");
  Write(f.get(), 100000 * kPage, "far");
  EXPECT_EQ(Read(f.get(), 0, 4), "head");
  EXPECT_EQ(Read(f.get(), 100000 * kPage - 2, 10),
            std::string(2, '\0') + "far");
  // Filling in pages grows the table over the ones it had left out.
  for (uint64_t i = 1; i < 64; ++i) {
    Write(f.get(), i * kPage,
          std::string(kPage, static_cast<char>('A' + i % 26)));
  }
  for (uint64_t i = 1; i < 64; ++i) {
    EXPECT_EQ(Read(f.get(), i * kPage, kPage),
              std::string(kPage, static_cast<char>('A' + i % 26)));
  }
  EXPECT_EQ(Read(f.get(), 100000 * kPage, 10), "far");
  // 20 MiB, past the largest table: the far pages read under the lock.
  RefPtr<RegularFile> big = NewFile();
  const std::string mib(1 << 20, 'm');
  for (uint64_t i = 0; i < 20; ++i) Write(big.get(), i * mib.size(), mib);
  EXPECT_EQ(Read(big.get(), 19 * mib.size() + 5, 3), "mmm");
  EXPECT_EQ(Read(big.get(), 16 * mib.size() - 2, 4), "mmmm");
  EXPECT_EQ(big->GetAttr(Ctx())->usage, 20 << 20);
}

// A write over pages the lock-free table has takes them from the table
// until the first it lacks (a hole, or a page past the table's end); the
// rest of the write fills holes and adds pages as before. Every byte
// lands, the usage counts each page once, and fallocate's unwritten
// pages stop being holes once written.
TEST(RegularFileReadTest, OverwritesAcrossHolesUnwrittenAndTheTableEnd) {
  RefPtr<RegularFile> f = NewFile();
  for (uint64_t i = 0; i < 6; ++i) {
    Write(f.get(), i * kPage, std::string(kPage, static_cast<char>('a' + i)));
  }
  // Page 1 becomes an unwritten (fallocated) page, page 3 a hole.
  for (uint64_t i : {1, 3}) {
    ASSERT_TRUE(f->Allocate(Ctx(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            i * kPage, kPage)
                    .ok());
  }
  ASSERT_TRUE(f->Allocate(Ctx(), 0, kPage, kPage).ok());
  EXPECT_EQ(f->GetAttr(Ctx())->usage, 5 * kPage);
  EXPECT_EQ(*f->SeekDataHole(Ctx(), 0, SEEK_HOLE), kPage);
  // From the middle of page 1 to past the end: table pages (the
  // unwritten one among them), the hole, and pages past the table's 8.
  const uint64_t start = kPage + 100;
  const std::string data(9 * kPage - 100, 'W');
  Write(f.get(), start, data);
  std::string want(kPage, 'a');
  want += std::string(100, '\0');
  want += data;
  EXPECT_EQ(Read(f.get(), 0, 20 * kPage), want);
  EXPECT_EQ(f->GetAttr(Ctx())->size, 10 * kPage);
  EXPECT_EQ(f->GetAttr(Ctx())->usage, 10 * kPage);
  // Page 1 is written now: no hole before the end.
  EXPECT_EQ(*f->SeekDataHole(Ctx(), 0, SEEK_HOLE), 10 * kPage);
  // Overwrites wholly inside the table, one across a page boundary.
  Write(f.get(), 3, "xyz");
  Write(f.get(), 5 * kPage - 1, "12");
  EXPECT_EQ(Read(f.get(), 0, 7), "aaaxyza");
  EXPECT_EQ(Read(f.get(), 5 * kPage - 2, 4), "W12W");
}

// The inode keeps a time as its seconds and nanoseconds apart: every
// value tmpfs can hold comes back as it was set, before 1970 and far past
// 2038 (Linux's tmpfs takes any 64-bit seconds).
TEST(RegularFileAttrTest, TimesComeBackExactly) {
  RefPtr<RegularFile> f = NewFile();
  AttrChange ch;
  ch.atime = linux_abi::Timespec{-2208988800, 999999999};  // 1900
  ch.mtime = linux_abi::Timespec{32503680000, 1};          // 3000
  ch.ctime = linux_abi::Timespec{int64_t{1} << 62, 123456789};
  ASSERT_TRUE(f->SetAttr(Ctx(), ch).ok());
  UnstableAttr a = *f->GetAttr(Ctx());
  EXPECT_EQ(a.atime.tv_sec, -2208988800);
  EXPECT_EQ(a.atime.tv_nsec, 999999999);
  EXPECT_EQ(a.mtime.tv_sec, 32503680000);
  EXPECT_EQ(a.mtime.tv_nsec, 1);
  EXPECT_EQ(a.ctime.tv_sec, int64_t{1} << 62);
  EXPECT_EQ(a.ctime.tv_nsec, 123456789);
  // The lock-free path (GetAttrInGuard) reads the same fields.
  UnstableAttr b;
  ASSERT_TRUE(f->GetAttrInGuard(Ctx(), &b));
  EXPECT_EQ(b.mtime.tv_sec, 32503680000);
  EXPECT_EQ(b.atime.tv_nsec, 999999999);
  // Extended attributes live in the inode's lazily made extras.
  EXPECT_EQ(f->GetXattr(Ctx(), "user.a").error().value(), ENODATA);
  EXPECT_EQ(f->SetXattr(Ctx(), "user.a", "1", XATTR_REPLACE).value(), ENODATA);
  ASSERT_TRUE(f->SetXattr(Ctx(), "user.a", "1", XATTR_CREATE).ok());
  EXPECT_EQ(f->SetXattr(Ctx(), "user.a", "2", XATTR_CREATE).value(), EEXIST);
  EXPECT_EQ(*f->GetXattr(Ctx(), "user.a"), "1");
  ASSERT_TRUE(f->RemoveXattr(Ctx(), "user.a").ok());
  EXPECT_EQ(f->ListXattr(Ctx())->size(), 0u);
}

// A copy-up's read of the lower file straight into the upper's pages:
// data, holes and a short tail come out as the source has them, the
// pages counted once, and nothing is left past the source's end.
TEST(RegularFileReadTest, CopyRangeFromReadsIntoThePages) {
  RefPtr<RegularFile> src = NewFile();
  Write(src.get(), 0, std::string(kPage + 100, 'a'));
  Write(src.get(), 5 * kPage, "tail");  // pages 2 to 4 are a hole
  const uint64_t size = 5 * kPage + 4;
  RefPtr<RegularFile> dst = NewFile();
  // The data regions only, as the overlay copies them.
  EXPECT_EQ(*dst->CopyRangeFrom(Ctx(), src.get(), 0, 2 * kPage), 2 * kPage);
  // Asked past the source's end: as much as there is.
  EXPECT_EQ(*dst->CopyRangeFrom(Ctx(), src.get(), 5 * kPage, kPage), 4u);
  EXPECT_EQ(*dst->CopyRangeFrom(Ctx(), src.get(), size, kPage), 0u);
  EXPECT_EQ(Read(dst.get(), 0, 10 * kPage), Read(src.get(), 0, 10 * kPage));
  UnstableAttr a = *dst->GetAttr(Ctx());
  EXPECT_EQ(a.size, static_cast<int64_t>(size));
  // Pages 0, 1 and 5; none made for the read that found nothing.
  EXPECT_EQ(a.usage, static_cast<int64_t>(3 * kPage));
  EXPECT_EQ(*dst->SeekDataHole(Ctx(), 2 * kPage, SEEK_DATA), 5 * kPage);
  // Growing the file shows zeros past the old end, not stale bytes.
  ASSERT_TRUE(Truncate(dst.get(), 6 * kPage).ok());
  EXPECT_EQ(Read(dst.get(), size, 16), std::string(16, '\0'));
  // A full source (tmpfs size=): ENOSPC once nothing fits.
  RefPtr<RegularFile> small = NewFile(/*max_bytes=*/kPage);
  EXPECT_EQ(*small->CopyRangeFrom(Ctx(), src.get(), 0, 2 * kPage), kPage);
  EXPECT_EQ(
      small->CopyRangeFrom(Ctx(), src.get(), kPage, kPage).error().value(),
      ENOSPC);
}

TEST(RegularFileReadTest, SizeLimitAndFallocateStillCount) {
  RefPtr<RegularFile> f = NewFile(/*max_bytes=*/4 * kPage);
  EXPECT_EQ(Write(f.get(), 0, std::string(3 * kPage, 'x')), 3 * kPage);
  // The fourth page fits, the fifth does not: a short write.
  EXPECT_EQ(Write(f.get(), 3 * kPage, std::string(2 * kPage, 'y')), kPage);
  ASSERT_TRUE(Truncate(f.get(), kPage).ok());
  EXPECT_EQ(f->GetAttr(Ctx())->usage, static_cast<int64_t>(kPage));
  ASSERT_TRUE(f->Allocate(Ctx(), 0, 0, 4 * kPage).ok());
  EXPECT_EQ(f->GetAttr(Ctx())->size, static_cast<int64_t>(4 * kPage));
  EXPECT_EQ(Read(f.get(), kPage, 3 * kPage), std::string(3 * kPage, '\0'));
  EXPECT_EQ(f->Allocate(Ctx(), 0, 0, 5 * kPage).value(), ENOSPC);
  EXPECT_EQ(*f->SeekDataHole(Ctx(), kPage, SEEK_HOLE), kPage);
}

// A writer alternately fills 16 KiB (four pages) with 'a' and with 'b';
// each write is one locked section, so every read sees all of one.
TEST(RegularFileReadTest, ReadsNeverMixTwoWrites) {
  RefPtr<RegularFile> f = NewFile();
  constexpr size_t kLen = 4 * kPage;
  const std::string a(kLen, 'a'), b(kLen, 'b');
  Write(f.get(), 0, a);
  std::atomic<bool> stop{false};
  std::atomic<int> mixed{0}, reads{0};
  auto reader = [&](size_t off, size_t len) {
    std::string buf(len, '?');
    while (!stop.load(std::memory_order_relaxed)) {
      auto n = f->ReadAt(Ctx(), IOSequence(buf.data(), len), off);
      reads.fetch_add(1, std::memory_order_relaxed);
      if (!n.ok() || *n != len ||
          buf.find_first_not_of(buf[0]) != std::string::npos ||
          (buf[0] != 'a' && buf[0] != 'b')) {
        mixed.fetch_add(1);
      }
    }
  };
  std::thread r1(reader, 0, kLen), r2(reader, kPage / 2, 2 * kPage);
  for (int i = 0; i < 20000; ++i) Write(f.get(), 0, i % 2 ? a : b);
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

// Truncates (which drop and zero pages) and growth race reads: each read
// returns one of the states the writer steps through, zeros for holes.
TEST(RegularFileReadTest, ReadsRacingTruncateSeeOneState) {
  RefPtr<RegularFile> f = NewFile();
  const std::string x(3 * kPage, 'x'), y(kPage, 'y');
  // The states, by size (each size names exactly one content).
  std::string s1 = x;                                     // 12288
  std::string s2 = x.substr(0, 6000);                     // truncated
  std::string s3 = s2 + std::string(20000 - 6000, '\0');  // grown
  std::string s4 = s3.substr(0, 4 * kPage) + y;           // 20480: y at page 4
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto reader = [&] {
    std::string buf(8 * kPage, '?');
    while (!stop.load(std::memory_order_relaxed)) {
      auto n = f->ReadAt(Ctx(), IOSequence(buf.data(), buf.size()), 0);
      if (!n.ok()) {
        bad.fetch_add(1);
        continue;
      }
      std::string_view got(buf.data(), *n);
      bool ok = got.empty() || got == s1 || got == s2 || got == s3 || got == s4;
      if (!ok) bad.fetch_add(1);
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(Truncate(f.get(), 0).ok());
    Write(f.get(), 0, x);
    ASSERT_TRUE(Truncate(f.get(), 6000).ok());
    ASSERT_TRUE(Truncate(f.get(), 20000).ok());
    Write(f.get(), 4 * kPage, y);
  }
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
}

// Files that grow page by page replace their lock-free table while
// readers use the old one (freed only once they are done: ASan checks).
TEST(RegularFileReadTest, ReadsRacingTableGrowth) {
  std::mutex mu;
  RefPtr<RegularFile> cur = NewFile();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto reader = [&] {
    std::string buf(300 * kPage, '?');
    while (!stop.load(std::memory_order_relaxed)) {
      RefPtr<RegularFile> f;
      {
        std::lock_guard<std::mutex> l(mu);
        f = cur;
      }
      auto n = f->ReadAt(Ctx(), IOSequence(buf.data(), buf.size()), 0);
      if (!n.ok() || *n % kPage != 0) {
        bad.fetch_add(1);
        continue;
      }
      for (size_t i = 0; i < *n; i += kPage) {
        if (buf.find_first_not_of(static_cast<char>(1 + i / kPage % 250), i) <
            i + kPage) {
          bad.fetch_add(1);
          break;
        }
      }
    }
  };
  std::thread r1(reader), r2(reader);
  for (int round = 0; round < 30; ++round) {
    RefPtr<RegularFile> f = NewFile();
    {
      std::lock_guard<std::mutex> l(mu);
      cur = f;
    }
    for (uint64_t i = 0; i < 300; ++i) {
      Write(f.get(), i * kPage,
            std::string(kPage, static_cast<char>(1 + i % 250)));
    }
    // Dropping pages while readers may be copying them.
    ASSERT_TRUE(Truncate(f.get(), 10 * kPage).ok());
  }
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
}

// stat racing chmod+truncate (one SetAttr) sees one whole state.
TEST(RegularFileReadTest, GetAttrRacingSetAttrSeesOneState) {
  RefPtr<RegularFile> f = NewFile();
  auto set = [&](uint32_t perms, uint32_t uid, int64_t size) {
    AttrChange ch;
    ch.perms = perms;
    ch.uid = uid;
    ch.size = size;
    return f->SetAttr(Ctx(), ch).ok();
  };
  ASSERT_TRUE(set(0600, 1, 100));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  auto reader = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      auto a = f->GetAttr(Ctx());
      if (!a.ok()) continue;
      bool one = a->perms == 0600 && a->uid == 1 && a->size == 100;
      bool two = a->perms == 0644 && a->uid == 2 && a->size == 200;
      if (!one && !two) torn.fetch_add(1);
      auto acc = f->GetAccessAttr(Ctx());
      if (!acc.ok() || !((acc->perms == 0600 && acc->uid == 1) ||
                         (acc->perms == 0644 && acc->uid == 2))) {
        torn.fetch_add(1);
      }
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(i % 2 ? set(0600, 1, 100) : set(0644, 2, 200));
    if (i % 64 == 0) Write(f.get(), 0, "z");  // writes move mtime, not these
  }
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(), 0);
}

// relatime: a read after a write moves atime, one after that does not.
TEST(RegularFileReadTest, RelatimeStillMovesAtimeAfterWrites) {
  RefPtr<RegularFile> f = NewFile();
  auto ctx = Ctx();
  AttrChange old;
  old.atime = linux_abi::Timespec{1000, 0};
  old.mtime = linux_abi::Timespec{2000, 0};
  ASSERT_TRUE(f->SetAttr(ctx, old).ok());
  f->TouchAtime(ctx, /*relatime=*/true);  // mtime after atime: moves
  linux_abi::Timespec a1 = f->GetAttr(ctx)->atime;
  EXPECT_GT(a1.tv_sec, 2000);
  f->TouchAtime(ctx, true);  // fresh now: stays
  EXPECT_EQ(f->GetAttr(ctx)->atime.tv_nsec, a1.tv_nsec);
  EXPECT_EQ(f->GetAttr(ctx)->atime.tv_sec, a1.tv_sec);
}

}  // namespace
}  // namespace sentry::fs::ramfs
