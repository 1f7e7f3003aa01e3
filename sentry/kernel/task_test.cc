// Tests of the syscall layer (Task) over tmpfs: what Linux's syscalls do.
#include "sentry/kernel/task.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/testutil/testutil.h"

namespace sentry::kernel {
namespace {

using auth::Credentials;
using fs::testutil::IsErrno;
using fs::testutil::ListDir;
using fs::testutil::NewTaskIn;
using fs::testutil::NewTmpfsTask;
using fs::testutil::PrintTree;
using fs::testutil::ReadFile;
using fs::testutil::Succeeds;
using fs::testutil::TmpfsTask;
using fs::testutil::WriteFile;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr unsigned kRenameNoReplace = 1;
constexpr unsigned kRenameExchange = 2;

class TaskTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = NewTmpfsTask(); }
  void TearDown() override {
    other_.reset();
    user_.reset();
    t_.reset();
  }
  Task* t() { return t_.get(); }
  // A second task on the same namespace, as User(1000,1000,{1000,2000}).
  Task* User() {
    if (!user_) {
      user_ = NewTaskIn(t_.ns, Credentials::User(1000, 1000, {1000, 2000}), 2);
    }
    return user_.get();
  }
  Task* Other() {
    if (!other_) other_ = NewTaskIn(t_.ns, Credentials::Root(), 3);
    return other_.get();
  }
  struct stat Stat(const char* path, Task* task = nullptr) {
    struct stat st {};
    long r =
        (task ? task : t())->Fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
    EXPECT_THAT(r, Succeeds()) << path;
    return st;
  }
  std::string Tree() { return PrintTree(t()); }

  TmpfsTask t_;
  std::unique_ptr<Task> user_;
  std::unique_ptr<Task> other_;
};

// ---- open flags.

TEST_F(TaskTest, OpenMissingIsEnoent) {
  EXPECT_THAT(t()->Open("/x", O_RDONLY), IsErrno(ENOENT));
}

TEST_F(TaskTest, OpenCreatCreatesWithUmask) {
  t()->Umask(022);
  long fd = t()->Open("/f", O_CREAT | O_WRONLY, 0666);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_EQ(Stat("/f").st_mode, S_IFREG | 0644u);
  EXPECT_THAT(t()->Close(fd), Succeeds());
}

TEST_F(TaskTest, UmaskReturnsPrevious) {
  EXPECT_EQ(t()->Umask(077), 022);
  EXPECT_EQ(t()->Umask(022), 077);
  t()->Umask(077);
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0777), Succeeds());
  EXPECT_EQ(Stat("/d").st_mode, S_IFDIR | 0700u);
}

TEST_F(TaskTest, OpenExclOnExistingIsEexist) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  EXPECT_THAT(t()->Open("/f", O_CREAT | O_EXCL | O_WRONLY, 0644),
              IsErrno(EEXIST));
  // O_EXCL does not follow a symlink, even a dangling one.
  ASSERT_THAT(t()->Symlinkat("/nowhere", AT_FDCWD, "/dangle"), Succeeds());
  EXPECT_THAT(t()->Open("/dangle", O_CREAT | O_EXCL | O_WRONLY, 0644),
              IsErrno(EEXIST));
}

TEST_F(TaskTest, OpenCreatThroughDanglingSymlinkCreatesTarget) {
  ASSERT_THAT(t()->Symlinkat("/target", AT_FDCWD, "/link"), Succeeds());
  long fd = t()->Open("/link", O_CREAT | O_WRONLY, 0644);
  ASSERT_THAT(fd, Succeeds());
  t()->Close(fd);
  EXPECT_TRUE(S_ISREG(Stat("/target").st_mode));
}

TEST_F(TaskTest, OpenTruncEmptiesFile) {
  ASSERT_THAT(WriteFile(t(), "/f", "hello"), Succeeds());
  long fd = t()->Open("/f", O_WRONLY | O_TRUNC);
  ASSERT_THAT(fd, Succeeds());
  t()->Close(fd);
  EXPECT_EQ(Stat("/f").st_size, 0);
}

TEST_F(TaskTest, OpenAppendWritesAtEnd) {
  ASSERT_THAT(WriteFile(t(), "/f", "hello"), Succeeds());
  long fd = t()->Open("/f", O_WRONLY | O_APPEND);
  ASSERT_THAT(fd, Succeeds());
  ASSERT_THAT(t()->Lseek(fd, 0, SEEK_SET), Succeeds());
  EXPECT_EQ(t()->Write(fd, "!!", 2), 2);
  EXPECT_EQ(t()->Lseek(fd, 0, SEEK_CUR), 7);
  t()->Close(fd);
  EXPECT_EQ(ReadFile(t(), "/f"), "hello!!");
}

TEST_F(TaskTest, OpenDirectoryFlag) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  EXPECT_THAT(t()->Open("/f", O_RDONLY | O_DIRECTORY), IsErrno(ENOTDIR));
  long fd = t()->Open("/d", O_RDONLY | O_DIRECTORY);
  EXPECT_THAT(fd, Succeeds());
  t()->Close(fd);
  EXPECT_THAT(t()->Open("/d", O_WRONLY), IsErrno(EISDIR));
  EXPECT_THAT(t()->Open("/d", O_RDWR), IsErrno(EISDIR));
  EXPECT_THAT(t()->Open("/f/", O_RDONLY), IsErrno(ENOTDIR));
  EXPECT_THAT(t()->Open("/new/", O_CREAT | O_WRONLY, 0644), IsErrno(EISDIR));
}

TEST_F(TaskTest, OpenNofollow) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("/f", AT_FDCWD, "/l"), Succeeds());
  EXPECT_THAT(t()->Open("/l", O_RDONLY | O_NOFOLLOW), IsErrno(ELOOP));
  long fd = t()->Open("/l", O_RDONLY | O_NOFOLLOW | O_PATH);
  ASSERT_THAT(fd, Succeeds());
  struct stat st;
  ASSERT_THAT(t()->Fstat(fd, &st), Succeeds());
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  t()->Close(fd);
}

TEST_F(TaskTest, OpenPathAllowsNoIo) {
  ASSERT_THAT(WriteFile(t(), "/f", "abc"), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0), Succeeds());
  long fd = User()->Open("/f", O_PATH);
  ASSERT_THAT(fd, Succeeds());
  char c;
  EXPECT_THAT(User()->Read(fd, &c, 1), IsErrno(EBADF));
  EXPECT_THAT(User()->Write(fd, "x", 1), IsErrno(EBADF));
  struct stat st;
  EXPECT_THAT(User()->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_size, 3);
  User()->Close(fd);
}

TEST_F(TaskTest, ReadOnlyFdCannotWriteAndViceVersa) {
  ASSERT_THAT(WriteFile(t(), "/f", "abc"), Succeeds());
  long r = t()->Open("/f", O_RDONLY);
  long w = t()->Open("/f", O_WRONLY);
  char c;
  EXPECT_THAT(t()->Write(r, "x", 1), IsErrno(EBADF));
  EXPECT_THAT(t()->Read(w, &c, 1), IsErrno(EBADF));
  EXPECT_THAT(t()->Read(99, &c, 1), IsErrno(EBADF));
  t()->Close(r);
  t()->Close(w);
  EXPECT_THAT(t()->Close(r), IsErrno(EBADF));
}

// ---- I/O.

TEST_F(TaskTest, ReadWritePreadPwrite) {
  long fd = t()->Open("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(t()->Write(fd, "hello world", 11), 11);
  char buf[32] = {};
  EXPECT_EQ(t()->Read(fd, buf, sizeof(buf)), 0);  // at EOF
  EXPECT_EQ(t()->Pread64(fd, buf, 5, 6), 5);
  EXPECT_EQ(std::string(buf, 5), "world");
  EXPECT_EQ(t()->Lseek(fd, 0, SEEK_CUR), 11);  // pread does not move
  EXPECT_EQ(t()->Pwrite64(fd, "W", 1, 6), 1);
  EXPECT_EQ(t()->Lseek(fd, 0, SEEK_CUR), 11);
  EXPECT_EQ(t()->Lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(t()->Read(fd, buf, sizeof(buf)), 11);
  EXPECT_EQ(std::string(buf, 11), "hello World");
  EXPECT_THAT(t()->Pread64(fd, buf, 1, -1), IsErrno(EINVAL));
  EXPECT_EQ(t()->Pread64(fd, buf, 1, 1000), 0);
  t()->Close(fd);
}

// pwrite on an O_APPEND fd appends, ignoring the offset, as Linux does.
TEST_F(TaskTest, PwriteOnAppendFdAppends) {
  ASSERT_THAT(WriteFile(t(), "/f", "abc"), Succeeds());
  long fd = t()->Open("/f", O_WRONLY | O_APPEND);
  // pwrite(2) BUGS: on Linux, O_APPEND wins over the offset.
  EXPECT_EQ(t()->Pwrite64(fd, "Z", 1, 0), 1);
  t()->Close(fd);
  EXPECT_EQ(ReadFile(t(), "/f"), "abcZ");
}

TEST_F(TaskTest, ReadvWritev) {
  long fd = t()->Open("/f", O_RDWR | O_CREAT, 0644);
  char a[] = "abc", b[] = "defg";
  struct iovec wv[2] = {{a, 3}, {b, 4}};
  EXPECT_EQ(t()->Writev(fd, wv, 2), 7);
  t()->Lseek(fd, 0, SEEK_SET);
  char x[2], y[10];
  struct iovec rv[2] = {{x, 2}, {y, 10}};
  EXPECT_EQ(t()->Readv(fd, rv, 2), 7);
  EXPECT_EQ(std::string(x, 2), "ab");
  EXPECT_EQ(std::string(y, 5), "cdefg");
  EXPECT_EQ(t()->Writev(fd, wv, 0), 0);
  EXPECT_THAT(t()->Writev(fd, wv, -1), IsErrno(EINVAL));
  t()->Close(fd);
}

TEST_F(TaskTest, LseekWhence) {
  ASSERT_THAT(WriteFile(t(), "/f", "0123456789"), Succeeds());
  long fd = t()->Open("/f", O_RDONLY);
  EXPECT_EQ(t()->Lseek(fd, 3, SEEK_SET), 3);
  EXPECT_EQ(t()->Lseek(fd, 2, SEEK_CUR), 5);
  EXPECT_EQ(t()->Lseek(fd, -1, SEEK_END), 9);
  EXPECT_EQ(t()->Lseek(fd, 100, SEEK_SET), 100);  // past EOF is fine
  EXPECT_THAT(t()->Lseek(fd, -1, SEEK_SET), IsErrno(EINVAL));
  EXPECT_THAT(t()->Lseek(fd, 0, 42), IsErrno(EINVAL));
  t()->Close(fd);
}

TEST_F(TaskTest, SeekDataAndHoleOnSparseFile) {
  long fd = t()->Open("/s", O_RDWR | O_CREAT, 0644);
  // Data at [64K, 68K) and [128K, 128K+1); size 1M.
  ASSERT_EQ(t()->Pwrite64(fd, "x", 1, 65536), 1);
  ASSERT_EQ(t()->Pwrite64(fd, "y", 1, 131072), 1);
  ASSERT_THAT(t()->Ftruncate(fd, 1 << 20), Succeeds());
  struct Case {
    off_t off;
    int whence;
    long want;
  };
  const std::vector<Case> cases = {
      {0, SEEK_DATA, 65536},
      {0, SEEK_HOLE, 0},
      {65536, SEEK_DATA, 65536},
      {65536, SEEK_HOLE, 65536 + 4096},
      {70000, SEEK_DATA, 131072},
      {131072, SEEK_HOLE, 131072 + 4096},
      {140000, SEEK_DATA, -ENXIO},
      {140000, SEEK_HOLE, 140000},
      {1 << 20, SEEK_DATA, -ENXIO},
      {1 << 20, SEEK_HOLE, -ENXIO},
      {(1 << 20) - 1, SEEK_HOLE, (1 << 20) - 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "off=" << c.off << " whence=" << c.whence);
    EXPECT_EQ(t()->Lseek(fd, c.off, c.whence), c.want);
  }
  t()->Close(fd);
}

TEST_F(TaskTest, SeekHoleOnDenseFileIsEof) {
  ASSERT_THAT(WriteFile(t(), "/f", "0123456789"), Succeeds());
  long fd = t()->Open("/f", O_RDONLY);
  EXPECT_EQ(t()->Lseek(fd, 0, SEEK_HOLE), 10);
  EXPECT_EQ(t()->Lseek(fd, 3, SEEK_DATA), 3);
  t()->Close(fd);
}

TEST_F(TaskTest, FtruncateShrinksAndExtends) {
  ASSERT_THAT(WriteFile(t(), "/f", "hello world"), Succeeds());
  long fd = t()->Open("/f", O_RDWR);
  ASSERT_THAT(t()->Ftruncate(fd, 5), Succeeds());
  EXPECT_EQ(Stat("/f").st_size, 5);
  ASSERT_THAT(t()->Ftruncate(fd, 8), Succeeds());
  char buf[8];
  EXPECT_EQ(t()->Pread64(fd, buf, 8, 0), 8);
  EXPECT_EQ(std::string(buf, 8), std::string("hello\0\0\0", 8));
  EXPECT_THAT(t()->Ftruncate(fd, -1), IsErrno(EINVAL));
  t()->Close(fd);
  long ro = t()->Open("/f", O_RDONLY);
  EXPECT_THAT(t()->Ftruncate(ro, 0), IsErrno(EINVAL));
  t()->Close(ro);
  long d = t()->Open("/", O_RDONLY);
  EXPECT_THAT(t()->Ftruncate(d, 0), IsErrno(EINVAL));
  t()->Close(d);
  EXPECT_THAT(t()->Truncate("/f", 2), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/f"), "he");
  EXPECT_THAT(t()->Truncate("/", 0), IsErrno(EISDIR));
}

TEST_F(TaskTest, Fallocate) {
  long fd = t()->Open("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(t()->Fallocate(fd, 0, 0, 10000), Succeeds());
  struct stat st;
  t()->Fstat(fd, &st);
  EXPECT_EQ(st.st_size, 10000);
  EXPECT_GE(st.st_blocks, 10000 / 512);
  ASSERT_THAT(t()->Fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000), Succeeds());
  t()->Fstat(fd, &st);
  EXPECT_EQ(st.st_size, 10000);
  EXPECT_THAT(t()->Fallocate(fd, 0, -1, 10), IsErrno(EINVAL));
  EXPECT_THAT(t()->Fallocate(fd, 0, 0, 0), IsErrno(EINVAL));
  t()->Close(fd);
  long ro = t()->Open("/f", O_RDONLY);
  EXPECT_THAT(t()->Fallocate(ro, 0, 0, 10), IsErrno(EBADF));
  t()->Close(ro);
}

TEST_F(TaskTest, FsyncAndFdatasync) {
  long fd = t()->Open("/f", O_RDWR | O_CREAT, 0644);
  EXPECT_THAT(t()->Fsync(fd), Succeeds());
  EXPECT_THAT(t()->Fdatasync(fd), Succeeds());
  t()->Close(fd);
  EXPECT_THAT(t()->Fsync(fd), IsErrno(EBADF));
}

// ---- getdents.

std::vector<std::string> Getdents(Task* t, long fd, size_t bufsize,
                                  int max_calls = 1 << 30) {
  std::vector<std::string> out;
  std::vector<char> buf(bufsize);
  for (int i = 0; i < max_calls; ++i) {
    long n = t->Getdents64(fd, buf.data(), buf.size());
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf.data() + off);
      out.push_back(d->d_name);
      off += d->d_reclen;
    }
  }
  return out;
}

TEST_F(TaskTest, GetdentsListsDotEntriesAndTypes) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/f", ""), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d/sub", 0755), Succeeds());
  ASSERT_THAT(t()->Symlinkat("f", AT_FDCWD, "/d/l"), Succeeds());
  long fd = t()->Open("/d", O_RDONLY | O_DIRECTORY);
  char buf[4096];
  // Too small for even one entry.
  EXPECT_THAT(t()->Getdents64(fd, buf, 10), IsErrno(EINVAL));
  long n = t()->Getdents64(fd, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::map<std::string, int> types;
  std::map<std::string, ino_t> inos;
  for (long off = 0; off < n;) {
    auto* d = reinterpret_cast<struct dirent64*>(buf + off);
    types[d->d_name] = d->d_type;
    inos[d->d_name] = d->d_ino;
    off += d->d_reclen;
  }
  EXPECT_EQ(types["."], DT_DIR);
  EXPECT_EQ(types[".."], DT_DIR);
  EXPECT_EQ(types["f"], DT_REG);
  EXPECT_EQ(types["sub"], DT_DIR);
  EXPECT_EQ(types["l"], DT_LNK);
  EXPECT_EQ(inos["."], Stat("/d").st_ino);
  EXPECT_EQ(inos[".."], Stat("/").st_ino);
  EXPECT_EQ(inos["f"], Stat("/d/f").st_ino);
  EXPECT_EQ(t()->Getdents64(fd, buf, sizeof(buf)), 0);
  // At EOF even a tiny buffer gives 0.
  EXPECT_EQ(t()->Getdents64(fd, buf, 10), 0);
  t()->Close(fd);
  long f = t()->Open("/d/f", O_RDONLY);
  EXPECT_THAT(t()->Getdents64(f, buf, sizeof(buf)), IsErrno(ENOTDIR));
  t()->Close(f);
}

