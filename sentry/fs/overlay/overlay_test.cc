// The overlay's own rules, and what it does better than Linux overlayfs
// (identity across copy-up). Behaviour shared with Linux is compared in
// sentry/kernel/difftest/overlay_test.cc.
#include "sentry/fs/overlay/overlay.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::overlay {
namespace {

using kernel::Task;
using kernel::auth::Credentials;
using testutil::IsErrno;
using testutil::ReadFile;
using testutil::Succeeds;
using testutil::WriteFile;

RefPtr<Inode> NewTmpfs(const Context& ctx) {
  auto fs = FindFilesystem("tmpfs");
  return *(*fs)->Mount(ctx, "none", {}, "mode=755");
}

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lower_ = NewTmpfs(ctx_);
    upper_ = NewTmpfs(ctx_);
    {
      // The image.
      Task t(MountNamespace::New(Dirent::NewRoot(lower_)), Credentials::Root());
      ASSERT_THAT(t.Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
      ASSERT_THAT(WriteFile(&t, "/d/f", "lower"), Succeeds());
      ASSERT_THAT(WriteFile(&t, "/h1", "linked"), Succeeds());
      ASSERT_THAT(t.Linkat(AT_FDCWD, "/h1", AT_FDCWD, "/h2", 0), Succeeds());
    }
    auto ov = NewOverlayRoot(ctx_, upper_, lower_);
    ASSERT_TRUE(ov.ok());
    ns_ = MountNamespace::New(Dirent::NewRoot(*ov));
    task_ = std::make_unique<Task>(ns_, Credentials::Root());
  }
  void TearDown() override {
    task_.reset();
    ns_.reset();
    lower_.reset();
    upper_.reset();
  }
  struct stat Stat(const char* p) {
    struct stat st {};
    EXPECT_THAT(task_->Fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW),
                Succeeds());
    return st;
  }
  // What the upper layer holds, seen directly.
  std::string UpperFile(const char* p) {
    Task t(MountNamespace::New(Dirent::NewRoot(upper_)), Credentials::Root());
    return ReadFile(&t, p);
  }

  context::Context ctx_{Credentials::Root()};
  RefPtr<Inode> lower_, upper_;
  RefPtr<MountNamespace> ns_;
  std::unique_ptr<Task> task_;
};

TEST_F(OverlayTest, CopyUpKeepsInodeNumberAndDevice) {
  struct stat before = Stat("/d/f");
  ASSERT_THAT(task_->Truncate("/d/f", 2), Succeeds());
  struct stat after = Stat("/d/f");
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(before.st_dev, after.st_dev);
  EXPECT_EQ(after.st_size, 2);
  EXPECT_EQ(UpperFile("/d/f"), "lo");
}

