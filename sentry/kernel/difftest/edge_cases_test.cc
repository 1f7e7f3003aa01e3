// Hand-written differential cases. Each case runs on Linux (the reference)
// and on our VFS; every op must agree. Where a case states what it is about
// (Expect), Linux itself must return that, so the case cannot silently stop
// testing what its name says.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/kernel/difftest/builders.h"
#include "sentry/kernel/difftest/harness.h"

namespace difftest {
namespace {

using namespace ops;  // NOLINT

struct Case {
  std::string name;
  bool unprivileged;
  std::vector<Op> setup;  // as root
  std::vector<Op> ops;
};

std::vector<Op> Cat(std::initializer_list<std::vector<Op>> parts) {
  std::vector<Op> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

std::string DotSlashes(size_t n) {  // "./" repeated, then '.', n bytes
  std::string p;
  while (p.size() + 2 <= n) p += "./";
  if (p.size() < n) p += ".";
  return p;
}

std::vector<Op> SymlinkChain(int n) {  // c0 -> target, ci -> c(i-1)
  std::vector<Op> v = MakeFile("target", "end");
  v.push_back(Symlink("target", "c0"));
  for (int i = 1; i < n; ++i) {
    v.push_back(Symlink(absl::StrCat("c", i - 1), absl::StrCat("c", i)));
  }
  return v;
}

const int kDirFlags = O_RDONLY | O_DIRECTORY;

std::vector<Case> RootCases() {
  std::vector<Case> c;
  // ---- Path resolution.
  c.push_back({"trailing slash on a file", false, {},
               Cat({MakeFile("f", "data"),
                    {Open(0, "f/", O_RDONLY).Expect(-ENOTDIR),
                     Stat("f/").Expect(-ENOTDIR), Lstat("f/").Expect(-ENOTDIR),
                     Stat("f/."), Open(0, "f/", O_WRONLY | O_CREAT, 0644),
                     Unlink("f/").Expect(-ENOTDIR), Rename("f/", "g"),
                     Rename("f", "g/"), Link("f/", "h"), Link("f", "h/"),
                     Chmod("f/", 0600), Truncate("f/", 0),
                     Access("f/", F_OK), Readlink("f/"),
                     Mkdir("nd/", 0755), Stat("nd/"), Rmdir("nd/"),
                     Symlink("f", "sl/"), Mknod("fifo/", S_IFIFO | 0644),
                     Symlink("f", "sl"), Stat("sl/").Expect(-ENOTDIR),
                     Lstat("sl/")}})});
  c.push_back({". and ..", false, {},
               {Mkdir("d"), Mkdir("d/e"), Stat("d/e/.."), Stat("d/./e"),
                Stat("d/e/../../d"), Stat("d/e/../e/./"), Chdir("d/e"),
                Getcwd(), Stat(".."), Stat("../.."), ListDir(".."),
                Chdir("../.."), Getcwd(), Mkdir(".").Expect(-EEXIST),
                Mkdir("..").Expect(-EEXIST), Mkdir("d/e/.."),
                Rmdir("d/.").Expect(-EINVAL), Rmdir("d/e/.."),
                Unlink("."), Unlink("d/.."), Rename("d/.", "x"),
                Rename("d/e", "d/e/."), Rename("d/e/..", "y"),
                Rename("d", "."), Open(0, ".", O_RDONLY | O_CREAT, 0644),
                Open(0, "..", O_WRONLY), Link("d/.", "z"), Symlink("x", "."),
                Symlink("x", "d/.."), Mknod("d/.", S_IFIFO | 0644)}});
  c.push_back({".. at root", false, {},
               {Stat("/.."), Stat("/../../.."), Stat(".."), ListDir("/.."),
                Chdir("/.."), Getcwd(), Chdir("../../.."), Getcwd(),
                Mkdir("/../x"), Stat("/x/../../x"),
                Rmdir("/").Expect(-EBUSY), Rename("/", "/y"),
                Rename("/x", "/"), Unlink("/"), Rmdir("/.."), Mkdir("/")}});
  c.push_back({"repeated slashes", false, {},
               Cat({{Mkdir("d")}, MakeFile("d//f", "x"),
                    {Stat("//d///f"), Stat("d//f//").Expect(-ENOTDIR),
                     Stat("///"), Chdir("//d//"), Getcwd(), Stat(".//f"),
                     Rename("/d//f", "//d///g"), ListDir("//d//"),
                     Mkdir("d//h//"), Rmdir("d///h//"), Unlink("//d//g")}})});
  c.push_back({"ENAMETOOLONG", false, {},
               {Stat(std::string(256, 'a')).Expect(-ENAMETOOLONG),
                Stat(std::string(255, 'a')).Expect(-ENOENT),
                Open(0, std::string(255, 'a'), O_CREAT | O_WRONLY, 0644)
                    .Expect(0),
                Open(1, std::string(256, 'b'), O_CREAT | O_WRONLY, 0644)
                    .Expect(-ENAMETOOLONG),
                Mkdir(std::string(256, 'c')).Expect(-ENAMETOOLONG),
                Mkdir("d"),
                Stat("d/" + std::string(256, 'x')).Expect(-ENAMETOOLONG),
                Stat(std::string(256, 'y') + "/x").Expect(-ENAMETOOLONG),
                Symlink(std::string(256, 't'), "sl").Expect(0),
                Symlink("x", std::string(256, 's')).Expect(-ENAMETOOLONG),
                Rename(std::string(255, 'a'), std::string(256, 'a'))
                    .Expect(-ENAMETOOLONG),
                Stat(DotSlashes(4095)).Expect(0),
                Stat(DotSlashes(4096)).Expect(-ENAMETOOLONG),
                Stat(DotSlashes(5000)).Expect(-ENAMETOOLONG),
                Chdir(DotSlashes(4096)).Expect(-ENAMETOOLONG),
                Mkdir(DotSlashes(4093) + "/q"), Unlink(DotSlashes(4096)),
                Symlink(std::string(4095, 'z'), "long").Expect(0),
                Symlink(std::string(4096, 'z'), "long2")
                    .Expect(-ENAMETOOLONG),
                Readlink("long", 5000), Lstat("long"),
                Stat("long")}});
  c.push_back({"symlink loops", false, {},
               {Symlink("l1", "l2"), Symlink("l2", "l1"),
                Stat("l1").Expect(-ELOOP), Lstat("l1").Expect(0),
                Open(0, "l1", O_RDONLY).Expect(-ELOOP),
                Open(0, "l1", O_CREAT | O_WRONLY, 0644).Expect(-ELOOP),
                Stat("l1/x").Expect(-ELOOP), Symlink("self", "self"),
                Open(0, "self", O_RDONLY | O_CREAT, 0644).Expect(-ELOOP),
                Chdir("self").Expect(-ELOOP), Mkdir("self/x"),
                Access("l1", F_OK), Access("l1", F_OK, AT_SYMLINK_NOFOLLOW),
                Truncate("l1", 0), Chmod("l1", 0600), Chown("l1", 0, 0),
                Chown("l1", 0, 0, AT_SYMLINK_NOFOLLOW), Getxattr("l1", "user.a")}});
  c.push_back({"40-link chain resolves, 41 is ELOOP", false, {},
               Cat({SymlinkChain(41),
                    {Stat("c39").Expect(0), Stat("c40").Expect(-ELOOP),
                     Open(0, "c39", O_RDONLY).Expect(0), Read(0, 10),
                     Open(1, "c40", O_RDONLY).Expect(-ELOOP),
                     Open(1, "c40", O_RDONLY | O_NOFOLLOW).Expect(-ELOOP),
                     Open(1, "c40", O_PATH | O_NOFOLLOW).Expect(0), Fstat(1),
                     Readlink("c40"), Lstat("c40"), Truncate("c39", 1),
                     Truncate("c40", 1).Expect(-ELOOP)}})});
  c.push_back({"dangling symlink with O_CREAT", false, {},
               {Symlink("newfile", "dl"),
                Stat("dl").Expect(-ENOENT),
                Open(0, "dl", O_CREAT | O_WRONLY, 0600).Expect(0),
                Write(0, "via link"), Stat("newfile"), Lstat("dl"),
                Open(1, "dl", O_CREAT | O_EXCL | O_WRONLY, 0600)
                    .Expect(-EEXIST),
                Symlink("nodir/x", "dl2"),
                Open(1, "dl2", O_CREAT | O_WRONLY, 0600).Expect(-ENOENT),
                Symlink("/abs", "dl3"), Open(1, "dl3", O_CREAT | O_RDWR, 0640),
                Stat("/abs"), Symlink("newd/", "dl4"),
                Open(2, "dl4", O_CREAT | O_WRONLY, 0600), Symlink("gone", "dl5"),
                Mkdir("dl5"), Symlink("x", "dl5"), Unlink("dl5"),
                Symlink("gone2", "dl6"), Open(2, "dl6", O_CREAT | O_WRONLY | O_NOFOLLOW, 0600),
                Open(2, "dl6/", O_CREAT | O_WRONLY, 0600),
                Link("dl6", "dl6hard"), Lstat("dl6hard"),
                Link("dl6", "dl6hard2", AT_SYMLINK_FOLLOW)}});
  c.push_back({"O_NOFOLLOW", false, {},
               Cat({MakeFile("f", "x"), {Mkdir("d"), Symlink("f", "s"),
                    Symlink("d", "sd"),
                    Open(0, "s", O_RDONLY | O_NOFOLLOW).Expect(-ELOOP),
                    Open(0, "s", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)
                        .Expect(-ELOOP),
                    Open(0, "s", O_PATH | O_NOFOLLOW).Expect(0), Fstat(0),
                    Read(0, 1), Open(1, "sd", kDirFlags | O_NOFOLLOW),
                    Open(1, "sd/", kDirFlags | O_NOFOLLOW),
                    Open(1, "sd/", O_RDONLY | O_NOFOLLOW),
                    Open(2, "sd", O_PATH | O_NOFOLLOW | O_DIRECTORY),
                    Open(2, "f", O_RDONLY | O_NOFOLLOW).Expect(0)}})});
  c.push_back({"O_DIRECTORY", false, {},
               Cat({MakeFile("f", "x"),
                    {Mkdir("d"), Symlink("d", "sd"), Symlink("f", "sf"),
                     Open(0, "f", O_RDONLY | O_DIRECTORY).Expect(-ENOTDIR),
                     Open(0, "sf", O_RDONLY | O_DIRECTORY).Expect(-ENOTDIR),
                     Open(0, "sd", O_RDONLY | O_DIRECTORY).Expect(0),
                     Open(0, "nx", O_RDONLY | O_DIRECTORY | O_CREAT, 0755),
                     Open(0, "f", O_RDONLY | O_DIRECTORY | O_CREAT, 0755),
                     Open(0, "d", O_RDWR | O_DIRECTORY),
                     Open(0, "d", O_PATH | O_DIRECTORY)}})});
  c.push_back({"O_CREAT|O_EXCL on existing things", false, {},
               Cat({MakeFile("f", "x"),
                    {Mkdir("d"), Symlink("f", "s"), Symlink("nowhere", "dang"),
                     Open(0, "f", O_CREAT | O_EXCL | O_WRONLY, 0644)
                         .Expect(-EEXIST),
                     Open(0, "s", O_CREAT | O_EXCL | O_WRONLY, 0644)
                         .Expect(-EEXIST),
                     Open(0, "dang", O_CREAT | O_EXCL | O_WRONLY, 0644)
                         .Expect(-EEXIST),
                     Stat("nowhere").Expect(-ENOENT),
                     Open(0, "d", O_CREAT | O_EXCL | O_RDONLY, 0644)
                         .Expect(-EEXIST),
                     Open(0, "f", O_EXCL | O_RDONLY).Expect(0),
                     Open(0, "new", O_CREAT | O_EXCL | O_RDWR, 0600)
                         .Expect(0),
                     Fstat(0)}})});
  c.push_back({"opening directories", false, {},
               {Mkdir("dir"),
                Open(0, "dir", O_WRONLY).Expect(-EISDIR),
                Open(0, "dir", O_RDWR).Expect(-EISDIR),
                Open(0, "dir", O_RDONLY).Expect(0), Read(0, 10),
                Write(0, "x"), Pread(0, 10, 0), Lseek(0, 0, SEEK_END),
                Ftruncate(0, 0), Fstat(0),
                Open(1, "dir", O_RDONLY | O_TRUNC),
                Open(1, "dir", O_RDONLY | O_CREAT, 0644).Expect(-EISDIR),
                Open(1, "newdir/", O_CREAT | O_WRONLY, 0644).Expect(-EISDIR),
                Open(1, "newdir/", O_CREAT | O_RDONLY, 0644),
                Stat("newdir").Expect(-ENOENT),
                Open(1, "dir/", O_CREAT | O_RDONLY, 0644),
                Open(1, "dir", O_PATH).Expect(0), Fstat(1), Read(1, 1),
                Getdents(1, 4096), Fchdir(1), Getcwd(), Truncate("dir", 0)}});
  c.push_back({"O_PATH descriptors", false, {},
               Cat({MakeFile("f", "hello"),
                    {Open(0, "f", O_PATH).Expect(0), Read(0, 5).Expect(-EBADF),
                     Write(0, "x").Expect(-EBADF), Pread(0, 5, 0), Fstat(0),
                     Lseek(0, 0, SEEK_SET), Fchmod(0, 0600), Fchown(0, 0, 0),
                     Ftruncate(0, 0), Fallocate(0, 0, 0, 10), Fsync(0),
                     Fcntl(0, F_GETFL), Fcntl(0, F_GETFD),
                     Fcntl(0, F_SETFD, FD_CLOEXEC), Fcntl(0, F_GETFD),
                     Flock(0, LOCK_EX | LOCK_NB),
                     Lock(0, F_SETLK, F_RDLCK, 0, 0),
                     Getxattr("", "user.a", 10, XattrVariant::kFd),
                     Dup(0, 1), Fstat(1), Close(0).Expect(0), Mkdir("d"),
                     Open(2, "d", O_PATH | O_DIRECTORY), Fchdir(2), Getcwd(),
                     Getdents(2, 4096), Openat(3, 2, "..", O_RDONLY),
                     Fstat(3)}})});
  c.push_back({"open flags and F_GETFL/F_SETFL", false, {},
               Cat({MakeFile("f", "0123456789"),
                    {Open(0, "f", O_RDONLY), Fcntl(0, F_GETFL),
                     Open(1, "f", O_WRONLY | O_APPEND | O_NONBLOCK),
                     Fcntl(1, F_GETFL), Fcntl(1, F_SETFL, O_NONBLOCK),
                     Fcntl(1, F_GETFL), Fcntl(1, F_SETFL, O_RDWR | O_APPEND),
                     Fcntl(1, F_GETFL), Open(2, "f", O_RDWR | O_CLOEXEC),
                     Fcntl(2, F_GETFD), Fcntl(2, F_GETFL),
                     Open(3, "f", O_RDWR | O_TRUNC), Fstat(3),
                     Open(3, "f", O_RDONLY | O_TRUNC), Fstat(3),
                     Open(3, "f", 3 /* O_ACCMODE */), Fcntl(3, F_GETFL),
                     Fcntl(kBadSlot, F_GETFL).Expect(-EBADF)}})});
  // ---- Renames.
  c.push_back({"rename a dir into its own subtree", false, {},
               {Mkdir("a"), Mkdir("a/b"),
                Rename("a", "a/b/c").Expect(-EINVAL),
                Rename("a", "a/c").Expect(-EINVAL),
                Rename("a/b", "a/b/c").Expect(-EINVAL),
                Rename("a/b/..", "x"), Rename("a", "a/b", RENAME_EXCHANGE),
                Rename("a/b", "a", RENAME_EXCHANGE), Stat("a/b")}});
  c.push_back({"rename over directories", false, {},
               Cat({{Mkdir("a"), Mkdir("b"), Mkdir("c"), Mkdir("a/sub")},
                    MakeFile("b/x", "x"), MakeFile("f", "file"),
                    {Rename("a", "b").Expect(-ENOTEMPTY),
                     Rename("a", "c").Expect(0), Stat("c/sub"),
                     Stat("a").Expect(-ENOENT), Rename("f", "c").Expect(-EISDIR),
                     Rename("c", "f").Expect(-ENOTDIR),
                     Rename("c/", "f"), Rename("f", "c/"),
                     Rename("c", "b/x").Expect(-ENOTDIR), Stat("/"),
                     Stat("c"), Stat("b"), Rename("c/sub", "b/new"),
                     Stat("c"), Stat("b"), Rename("c/", "d/"), Stat("d")}})});
  c.push_back({"rename to itself and between hard links", false, {},
               Cat({MakeFile("f", "one"),
                    {Mkdir("d"), Rename("f", "f").Expect(0),
                     Rename("d", "d").Expect(0), Rename("d", "d/").Expect(0),
                     Link("f", "g").Expect(0),
                     Rename("f", "g").Expect(0), Stat("f").Expect(0),
                     Stat("g"), Rename("f", "g", RENAME_NOREPLACE),
                     Rename("f", "g", RENAME_EXCHANGE), Stat("f"),
                     Symlink("f", "s"), Rename("s", "s"),
                     Rename("nx", "nx").Expect(-ENOENT)}})});
  c.push_back({"RENAME_NOREPLACE and RENAME_EXCHANGE", false, {},
               Cat({MakeFile("f", "file"), MakeFile("g", "gee"),
                    {Mkdir("d"), Mkdir("d/x")},
                    {Rename("f", "g", RENAME_NOREPLACE).Expect(-EEXIST),
                     Rename("f", "h", RENAME_NOREPLACE).Expect(0),
                     Rename("h", "d", RENAME_NOREPLACE).Expect(-EEXIST),
                     Rename("h", "d", RENAME_EXCHANGE).Expect(0),
                     Stat("h"), Stat("d"), Stat("h/x"), ListDir("h"),
                     Rename("h", "missing", RENAME_EXCHANGE).Expect(-ENOENT),
                     Rename("h", "g", RENAME_EXCHANGE | RENAME_NOREPLACE)
                         .Expect(-EINVAL),
                     Rename("h", "g", 0x100), Rename("h/x", "d",
                                                     RENAME_EXCHANGE),
                     Stat("h"), Stat("/"), Stat("d")}})});
  // ---- Unlink, rmdir, link.
  c.push_back({"unlink and rmdir misuse", false, {},
               Cat({{Mkdir("d"), Mkdir("d/e")}, MakeFile("f", "x"),
                    {Unlink("d").Expect(-EISDIR),
                     Rmdir("f").Expect(-ENOTDIR), Rmdir(".").Expect(-EINVAL),
                     Rmdir("d/e/.").Expect(-EINVAL), Rmdir(".."),
                     Rmdir("d").Expect(-ENOTEMPTY), Rmdir("nx"),
                     Unlink("nx").Expect(-ENOENT), Symlink("d", "sd"),
                     Rmdir("sd").Expect(-ENOTDIR), Unlink("sd/"),
                     Rmdir("sd/"), Unlink("sd").Expect(0), Stat("d"),
                     Rmdir("d/e/").Expect(0), Rmdir("d").Expect(0)}})});
  c.push_back({"hard links", false, {},
               Cat({MakeFile("f", "data"),
                    {Mkdir("d"), Link("d", "d2").Expect(-EPERM),
                     Link("f", "g").Expect(0), Stat("f"), Stat("g"),
                     Link("f", "g").Expect(-EEXIST), Link("nx", "h")
                         .Expect(-ENOENT),
                     Link("f", "nodir/h").Expect(-ENOENT),
                     Link("f", "d/h"), Stat("f"), Symlink("f", "s"),
                     Link("s", "s2"), Lstat("s2"), Link("s", "s3",
                                                       AT_SYMLINK_FOLLOW),
                     Lstat("s3"), Stat("f"), Unlink("f"), Stat("g"),
                     Open(0, "g", O_RDONLY), Unlink("g"), Unlink("d/h"),
                     Unlink("s3"), Fstat(0), Read(0, 10)}})});
  // ---- Data.
  c.push_back({"sparse files, SEEK_DATA and SEEK_HOLE", false, {},
               {Open(0, "f", O_RDWR | O_CREAT, 0644),
                Lseek(0, 0, SEEK_DATA).Expect(-ENXIO), Lseek(0, 0, SEEK_HOLE),
                Pwrite(0, "x", 16384), Fstat(0), Lseek(0, 0, SEEK_DATA),
                Lseek(0, 0, SEEK_HOLE), Lseek(0, 16384, SEEK_DATA),
                Lseek(0, 16385, SEEK_HOLE), Lseek(0, 16385, SEEK_DATA),
                Lseek(0, 20000, SEEK_DATA).Expect(-ENXIO),
                Lseek(0, -1, SEEK_DATA), Pread(0, 10, 4090),
                Ftruncate(0, 100000), Lseek(0, 16385, SEEK_HOLE),
                Lseek(0, 20000, SEEK_DATA), Lseek(0, 99999, SEEK_HOLE),
                Lseek(0, 100000, SEEK_HOLE), Pwrite(0, "y", 50000),
                Lseek(0, 20000, SEEK_DATA), Lseek(0, 50000, SEEK_HOLE),
                Fallocate(0, FALLOC_FL_KEEP_SIZE, 200000, 4096), Fstat(0),
                Lseek(0, 100000, SEEK_DATA),
                Fallocate(0, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16000,
                          40000),
                Pread(0, 100, 16380), Lseek(0, 0, SEEK_DATA),
                Fallocate(0, 0, 0, 300000), Fstat(0),
                Lseek(0, 0, SEEK_HOLE),
                Fallocate(0, FALLOC_FL_PUNCH_HOLE, 0, 10)
                    .Expect(-EOPNOTSUPP),
                Fallocate(0, 0, 0, 0).Expect(-EINVAL),
                Fallocate(0, 0, -1, 10).Expect(-EINVAL),
                Ftruncate(0, 5), Lseek(0, 5, SEEK_DATA),
                Lseek(0, 4, SEEK_HOLE), Lseek(0, 6, SEEK_HOLE),
                Open(1, "f", O_RDONLY), Fallocate(1, 0, 0, 10)
                    .Expect(-EBADF),
                Ftruncate(1, 0).Expect(-EINVAL), Ftruncate(0, -1)
                    .Expect(-EINVAL), Truncate("f", -1), Mkdir("d"),
                Truncate("d", 0).Expect(-EISDIR)}});
  c.push_back({"O_APPEND", false, {},
               {Open(0, "f", O_WRONLY | O_CREAT | O_APPEND, 0644),
                Write(0, "abc"), Pwrite(0, "X", 0), Lseek(0, 0, SEEK_SET),
                Write(0, "d"), Lseek(0, 0, SEEK_CUR), Open(1, "f", O_RDWR),
                Read(1, 100), Write(1, "Z"), Write(0, "e"),
                Fcntl(0, F_SETFL, 0), Lseek(0, 0, SEEK_SET), Write(0, "Q"),
                Pread(1, 100, 0), Fcntl(1, F_SETFL, O_APPEND), Write(1, "!"),
                Writev(0, "vectored"), Pread(1, 100, 0),
                Lseek(0, -2, SEEK_END), Lseek(0, -100, SEEK_END)
                    .Expect(-EINVAL), Lseek(0, 0, 99).Expect(-EINVAL),
                Readv(1, 7), Pread(1, 3, -1)}});
  c.push_back({"read and write offsets", false, {},
               {Open(0, "f", O_RDWR | O_CREAT, 0644), Write(0, "hello world"),
                Read(0, 5), Lseek(0, 0, SEEK_SET), Read(0, 5),
                Readv(0, 4), Lseek(0, 100, SEEK_SET), Write(0, "!"),
                Fstat(0), Pread(0, 200, 0), Read(0, 0), Write(0, ""),
                Open(1, "f", O_RDONLY), Write(1, "x").Expect(-EBADF),
                Open(2, "f", O_WRONLY), Read(2, 1).Expect(-EBADF),
                Close(2).Expect(0), Close(2).Expect(-EBADF),
                Read(kBadSlot, 1).Expect(-EBADF), Dup(1, 3), Read(3, 3),
                Read(1, 3), Fsync(0)}});
  // ---- Attributes.
  c.push_back({"mknod and stat of every type", false, {},
               {Mknod("fifo", S_IFIFO | 0644).Expect(0),
                Mknod("reg", S_IFREG | 0600).Expect(0),
                Mknod("plain", 0640).Expect(0),
                Mknod("cdev", S_IFCHR | 0600, makedev(1, 3)).Expect(0),
                Mknod("bdev", S_IFBLK | 0600, makedev(7, 0)),
                Mknod("sock", S_IFSOCK | 0755), Mknod("dir", S_IFDIR | 0755),
                Mknod("fifo", S_IFIFO | 0644).Expect(-EEXIST), Stat("fifo"),
                Stat("reg"), Stat("plain"), Stat("cdev"), Stat("bdev"),
                Stat("sock"), Open(0, "fifo", O_RDONLY | O_NONBLOCK),
                Fstat(0), Open(1, "fifo", O_WRONLY | O_NONBLOCK),
                Open(1, "fifo", O_RDWR | O_NONBLOCK), Write(1, "pipe"),
                Read(0, 10), Read(0, 10), Lseek(0, 0, SEEK_SET),
                Ftruncate(1, 0), Fstat(1),
                Open(2, "cdev", O_PATH), Fstat(2),
                Chmod("fifo", 0600), Chown("cdev", 1000, 1000),
                Stat("cdev"), Truncate("fifo", 0), ListDir(".", 24)}});
  c.push_back({"chmod, chown and setuid bits", false, {},
               Cat({MakeFile("f", "x", 0755),
                    {Chmod("f", 06755), Stat("f"), Chown("f", 1000, 2000),
                     Stat("f"), Chmod("f", 06755), Chown("f", -1, -1),
                     Stat("f"), Chmod("f", 02745), Chown("f", -1, 3000),
                     Stat("f"), Chmod("f", 017777), Stat("f"), Mkdir("d"),
                     Chmod("d", 07777), Chown("d", 5, 6), Stat("d"),
                     Symlink("f", "s"), Chmod("s", 0600), Stat("f"),
                     Chmod("s", 0600, AT_SYMLINK_NOFOLLOW),
                     Chown("s", 7, 8, AT_SYMLINK_NOFOLLOW), Lstat("s"),
                     Stat("s"), Open(0, "f", O_RDWR), Fchmod(0, 04777),
                     Fchown(0, 9, 9), Fstat(0), Fchmod(0, 04777),
                     Write(0, "w"), Fstat(0),
                     Chown("nx", 0, 0).Expect(-ENOENT)}})});
  c.push_back({"umask", false, {},
               {Umask(077).Expect(022), Open(0, "f", O_CREAT | O_WRONLY, 0666),
                Stat("f"), Mkdir("d", 0777), Stat("d"),
                Mknod("p", S_IFIFO | 0666), Stat("p"), Umask(0).Expect(077),
                Mkdir("e", 0777), Stat("e"), Umask(0777), Mkdir("z", 0777),
                Stat("z"), Umask(01777).Expect(0777), Umask(022).Expect(0777),
                Symlink("f", "s"), Lstat("s")}});
  c.push_back({"access and utimensat as root", false, {},
               Cat({MakeFile("f", "x", 0), MakeFile("x", "x", 0100),
                    {Access("f", R_OK).Expect(0), Access("f", W_OK),
                     Access("f", X_OK).Expect(-EACCES), Access("x", X_OK)
                         .Expect(0), Access("f", F_OK), Access("nx", F_OK),
                     Access("f", 8).Expect(-EINVAL),
                     Access("f", R_OK, AT_EACCESS), Access("f", R_OK, 0x8000),
                     Symlink("nx", "dang"), Access("dang", F_OK),
                     Access("dang", F_OK, AT_SYMLINK_NOFOLLOW), Mkdir("d", 0),
                     Access("d", X_OK), Utimens("f", 0), Utimens("f", 1),
                     Utimens("f", 2), Utimens("f", 3), Utimens("nx", 0),
                     Utimens("dang", 1, AT_SYMLINK_NOFOLLOW),
                     Utimens("dang", 1)}})});
  c.push_back({"statfs", false, {},
               {Statfs("/"), Mkdir("d"), Statfs("d"), Statfs("nx")}});
  // ---- Directories.
  {
    std::vector<Op> v = {Mkdir("d")};
    for (int i = 0; i < 20; ++i) {
      auto f = MakeFile(absl::StrCat("d/", std::string(1 + i * 7 % 40, 'n'),
                                     i),
                        "x");
      v.insert(v.end(), f.begin(), f.end());
    }
    std::vector<Op> rest = {
        Mkdir("d/sub"), Symlink("x", "d/lnk"), Mknod("d/fifo", S_IFIFO | 0644),
        // Buffers that fit every entry (the longest needs 64 bytes): which
        // entries a too-small buffer consumes before EINVAL depends on the
        // (excluded) entry order.
        ListDir("d", 64), ListDir("d", 72), ListDir("d", 100),
        ListDir("d", 10), Open(0, "d", kDirFlags), Getdents(0, 64),
        Getdents(0, 4096), Lseek(0, 0, SEEK_SET), Getdents(0, 64),
        Open(1, "d/lnk", O_PATH | O_NOFOLLOW), Getdents(1, 4096),
        Open(1, "d/sub", kDirFlags), Getdents(1, 20),
        Getdents(1, 4096), Open(2, "d/fifo", O_RDONLY | O_NONBLOCK),
        Getdents(2, 4096), Getdents(kBadSlot, 4096).Expect(-EBADF),
        Stat("d"), ListDir("d/sub")};
    v.insert(v.end(), rest.begin(), rest.end());
    c.push_back({"getdents64 listings and small buffers", false, {}, v});
  }
  c.push_back({"getdents while the directory changes", false, {},
               Cat({{Mkdir("d")}, MakeFile("d/a", ""), MakeFile("d/b", ""),
                    {Open(0, "d", kDirFlags), Getdents(0, 24),
                     Getdents(0, 24), Unlink("d/a"), MakeFile("d/c", "")[0],
                     Lseek(0, 0, SEEK_SET), Getdents(0, 4096),
                     Open(1, "d", kDirFlags), Getdents(1, 4096)}})});
  c.push_back({"chdir, getcwd and a removed cwd", false, {},
               {Mkdir("a"), Mkdir("a/b"), Chdir("a/b"), Getcwd(4096),
                Getcwd(4).Expect(-ERANGE), Getcwd(5).Expect(5), Getcwd(0), Getcwd(1),
                Open(0, "/a", kDirFlags), Chdir("nx").Expect(-ENOENT),
                Chdir("/a/b/").Expect(0), Open(1, "/a/b", kDirFlags),
                Chdir(".."), Rmdir("b").Expect(0), Fchdir(1), Getcwd(4096),
                Stat("."), Stat(".."), Mkdir("x").Expect(-ENOENT),
                Open(2, "f", O_CREAT | O_WRONLY, 0644).Expect(-ENOENT),
                ListDir("."), Chdir(".."), Getcwd(), Fchdir(0), Getcwd(),
                MakeFile("f", "")[0], Fchdir(7), Chdir("f").Expect(-ENOTDIR),
                Chdir(""), Stat(""), Stat("", AT_EMPTY_PATH),
                Openat(3, 0, "", O_RDONLY)}});
  c.push_back({"*at with directory fds", false, {},
               Cat({{Mkdir("d"), Mkdir("d/e")}, MakeFile("f", "x"),
                    {Open(0, "d", kDirFlags), Open(1, "f", O_RDONLY),
                     Openat(2, 0, "new", O_CREAT | O_RDWR, 0644), Fstat(2),
                     Stat("d/new"), Openat(3, 1, "x", O_RDONLY)
                         .Expect(-ENOTDIR),
                     Mkdir("sub", 0755, 0), Unlink("new", 0), Rmdir("sub", 0),
                     Stat("e", 0, 0), Stat("/f", 0, 1), Stat("x", 0, 1),
                     Openat(3, kBadSlot, "x", O_RDONLY).Expect(-EBADF),
                     Openat(3, kBadSlot, "/f", O_RDONLY).Expect(0),
                     Stat("", AT_EMPTY_PATH, 1), Stat("", AT_EMPTY_PATH, 0),
                     Stat("..", 0, 0), Openat(4, 0, "..", kDirFlags),
                     Fstat(4)}})});
  // ---- Extended attributes.
  c.push_back({"user xattrs", false, {},
               Cat({MakeFile("f", "x"),
                    {Mkdir("d"), Symlink("f", "s"),
                     Setxattr("f", "user.a", "one", XATTR_CREATE).Expect(0),
                     Setxattr("f", "user.a", "two", XATTR_CREATE)
                         .Expect(-EEXIST),
                     Setxattr("f", "user.b", "x", XATTR_REPLACE)
                         .Expect(-ENODATA),
                     Getxattr("f", "user.b").Expect(-ENODATA),
                     Getxattr("f", "user.a", 0).Expect(3),
                     Getxattr("f", "user.a", 1).Expect(-ERANGE),
                     Getxattr("f", "user.a", 3).Expect(3),
                     Setxattr("f", "user.a", "three", XATTR_REPLACE),
                     Getxattr("f", "user.a"), Setxattr("f", "user.b", ""),
                     Getxattr("f", "user.b"), Getxattr("f", "user.b", 0),
                     Listxattr("f", 0), Listxattr("f", 1).Expect(-ERANGE),
                     Listxattr("f"),
                     Setxattr("f", "user.big", std::string(65537, 'v'))
                         .Expect(-E2BIG),
                     Setxattr("f", "user.max", std::string(65536, 'v')),
                     Getxattr("f", "user.max", 65536),
                     Removexattr("f", "user.max"),
                     Setxattr("f", "user." + std::string(251, 'n'), "v")
                         .Expect(-ERANGE),
                     Setxattr("f", "user." + std::string(250, 'n'), "v")
                         .Expect(0),
                     Setxattr("f", "user." + std::string(200, 'n'), "v"),
                     Getxattr("f", "user." + std::string(256, 'n')),
                     Setxattr("f", "user.", "v"), Setxattr("f", "", "v"),
                     Setxattr("f", "bogus.a", "v").Expect(-EOPNOTSUPP),
                     Getxattr("f", "bogus.a"), Removexattr("f", "bogus.a"),
                     Setxattr("f", "user.c", "v", 3), Setxattr("f", "user.c", "v", 4),
                     Setxattr("f", "trusted.t", "root only").Expect(0),
                     Getxattr("f", "trusted.t"), Listxattr("f"),
                     Removexattr("f", "user.a").Expect(0),
                     Removexattr("f", "user.a").Expect(-ENODATA),
                     Setxattr("s", "user.vialink", "1"),
                     Getxattr("f", "user.vialink"),
                     Setxattr("s", "user.onlink", "1", 0, XattrVariant::kLpath)
                         .Expect(-EPERM),
                     Getxattr("s", "user.vialink", 100, XattrVariant::kLpath),
                     Listxattr("s", 100, XattrVariant::kLpath),
                     Removexattr("s", "user.vialink", XattrVariant::kLpath),
                     Setxattr("d", "user.dir", "yes"), Listxattr("d"),
                     Getxattr("nx", "user.a").Expect(-ENOENT),
                     Open(0, "f", O_RDONLY),
                     Setxattr("", "user.fd", "fd", 0, XattrVariant::kFd),
                     Getxattr("", "user.fd", 10, XattrVariant::kFd),
                     Listxattr("", 1000, XattrVariant::kFd),
                     Removexattr("", "user.fd", XattrVariant::kFd),
                     Mknod("p", S_IFIFO | 0644),
                     Setxattr("p", "user.a", "x").Expect(-EPERM),
                     Listxattr("p"), Getxattr("p", "user.a")}})});
  // ---- Locks.
  c.push_back({"record locks and flock in one process", false, {},
               Cat({MakeFile("f", "0123456789"),
                    {Open(0, "f", O_RDWR), Open(1, "f", O_RDWR),
                     Open(2, "f", O_RDONLY),
                     Lock(0, F_SETLK, F_WRLCK, 0, 0).Expect(0),
                     Lock(0, F_GETLK, F_WRLCK, 0, 0).Expect(0),
                     Lock(1, F_GETLK, F_WRLCK, 0, 0).Expect(0),
                     Lock(1, F_SETLK, F_RDLCK, 5, 5).Expect(0),
                     Lock(2, F_SETLK, F_WRLCK, 0, 0).Expect(-EBADF),
                     Lock(2, F_SETLK, F_RDLCK, 0, 0).Expect(0),
                     Lock(1, F_OFD_SETLK, F_WRLCK, 0, 10),
                     Lock(1, F_OFD_GETLK, F_WRLCK, 0, 10),
                     Lock(0, F_SETLK, F_UNLCK, 0, 0),
                     Lock(1, F_OFD_SETLK, F_WRLCK, 0, 10),
                     Lock(2, F_OFD_SETLK, F_RDLCK, 5, 1),
                     Lock(2, F_OFD_GETLK, F_WRLCK, 0, 0),
                     Lock(0, F_GETLK, F_RDLCK, 0, 0),
                     Lock(0, F_SETLK, F_RDLCK, 0, 0), Close(1),
                     Lock(0, F_SETLK, F_WRLCK, 0, 0),
                     Lock(0, F_SETLK, F_WRLCK, -5, 1).Expect(-EINVAL),
                     Lock(0, F_SETLK, 99, 0, 0).Expect(-EINVAL),
                     Lock(0, F_GETLK, F_UNLCK, 0, 0),
                     Flock(0, LOCK_EX | LOCK_NB).Expect(0),
                     Open(1, "f", O_RDONLY),
                     Flock(1, LOCK_SH | LOCK_NB).Expect(-EWOULDBLOCK),
                     Flock(0, LOCK_SH | LOCK_NB).Expect(0),
                     Flock(1, LOCK_SH | LOCK_NB).Expect(0),
                     Flock(0, LOCK_EX | LOCK_NB).Expect(-EWOULDBLOCK),
                     Flock(1, LOCK_UN), Flock(0, LOCK_EX | LOCK_NB),
                     Dup(0, 3), Flock(3, LOCK_EX | LOCK_NB), Close(0),
                     Flock(1, LOCK_EX | LOCK_NB), Close(3),
                     Flock(1, LOCK_EX | LOCK_NB), Flock(1, 99),
                     Flock(kBadSlot, LOCK_EX).Expect(-EBADF)}})});
  return c;
}

std::vector<Op> UserSetup() {
  // umask 0 while building, so the modes are exactly these.
  return Cat({{Umask(0), Mkdir("/r", 0755)}, MakeFile("/r/f", "root data", 0644),
              {Mkdir("/o", 0700)}, MakeFile("/o/f", "hidden"),
              {Mkdir("/s", 01777)}, MakeFile("/s/x", "other's", 0666),
              {Chown("/s/x", 2000, 2000), Mkdir("/w", 0777), Mkdir("/w/rd"),
               Mkdir("/g", 02775), Chown("/g", 0, 2000), Mkdir("/g3", 02777),
               Chown("/g3", 0, 3000), Mkdir("/u", 0755), Chown("/u", 1000, 1000)},
              MakeFile("/ro", "ro", 0444), MakeFile("/rw", "rw", 0666),
              MakeFile("/u/mine", "mine", 0644),
              {Chown("/u/mine", 1000, 1000)}});
}

std::vector<Case> UserCases() {
  std::vector<Case> c;
  c.push_back({"EACCES writing a 0444 file", true, UserSetup(),
               Cat({MakeFile("my", "x", 0444),
                    {Open(0, "/ro", O_WRONLY).Expect(-EACCES),
                     Open(0, "/ro", O_RDONLY).Expect(0),
                     Open(0, "my", O_WRONLY).Expect(-EACCES),
                     Open(0, "my", O_RDWR | O_TRUNC).Expect(-EACCES),
                     Truncate("my", 0).Expect(-EACCES),
                     Truncate("/ro", 0).Expect(-EACCES),
                     Access("my", W_OK).Expect(-EACCES), Access("my", R_OK),
                     Chmod("my", 0644).Expect(0),
                     Open(0, "my", O_WRONLY).Expect(0),
                     Open(1, "/r/f", O_WRONLY).Expect(-EACCES),
                     Open(1, "/r/new", O_CREAT | O_WRONLY, 0644)
                         .Expect(-EACCES),
                     Open(1, "/rw", O_WRONLY | O_TRUNC).Expect(0),
                     Fstat(1)}})});
  c.push_back({"search permission", true, UserSetup(),
               Cat({{Mkdir("d", 0700)}, MakeFile("d/f", "x"),
                    {Chmod("d", 0600), Stat("d/f").Expect(-EACCES),
                     ListDir("d"), Chdir("d").Expect(-EACCES),
                     Open(0, "d/f", O_RDONLY).Expect(-EACCES),
                     Stat("/o/f").Expect(-EACCES), Stat("/o").Expect(0),
                     ListDir("/o").Expect(-EACCES), Chdir("/o"),
                     Access("/o/f", F_OK), Chmod("d", 0300),
                     ListDir("d").Expect(-EACCES), Stat("d/f").Expect(0),
                     Chmod("d", 0500), Unlink("d/f").Expect(-EACCES),
                     Open(0, "d/g", O_CREAT | O_WRONLY, 0644)
                         .Expect(-EACCES),
                     Rename("d/f", "x").Expect(-EACCES), Chmod("d", 0700),
                     Symlink("/o/f", "toof"), Stat("toof").Expect(-EACCES),
                     Readlink("toof")}})});
  c.push_back({"sticky directory", true, UserSetup(),
               Cat({MakeFile("/s/mine", "m"),
                    {Unlink("/s/x").Expect(-EPERM),
                     Rename("/s/x", "/s/y").Expect(-EPERM),
                     Rename("/s/mine", "/s/x").Expect(-EPERM),
                     Rename("/s/x", "/s/mine", RENAME_EXCHANGE),
                     Open(0, "/s/x", O_RDWR).Expect(0), Write(0, "ok"),
                     Unlink("/s/mine").Expect(0), Mkdir("/s/md"),
                     Rmdir("/s/md").Expect(0),
                     Unlink("/w/rd"), Rmdir("/w/rd").Expect(0),
                     Mkdir("/w/mine"), Rename("/w/mine", "/s/moved"),
                     Stat("/s/moved"), Unlink("/ro").Expect(-EPERM),
                     Rename("/ro", "/ro2").Expect(-EPERM),
                     Chmod("/s", 0777).Expect(-EPERM),
                     Setxattr("/s", "user.a", "x").Expect(-EPERM),
                     MakeFile("/tmpf", "t")[0], Close(7),
                     Unlink("/tmpf").Expect(0)}})});
  c.push_back({"chmod and chown of others' files", true, UserSetup(),
               Cat({MakeFile("my", "x"),
                    {Chmod("/r/f", 0777).Expect(-EPERM),
                     Chown("/r/f", 1000, 1000).Expect(-EPERM),
                     Chown("/r/f", -1, -1), Chown("my", 0, -1).Expect(-EPERM),
                     Chown("my", 1000, -1).Expect(0),
                     Chown("my", -1, 2000).Expect(0), Stat("my"),
                     Chown("my", -1, 3000).Expect(-EPERM),
                     Chown("my", -1, -1).Expect(0), Chmod("my", 02755),
                     Stat("my"), Chown("my", -1, 1000), Stat("my"),
                     Chmod("my", 04755), Chown("my", 1000, 1000), Stat("my"),
                     Chmod("/u/mine", 0600).Expect(0),
                     Open(0, "/r/f", O_RDONLY), Fchmod(0, 0777).Expect(-EPERM),
                     Fchown(0, 1000, 1000).Expect(-EPERM),
                     Utimens("/r/f", 0).Expect(-EACCES),
                     Utimens("/r/f", 1).Expect(-EPERM),
                     Utimens("/rw", 0).Expect(0),
                     Utimens("/rw", 1).Expect(-EPERM), Utimens("/rw", 2),
                     Utimens("/rw", 3), Utimens("my", 1).Expect(0)}})});
  c.push_back({"setgid directories", true, UserSetup(),
               {Open(0, "/g/f", O_CREAT | O_WRONLY, 02755).Expect(0),
                Stat("/g/f"), Mkdir("/g/sub", 0755), Stat("/g/sub"),
                Mkdir("/g/sub/deeper", 0700), Stat("/g/sub/deeper"),
                Mknod("/g/p", S_IFIFO | 02644), Stat("/g/p"),
                Open(1, "/g3/f", O_CREAT | O_WRONLY, 02755).Expect(0),
                Stat("/g3/f"), Mkdir("/g3/sub", 02755), Stat("/g3/sub"),
                Chmod("/g3/f", 02755), Stat("/g3/f"), Symlink("x", "/g/sl"),
                Lstat("/g/sl"), Link("/g/f", "/hl"), Stat("/hl"),
                Rename("/g/f", "/moved"), Stat("/moved"),
                Chmod("/g", 0775).Expect(-EPERM)}});
  c.push_back({"umask and suid clearing as a user", true, UserSetup(),
               {Umask(0).Expect(022),
                Open(0, "f", O_CREAT | O_RDWR, 06777), Fstat(0),
                Write(0, "x"), Fstat(0), Fchmod(0, 06777), Fstat(0),
                Ftruncate(0, 0), Fstat(0), Fchmod(0, 06757), Write(0, "y"),
                Fstat(0), Fchmod(0, 02777), Pwrite(0, "z", 10), Fstat(0),
                Umask(027), Mkdir("d", 0777), Stat("d"),
                Mknod("n", S_IFREG | 0666), Stat("n"),
                Mknod("c", S_IFCHR | 0666, makedev(1, 3)).Expect(-EPERM),
                Mknod("p", S_IFIFO | 0666).Expect(0), Stat("p")}});
  c.push_back({"user xattrs and permissions", true, UserSetup(),
               Cat({MakeFile("my", "x"),
                    {Setxattr("my", "user.a", "1").Expect(0),
                     Setxattr("/rw", "user.a", "1").Expect(0),
                     Setxattr("/r/f", "user.a", "1").Expect(-EACCES),
                     Getxattr("/r/f", "user.a"), Listxattr("/r/f"),
                     Setxattr("my", "trusted.t", "1").Expect(-EPERM),
                     Getxattr("my", "trusted.t"), Listxattr("/rw"),
                     Removexattr("/rw", "user.a"), Chmod("my", 0444),
                     Setxattr("my", "user.b", "1").Expect(-EACCES),
                     Getxattr("my", "user.a"),
                     Removexattr("my", "user.a").Expect(-EACCES),
                     Getxattr("/o/f", "user.a").Expect(-EACCES)}})});
  c.push_back({"directory renames need write on the moved dir", true,
               UserSetup(),
               {Rename("/w/rd", "/w/rd2").Expect(0),
                Rename("/w/rd2", "/rd3").Expect(-EACCES),
                Mkdir("/w/own"), Rename("/w/own", "/own").Expect(0),
                Rename("/u", "/u2"), Rename("/u/mine", "/w/mine"),
                Rename("/r", "/r2").Expect(-EPERM),
                Link("/r/f", "/lnk"), Link("/rw", "/lnk2"),
                Link("/u2/mine", "/lnk3").Expect(0)}});
  return c;
}

class EdgeCases : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = LinuxSideUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  static void RunCases(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      Sequence s;
      s.name = c.name;
      s.unprivileged = c.unprivileged;
      s.setup = c.setup;
      s.ops = c.ops;
      DiffResult r = RunDiff(s);
      EXPECT_TRUE(r.ok) << r.report;
    }
  }
};

TEST_F(EdgeCases, AsRoot) { RunCases(RootCases()); }
TEST_F(EdgeCases, AsUser) { RunCases(UserCases()); }

}  // namespace
}  // namespace difftest