TEST_F(TaskTest, GetdentsOffsetsStableWhileEntriesChange) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  std::set<std::string> original;
  for (int i = 0; i < 40; ++i) {
    std::string p = "/d/orig" + std::to_string(i);
    ASSERT_THAT(WriteFile(t(), p.c_str(), ""), Succeeds());
    original.insert("orig" + std::to_string(i));
  }
  long fd = t()->Open("/d", O_RDONLY | O_DIRECTORY);
  // Read part with a small buffer.
  std::vector<std::string> first = Getdents(t(), fd, 256, 3);
  ASSERT_FALSE(first.empty());
  std::set<std::string> seen_first(first.begin(), first.end());
  // Unlink some entries not yet read and some already read; create new.
  std::set<std::string> removed;
  for (int i = 0; i < 40; i += 7) {
    std::string n = "orig" + std::to_string(i);
    ASSERT_THAT(t()->Unlinkat(AT_FDCWD, ("/d/" + n).c_str(), 0), Succeeds());
    removed.insert(n);
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(WriteFile(t(), ("/d/new" + std::to_string(i)).c_str(), ""),
                Succeeds());
  }
  std::vector<std::string> rest = Getdents(t(), fd, 256);
  t()->Close(fd);
  std::vector<std::string> all = first;
  all.insert(all.end(), rest.begin(), rest.end());
  std::set<std::string> uniq(all.begin(), all.end());
  EXPECT_EQ(uniq.size(), all.size()) << "duplicate entries";
  for (const auto& n : original) {
    if (removed.count(n) && !seen_first.count(n)) continue;
    EXPECT_TRUE(uniq.count(n)) << "skipped " << n;
  }
  for (const auto& n : rest) {
    EXPECT_FALSE(removed.count(n)) << "removed entry " << n << " listed";
  }
}

TEST_F(TaskTest, GetdentsLseekRewinds) {
  ASSERT_THAT(WriteFile(t(), "/a", ""), Succeeds());
  long fd = t()->Open("/", O_RDONLY | O_DIRECTORY);
  auto one = Getdents(t(), fd, 4096);
  EXPECT_THAT(t()->Lseek(fd, 0, SEEK_SET), Succeeds());
  auto two = Getdents(t(), fd, 4096);
  EXPECT_EQ(one, two);
  t()->Close(fd);
}

// ---- rename.

TEST_F(TaskTest, RenameMovesAndReplaces) {
  ASSERT_THAT(WriteFile(t(), "/a", "A"), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/b", "B"), Succeeds());
  ino_t ia = Stat("/a").st_ino;
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", 0), Succeeds());
  EXPECT_THAT(t()->Open("/a", O_RDONLY), IsErrno(ENOENT));
  EXPECT_EQ(ReadFile(t(), "/b"), "A");
  EXPECT_EQ(Stat("/b").st_ino, ia);
  // Renaming onto itself (same inode) is a no-op.
  ASSERT_THAT(t()->Linkat(AT_FDCWD, "/b", AT_FDCWD, "/c", 0), Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/b", AT_FDCWD, "/c", 0), Succeeds());
  EXPECT_EQ(Stat("/b").st_nlink, 2u);
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/none", AT_FDCWD, "/x", 0),
              IsErrno(ENOENT));
}

TEST_F(TaskTest, RenameNoReplace) {
  ASSERT_THAT(WriteFile(t(), "/a", "A"), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/b", "B"), Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", kRenameNoReplace),
              IsErrno(EEXIST));
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/c", kRenameNoReplace),
              Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/c", AT_FDCWD, "/b",
                             kRenameNoReplace | kRenameExchange),
              IsErrno(EINVAL));
}

TEST_F(TaskTest, RenameExchange) {
  ASSERT_THAT(WriteFile(t(), "/a", "A"), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/in", "I"), Succeeds());
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/d", kRenameExchange),
              Succeeds())
      << Tree();
  EXPECT_TRUE(S_ISDIR(Stat("/a").st_mode));
  EXPECT_TRUE(S_ISREG(Stat("/d").st_mode));
  EXPECT_EQ(ReadFile(t(), "/a/in"), "I");
  EXPECT_EQ(ReadFile(t(), "/d"), "A");
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/zz", kRenameExchange),
              IsErrno(ENOENT));
}

TEST_F(TaskTest, RenameDirIntoOwnSubtreeIsEinval) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d/e", 0755), Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/d", AT_FDCWD, "/d/e/f", 0),
              IsErrno(EINVAL));
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/d", AT_FDCWD, "/d/x", 0),
              IsErrno(EINVAL));
  // The destination being an ancestor of the source: ENOTEMPTY.
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/d/e", AT_FDCWD, "/d", 0),
              IsErrno(ENOTEMPTY));
}

TEST_F(TaskTest, RenameTypeMismatches) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/full", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/full/x", ""), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/empty", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  struct Case {
    const char* from;
    const char* to;
    int err;
  };
  const std::vector<Case> cases = {
      {"/f", "/d", EISDIR},       {"/d", "/f", ENOTDIR},
      {"/d", "/full", ENOTEMPTY}, {"/f", "/f/x", ENOTDIR},
      {"/f/", "/g", ENOTDIR},     {"/d", "/", EBUSY},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.from) + " -> " + c.to);
    EXPECT_THAT(t()->Renameat2(AT_FDCWD, c.from, AT_FDCWD, c.to, 0),
                IsErrno(c.err));
  }
  // Over an empty directory works, and fixes link counts.
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/d", AT_FDCWD, "/empty", 0),
              Succeeds());
  EXPECT_EQ(Stat("/").st_nlink, 2u + 2u) << Tree();  // /full, /empty
}

TEST_F(TaskTest, RenameAcrossMountsIsExdev) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/f", AT_FDCWD, "/mnt/f", 0),
              IsErrno(EXDEV));
  EXPECT_THAT(t()->Linkat(AT_FDCWD, "/f", AT_FDCWD, "/mnt/f", 0),
              IsErrno(EXDEV));
  // Renaming the mount point itself is EBUSY.
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/mnt", AT_FDCWD, "/mnt2", 0),
              IsErrno(EBUSY));
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

TEST_F(TaskTest, RenameDirectoryUpdatesLinkCounts) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/b", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/sub", 0755), Succeeds());
  EXPECT_EQ(Stat("/a").st_nlink, 3u);
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a/sub", AT_FDCWD, "/b/sub", 0),
              Succeeds());
  EXPECT_EQ(Stat("/a").st_nlink, 2u) << Tree();
  EXPECT_EQ(Stat("/b").st_nlink, 3u) << Tree();
  struct stat st;
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/b/sub/..", &st, 0), Succeeds());
  EXPECT_EQ(st.st_ino, Stat("/b").st_ino);
}

// Directory locks nest by the tree's current shape, so renames that swap
// ancestry must not be taken for a lock cycle (base/mutex.cc). Linux: all
// three renames succeed.
TEST_F(TaskTest, RenameInvertingAncestryDoesNotAbort) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/p", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/p/c", 0755), Succeeds());  // p -> c
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/p/c", AT_FDCWD, "/c", 0), Succeeds());
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/p", AT_FDCWD, "/c/p", 0),
              Succeeds());  // c -> p
  EXPECT_TRUE(S_ISDIR(Stat("/c/p").st_mode));
}

// ---- links.

TEST_F(TaskTest, LinkCounts) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  EXPECT_EQ(Stat("/f").st_nlink, 1u);
  ASSERT_THAT(t()->Linkat(AT_FDCWD, "/f", AT_FDCWD, "/g", 0), Succeeds());
  EXPECT_EQ(Stat("/f").st_nlink, 2u);
  EXPECT_EQ(Stat("/f").st_ino, Stat("/g").st_ino);
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/f", 0), Succeeds());
  EXPECT_EQ(Stat("/g").st_nlink, 1u);
  EXPECT_THAT(t()->Linkat(AT_FDCWD, "/g", AT_FDCWD, "/g", 0), IsErrno(EEXIST));
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  EXPECT_THAT(t()->Linkat(AT_FDCWD, "/d", AT_FDCWD, "/d2", 0), IsErrno(EPERM));
  EXPECT_EQ(Stat("/").st_nlink, 3u);
  EXPECT_EQ(Stat("/d").st_nlink, 2u);
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d/e", 0755), Succeeds());
  EXPECT_EQ(Stat("/d").st_nlink, 3u);
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/d", AT_REMOVEDIR), IsErrno(ENOTEMPTY));
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/d", 0), IsErrno(EISDIR));
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/g", AT_REMOVEDIR), IsErrno(ENOTDIR));
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d/e", AT_REMOVEDIR), Succeeds());
  EXPECT_EQ(Stat("/d").st_nlink, 2u);
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/d/.", AT_REMOVEDIR), IsErrno(EINVAL));
  EXPECT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), IsErrno(EEXIST));
}

TEST_F(TaskTest, UnlinkedOpenFileStaysReadable) {
  ASSERT_THAT(WriteFile(t(), "/f", "still here"), Succeeds());
  long fd = t()->Open("/f", O_RDWR);
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/f", 0), Succeeds());
  EXPECT_THAT(t()->Open("/f", O_RDONLY), IsErrno(ENOENT));
  struct stat st;
  ASSERT_THAT(t()->Fstat(fd, &st), Succeeds());
  EXPECT_EQ(st.st_nlink, 0u);
  char buf[32];
  EXPECT_EQ(t()->Pread64(fd, buf, sizeof(buf), 0), 10);
  EXPECT_EQ(std::string(buf, 10), "still here");
  EXPECT_EQ(t()->Pwrite64(fd, "S", 1, 0), 1);
  EXPECT_EQ(t()->Pread64(fd, buf, 1, 0), 1);
  EXPECT_EQ(buf[0], 'S');
  t()->Close(fd);
}