TEST_F(OverlayTest, ReadOnlyDescriptorSeesDataWrittenAfterCopyUp) {
  long ro = task_->Open("/d/f", O_RDONLY);
  ASSERT_THAT(ro, Succeeds());
  char buf[16] = {};
  ASSERT_EQ(task_->Pread64(ro, buf, 5, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "lower");
  long rw = task_->Open("/d/f", O_WRONLY | O_TRUNC);
  ASSERT_THAT(rw, Succeeds());
  ASSERT_EQ(task_->Write(rw, "upper!", 6), 6);
  ASSERT_EQ(task_->Pread64(ro, buf, 6, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "upper!");  // Linux would still say "lower"
  task_->Close(rw);
  task_->Close(ro);
  // The lower layer is untouched.
  Task lt(MountNamespace::New(Dirent::NewRoot(lower_)), Credentials::Root());
  EXPECT_EQ(ReadFile(&lt, "/d/f"), "lower");
}

TEST_F(OverlayTest, RecordLocksSurviveCopyUp) {
  long a = task_->Open("/d/f", O_RDWR);
  ASSERT_THAT(a, Succeeds());
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_len = 0;
  ASSERT_THAT(task_->Fcntl(a, F_SETLK, reinterpret_cast<unsigned long>(&fl)),
              Succeeds());
  // Another process sees the lock, before and after copy-up.
  Task other(ns_, Credentials::Root(), 2);
  long b = other.Open("/d/f", O_RDWR);  // copies up
  ASSERT_THAT(b, Succeeds());
  ASSERT_EQ(other.Write(b, "x", 1), 1);
  struct flock q {};
  q.l_type = F_WRLCK;
  q.l_whence = SEEK_SET;
  EXPECT_THAT(other.Fcntl(b, F_SETLK, reinterpret_cast<unsigned long>(&q)),
              IsErrno(EAGAIN));
  task_->Close(a);
  other.Close(b);
}

TEST_F(OverlayTest, InotifyWatchSurvivesCopyUp) {
  long in = task_->InotifyInit1(IN_NONBLOCK);
  ASSERT_THAT(in, Succeeds());
  ASSERT_THAT(task_->InotifyAddWatch(in, "/d/f", IN_MODIFY | IN_ATTRIB),
              Succeeds());
  ASSERT_THAT(task_->Fchmodat(AT_FDCWD, "/d/f", 0600), Succeeds());
  long fd = task_->Open("/d/f", O_WRONLY);
  ASSERT_EQ(task_->Write(fd, "y", 1), 1);
  task_->Close(fd);
  char buf[256];
  long n = task_->Read(in, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::vector<uint32_t> masks;
  for (long off = 0; off < n;) {
    auto* e = reinterpret_cast<struct inotify_event*>(buf + off);
    masks.push_back(e->mask);
    off += sizeof(*e) + e->len;
  }
  EXPECT_EQ(masks, (std::vector<uint32_t>{IN_ATTRIB, IN_MODIFY}));
  task_->Close(in);
}

TEST_F(OverlayTest, LowerHardLinksStayOneFileAcrossCopyUp) {
  EXPECT_EQ(Stat("/h1").st_ino, Stat("/h2").st_ino);
  EXPECT_EQ(Stat("/h1").st_nlink, 2u);
  long fd = task_->Open("/h1", O_WRONLY | O_APPEND);
  ASSERT_EQ(task_->Write(fd, "+", 1), 1);
  task_->Close(fd);
  EXPECT_EQ(ReadFile(task_.get(), "/h2"), "linked+");  // Linux: "linked"
  EXPECT_EQ(Stat("/h1").st_ino, Stat("/h2").st_ino);
}

// The second lower name of a file copied up through the first has no
// upper entry; renaming it still works (it failed with ENOENT), and the
// two names stay one file.
TEST_F(OverlayTest, LowerHardLinksCanEachBeRenamedAfterCopyUp) {
  ASSERT_THAT(task_->Renameat2(AT_FDCWD, "/h1", AT_FDCWD, "/x", 0), Succeeds());
  ASSERT_THAT(task_->Renameat2(AT_FDCWD, "/h2", AT_FDCWD, "/y", 0), Succeeds());
  EXPECT_EQ(ReadFile(task_.get(), "/y"), "linked");
  EXPECT_EQ(Stat("/x").st_ino, Stat("/y").st_ino);
  EXPECT_EQ(Stat("/x").st_nlink, 2u);
  struct stat st;
  EXPECT_THAT(task_->Fstatat(AT_FDCWD, "/h1", &st, 0), IsErrno(ENOENT));
  EXPECT_THAT(task_->Fstatat(AT_FDCWD, "/h2", &st, 0), IsErrno(ENOENT));
  ASSERT_THAT(task_->Unlinkat(AT_FDCWD, "/x", 0), Succeeds());
  EXPECT_EQ(Stat("/y").st_nlink, 1u);
  EXPECT_EQ(UpperFile("/y"), "linked");
}

TEST_F(OverlayTest, LowerHardLinkExchangedAfterCopyUp) {
  ASSERT_THAT(task_->Renameat2(AT_FDCWD, "/h1", AT_FDCWD, "/x", 0), Succeeds());
  ASSERT_THAT(
      task_->Renameat2(AT_FDCWD, "/h2", AT_FDCWD, "/d/f", RENAME_EXCHANGE),
      Succeeds());
  EXPECT_EQ(ReadFile(task_.get(), "/d/f"), "linked");
  EXPECT_EQ(ReadFile(task_.get(), "/h2"), "lower");
  EXPECT_EQ(Stat("/x").st_ino, Stat("/d/f").st_ino);
}

TEST_F(OverlayTest, WhiteoutsAndOpaqueDirectoriesAreStoredAsLinuxDoes) {
  ASSERT_THAT(task_->Unlinkat(AT_FDCWD, "/d/f", 0), Succeeds());
  ASSERT_THAT(task_->Unlinkat(AT_FDCWD, "/d", AT_REMOVEDIR), Succeeds());
  ASSERT_THAT(task_->Mkdirat(AT_FDCWD, "/d", 0700), Succeeds());
  Task up(MountNamespace::New(Dirent::NewRoot(upper_)), Credentials::Root());
  struct stat st {};
  ASSERT_THAT(up.Fstatat(AT_FDCWD, "/d", &st, 0), Succeeds());
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  char v[8];
  EXPECT_EQ(up.Getxattr("/d", "trusted.overlay.opaque", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], 'y');
  // Through the overlay, the private xattr does not show.
  EXPECT_THAT(task_->Getxattr("/d", "trusted.overlay.opaque", v, sizeof(v)),
              IsErrno(ENODATA));
  ASSERT_THAT(task_->Unlinkat(AT_FDCWD, "/h1", 0), Succeeds());
  ASSERT_THAT(up.Fstatat(AT_FDCWD, "/h1", &st, 0), Succeeds());
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, 0u);
}

TEST_F(OverlayTest, UpperMayNotBeAnOverlayButLowerMay) {
  auto ov = NewOverlayRoot(ctx_, NewTmpfs(ctx_), lower_);
  ASSERT_TRUE(ov.ok());
  EXPECT_EQ(NewOverlayRoot(ctx_, *ov, lower_).error(), Errno(EINVAL));
  // Nested: an overlay as the lower layer of another.
  auto nested = NewOverlayRoot(ctx_, NewTmpfs(ctx_), *ov);
  ASSERT_TRUE(nested.ok());
  Task t(MountNamespace::New(Dirent::NewRoot(*nested)), Credentials::Root());
  EXPECT_EQ(ReadFile(&t, "/d/f"), "lower");
  ASSERT_THAT(WriteFile(&t, "/d/f", "top"), Succeeds());
  EXPECT_EQ(ReadFile(&t, "/d/f"), "top");
  // Only the top upper changed: the middle overlay still shows the image.
  Task mid(MountNamespace::New(Dirent::NewRoot(*ov)), Credentials::Root());
  EXPECT_EQ(ReadFile(&mid, "/d/f"), "lower");
}

TEST_F(OverlayTest, SingleFileOverlay) {
  auto dir = NewTmpfs(ctx_);
  auto lower_file = lower_->Lookup(ctx_, "h1");
  ASSERT_TRUE(lower_file.ok());
  auto f = NewOverlayRootFile(ctx_, dir, *lower_file);
  ASSERT_TRUE(f.ok());
  // Bind it over /d/f of the overlay namespace, as /etc/hostname.
  auto target = ns_->Resolve(ctx_, ns_->Root(), ns_->Root(), "/d/f");
  ASSERT_TRUE(target.ok());
  RefPtr<Dirent> froot = Dirent::NewRoot(*f, "hostname");
  Path src{ns_->Root().mount, froot};
  ASSERT_TRUE(ns_->BindMount(src, *target, false, {}).ok());
  EXPECT_EQ(ReadFile(task_.get(), "/d/f"), "linked");
  ASSERT_THAT(WriteFile(task_.get(), "/d/f", "changed"), Succeeds());
  EXPECT_EQ(ReadFile(task_.get(), "/d/f"), "changed");
  EXPECT_EQ(ReadFile(task_.get(), "/h1"), "linked");  // lower untouched
  EXPECT_EQ(NewOverlayRootFile(ctx_, dir, lower_).error(), Errno(EISDIR));
  froot->DetachTree();
}

TEST(OverlayFailureTest, ACopyUpThatFailsLeavesNothingBehind) {
  context::Context ctx(Credentials::Root());
  RefPtr<Inode> lower = NewTmpfs(ctx);
  auto fs = FindFilesystem("tmpfs");
  RefPtr<Inode> upper = *(*fs)->Mount(ctx, "none", {}, "size=1m");
  {
    Task t(MountNamespace::New(Dirent::NewRoot(lower)), Credentials::Root());
    long fd = t.Open("/big", O_CREAT | O_WRONLY, 0644);
    std::string mb(1 << 20, 'z');
    for (int i = 0; i < 4; ++i)
      ASSERT_EQ(t.Write(fd, mb.data(), mb.size()), 1 << 20);
    t.Close(fd);
  }
  auto ov = NewOverlayRoot(ctx, upper, lower);
  ASSERT_TRUE(ov.ok());
  {
    Task t(MountNamespace::New(Dirent::NewRoot(*ov)), Credentials::Root());
    EXPECT_THAT(t.Fchmodat(AT_FDCWD, "/big", 0600), IsErrno(ENOSPC));
    struct stat st {};
    ASSERT_THAT(t.Fstatat(AT_FDCWD, "/big", &st, 0), Succeeds());
    EXPECT_EQ(st.st_mode & 0777, 0644u);  // still the lower file
    EXPECT_EQ(st.st_size, 4 << 20);
    Task up(MountNamespace::New(Dirent::NewRoot(upper)), Credentials::Root());
    EXPECT_THAT(up.Fstatat(AT_FDCWD, "/big", &st, 0), IsErrno(ENOENT));
    struct statfs sf {};
    ASSERT_THAT(up.Statfs("/", &sf), Succeeds());
    EXPECT_EQ(sf.f_bfree, sf.f_blocks);  // the partial copy was freed
  }
}

TEST(SubmountOverlayTest, StubDirectoriesAppearUnderTheRoot) {
  context::Context ctx(Credentials::Root());
  RefPtr<Inode> image = NewTmpfs(ctx);
  {
    Task t(MountNamespace::New(Dirent::NewRoot(image)), Credentials::Root());
    ASSERT_THAT(t.Mkdirat(AT_FDCWD, "/etc", 0755), Succeeds());
    ASSERT_THAT(WriteFile(&t, "/etc/passwd", "root"), Succeeds());
  }
  auto ov = NewSubmountOverlay(ctx, image, {"/proc", "/dev/pts", "/etc/x"});
  ASSERT_TRUE(ov.ok());
  Task t(MountNamespace::New(Dirent::NewRoot(*ov)), Credentials::Root());
  struct stat st {};
  for (const char* p : {"/proc", "/dev", "/dev/pts", "/etc/x"}) {
    SCOPED_TRACE(p);
    ASSERT_THAT(t.Fstatat(AT_FDCWD, p, &st, 0), Succeeds());
    EXPECT_TRUE(S_ISDIR(st.st_mode));
  }
  EXPECT_EQ(ReadFile(&t, "/etc/passwd"), "root");
  // A tmpfs can be mounted on a stub.
  EXPECT_THAT(t.Mount("none", "/proc", "tmpfs", 0, ""), Succeeds());
  EXPECT_THAT(t.Umount2("/proc", 0), Succeeds());
}

// Copy-up of a large file while others read it: they see either layer's
// bytes, always the same bytes, never a torn or short file.
TEST_F(OverlayTest, CopyUpOfALargeFileWithConcurrentReaders) {
  constexpr size_t kSize = 64 << 20;
  {
    Task t(MountNamespace::New(Dirent::NewRoot(lower_)), Credentials::Root());
    long fd = t.Open("/big", O_CREAT | O_WRONLY, 0644);
    std::string chunk(1 << 20, '\0');
    for (size_t i = 0; i < kSize / chunk.size(); ++i) {
      for (size_t j = 0; j < chunk.size(); j += 4096) {
        chunk[j] = static_cast<char>('a' + (i + j / 4096) % 26);
      }
      ASSERT_EQ(t.Write(fd, chunk.data(), chunk.size()),
                static_cast<long>(chunk.size()));
    }
    t.Close(fd);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      Task t(ns_, Credentials::Root(), 10 + r);
      long fd = t.Open("/big", O_RDONLY);
      char c;
      uint64_t k = r;
      while (!stop.load()) {
        size_t page = (k++ * 7919) % (kSize / 4096);
        size_t i = page * 4096 / (1 << 20), j = page * 4096 % (1 << 20);
        if (t.Pread64(fd, &c, 1, page * 4096) != 1 ||
            c != static_cast<char>('a' + (i + j / 4096) % 26)) {
          bad++;
        }
      }
      t.Close(fd);
    });
  }
  struct stat before = Stat("/big");
  ASSERT_THAT(task_->Fchmodat(AT_FDCWD, "/big", 0600), Succeeds());  // copy-up
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  struct stat after = Stat("/big");
  EXPECT_EQ(after.st_size, static_cast<off_t>(kSize));
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mode & 0777, 0600u);
}