TEST_F(TaskTest, SymlinksAndReadlink) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/f", "data"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("d/f", AT_FDCWD, "/rel"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("/d", AT_FDCWD, "/abs"), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/rel"), "data");
  EXPECT_EQ(ReadFile(t(), "/abs/f"), "data");
  char buf[64];
  EXPECT_EQ(t()->Readlinkat(AT_FDCWD, "/rel", buf, sizeof(buf)), 3);
  EXPECT_EQ(std::string(buf, 3), "d/f");
  EXPECT_EQ(t()->Readlinkat(AT_FDCWD, "/rel", buf, 2), 2);  // truncated
  EXPECT_THAT(t()->Readlinkat(AT_FDCWD, "/d/f", buf, sizeof(buf)),
              IsErrno(EINVAL));
  EXPECT_THAT(t()->Readlinkat(AT_FDCWD, "/rel", buf, 0), IsErrno(EINVAL));
  struct stat st;
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/rel", &st, AT_SYMLINK_NOFOLLOW),
              Succeeds());
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_THAT(t()->Symlinkat("", AT_FDCWD, "/empty"), IsErrno(ENOENT));
  EXPECT_THAT(t()->Symlinkat("x", AT_FDCWD, "/rel"), IsErrno(EEXIST));
  // A trailing slash follows the link.
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/abs/", &st, AT_SYMLINK_NOFOLLOW),
              Succeeds());
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(TaskTest, SymlinkLoopIsEloopAfter40) {
  // A chain of 40 links resolves; 41 is ELOOP.
  ASSERT_THAT(WriteFile(t(), "/target", "T"), Succeeds());
  std::string prev = "/target";
  for (int i = 0; i < 41; ++i) {
    std::string name = "/l" + std::to_string(i);
    ASSERT_THAT(t()->Symlinkat(prev.c_str(), AT_FDCWD, name.c_str()),
                Succeeds());
    prev = name;
  }
  EXPECT_EQ(ReadFile(t(), "/l39"), "T");                     // 40 traversals
  EXPECT_THAT(t()->Open("/l40", O_RDONLY), IsErrno(ELOOP));  // 41
  ASSERT_THAT(t()->Symlinkat("/self", AT_FDCWD, "/self"), Succeeds());
  EXPECT_THAT(t()->Open("/self", O_RDONLY), IsErrno(ELOOP));
  struct stat st;
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/self", &st, AT_SYMLINK_NOFOLLOW),
              Succeeds());
}

TEST_F(TaskTest, MknodFifoAndCharDev) {
  ASSERT_THAT(t()->Mknodat(AT_FDCWD, "/fifo", S_IFIFO | 0644, 0), Succeeds());
  EXPECT_TRUE(S_ISFIFO(Stat("/fifo").st_mode));
  ASSERT_THAT(t()->Mknodat(AT_FDCWD, "/null", S_IFCHR | 0666, makedev(1, 3)),
              Succeeds());
  struct stat st = Stat("/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_THAT(t()->Mknodat(AT_FDCWD, "/reg", S_IFREG | 0644, 0), Succeeds());
  EXPECT_TRUE(S_ISREG(Stat("/reg").st_mode));
  EXPECT_THAT(t()->Mknodat(AT_FDCWD, "/dir", S_IFDIR | 0755, 0),
              IsErrno(EPERM));
  EXPECT_THAT(t()->Mknodat(AT_FDCWD, "/fifo", S_IFIFO | 0644, 0),
              IsErrno(EEXIST));
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/", 0777), Succeeds());
  EXPECT_THAT(User()->Mknodat(AT_FDCWD, "/udev", S_IFCHR | 0666, makedev(1, 3)),
              IsErrno(EPERM));
  EXPECT_THAT(User()->Mknodat(AT_FDCWD, "/ublk", S_IFBLK | 0666, makedev(8, 0)),
              IsErrno(EPERM));
  EXPECT_THAT(User()->Mknodat(AT_FDCWD, "/ufifo", S_IFIFO | 0666, 0),
              Succeeds());
}

// ---- permissions.

TEST_F(TaskTest, PermissionsOwnerGroupOther) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  struct Case {
    uid_t uid;
    gid_t gid;
    mode_t mode;
    bool can_read;
    bool can_write;
  };
  // The user is uid 1000, gid 1000, groups {1000, 2000}.
  const std::vector<Case> cases = {
      {1000, 0, 0600, true, true},   {1000, 0, 0400, true, false},
      {1000, 0, 0066, false, false},  // owner class wins even if worse
      {0, 1000, 0060, true, true},   {0, 2000, 0040, true, false},
      {0, 2000, 0606, false, false},  // group class wins
      {0, 3000, 0004, true, false},  {0, 3000, 0002, false, true},
      {0, 0, 0000, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "uid=" << c.uid << " gid=" << c.gid
                                      << " mode=" << std::oct << c.mode);
    ASSERT_THAT(t()->Fchownat(AT_FDCWD, "/f", c.uid, c.gid, 0), Succeeds());
    ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", c.mode), Succeeds());
    long r = User()->Open("/f", O_RDONLY);
    if (c.can_read) {
      EXPECT_THAT(r, Succeeds());
    } else {
      EXPECT_THAT(r, IsErrno(EACCES));
    }
    if (r >= 0) User()->Close(r);
    long w = User()->Open("/f", O_WRONLY);
    if (c.can_write) {
      EXPECT_THAT(w, Succeeds());
    } else {
      EXPECT_THAT(w, IsErrno(EACCES));
    }
    if (w >= 0) User()->Close(w);
    EXPECT_EQ(User()->Faccessat(AT_FDCWD, "/f", R_OK, 0) == 0, c.can_read);
    EXPECT_EQ(User()->Faccessat(AT_FDCWD, "/f", W_OK, 0) == 0, c.can_write);
  }
}

TEST_F(TaskTest, SearchPermissionNeededToWalk) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0700), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/f", "x", 0644), Succeeds());
  EXPECT_THAT(User()->Open("/d/f", O_RDONLY), IsErrno(EACCES));
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/d", 0711), Succeeds());
  long fd = User()->Open("/d/f", O_RDONLY);
  EXPECT_THAT(fd, Succeeds());
  User()->Close(fd);
  EXPECT_THAT(User()->Open("/d", O_RDONLY | O_DIRECTORY), IsErrno(EACCES));
  EXPECT_THAT(User()->Open("/d/g", O_CREAT | O_WRONLY, 0644), IsErrno(EACCES));
}

TEST_F(TaskTest, RootOverridesDacButNeedsSomeExecBit) {
  ASSERT_THAT(WriteFile(t(), "/f", "x", 0000), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0000), Succeeds());
  long fd = t()->Open("/f", O_RDWR);
  EXPECT_THAT(fd, Succeeds());
  t()->Close(fd);
  EXPECT_THAT(t()->Faccessat(AT_FDCWD, "/f", X_OK, 0), IsErrno(EACCES));
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0001), Succeeds());
  EXPECT_THAT(t()->Faccessat(AT_FDCWD, "/f", X_OK, 0), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0000), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/g", "y"), Succeeds());
  // Root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH is an ordinary user.
  Credentials weak = Credentials::Root();
  weak.effective_caps = weak.effective_caps.Without(CAP_DAC_OVERRIDE)
                            .Without(CAP_DAC_READ_SEARCH);
  auto w = NewTaskIn(t_.ns, weak, 9);
  EXPECT_THAT(w->Open("/d/g", O_RDONLY), IsErrno(EACCES));
  EXPECT_THAT(w->Open("/f", O_RDONLY), IsErrno(EACCES));
}

TEST_F(TaskTest, OnlyOwnerMayChmod) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  EXPECT_THAT(User()->Fchmodat(AT_FDCWD, "/f", 0777), IsErrno(EPERM));
  ASSERT_THAT(t()->Fchownat(AT_FDCWD, "/f", 1000, 1000, 0), Succeeds());
  EXPECT_THAT(User()->Fchmodat(AT_FDCWD, "/f", 0777), Succeeds());
  EXPECT_THAT(User()->Fchownat(AT_FDCWD, "/f", 0, 1000, 0), IsErrno(EPERM));
  // The owner may change the group to one of its groups, not others.
  EXPECT_THAT(User()->Fchownat(AT_FDCWD, "/f", -1, 2000, 0), Succeeds());
  EXPECT_EQ(Stat("/f").st_gid, 2000u);
  EXPECT_THAT(User()->Fchownat(AT_FDCWD, "/f", -1, 3000, 0), IsErrno(EPERM));
}

TEST_F(TaskTest, ChmodByNonMemberClearsSetgid) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Fchownat(AT_FDCWD, "/f", 1000, 3000, 0), Succeeds());
  ASSERT_THAT(User()->Fchmodat(AT_FDCWD, "/f", 02755), Succeeds());
  EXPECT_EQ(Stat("/f").st_mode & 07777, 0755u);
}

TEST_F(TaskTest, StickyDirectoryRestrictsRemoval) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/tmp", 0777), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/tmp", 01777), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/tmp/roots", "r", 0666), Succeeds());
  ASSERT_THAT(WriteFile(User(), "/tmp/mine", "m"), Succeeds());
  EXPECT_THAT(User()->Unlinkat(AT_FDCWD, "/tmp/roots", 0), IsErrno(EPERM));
  EXPECT_THAT(User()->Renameat2(AT_FDCWD, "/tmp/roots", AT_FDCWD, "/tmp/x", 0),
              IsErrno(EPERM));
  EXPECT_THAT(
      User()->Renameat2(AT_FDCWD, "/tmp/mine", AT_FDCWD, "/tmp/roots", 0),
      IsErrno(EPERM));
  EXPECT_THAT(User()->Unlinkat(AT_FDCWD, "/tmp/mine", 0), Succeeds());
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/tmp/roots", 0), Succeeds());
}

TEST_F(TaskTest, WritableNonStickyDirAllowsRemoval) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/pub", 0777), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/pub", 0777), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/pub/roots", "r", 0600), Succeeds());
  EXPECT_THAT(User()->Unlinkat(AT_FDCWD, "/pub/roots", 0), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/priv", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/priv/f", "r", 0666), Succeeds());
  EXPECT_THAT(User()->Unlinkat(AT_FDCWD, "/priv/f", 0), IsErrno(EACCES));
}

TEST_F(TaskTest, SetgidDirectoryInheritance) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/sg", 0777), Succeeds());
  ASSERT_THAT(t()->Fchownat(AT_FDCWD, "/sg", 0, 4000, 0), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/sg", 02777), Succeeds());
  ASSERT_THAT(WriteFile(User(), "/sg/f", "x"), Succeeds());
  struct stat st = Stat("/sg/f");
  EXPECT_EQ(st.st_gid, 4000u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 02000, 0u);
  ASSERT_THAT(User()->Mkdirat(AT_FDCWD, "/sg/sub", 0755), Succeeds());
  st = Stat("/sg/sub");
  EXPECT_EQ(st.st_gid, 4000u);
  EXPECT_EQ(st.st_mode & 07777, 02755u);
  // Without setgid: the creator's fsgid.
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/plain", 0777), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/plain", 0777), Succeeds());
  ASSERT_THAT(WriteFile(User(), "/plain/f", "x"), Succeeds());
  EXPECT_EQ(Stat("/plain/f").st_gid, 1000u);
}

TEST_F(TaskTest, WriteByNonRootClearsSetuid) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 06777), Succeeds());
  long fd = User()->Open("/f", O_WRONLY);
  ASSERT_THAT(fd, Succeeds());
  ASSERT_EQ(User()->Write(fd, "y", 1), 1);
  User()->Close(fd);
  EXPECT_EQ(Stat("/f").st_mode & 07777, 0777u);
}

TEST_F(TaskTest, WriteByRootKeepsSetuid) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 04755), Succeeds());
  long fd = t()->Open("/f", O_WRONLY);
  ASSERT_EQ(t()->Write(fd, "y", 1), 1);
  t()->Close(fd);
  EXPECT_EQ(Stat("/f").st_mode & 07777, 04755u);
}

TEST_F(TaskTest, ChownClearsSetuid) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 06755), Succeeds());
  ASSERT_THAT(t()->Fchownat(AT_FDCWD, "/f", 1000, 1000, 0), Succeeds());
  EXPECT_EQ(Stat("/f").st_mode & 07777, 0755u);
}

// ---- timestamps.

bool Later(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

TEST_F(TaskTest, WriteChangesMtimeAndCtime) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", old, 0), Succeeds());
  struct stat before = Stat("/f");
  EXPECT_EQ(before.st_mtim.tv_sec, 1000);
  long fd = t()->Open("/f", O_WRONLY);
  ASSERT_EQ(t()->Write(fd, "y", 1), 1);
  t()->Close(fd);
  struct stat after = Stat("/f");
  EXPECT_TRUE(Later(after.st_mtim, before.st_mtim));
  EXPECT_TRUE(Later(after.st_ctim, before.st_mtim));
  EXPECT_EQ(after.st_atim.tv_sec, 1000);
}

TEST_F(TaskTest, CreateInDirChangesDirMtime) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/d", old, 0), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/d/f", ""), Succeeds());
  EXPECT_GT(Stat("/d").st_mtim.tv_sec, 1000);
}

TEST_F(TaskTest, UtimensatNowAndOmit) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  struct timespec set[2] = {{100, 5}, {200, 7}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", set, 0), Succeeds());
  struct stat st = Stat("/f");
  EXPECT_EQ(st.st_atim.tv_sec, 100);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 200);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", omit_now, 0), Succeeds());
  st = Stat("/f");
  EXPECT_EQ(st.st_atim.tv_sec, 100);
  EXPECT_GT(st.st_mtim.tv_sec, 200);
  struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", now_omit, 0), Succeeds());
  struct stat st2 = Stat("/f");
  EXPECT_GT(st2.st_atim.tv_sec, 100);
  EXPECT_EQ(st2.st_mtim.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(st2.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", nullptr, 0), Succeeds());
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  EXPECT_THAT(t()->Utimensat(AT_FDCWD, "/f", bad, 0), IsErrno(EINVAL));
}

TEST_F(TaskTest, UtimensatPermissions) {
  ASSERT_THAT(WriteFile(t(), "/f", "x", 0666), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0666), Succeeds());
  // Anyone with write access may set "now".
  EXPECT_THAT(User()->Utimensat(AT_FDCWD, "/f", nullptr, 0), Succeeds());
  // Only the owner may set explicit times.
  struct timespec set[2] = {{100, 0}, {200, 0}};
  EXPECT_THAT(User()->Utimensat(AT_FDCWD, "/f", set, 0), IsErrno(EPERM));
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0644), Succeeds());
  EXPECT_THAT(User()->Utimensat(AT_FDCWD, "/f", nullptr, 0), IsErrno(EACCES));
}

TEST_F(TaskTest, NoatimeMountReadDoesNotChangeAtime) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", MS_NOATIME, nullptr),
              Succeeds());
  ASSERT_THAT(WriteFile(t(), "/mnt/f", "data"), Succeeds());
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/mnt/f", old, 0), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/mnt/f"), "data");
  EXPECT_EQ(Stat("/mnt/f").st_atim.tv_sec, 1000);
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

TEST_F(TaskTest, RelatimeReadUpdatesOldAtime) {
  ASSERT_THAT(WriteFile(t(), "/f", "data"), Succeeds());
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_THAT(t()->Utimensat(AT_FDCWD, "/f", old, 0), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/f"), "data");
  EXPECT_GT(Stat("/f").st_atim.tv_sec, 1000);
}

// ---- xattrs.

TEST_F(TaskTest, XattrUserNamespace) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  char buf[64];
  EXPECT_THAT(t()->Getxattr("/f", "user.a", buf, sizeof(buf)),
              IsErrno(ENODATA));
  ASSERT_THAT(t()->Setxattr("/f", "user.a", "hello", 5, 0), Succeeds());
  EXPECT_EQ(t()->Getxattr("/f", "user.a", buf, sizeof(buf)), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(t()->Getxattr("/f", "user.a", nullptr, 0), 5);  // size query
  EXPECT_THAT(t()->Getxattr("/f", "user.a", buf, 2), IsErrno(ERANGE));
  EXPECT_THAT(t()->Setxattr("/f", "user.a", "x", 1, XATTR_CREATE),
              IsErrno(EEXIST));
  EXPECT_THAT(t()->Setxattr("/f", "user.b", "x", 1, XATTR_REPLACE),
              IsErrno(ENODATA));
  EXPECT_THAT(t()->Setxattr("/f", "user.a", "bye", 3, XATTR_REPLACE),
              Succeeds());
  ASSERT_THAT(t()->Setxattr("/f", "user.b", "", 0, XATTR_CREATE), Succeeds());
  EXPECT_EQ(t()->Getxattr("/f", "user.b", buf, sizeof(buf)), 0);
  long n = t()->Listxattr("/f", buf, sizeof(buf));
  ASSERT_EQ(n, 14);  // "user.a\0user.b\0"
  std::set<std::string> names;
  for (long i = 0; i < n; i += strlen(buf + i) + 1) names.insert(buf + i);
  EXPECT_THAT(names, UnorderedElementsAre("user.a", "user.b"));
  EXPECT_EQ(t()->Listxattr("/f", nullptr, 0), 14);
  EXPECT_THAT(t()->Listxattr("/f", buf, 3), IsErrno(ERANGE));
  ASSERT_THAT(t()->Removexattr("/f", "user.a"), Succeeds());
  EXPECT_THAT(t()->Removexattr("/f", "user.a"), IsErrno(ENODATA));
  EXPECT_THAT(t()->Setxattr("/f", "user.c", "x", 1, 4), IsErrno(EINVAL));
  EXPECT_THAT(t()->Setxattr("/f", "bogus.c", "x", 1, 0), IsErrno(EOPNOTSUPP));
  EXPECT_THAT(t()->Setxattr("/f", "", "x", 1, 0), IsErrno(ERANGE));
}

TEST_F(TaskTest, XattrSizeLimits) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  std::string big(65537, 'v');
  EXPECT_THAT(t()->Setxattr("/f", "user.big", big.data(), big.size(), 0),
              IsErrno(E2BIG));
  std::string longname = "user." + std::string(251, 'n');  // 256 > 255
  EXPECT_THAT(t()->Setxattr("/f", longname.c_str(), "x", 1, 0),
              IsErrno(ERANGE));
}

TEST_F(TaskTest, XattrFdAndLinkForms) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  ASSERT_THAT(t()->Symlinkat("/f", AT_FDCWD, "/l"), Succeeds());
  long fd = t()->Open("/f", O_RDONLY);
  ASSERT_THAT(t()->Fsetxattr(fd, "user.x", "1", 1, 0), Succeeds());
  char buf[8];
  EXPECT_EQ(t()->Getxattr("/l", "user.x", buf, sizeof(buf)), 1);
  EXPECT_THAT(t()->Lgetxattr("/l", "user.x", buf, sizeof(buf)),
              IsErrno(ENODATA));
  // user.* xattrs are not allowed on symlinks.
  EXPECT_THAT(t()->Lsetxattr("/l", "user.x", "1", 1, 0), IsErrno(EPERM));
  EXPECT_EQ(t()->Fgetxattr(fd, "user.x", buf, sizeof(buf)), 1);
  EXPECT_EQ(t()->Flistxattr(fd, buf, sizeof(buf)), 7);
  ASSERT_THAT(t()->Fremovexattr(fd, "user.x"), Succeeds());
  EXPECT_EQ(t()->Flistxattr(fd, buf, sizeof(buf)), 0);
  t()->Close(fd);
}

TEST_F(TaskTest, XattrTrustedNeedsCapSysAdmin) {
  ASSERT_THAT(WriteFile(t(), "/f", "", 0666), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0666), Succeeds());
  ASSERT_THAT(t()->Setxattr("/f", "trusted.t", "1", 1, 0), Succeeds());
  ASSERT_THAT(t()->Setxattr("/f", "user.u", "1", 1, 0), Succeeds());
  char buf[64];
  EXPECT_THAT(User()->Setxattr("/f", "trusted.t2", "1", 1, 0), IsErrno(EPERM));
  EXPECT_THAT(User()->Getxattr("/f", "trusted.t", buf, sizeof(buf)),
              IsErrno(ENODATA));
  // trusted.* names are hidden from the listing without the capability.
  EXPECT_EQ(User()->Listxattr("/f", buf, sizeof(buf)), 7);
  EXPECT_EQ(t()->Listxattr("/f", buf, sizeof(buf)), 17);
  // user.* needs write permission to set, read permission to get.
  EXPECT_THAT(User()->Setxattr("/f", "user.v", "1", 1, 0), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/f", 0600), Succeeds());
  EXPECT_THAT(User()->Setxattr("/f", "user.w", "1", 1, 0), IsErrno(EACCES));
  EXPECT_THAT(User()->Getxattr("/f", "user.u", buf, sizeof(buf)),
              IsErrno(EACCES));
}

// ---- record locks and flock.

long SetLk(Task* t, int fd, short type, off_t start, off_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return t->Fcntl(fd, F_SETLK, reinterpret_cast<unsigned long>(&fl));
}

struct flock GetLk(Task* t, int fd, short type, off_t start, off_t len) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  EXPECT_THAT(t->Fcntl(fd, F_GETLK, reinterpret_cast<unsigned long>(&fl)),
              Succeeds());
  return fl;
}

TEST_F(TaskTest, PosixLocksBetweenTasksWithSplitting) {
  ASSERT_THAT(WriteFile(t(), "/f", std::string(100, 'x')), Succeeds());
  long a = t()->Open("/f", O_RDWR);
  long b = Other()->Open("/f", O_RDWR);
  ASSERT_THAT(SetLk(t(), a, F_WRLCK, 0, 100), Succeeds());
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 50, 10), IsErrno(EAGAIN));
  EXPECT_THAT(SetLk(Other(), b, F_RDLCK, 99, 1), IsErrno(EAGAIN));
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 100, 10), Succeeds());
  // Unlocking the middle splits the lock into [0,40) and [60,100).
  ASSERT_THAT(SetLk(t(), a, F_UNLCK, 40, 20), Succeeds());
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 40, 20), Succeeds());
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 39, 1), IsErrno(EAGAIN));
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 60, 1), IsErrno(EAGAIN));
  struct flock fl = GetLk(Other(), b, F_WRLCK, 0, 0);
  EXPECT_EQ(fl.l_type, F_WRLCK);
  EXPECT_EQ(fl.l_start, 0);
  EXPECT_EQ(fl.l_len, 40);
  EXPECT_EQ(fl.l_pid, 1);
  fl = GetLk(Other(), b, F_WRLCK, 60, 0);
  EXPECT_EQ(fl.l_start, 60);
  EXPECT_EQ(fl.l_len, 40);
  // Its own locks never conflict.
  fl = GetLk(t(), a, F_WRLCK, 0, 40);
  EXPECT_EQ(fl.l_type, F_UNLCK);
  // Downgrade the left part to a read lock: readers may share it.
  ASSERT_THAT(SetLk(t(), a, F_RDLCK, 0, 40), Succeeds());
  EXPECT_THAT(SetLk(Other(), b, F_RDLCK, 0, 10), Succeeds());
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 10, 10), IsErrno(EAGAIN));
  // Closing any fd of the file drops the task's locks on it.
  long a2 = t()->Open("/f", O_RDONLY);
  t()->Close(a2);
  EXPECT_THAT(SetLk(Other(), b, F_WRLCK, 10, 90), Succeeds());
  t()->Close(a);
  Other()->Close(b);
}

TEST_F(TaskTest, PosixLockNeedsMatchingOpenMode) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  long r = t()->Open("/f", O_RDONLY);
  long w = t()->Open("/f", O_WRONLY);
  EXPECT_THAT(SetLk(t(), r, F_WRLCK, 0, 1), IsErrno(EBADF));
  EXPECT_THAT(SetLk(t(), w, F_RDLCK, 0, 1), IsErrno(EBADF));
  EXPECT_THAT(SetLk(t(), r, F_RDLCK, 0, 1), Succeeds());
  EXPECT_THAT(SetLk(t(), r, F_RDLCK, -5, 1), IsErrno(EINVAL));
  t()->Close(r);
  t()->Close(w);
}

TEST_F(TaskTest, FlockBetweenTwoFds) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  long a = t()->Open("/f", O_RDONLY);
  long b = t()->Open("/f", O_RDONLY);
  ASSERT_THAT(t()->Flock(a, LOCK_EX), Succeeds());
  EXPECT_THAT(t()->Flock(b, LOCK_EX | LOCK_NB), IsErrno(EWOULDBLOCK));
  EXPECT_THAT(t()->Flock(b, LOCK_SH | LOCK_NB), IsErrno(EWOULDBLOCK));
  // A dup shares the open file description and so the lock.
  long a2 = t()->Dup(a);
  EXPECT_THAT(t()->Flock(a2, LOCK_EX | LOCK_NB), Succeeds());
  ASSERT_THAT(t()->Flock(a, LOCK_SH), Succeeds());  // convert
  EXPECT_THAT(t()->Flock(b, LOCK_SH | LOCK_NB), Succeeds());
  EXPECT_THAT(t()->Flock(a, LOCK_EX | LOCK_NB), IsErrno(EWOULDBLOCK));
  ASSERT_THAT(t()->Flock(b, LOCK_UN), Succeeds());
  EXPECT_THAT(t()->Flock(a, LOCK_EX | LOCK_NB), Succeeds());
  // Closing the last fd of the description releases the lock.
  t()->Close(a);
  EXPECT_THAT(t()->Flock(b, LOCK_EX | LOCK_NB), IsErrno(EWOULDBLOCK));
  t()->Close(a2);
  EXPECT_THAT(t()->Flock(b, LOCK_EX | LOCK_NB), Succeeds());
  EXPECT_THAT(t()->Flock(b, 0), IsErrno(EINVAL));
  t()->Close(b);
}

// ---- inotify.

struct Event {
  int wd;
  uint32_t mask;
  uint32_t cookie;
  std::string name;
};

std::vector<Event> ReadEvents(Task* t, int fd) {
  std::vector<Event> out;
  char buf[8192];
  long n = t->Read(fd, buf, sizeof(buf));
  if (n <= 0) return out;
  for (long off = 0; off < n;) {
    auto* e = reinterpret_cast<struct inotify_event*>(buf + off);
    out.push_back({e->wd, e->mask, e->cookie,
                   e->len ? std::string(e->name) : std::string()});
    off += sizeof(struct inotify_event) + e->len;
  }
  return out;
}

std::string Describe(const std::vector<Event>& evs) {
  std::string s;
  for (const auto& e : evs) {
    char b[128];
    snprintf(b, sizeof(b), "{wd=%d mask=%#x cookie=%u name=%s} ", e.wd, e.mask,
             e.cookie, e.name.c_str());
    s += b;
  }
  return s;
}

TEST_F(TaskTest, InotifyDirectoryEvents) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  ASSERT_THAT(in, Succeeds());
  long wd = t()->InotifyAddWatch(in, "/d", IN_ALL_EVENTS);
  ASSERT_THAT(wd, Succeeds());
  char buf[64];
  EXPECT_THAT(t()->Read(in, buf, sizeof(buf)), IsErrno(EAGAIN));

  ASSERT_THAT(WriteFile(t(), "/d/f", "x"), Succeeds());
  auto evs = ReadEvents(t(), in);
  ASSERT_GE(evs.size(), 1u);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_CREATE});
  EXPECT_EQ(evs[0].name, "f");
  EXPECT_EQ(evs[0].wd, wd);
  bool modified = false;
  for (const auto& e : evs) modified |= (e.mask == IN_MODIFY && e.name == "f");
  EXPECT_TRUE(modified) << Describe(evs);

  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/d/f", 0600), Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_ATTRIB});

  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/d/f", AT_FDCWD, "/d/g", 0),
              Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_MOVED_FROM});
  EXPECT_EQ(evs[0].name, "f");
  EXPECT_EQ(evs[1].mask, uint32_t{IN_MOVED_TO});
  EXPECT_EQ(evs[1].name, "g");
  EXPECT_EQ(evs[0].cookie, evs[1].cookie);
  EXPECT_NE(evs[0].cookie, 0u);

  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d/g", 0), Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_DELETE});
  EXPECT_EQ(evs[0].name, "g");

  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d/sub", 0755), Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_CREATE | IN_ISDIR});

  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d/sub", AT_REMOVEDIR), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d", AT_REMOVEDIR), Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 3u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_DELETE | IN_ISDIR});
  EXPECT_EQ(evs[1].mask, uint32_t{IN_DELETE_SELF});
  EXPECT_EQ(evs[2].mask, uint32_t{IN_IGNORED});
  t()->Close(in);
}