// Copy-up of a 10,000-entry tree (every file chmodded), while other
// threads list and stat it.
TEST_F(OverlayTest, CopyUpOfATenThousandEntryTreeWithConcurrentReaders) {
  constexpr int kDirs = 100, kFiles = 100;
  {
    Task t(MountNamespace::New(Dirent::NewRoot(lower_)), Credentials::Root());
    ASSERT_THAT(t.Mkdirat(AT_FDCWD, "/t", 0755), Succeeds());
    for (int i = 0; i < kDirs; ++i) {
      std::string d = absl::StrCat("/t/d", i);
      ASSERT_THAT(t.Mkdirat(AT_FDCWD, d.c_str(), 0755), Succeeds());
      for (int j = 0; j < kFiles; ++j) {
        std::string f = absl::StrCat(d, "/f", j);
        ASSERT_THAT(WriteFile(&t, f.c_str(), "x"), Succeeds());
      }
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    Task t(ns_, Credentials::Root(), 20);
    char buf[8192];
    while (!stop.load()) {
      for (int i = 0; i < kDirs && !stop.load(); i += 7) {
        std::string d = absl::StrCat("/t/d", i);
        long fd = t.Open(d.c_str(), O_RDONLY | O_DIRECTORY);
        int entries = 0;
        long n;
        while ((n = t.Getdents64(fd, buf, sizeof(buf))) > 0) {
          for (long off = 0; off < n;) {
            auto* e = reinterpret_cast<linux_abi::Dirent64Header*>(buf + off);
            ++entries;
            off += e->d_reclen;
          }
        }
        t.Close(fd);
        if (n < 0 || entries != kFiles + 2) bad++;
      }
    }
  });
  for (int i = 0; i < kDirs; ++i) {
    for (int j = 0; j < kFiles; ++j) {
      std::string f = absl::StrCat("/t/d", i, "/f", j);
      ASSERT_THAT(task_->Fchmodat(AT_FDCWD, f.c_str(), 0640), Succeeds());
    }
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  Task up(MountNamespace::New(Dirent::NewRoot(upper_)), Credentials::Root());
  struct stat st {};
  ASSERT_THAT(up.Fstatat(AT_FDCWD, "/t/d99/f99", &st, 0), Succeeds());
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

}  // namespace
}  // namespace sentry::fs::overlay