TEST_F(TaskTest, InotifyMoveAcrossDirsSharesCookie) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/b", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/f", ""), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  long wa = t()->InotifyAddWatch(in, "/a", IN_MOVE);
  long wb = t()->InotifyAddWatch(in, "/b", IN_MOVE);
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a/f", AT_FDCWD, "/b/f", 0),
              Succeeds());
  auto evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].wd, wa);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_MOVED_FROM});
  EXPECT_EQ(evs[1].wd, wb);
  EXPECT_EQ(evs[1].mask, uint32_t{IN_MOVED_TO});
  EXPECT_EQ(evs[0].cookie, evs[1].cookie);
  t()->Close(in);
}

TEST_F(TaskTest, InotifyFileWatchModify) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  long wd =
      t()->InotifyAddWatch(in, "/f", IN_MODIFY | IN_DELETE_SELF | IN_ATTRIB);
  ASSERT_GE(wd, 1);
  long fd = t()->Open("/f", O_WRONLY);
  ASSERT_EQ(t()->Write(fd, "x", 1), 1);
  t()->Close(fd);
  auto evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 1u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_MODIFY});
  EXPECT_EQ(evs[0].name, "");
  t()->Close(in);
}

// Unlinking a watched file reports the link-count change first; Linux sends
// IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED.
TEST_F(TaskTest, InotifyUnlinkOfWatchedFileSendsAttrib) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  long wd =
      t()->InotifyAddWatch(in, "/f", IN_MODIFY | IN_DELETE_SELF | IN_ATTRIB);
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/f", 0), Succeeds());
  auto evs = ReadEvents(t(), in);
  // Unlink of the last name: IN_ATTRIB (nlink), IN_DELETE_SELF, IN_IGNORED.
  ASSERT_EQ(evs.size(), 3u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_ATTRIB});
  EXPECT_EQ(evs[1].mask, uint32_t{IN_DELETE_SELF});
  EXPECT_EQ(evs[2].mask, uint32_t{IN_IGNORED});
  EXPECT_EQ(evs[2].wd, wd);
  t()->Close(in);
}

TEST_F(TaskTest, InotifyOnlyDirAndMaskAdd) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  EXPECT_THAT(t()->InotifyAddWatch(in, "/f", IN_CREATE | IN_ONLYDIR),
              IsErrno(ENOTDIR));
  long wd = t()->InotifyAddWatch(in, "/d", IN_CREATE | IN_ONLYDIR);
  ASSERT_THAT(wd, Succeeds());
  // Without IN_MASK_ADD the mask is replaced; with it, OR'ed.
  EXPECT_EQ(t()->InotifyAddWatch(in, "/d", IN_DELETE), wd);
  ASSERT_THAT(WriteFile(t(), "/d/x", ""), Succeeds());
  EXPECT_TRUE(ReadEvents(t(), in).empty());
  EXPECT_EQ(t()->InotifyAddWatch(in, "/d", IN_CREATE | IN_MASK_ADD), wd);
  ASSERT_THAT(WriteFile(t(), "/d/y", ""), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d/x", 0), Succeeds());
  auto evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 2u) << Describe(evs);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_CREATE});
  EXPECT_EQ(evs[1].mask, uint32_t{IN_DELETE});
  EXPECT_THAT(t()->InotifyAddWatch(in, "/d", 0), IsErrno(EINVAL));
  EXPECT_THAT(t()->InotifyRmWatch(in, wd), Succeeds());
  evs = ReadEvents(t(), in);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].mask, uint32_t{IN_IGNORED});
  EXPECT_THAT(t()->InotifyRmWatch(in, wd), IsErrno(EINVAL));
  t()->Close(in);
}

TEST_F(TaskTest, InotifyReadTooSmallBufferIsEinval) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  t()->InotifyAddWatch(in, "/d", IN_CREATE);
  ASSERT_THAT(WriteFile(t(), "/d/somename", ""), Succeeds());
  char buf[sizeof(struct inotify_event)];
  EXPECT_THAT(t()->Read(in, buf, sizeof(buf)), IsErrno(EINVAL));
  t()->Close(in);
}

// ---- mounts.

TEST_F(TaskTest, MountHidesAndUmountUncovers) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/mnt/under", "u"), Succeeds());
  ino_t under_dir = Stat("/mnt").st_ino;
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  EXPECT_TRUE(ListDir(t(), "/mnt").empty()) << Tree();
  EXPECT_NE(Stat("/mnt").st_dev, Stat("/").st_dev);
  ASSERT_THAT(WriteFile(t(), "/mnt/over", "o"), Succeeds());
  EXPECT_THAT(t()->Open("/mnt/under", O_RDONLY), IsErrno(ENOENT));
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
  EXPECT_THAT(ListDir(t(), "/mnt"), ElementsAre("under"));
  EXPECT_EQ(Stat("/mnt").st_ino, under_dir);
  EXPECT_THAT(t()->Umount2("/mnt", 0), IsErrno(EINVAL));
}

TEST_F(TaskTest, MountErrors) {
  ASSERT_THAT(WriteFile(t(), "/f", ""), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  EXPECT_THAT(t()->Mount("none", "/f", "tmpfs", 0, nullptr), IsErrno(ENOTDIR));
  EXPECT_THAT(t()->Mount("none", "/nope", "tmpfs", 0, nullptr),
              IsErrno(ENOENT));
  EXPECT_THAT(t()->Mount("none", "/mnt", "nosuchfs", 0, nullptr),
              IsErrno(ENODEV));
  EXPECT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, "bogus=1"),
              IsErrno(EINVAL));
  EXPECT_THAT(User()->Mount("none", "/mnt", "tmpfs", 0, nullptr),
              IsErrno(EPERM));
  EXPECT_THAT(User()->Umount2("/mnt", 0), IsErrno(EPERM));
}

TEST_F(TaskTest, UmountBusyWithOpenFileOrCwd) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  long fd = t()->Open("/mnt/f", O_CREAT | O_RDWR, 0644);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t()->Umount2("/mnt", 0), IsErrno(EBUSY));
  t()->Close(fd);
  ASSERT_THAT(Other()->Mkdirat(AT_FDCWD, "/mnt/sub", 0755), Succeeds());
  ASSERT_THAT(Other()->Chdir("/mnt/sub"), Succeeds());
  EXPECT_THAT(t()->Umount2("/mnt", 0), IsErrno(EBUSY));
  ASSERT_THAT(Other()->Chdir("/"), Succeeds());
  EXPECT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

// A closed file does not keep its mount busy, even while another thread
// is inside an epoch guard (whose lock-free reads may still see the
// File): umount waits for the guard, as Linux's for an RCU grace period.
TEST_F(TaskTest, UmountAfterCloseWhileAReaderIsInAGuard) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  std::atomic<bool> inside{false};
  std::thread reader([&] {
    fs::epoch::ReadGuard g;
    inside.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  while (!inside.load()) std::this_thread::yield();
  long fd = t()->Open("/mnt/f", O_CREAT | O_RDWR, 0644);
  ASSERT_THAT(fd, Succeeds());
  ASSERT_THAT(t()->Close(fd), Succeeds());
  EXPECT_THAT(t()->Umount2("/mnt", 0), Succeeds());
  reader.join();
}

TEST_F(TaskTest, UmountBusyWithSubmount) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt/inner", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt/inner", "tmpfs", 0, nullptr),
              Succeeds());
  EXPECT_THAT(t()->Umount2("/mnt", 0), IsErrno(EBUSY));
  ASSERT_THAT(t()->Umount2("/mnt/inner", 0), Succeeds());
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

TEST_F(TaskTest, UmountDetachWhileBusy) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/mnt/f", "kept"), Succeeds());
  long fd = t()->Open("/mnt/f", O_RDWR);
  ASSERT_THAT(t()->Umount2("/mnt", MNT_DETACH), Succeeds());
  EXPECT_THAT(t()->Open("/mnt/f", O_RDONLY), IsErrno(ENOENT));
  char buf[8];
  EXPECT_EQ(t()->Pread64(fd, buf, sizeof(buf), 0), 4);
  EXPECT_EQ(t()->Pwrite64(fd, "K", 1, 0), 1);
  t()->Close(fd);
}

TEST_F(TaskTest, BindMountSameTreeTwoPaths) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/src", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/dst", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/src/f", "shared"), Succeeds());
  ASSERT_THAT(t()->Mount("/src", "/dst", nullptr, MS_BIND, nullptr),
              Succeeds());
  EXPECT_EQ(ReadFile(t(), "/dst/f"), "shared");
  EXPECT_EQ(Stat("/dst/f").st_ino, Stat("/src/f").st_ino);
  EXPECT_EQ(Stat("/dst").st_ino, Stat("/src").st_ino);
  ASSERT_THAT(WriteFile(t(), "/dst/g", "new"), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/src/g"), "new");
  // Cross-mount rename between the two appearances is EXDEV.
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/src/g", AT_FDCWD, "/dst/h", 0),
              IsErrno(EXDEV));
  ASSERT_THAT(t()->Umount2("/dst", 0), Succeeds());
  EXPECT_TRUE(ListDir(t(), "/dst").empty());
}

TEST_F(TaskTest, RecursiveBindCopiesSubmounts) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/src", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/src/sub", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/src/sub", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/src/sub/inner", "i"), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/rec", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/flat", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("/src", "/rec", nullptr, MS_BIND | MS_REC, nullptr),
              Succeeds());
  ASSERT_THAT(t()->Mount("/src", "/flat", nullptr, MS_BIND, nullptr),
              Succeeds());
  EXPECT_EQ(ReadFile(t(), "/rec/sub/inner"), "i") << Tree();
  EXPECT_THAT(t()->Open("/flat/sub/inner", O_RDONLY), IsErrno(ENOENT));
  ASSERT_THAT(t()->Umount2("/flat", 0), Succeeds());
  ASSERT_THAT(t()->Umount2("/rec/sub", 0), Succeeds());
  ASSERT_THAT(t()->Umount2("/rec", 0), Succeeds());
  ASSERT_THAT(t()->Umount2("/src/sub", 0), Succeeds());
}

TEST_F(TaskTest, RemountReadOnly) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/mnt/f", "x"), Succeeds());
  ASSERT_THAT(
      t()->Mount(nullptr, "/mnt", nullptr, MS_REMOUNT | MS_RDONLY, nullptr),
      Succeeds());
  EXPECT_THAT(t()->Open("/mnt/f", O_WRONLY), IsErrno(EROFS));
  EXPECT_THAT(t()->Open("/mnt/g", O_CREAT | O_WRONLY, 0644), IsErrno(EROFS));
  EXPECT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt/d", 0755), IsErrno(EROFS));
  EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/mnt/f", 0), IsErrno(EROFS));
  EXPECT_THAT(t()->Fchmodat(AT_FDCWD, "/mnt/f", 0600), IsErrno(EROFS));
  EXPECT_THAT(t()->Setxattr("/mnt/f", "user.x", "1", 1, 0), IsErrno(EROFS));
  EXPECT_THAT(t()->Truncate("/mnt/f", 0), IsErrno(EROFS));
  EXPECT_EQ(ReadFile(t(), "/mnt/f"), "x");
  struct statfs sf;
  ASSERT_THAT(t()->Statfs("/mnt", &sf), Succeeds());
  EXPECT_TRUE(sf.f_flags & ST_RDONLY);
  ASSERT_THAT(t()->Mount(nullptr, "/mnt", nullptr, MS_REMOUNT, nullptr),
              Succeeds());
  EXPECT_THAT(WriteFile(t(), "/mnt/f", "y"), Succeeds());
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

TEST_F(TaskTest, ReadOnlyBindLeavesOriginalWritable) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/src", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/ro", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("/src", "/ro", nullptr, MS_BIND, nullptr), Succeeds());
  ASSERT_THAT(t()->Mount(nullptr, "/ro", nullptr,
                         MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
              Succeeds());
  EXPECT_THAT(WriteFile(t(), "/ro/f", "x"), IsErrno(EROFS));
  EXPECT_THAT(WriteFile(t(), "/src/f", "x"), Succeeds());
  ASSERT_THAT(t()->Umount2("/ro", 0), Succeeds());
}

TEST_F(TaskTest, TwoNamespacesOverOneRootShareFiles) {
  // A second namespace over the same root dirent of the first.
  fs::Path root = t_.ns->Root();
  auto ns2 = fs::MountNamespace::New(root.dirent);
  root = fs::Path{};
  auto t2 = std::make_unique<Task>(ns2, Credentials::Root(), 5);
  ASSERT_THAT(WriteFile(t(), "/from1", "one"), Succeeds());
  ASSERT_THAT(WriteFile(t2.get(), "/from2", "two"), Succeeds());
  EXPECT_EQ(ReadFile(t2.get(), "/from1"), "one");
  EXPECT_EQ(ReadFile(t(), "/from2"), "two");
  EXPECT_EQ(Stat("/from1").st_ino, Stat("/from1", t2.get()).st_ino);
  // Mounts are per namespace.
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/mnt/inmount", ""), Succeeds());
  EXPECT_TRUE(ListDir(t2.get(), "/mnt").empty());
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
  t2.reset();
  ns2.reset();
}

TEST_F(TaskTest, DotDotAtMountRootGoesToParentMount) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/mnt", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/marker", "m"), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/a/mnt", "tmpfs", 0, nullptr), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/a/mnt/../marker"), "m");
  struct stat st;
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/a/mnt/..", &st, 0), Succeeds());
  EXPECT_EQ(st.st_ino, Stat("/a").st_ino);
  ASSERT_THAT(t()->Chdir("/a/mnt"), Succeeds());
  EXPECT_EQ(ReadFile(t(), "../marker"), "m");
  ASSERT_THAT(t()->Chdir("/"), Succeeds());
  ASSERT_THAT(t()->Umount2("/a/mnt", 0), Succeeds());
}

TEST_F(TaskTest, DotDotAtNamespaceRootStays) {
  struct stat st;
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/..", &st, 0), Succeeds());
  EXPECT_EQ(st.st_ino, Stat("/").st_ino);
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, "/../../..", &st, 0), Succeeds());
  EXPECT_EQ(st.st_ino, Stat("/").st_ino);
}

// ---- process fs state.

std::string Cwd(Task* t) {
  char buf[4096];
  long n = t->Getcwd(buf, sizeof(buf));
  if (n < 0) return "<" + fs::testutil::ErrnoString(n) + ">";
  return std::string(buf);
}

TEST_F(TaskTest, ChdirFchdirGetcwd) {
  EXPECT_EQ(Cwd(t()), "/");
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/b", 0755), Succeeds());
  ASSERT_THAT(t()->Chdir("/a/b"), Succeeds());
  EXPECT_EQ(Cwd(t()), "/a/b");
  ASSERT_THAT(WriteFile(t(), "rel", "r"), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/a/b/rel"), "r");
  ASSERT_THAT(t()->Chdir(".."), Succeeds());
  EXPECT_EQ(Cwd(t()), "/a");
  long fd = t()->Open("/a/b", O_RDONLY | O_DIRECTORY);
  ASSERT_THAT(t()->Fchdir(fd), Succeeds());
  EXPECT_EQ(Cwd(t()), "/a/b");
  t()->Close(fd);
  long f = t()->Open("/a/b/rel", O_RDONLY);
  EXPECT_THAT(t()->Fchdir(f), IsErrno(ENOTDIR));
  t()->Close(f);
  EXPECT_THAT(t()->Chdir("/a/b/rel"), IsErrno(ENOTDIR));
  EXPECT_THAT(t()->Chdir("/none"), IsErrno(ENOENT));
  char small[3];
  EXPECT_THAT(t()->Getcwd(small, sizeof(small)), IsErrno(ERANGE));
  ASSERT_THAT(t()->Chdir("/"), Succeeds());
}

TEST_F(TaskTest, RemovedCwd) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/b", 0755), Succeeds());
  ASSERT_THAT(t()->Chdir("/a/b"), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a/b", AT_REMOVEDIR), Succeeds());
  // Linux: getcwd of an unlinked directory is ENOENT.
  EXPECT_EQ(Cwd(t()), "<-ENOENT>");
  struct stat st;
  ASSERT_THAT(t()->Fstatat(AT_FDCWD, ".", &st, 0), Succeeds());
  EXPECT_EQ(st.st_nlink, 0u);
  ASSERT_THAT(t()->Chdir("/"), Succeeds());
}

TEST_F(TaskTest, RmdirWithCachedNegativeChildDoesNotLeak) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  struct stat st;
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/a/missing", &st, 0), IsErrno(ENOENT));
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a", AT_REMOVEDIR), Succeeds());
}

// Renaming over an empty directory that has a cached negative child (from
// a failed lookup) must free the victim's dirent and that child.
TEST_F(TaskTest, RenameOverDirWithCachedNegativeChildDoesNotLeak) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/b", 0755), Succeeds());
  struct stat st;
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/b/missing", &st, 0), IsErrno(ENOENT));
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a", AT_FDCWD, "/b", 0), Succeeds());
}

TEST_F(TaskTest, RmdirAfterChildRemovedDoesNotLeak) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/f", ""), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a/f", 0), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a", AT_REMOVEDIR), Succeeds());
}

// A lookup inside an unlinked directory must not cache a child there (it
// would form a cycle nothing breaks). Linux returns ENOENT, as we do.
TEST_F(TaskTest, LookupInRemovedCwdDoesNotLeak) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/b", 0755), Succeeds());
  ASSERT_THAT(t()->Chdir("/a/b"), Succeeds());
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a/b", AT_REMOVEDIR), Succeeds());
  EXPECT_THAT(t()->Open("x", O_CREAT | O_WRONLY, 0644), IsErrno(ENOENT));
  EXPECT_THAT(t()->Mkdirat(AT_FDCWD, "x", 0755), IsErrno(ENOENT));
  ASSERT_THAT(t()->Chdir("/"), Succeeds());
}

TEST_F(TaskTest, ChdirNeedsSearchPermission) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0700), Succeeds());
  EXPECT_THAT(User()->Chdir("/d"), IsErrno(EACCES));
}

TEST_F(TaskTest, ChrootConfinesPaths) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/jail", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/jail/in", "in"), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/out", "out"), Succeeds());
  EXPECT_THAT(User()->Chroot("/jail"), IsErrno(EPERM));
  ASSERT_THAT(Other()->Chroot("/jail"), Succeeds());
  ASSERT_THAT(Other()->Chdir("/"), Succeeds());
  EXPECT_EQ(ReadFile(Other(), "/in"), "in");
  EXPECT_EQ(ReadFile(Other(), "/../../in"), "in");
  EXPECT_THAT(Other()->Open("/out", O_RDONLY), IsErrno(ENOENT));
  EXPECT_EQ(Cwd(Other()), "/");
  ASSERT_THAT(Other()->Symlinkat("/in", AT_FDCWD, "/abs"), Succeeds());
  EXPECT_EQ(ReadFile(Other(), "/abs"), "in");
}

TEST_F(TaskTest, DirfdRelativeResolution) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  long dfd = t()->Open("/d", O_RDONLY | O_DIRECTORY);
  long fd = t()->Openat(dfd, "f", O_CREAT | O_WRONLY, 0644);
  ASSERT_THAT(fd, Succeeds());
  t()->Close(fd);
  EXPECT_TRUE(S_ISREG(Stat("/d/f").st_mode));
  long ffd = t()->Open("/d/f", O_RDONLY);
  EXPECT_THAT(t()->Openat(ffd, "x", O_RDONLY), IsErrno(ENOTDIR));
  EXPECT_THAT(t()->Openat(1000, "x", O_RDONLY), IsErrno(EBADF));
  // Absolute paths ignore dirfd.
  fd = t()->Openat(ffd, "/d/f", O_RDONLY);
  EXPECT_THAT(fd, Succeeds());
  t()->Close(fd);
  struct stat st;
  EXPECT_THAT(t()->Fstatat(ffd, "", &st, AT_EMPTY_PATH), Succeeds());
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_THAT(t()->Fstatat(ffd, "", &st, 0), IsErrno(ENOENT));
  t()->Close(ffd);
  t()->Close(dfd);
}

TEST_F(TaskTest, NameTooLong) {
  std::string longname = "/" + std::string(256, 'n');
  EXPECT_THAT(t()->Open(longname.c_str(), O_CREAT | O_WRONLY, 0644),
              IsErrno(ENAMETOOLONG));
  std::string ok = "/" + std::string(255, 'n');
  long fd = t()->Open(ok.c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_THAT(fd, Succeeds());
  t()->Close(fd);
}

// ---- statfs.

TEST_F(TaskTest, StatfsOfSizedTmpfs) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/mnt", "tmpfs", 0, "size=1m"), Succeeds());
  struct statfs sf;
  ASSERT_THAT(t()->Statfs("/mnt", &sf), Succeeds());
  EXPECT_EQ(sf.f_type, 0x01021994);
  EXPECT_EQ(sf.f_bsize, 4096);
  EXPECT_EQ(sf.f_blocks, 256u);
  long fd = t()->Open("/mnt", O_RDONLY | O_DIRECTORY);
  struct statfs sf2;
  ASSERT_THAT(t()->Fstatfs(fd, &sf2), Succeeds());
  EXPECT_EQ(sf2.f_blocks, 256u);
  t()->Close(fd);
  ASSERT_THAT(t()->Umount2("/mnt", 0), Succeeds());
}

// ---- descriptors.

TEST_F(TaskTest, DupDup3AndFcntlDupfd) {
  ASSERT_THAT(WriteFile(t(), "/f", "abcdef"), Succeeds());
  long fd = t()->Open("/f", O_RDONLY);
  ASSERT_EQ(fd, 0);
  long d = t()->Dup(fd);
  EXPECT_EQ(d, 1);
  char c;
  ASSERT_EQ(t()->Read(fd, &c, 1), 1);
  EXPECT_EQ(t()->Lseek(d, 0, SEEK_CUR), 1);  // shared offset
  EXPECT_EQ(t()->Dup3(fd, 10, O_CLOEXEC), 10);
  EXPECT_EQ(t()->Fcntl(10, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(t()->Fcntl(d, F_GETFD), 0);
  EXPECT_THAT(t()->Dup3(fd, fd, 0), IsErrno(EINVAL));
  EXPECT_THAT(t()->Dup3(fd, 11, O_RDWR), IsErrno(EINVAL));
  EXPECT_THAT(t()->Dup3(99, 11, 0), IsErrno(EBADF));
  EXPECT_THAT(t()->Dup3(fd, 100000, 0), IsErrno(EBADF));
  EXPECT_EQ(t()->Fcntl(fd, F_DUPFD, 5), 5);
  EXPECT_EQ(t()->Fcntl(fd, F_DUPFD, 5), 6);
  EXPECT_EQ(t()->Fcntl(fd, F_DUPFD_CLOEXEC, 5), 7);
  EXPECT_EQ(t()->Fcntl(7, F_GETFD), FD_CLOEXEC);
  EXPECT_THAT(t()->Fcntl(fd, F_DUPFD, -1), IsErrno(EINVAL));
  EXPECT_THAT(t()->Fcntl(fd, F_SETFD, 0), Succeeds());
  EXPECT_EQ(t()->Dup(fd), 2);  // lowest free
  for (int i : {0, 1, 2, 5, 6, 7, 10}) t()->Close(i);
}

// New descriptors take the lowest free number, as Linux's: across the
// bitmap's 64-bit words, after closes in any order, above F_DUPFD's
// minimum, around numbers dup2 placed far up, and up to the limit.
TEST_F(TaskTest, LowestFreeNumberAcrossWordsHolesAndTheLimit) {
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  const int limit = FDTable::kDefaultLimit;
  long fd = t()->Open("/f", O_RDONLY);
  ASSERT_EQ(fd, 0);
  for (int i = 1; i < limit; ++i) ASSERT_EQ(t()->Dup(0), i);
  EXPECT_THAT(t()->Dup(0), IsErrno(EMFILE));
  EXPECT_THAT(t()->Open("/f", O_RDONLY), IsErrno(EMFILE));
  for (int i : {700, 64, 5, 63, limit - 1})
    ASSERT_THAT(t()->Close(i), Succeeds());
  for (int want : {5, 63, 64, 700, limit - 1}) EXPECT_EQ(t()->Dup(0), want);
  EXPECT_THAT(t()->Dup(0), IsErrno(EMFILE));
  // F_DUPFD: the lowest free at or above its minimum, which leaves the
  // lower holes for the next plain open.
  for (int i : {3, 600, 601, 900}) ASSERT_THAT(t()->Close(i), Succeeds());
  EXPECT_EQ(t()->Fcntl(0, F_DUPFD, 601), 601);
  EXPECT_EQ(t()->Fcntl(0, F_DUPFD, 602), 900);
  EXPECT_THAT(t()->Fcntl(0, F_DUPFD, 901), IsErrno(EMFILE));
  EXPECT_EQ(t()->Open("/f", O_RDONLY), 3);
  EXPECT_EQ(t()->Dup(0), 600);
  // Close everything: numbering starts again at 0, and a dup2 far up
  // does not move where the next open lands.
  for (int i = 0; i < limit; ++i) ASSERT_THAT(t()->Close(i), Succeeds());
  EXPECT_EQ(t()->Open("/f", O_RDONLY), 0);
  EXPECT_EQ(t()->Dup3(0, 500, 0), 500);
  EXPECT_EQ(t()->Dup(0), 1);
  EXPECT_EQ(t()->Fcntl(0, F_DUPFD, 499), 499);
  EXPECT_EQ(t()->Fcntl(0, F_DUPFD, 499), 501);
  ASSERT_THAT(t()->Close(1), Succeeds());
  EXPECT_EQ(t()->Dup(500), 1);
  for (int i : {0, 1, 499, 500, 501}) ASSERT_THAT(t()->Close(i), Succeeds());
  EXPECT_EQ(t()->Open("/f", O_RDONLY), 0);
  t()->Close(0);
}

// RLIMIT_NOFILE: Linux's defaults, then a lowered soft limit bounds new
// numbers (EMFILE), dup2's target (EBADF) and F_DUPFD's minimum (EINVAL,
// read as an unsigned int); what is open stays open.
TEST_F(TaskTest, NofileLimitBoundsNewDescriptors) {
  struct rlimit r {};
  ASSERT_THAT(t()->Getrlimit(RLIMIT_NOFILE, &r), Succeeds());
  EXPECT_EQ(r.rlim_cur, 1024u);
  EXPECT_EQ(r.rlim_max, 4096u);
  ASSERT_THAT(WriteFile(t(), "/f", "x"), Succeeds());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(t()->Open("/f", O_RDONLY), i);
  const struct rlimit three = {3, 4096};
  ASSERT_THAT(t()->Setrlimit(RLIMIT_NOFILE, &three), Succeeds());
  struct stat st;
  EXPECT_THAT(t()->Fstat(3, &st), Succeeds());  // still open
  ASSERT_THAT(t()->Close(2), Succeeds());
  EXPECT_EQ(t()->Dup(0), 2);
  EXPECT_THAT(t()->Dup(0), IsErrno(EMFILE));
  EXPECT_THAT(t()->Open("/f", O_RDONLY), IsErrno(EMFILE));
  EXPECT_THAT(t()->Dup3(0, 3, 0), IsErrno(EBADF));
  EXPECT_THAT(t()->Fcntl(0, F_DUPFD, 3), IsErrno(EINVAL));
  EXPECT_THAT(t()->Fcntl(0, F_DUPFD, -1L), IsErrno(EINVAL));
  ASSERT_THAT(t()->Close(1), Succeeds());
  EXPECT_EQ(t()->Fcntl(0, F_DUPFD, (1UL << 32) + 1), 1);
  // Raised again, up to the hard limit.
  const struct rlimit hard = {4096, 4096};
  ASSERT_THAT(t()->Setrlimit(RLIMIT_NOFILE, &hard), Succeeds());
  EXPECT_EQ(t()->Dup3(0, 4095, 0), 4095);
  EXPECT_THAT(t()->Dup3(0, 4096, 0), IsErrno(EBADF));
  for (int fd : {0, 1, 2, 3, 4095}) ASSERT_THAT(t()->Close(fd), Succeeds());
}

// do_prlimit's checks, in its order, for setrlimit, getrlimit and
// prlimit64; and CAP_SYS_RESOURCE for raising a hard limit.
TEST_F(TaskTest, RlimitChecks) {
  struct rlimit r {};
  const struct rlimit ten = {10, RLIM_INFINITY};
  EXPECT_THAT(t()->Getrlimit(RLIM_NLIMITS, &r), IsErrno(EINVAL));
  EXPECT_THAT(t()->Getrlimit(-1, &r), IsErrno(EINVAL));
  EXPECT_THAT(t()->Getrlimit(RLIM_NLIMITS, nullptr), IsErrno(EINVAL));
  EXPECT_THAT(t()->Getrlimit(RLIMIT_CORE, nullptr), IsErrno(EFAULT));
  EXPECT_THAT(t()->Setrlimit(RLIM_NLIMITS, nullptr), IsErrno(EFAULT));
  EXPECT_THAT(t()->Setrlimit(RLIM_NLIMITS, &ten), IsErrno(EINVAL));
  const struct rlimit inverted = {10, 5};
  EXPECT_THAT(t()->Setrlimit(RLIMIT_FSIZE, &inverted), IsErrno(EINVAL));
  EXPECT_THAT(t()->Prlimit64(0, RLIM_NLIMITS, nullptr, nullptr),
              IsErrno(EINVAL));
  EXPECT_THAT(t()->Prlimit64(0, RLIMIT_NOFILE, nullptr, nullptr), Succeeds());
  EXPECT_THAT(t()->Prlimit64(999999, RLIMIT_NOFILE, nullptr, &r),
              IsErrno(ESRCH));
  // No RLIMIT_NOFILE hard limit past fs.nr_open, root included.
  const struct rlimit nr_open = {1024, 1 << 20};
  const struct rlimit past = {1024, (1 << 20) + 1};
  const struct rlimit inf = {1024, RLIM_INFINITY};
  EXPECT_THAT(t()->Setrlimit(RLIMIT_NOFILE, &past), IsErrno(EPERM));
  EXPECT_THAT(t()->Setrlimit(RLIMIT_NOFILE, &inf), IsErrno(EPERM));
  EXPECT_THAT(t()->Setrlimit(RLIMIT_NOFILE, &nr_open), Succeeds());
  // prlimit64 swaps: the old value out, the new in.
  EXPECT_THAT(t()->Prlimit64(t()->ctx().pid(), RLIMIT_FSIZE, &ten, &r),
              Succeeds());
  EXPECT_EQ(r.rlim_cur, RLIM_INFINITY);
  ASSERT_THAT(t()->Getrlimit(RLIMIT_FSIZE, &r), Succeeds());
  EXPECT_EQ(r.rlim_cur, 10u);
  // A user lowers a hard limit, and cannot raise it back.
  const struct rlimit low = {50, 100};
  const struct rlimit back = {50, 101};
  const struct rlimit lower = {50, 50};
  EXPECT_THAT(User()->Setrlimit(RLIMIT_NOFILE, &low), Succeeds());
  EXPECT_THAT(User()->Setrlimit(RLIMIT_NOFILE, &back), IsErrno(EPERM));
  EXPECT_THAT(User()->Setrlimit(RLIMIT_NOFILE, &lower), Succeeds());
  EXPECT_THAT(User()->Setrlimit(RLIMIT_NOFILE, &low), IsErrno(EPERM));
  // The runtime may (OCI process.rlimits are set before privileges drop).
  EXPECT_TRUE(User()->SetRlimitForRuntime(RLIMIT_NOFILE, {2048, 65536}).ok());
  EXPECT_EQ(User()->fd_table().limit(), 2048);
  EXPECT_EQ(User()->SetRlimitForRuntime(RLIMIT_NOFILE, {1, 1 << 21}).value(),
            EPERM);
  EXPECT_EQ(User()->SetRlimitForRuntime(RLIMIT_CPU, {2, 1}).value(), EINVAL);
  EXPECT_EQ(User()->SetRlimitForRuntime(99, {1, 1}).value(), EINVAL);
}

// RLIMIT_FSIZE: a write stops at it (EFBIG at or past it), and truncate and
// fallocate may not reach past it, as on Linux's tmpfs.
TEST_F(TaskTest, FsizeLimitStopsWritesTruncateAndFallocate) {
  long fd = t()->Open("/f", O_RDWR | O_CREAT, 0644);
  ASSERT_THAT(fd, Succeeds());
  const struct rlimit ten = {10, RLIM_INFINITY};
  ASSERT_THAT(t()->Setrlimit(RLIMIT_FSIZE, &ten), Succeeds());
  EXPECT_EQ(t()->Write(fd, "0123456789abcdefghij", 20), 10);
  EXPECT_THAT(t()->Write(fd, "x", 1), IsErrno(EFBIG));
  EXPECT_EQ(t()->Pwrite64(fd, "xyz", 3, 9), 1);
  EXPECT_EQ(t()->Pwrite64(fd, "", 0, 20), 0);
  EXPECT_THAT(t()->Ftruncate(fd, 11), IsErrno(EFBIG));
  EXPECT_THAT(t()->Ftruncate(fd, 5), Succeeds());
  EXPECT_THAT(t()->Fallocate(fd, 0, 0, 20), IsErrno(EFBIG));
  EXPECT_THAT(t()->Fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20), IsErrno(EFBIG));
  EXPECT_THAT(t()->Fallocate(fd, 0, 0, 10), Succeeds());
  const struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_THAT(t()->Setrlimit(RLIMIT_FSIZE, &inf), Succeeds());
  EXPECT_EQ(t()->Pwrite64(fd, "abc", 3, 20), 3);
  t()->Close(fd);
}

TEST_F(TaskTest, FcntlGetflSetfl) {
  ASSERT_THAT(WriteFile(t(), "/f", "abc"), Succeeds());
  long fd = t()->Open("/f", O_RDWR | O_APPEND);
  long fl = t()->Fcntl(fd, F_GETFL);
  ASSERT_THAT(fl, Succeeds());
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
  EXPECT_TRUE(fl & O_APPEND);
  ASSERT_THAT(t()->Fcntl(fd, F_SETFL, O_NONBLOCK), Succeeds());
  fl = t()->Fcntl(fd, F_GETFL);
  EXPECT_FALSE(fl & O_APPEND);
  EXPECT_TRUE(fl & O_NONBLOCK);
  // The access mode cannot change.
  ASSERT_THAT(t()->Fcntl(fd, F_SETFL, O_RDONLY), Succeeds());
  EXPECT_EQ(t()->Fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  t()->Lseek(fd, 0, SEEK_SET);
  EXPECT_EQ(t()->Write(fd, "X", 1), 1);
  EXPECT_EQ(ReadFile(t(), "/f"), "Xbc");
  EXPECT_THAT(t()->Fcntl(fd, 9999), IsErrno(EINVAL));
  t()->Close(fd);
}

TEST_F(TaskTest, IoctlCloexecAndUnknownCommands) {
  ASSERT_THAT(WriteFile(t(), "/f", "abc"), Succeeds());
  long fd = t()->Open("/f", O_RDONLY);
  ASSERT_THAT(t()->Ioctl(fd, FIOCLEX), Succeeds());
  EXPECT_EQ(t()->Fcntl(fd, F_GETFD), FD_CLOEXEC);
  ASSERT_THAT(t()->Ioctl(fd, FIONCLEX), Succeeds());
  EXPECT_EQ(t()->Fcntl(fd, F_GETFD), 0);
  // A regular file is no terminal (Linux: ENOTTY for TCGETS on tmpfs).
  EXPECT_THAT(t()->Ioctl(fd, 0x5401 /*TCGETS*/, 0), IsErrno(ENOTTY));
  int on = 1;
  ASSERT_THAT(t()->Ioctl(fd, FIONBIO, reinterpret_cast<unsigned long>(&on)),
              Succeeds());
  EXPECT_TRUE(t()->Fcntl(fd, F_GETFL) & O_NONBLOCK);
  on = 0;
  ASSERT_THAT(t()->Ioctl(fd, FIONBIO, reinterpret_cast<unsigned long>(&on)),
              Succeeds());
  EXPECT_FALSE(t()->Fcntl(fd, F_GETFL) & O_NONBLOCK);
  EXPECT_THAT(t()->Ioctl(99, FIOCLEX), IsErrno(EBADF));
  long p = t()->Open("/f", O_PATH);
  EXPECT_THAT(t()->Ioctl(p, FIOCLEX), IsErrno(EBADF));
  t()->Close(p);
  t()->Close(fd);
}

// Linux refuses to put names into a removed directory (IS_DEADDIR):
// renames, links and creates through a descriptor of it are ENOENT, and
// nothing is left behind (the leak check would see a cycle).
TEST_F(TaskTest, NothingEntersARemovedDirectory) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/x", "x"), Succeeds());
  long dfd = t()->Open("/d", O_RDONLY | O_DIRECTORY);
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/d", AT_REMOVEDIR), Succeeds());
  EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/x", dfd, "y", 0), IsErrno(ENOENT));
  EXPECT_THAT(t()->Linkat(AT_FDCWD, "/x", dfd, "z", 0), IsErrno(ENOENT));
  EXPECT_THAT(t()->Openat(dfd, "n", O_CREAT | O_WRONLY, 0600), IsErrno(ENOENT));
  EXPECT_THAT(t()->Mkdirat(dfd, "m", 0755), IsErrno(ENOENT));
  EXPECT_EQ(ReadFile(t(), "/x"), "x");
  t()->Close(dfd);
}

// ---- Handle-addressed entry points (for the FUSE export).

TEST_F(TaskTest, ReopenChecksPermissionOfTheFileItself) {
  ASSERT_THAT(WriteFile(t(), "/f", "data", 0640), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/d", 0755), Succeeds());
  ASSERT_THAT(t()->Symlinkat("f", AT_FDCWD, "/l"), Succeeds());
  long path_fd = User()->Openat(AT_FDCWD, "/f", O_PATH);
  ASSERT_THAT(path_fd, Succeeds());
  // 0640 root:root: the user may not read it, whatever handle it holds.
  EXPECT_THAT(User()->Reopen(path_fd, O_RDONLY), IsErrno(EACCES));
  long root_path = t()->Openat(AT_FDCWD, "/f", O_PATH);
  long rw = t()->Reopen(root_path, O_RDWR | O_TRUNC);
  ASSERT_THAT(rw, Succeeds());
  EXPECT_EQ(Stat("/f").st_size, 0);
  EXPECT_EQ(t()->Write(rw, "xy", 2), 2);
  EXPECT_EQ(ReadFile(t(), "/f"), "xy");
  long d = t()->Openat(AT_FDCWD, "/d", O_PATH);
  EXPECT_THAT(t()->Reopen(d, O_WRONLY), IsErrno(EISDIR));
  EXPECT_THAT(t()->Reopen(d, O_RDONLY | O_DIRECTORY), Succeeds());
  long l = t()->Openat(AT_FDCWD, "/l", O_PATH | O_NOFOLLOW);
  EXPECT_THAT(t()->Reopen(l, O_RDONLY), IsErrno(ELOOP));
  EXPECT_THAT(t()->Reopen(root_path, O_RDWR | O_CREAT), IsErrno(EINVAL));
  EXPECT_THAT(t()->Reopen(999, O_RDONLY), IsErrno(EBADF));
}

TEST_F(TaskTest, TruncateatEmptyPathTruncatesTheHandlesFile) {
  ASSERT_THAT(WriteFile(t(), "/f", "0123456789", 0644), Succeeds());
  long fd = t()->Openat(AT_FDCWD, "/f", O_PATH);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t()->Truncateat(fd, "", 3, 0), IsErrno(ENOENT));
  EXPECT_THAT(t()->Truncateat(fd, "", 3, AT_EMPTY_PATH), Succeeds());
  EXPECT_EQ(ReadFile(t(), "/f"), "012");
  long ufd = User()->Openat(AT_FDCWD, "/f", O_PATH);
  EXPECT_THAT(User()->Truncateat(ufd, "", 0, AT_EMPTY_PATH), IsErrno(EACCES));
  EXPECT_THAT(t()->Truncateat(fd, "", 0, AT_SYMLINK_NOFOLLOW), IsErrno(EINVAL));
  long root = t()->Openat(AT_FDCWD, "/", O_PATH);
  EXPECT_THAT(t()->Truncateat(root, "f", 1, 0), Succeeds());
  EXPECT_EQ(Stat("/f").st_size, 1);
  EXPECT_THAT(t()->Truncateat(root, "", 0, AT_EMPTY_PATH), IsErrno(EISDIR));
}

TEST_F(TaskTest, XattratCallsAddressByHandle) {
  ASSERT_THAT(WriteFile(t(), "/f", "", 0644), Succeeds());
  ASSERT_THAT(t()->Symlinkat("f", AT_FDCWD, "/l"), Succeeds());
  long fd = t()->Openat(AT_FDCWD, "/f", O_PATH);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_THAT(t()->Setxattrat(fd, "", AT_EMPTY_PATH, "user.k", "v", 1, 0),
              Succeeds());
  char buf[16];
  EXPECT_EQ(t()->Getxattrat(fd, "", AT_EMPTY_PATH, "user.k", buf, 16), 1);
  EXPECT_EQ(buf[0], 'v');
  long root = t()->Openat(AT_FDCWD, "/", O_PATH);
  // Through the symlink (followed), and not (user xattrs: EPERM on links).
  EXPECT_EQ(t()->Getxattrat(root, "l", 0, "user.k", buf, 16), 1);
  EXPECT_THAT(
      t()->Setxattrat(root, "l", AT_SYMLINK_NOFOLLOW, "user.k", "v", 1, 0),
      IsErrno(EPERM));
  EXPECT_EQ(t()->Listxattrat(fd, "", AT_EMPTY_PATH, buf, sizeof(buf)), 7);
  EXPECT_THAT(t()->Removexattrat(fd, "", AT_EMPTY_PATH, "user.k"), Succeeds());
  EXPECT_THAT(t()->Getxattrat(fd, "", AT_EMPTY_PATH, "user.k", buf, 16),
              IsErrno(ENODATA));
  EXPECT_THAT(t()->Getxattrat(fd, "", AT_REMOVEDIR, "user.k", buf, 16),
              IsErrno(EINVAL));
}

// pread/pwrite use a tmpfs file borrowed inside an epoch guard, without a
// reference: an fd replaced (and its file's last reference dropped) by
// another thread mid-I/O must leave the I/O on one whole file (ASan would
// see a borrowed File freed too early).
TEST_F(TaskTest, PreadPwriteRacingFdReplacementSeeOneWholeFile) {
  const std::string f(4096, 'f'), g(4096, 'g');
  ASSERT_THAT(WriteFile(t(), "/f", f, 0644), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/g", g, 0644), Succeeds());
  const long fd = t()->Openat(AT_FDCWD, "/f", O_RDWR);
  ASSERT_THAT(fd, Succeeds());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    std::string buf(4096, '?');
    while (!stop.load(std::memory_order_relaxed)) {
      long n = t()->Pread64(fd, buf.data(), buf.size(), 0);
      if (n != 4096 || buf.find_first_not_of(buf[0]) != std::string::npos ||
          (buf[0] != 'f' && buf[0] != 'g' && buf[0] != 'z')) {
        bad.fetch_add(1);
      }
    }
  });
  std::thread writer([&] {
    const std::string z(4096, 'z');
    while (!stop.load(std::memory_order_relaxed)) {
      if (t()->Pwrite64(fd, z.data(), z.size(), 0) != 4096) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 3000; ++i) {
    long other = t()->Openat(AT_FDCWD, i % 2 ? "/f" : "/g", O_RDWR);
    ASSERT_THAT(other, Succeeds());
    ASSERT_THAT(t()->Dup3(other, fd, 0), Succeeds());  // drops the old file
    ASSERT_THAT(t()->Close(other), Succeeds());
  }
  stop.store(true);
  reader.join();
  writer.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_THAT(t()->Close(fd), Succeeds());
}

// close drops the table's last File reference without a decrement when
// the count is 1 (DecRefUnreachable). Lookups racing it (fstat and lseek
// take a reference through FDTable::Get) must see the file whole or
// EBADF, and every File must be freed exactly once (ASan catches a second
// free, the fixture's leak check a File never freed).
TEST_F(TaskTest, DescriptorLookupsRacingCloseOfTheSameNumber) {
  ASSERT_THAT(WriteFile(t(), "/f", "data", 0644), Succeeds());
  const long fd = t()->Openat(AT_FDCWD, "/f", O_RDONLY);
  ASSERT_THAT(fd, Succeeds());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, seen{0};
  std::thread looker([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      struct stat st;
      long r = t()->Fstat(fd, &st);
      if (r == 0) {
        seen.fetch_add(1, std::memory_order_relaxed);
        if (st.st_size != 4) bad.fetch_add(1);
      } else if (r != -EBADF) {
        bad.fetch_add(1);
      }
      r = t()->Lseek(fd, 0, SEEK_CUR);
      if (r != 0 && r != -EBADF) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 20000; ++i) {
    ASSERT_THAT(t()->Close(fd), Succeeds());
    // The lowest free number, so fd again (the looker installs nothing).
    ASSERT_EQ(t()->Openat(AT_FDCWD, "/f", O_RDONLY), fd);
  }
  stop.store(true);
  looker.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(seen.load(), 0);
  EXPECT_THAT(t()->Close(fd), Succeeds());
}

// fstat reads the file's inode without a reference; here the closing
// descriptor holds an unlinked file's last reference, so the close
// releases the File, its dirent and the inode, all of which must outlast
// the looker's guard (ASan and TSan runs check the accesses). The number
// is reused by the next round's file (nlink 1), which the looker may see.
TEST_F(TaskTest, FstatRacingTheCloseThatFreesAnUnlinkedFile) {
  std::atomic<long> fd{-1};
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, seen{0};
  std::thread looker([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      long n = fd.load(std::memory_order_relaxed);
      if (n < 0) continue;
      struct stat st;
      long r = t()->Fstat(static_cast<int>(n), &st);
      if (r == 0 && st.st_nlink == 0) {
        seen.fetch_add(1, std::memory_order_relaxed);
        if (st.st_size != 4) bad.fetch_add(1);
      } else if (r != 0 && r != -EBADF) {
        bad.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < 5000; ++i) {
    ASSERT_THAT(WriteFile(t(), "/u", "data", 0644), Succeeds());
    long n = t()->Openat(AT_FDCWD, "/u", O_RDONLY);
    ASSERT_THAT(n, Succeeds());
    ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/u", 0), Succeeds());
    fd.store(n, std::memory_order_relaxed);
    for (int spin = 0; spin < 50; ++spin) asm volatile("" ::: "memory");
    ASSERT_THAT(t()->Close(static_cast<int>(n)), Succeeds());
  }
  stop.store(true);
  looker.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(seen.load(), 0);
}

// With a watch anywhere, pread takes a reference as before, so a close
// racing it can never report IN_CLOSE before the read's IN_ACCESS.
TEST_F(TaskTest, PreadOnWatchedFileStillNotifiesAccessThenClose) {
  ASSERT_THAT(WriteFile(t(), "/f", "data", 0644), Succeeds());
  long in = t()->InotifyInit1(IN_NONBLOCK);
  ASSERT_THAT(in, Succeeds());
  ASSERT_THAT(t()->InotifyAddWatch(in, "/f", IN_ACCESS | IN_CLOSE_NOWRITE),
              Succeeds());
  long fd = t()->Openat(AT_FDCWD, "/f", O_RDONLY);
  ASSERT_THAT(fd, Succeeds());
  char buf[8];
  EXPECT_EQ(t()->Pread64(fd, buf, sizeof(buf), 0), 4);
  EXPECT_THAT(t()->Close(fd), Succeeds());
  alignas(struct inotify_event) char ev[256];
  long n = t()->Read(in, ev, sizeof(ev));
  ASSERT_GT(n, 0);
  std::vector<uint32_t> masks;
  for (long off = 0; off < n;) {
    auto* e = reinterpret_cast<struct inotify_event*>(ev + off);
    masks.push_back(e->mask);
    off += sizeof(struct inotify_event) + e->len;
  }
  EXPECT_THAT(masks, ElementsAre(IN_ACCESS, IN_CLOSE_NOWRITE));
  EXPECT_THAT(t()->Close(in), Succeeds());
}
}  // namespace
// stat and lstat walk cached kKeep paths without a lock or a reference
// (Task::StatInGuard) and give way to the locked walk for anything else.
// Each path is statted as given and with a "." component that forces the
// locked walk: the two must agree on the result and every field, whatever
// the path crosses (mount points, symlinks, a chroot, a covered cwd,
// missing names, unsearchable directories).
TEST_F(TaskTest, LockFreeStatMatchesLockedWalk) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/b", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/b/f", "data"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("b/f", AT_FDCWD, "/a/lf"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("/a/b", AT_FDCWD, "/a/ld"), Succeeds());
  ASSERT_THAT(t()->Symlinkat("nowhere", AT_FDCWD, "/a/dangling"), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/locked", 0700), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/locked/g", ""), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/mnt", 0755), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/a/mnt", "tmpfs", 0, nullptr), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/mnt/m", "m"), Succeeds());
  const std::vector<std::string> paths = {
      "a",          "a/b",       "a/b/f",    "a/b/f/",   "a/b/",
      "a/lf",       "a/lf/",     "a/ld",     "a/ld/",    "a/ld/f",
      "a/dangling", "a/missing", "a/b/f/x",  "a/locked", "a/locked/g",
      "a/mnt",      "a/mnt/m",   "a//b///f", "a/mnt/",   "a/b/missing/x",
  };
  auto check = [&](Task* task, const std::string& prefix,
                   const std::string& detour, const std::string& what) {
    for (const std::string& rel : paths) {
      const std::string direct = prefix + rel;
      const std::string slow = detour + rel;
      for (int flags : {0, AT_SYMLINK_NOFOLLOW}) {
        struct stat a {
        }, b{};
        long ra = task->Fstatat(AT_FDCWD, direct.c_str(), &a, flags);
        long rb = task->Fstatat(AT_FDCWD, slow.c_str(), &b, flags);
        SCOPED_TRACE(what + ": " + direct + " vs " + slow +
                     (flags ? " (nofollow)" : ""));
        ASSERT_EQ(ra, rb);
        if (ra != 0) continue;
        EXPECT_EQ(a.st_ino, b.st_ino);
        EXPECT_EQ(a.st_dev, b.st_dev);
        EXPECT_EQ(a.st_mode, b.st_mode);
        EXPECT_EQ(a.st_nlink, b.st_nlink);
        EXPECT_EQ(a.st_size, b.st_size);
        EXPECT_EQ(a.st_uid, b.st_uid);
        EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
      }
    }
  };
  check(t(), "/", "/./", "root, absolute");
  check(User(), "/", "/./", "user, absolute");
  check(t(), "", "./", "root, relative to /");
  ASSERT_THAT(User()->Chdir("/a"), Succeeds());
  check(User(), "../", "./../", "user, cwd /a");
  // A cwd later mounted over: relative walks stay in the covered directory.
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/c", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/c/under", ""), Succeeds());
  ASSERT_THAT(Other()->Chdir("/c"), Succeeds());
  ASSERT_THAT(t()->Mount("none", "/c", "tmpfs", 0, nullptr), Succeeds());
  struct stat st {};
  EXPECT_THAT(Other()->Fstatat(AT_FDCWD, "under", &st, 0), Succeeds());
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/c/under", &st, 0), IsErrno(ENOENT));
  // A chroot: absolute paths start at the new root, on both walks.
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/jail", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/jail/a", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/jail/a/j", ""), Succeeds());
  ASSERT_THAT(Other()->Chroot("/jail"), Succeeds());
  EXPECT_THAT(Other()->Fstatat(AT_FDCWD, "/a/j", &st, 0), Succeeds());
  EXPECT_THAT(Other()->Fstatat(AT_FDCWD, "/a/b/f", &st, 0), IsErrno(ENOENT));
  // Changes are seen at once: a rename, an unlink, a chmod of a directory
  // walked through.
  ASSERT_THAT(t()->Renameat2(AT_FDCWD, "/a/b/f", AT_FDCWD, "/a/b/f2", 0),
              Succeeds());
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/a/b/f", &st, 0), IsErrno(ENOENT));
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/a/b/f2", &st, 0), Succeeds());
  EXPECT_THAT(User()->Fstatat(AT_FDCWD, "/a/b/f2", &st, 0), Succeeds());
  ASSERT_THAT(t()->Fchmodat(AT_FDCWD, "/a/b", 0700), Succeeds());
  EXPECT_THAT(User()->Fstatat(AT_FDCWD, "/a/b/f2", &st, 0), IsErrno(EACCES));
  ASSERT_THAT(t()->Unlinkat(AT_FDCWD, "/a/b/f2", 0), Succeeds());
  EXPECT_THAT(t()->Fstatat(AT_FDCWD, "/a/b/f2", &st, 0), IsErrno(ENOENT));
}

// Threads of one process stat while another changes the cwd and renames
// and unlinks what they walk: each stat sees one state or the other, and
// (under the sanitizers) no freed memory.
TEST_F(TaskTest, LockFreeStatRacesChdirRenameAndUnlink) {
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a", 0755), Succeeds());
  ASSERT_THAT(t()->Mkdirat(AT_FDCWD, "/a/b", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t(), "/a/b/f", "x"), Succeeds());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      struct stat st {};
      while (!stop.load()) {
        for (const char* p : {"/a/b/f", "b/f", "/a/b", "f"}) {
          long r = t()->Fstatat(AT_FDCWD, p, &st, 0);
          if (r != 0 && r != -ENOENT) bad.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 3000; ++i) {
    EXPECT_THAT(t()->Chdir(i % 2 ? "/a" : "/a/b"), Succeeds());
    EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/a/b/f", AT_FDCWD, "/a/b/g", 0),
                Succeeds());
    EXPECT_THAT(t()->Renameat2(AT_FDCWD, "/a/b/g", AT_FDCWD, "/a/b/f", 0),
                Succeeds());
    if (i % 10 == 0) {
      EXPECT_THAT(t()->Unlinkat(AT_FDCWD, "/a/b/f", 0), Succeeds());
      EXPECT_THAT(WriteFile(t(), "/a/b/f", "y"), Succeeds());
    }
  }
  stop.store(true);
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  ASSERT_THAT(t()->Chdir("/"), Succeeds());
}

}  // namespace sentry::kernel
