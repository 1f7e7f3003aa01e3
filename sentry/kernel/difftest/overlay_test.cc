// Differential tests of the overlay against Linux's own overlayfs: the
// same lower tree on both sides (a tmpfs), an empty tmpfs upper, the same
// operations through `mount -t overlay` and through sentry/fs/overlay.
//
// The identity-keeping improvements (one file across copy-up and across
// lower hard links) differ from Linux on purpose and are tested in
// sentry/fs/overlay/overlay_test.cc instead: the cases here avoid writing
// through one name of a lower hard link and reading through another.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/kernel/difftest/builders.h"
#include "sentry/kernel/difftest/generator.h"
#include "sentry/kernel/difftest/harness.h"

namespace difftest {
namespace {

using namespace ops;  // NOLINT

std::vector<Op> Cat(std::initializer_list<std::vector<Op>> parts) {
  std::vector<Op> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// The image: files, directories (one empty), a symlink, hard links,
// xattrs and a setuid file.
std::vector<Op> LowerTree() {
  return Cat(
      {{Mkdir("a"), Mkdir("a/b"), Mkdir("e"), Mkdir("full", 0750)},
       MakeFile("f", "lower data"),
       MakeFile("a/g", "in a"),
       MakeFile("a/b/deep", "deep"),
       MakeFile("full/x", "x"),
       MakeFile("full/y", "y"),
       MakeFile("h1", "linked"),
       MakeFile("suid", "s"),
       {Link("h1", "h2"), Symlink("f", "s"), Symlink("a/b", "sd"),
        Chmod("suid", 04755), Chown("a/g", 1000, 1000),
        Setxattr("f", "user.tag", "v1"), Mknod("fifo", S_IFIFO | 0644)}});
}

struct Case {
  std::string name;
  bool unprivileged;
  std::vector<Op> ops;
};

std::vector<Case> Cases() {
  std::vector<Case> c;
  c.push_back(
      {"reading the lower layer",
       false,
       {Stat("f"), Stat("a"), Stat("a/b/deep"), Lstat("s"), Stat("s"),
        Readlink("s"), ListDir("/"), ListDir("a"), Open(0, "f", O_RDONLY),
        Read(0, 100), Close(0), Getxattr("f", "user.tag"), Listxattr("f"),
        Stat("h2"), Statfs("/")}});
  c.push_back({"writing copies up",
               false,
               {Open(0, "f", O_WRONLY | O_APPEND), Write(0, " + more"),
                Close(0), Open(1, "f", O_RDONLY), Read(1, 100), Fstat(1),
                Getxattr("f", "user.tag"), Stat("a"), ListDir("/")}});
  c.push_back({"a descriptor opened before copy-up",
               false,
               {Open(0, "a/g", O_RDONLY), Read(0, 2), Open(1, "a/g", O_RDWR),
                Write(1, "NEW"), Close(1), Stat("a/g"), Close(0)}});
  c.push_back(
      {"metadata changes copy up",
       false,
       {Chmod("f", 0600), Chown("a/g", 0, 1000), Truncate("a/b/deep", 2),
        Utimens("f", 0), Setxattr("a/g", "user.new", "n"),
        Removexattr("f", "user.tag"), Stat("f"), Stat("a/g"), Stat("a/b/deep"),
        Listxattr("f"), Listxattr("a/g"), Stat("suid"),
        Open(0, "suid", O_WRONLY), Write(0, "w"), Close(0), Stat("suid")}});
  c.push_back({"an xattr no handler takes still copies up",
               false,
               {Setxattr("a/b/deep", "bogus.x", "v").Expect(-EOPNOTSUPP),
                Setxattr("a/b", "bogus.x", "v").Expect(-EOPNOTSUPP),
                Getxattr("f", "bogus.x").Expect(-EOPNOTSUPP),
                Removexattr("f", "bogus.x").Expect(-EOPNOTSUPP), Stat("a"),
                Stat("a/b"), Stat("a/b/deep"), Stat("f")}});
  c.push_back(
      {"O_TRUNC of a lower file",
       false,
       {Open(0, "f", O_WRONLY | O_TRUNC), Write(0, "t"), Close(0), Stat("f")}});
  c.push_back({"unlink leaves a whiteout",
               false,
               {Unlink("f"), Stat("f"), ListDir("/"), Unlink("a/g"),
                ListDir("a"), Open(0, "f", O_WRONLY | O_CREAT | O_EXCL, 0640),
                Write(0, "again"), Close(0), Stat("f"), Unlink("s"), Stat("s"),
                Unlink("fifo"), Unlink("h1"), Stat("h2")}});
  c.push_back({"rmdir of lower directories",
               false,
               {Rmdir("e"), Stat("e"), Rmdir("full"), Unlink("full/x"),
                Unlink("full/y"), ListDir("full"), Rmdir("full"), Stat("full"),
                ListDir("/")}});
  c.push_back({"mkdir over a whiteout is opaque",
               false,
               {Unlink("full/x"), Unlink("full/y"), Rmdir("full"),
                Mkdir("full"), ListDir("full"), Stat("full"), Stat("full/x"),
                Rmdir("e"), Mkdir("e"), ListDir("e")}});
  c.push_back({"creating in lower directories", false,
               Cat({MakeFile("a/b/new", "n"),
                    {Mkdir("a/b/sub"), Stat("a/b"), Stat("a"), ListDir("a/b"),
                     Symlink("new", "a/b/ln"), Readlink("a/b/ln"),
                     Link("a/b/deep", "a/b/deep2"), Stat("a/b/deep"),
                     Mknod("a/p", S_IFIFO | 0600), ListDir("a")}})});
  c.push_back({"renaming files across layers",
               false,
               {Rename("f", "f2"), Stat("f"), Stat("f2"), ListDir("/"),
                Rename("a/g", "a/b/g"), ListDir("a"), ListDir("a/b"),
                Rename("a/b/g", "h1"), Stat("h1"), Stat("h2"),
                Rename("f2", "suid", RENAME_NOREPLACE), Rename("s", "e/s"),
                Readlink("e/s")}});
  c.push_back({"renaming directories",
               false,
               {Rename("a", "a2"), Rename("e", "e2"), Mkdir("n"), Mkdir("n/m"),
                Rename("n", "n2"), ListDir("n2"), Rename("n2", "full"),
                Rename("n2", "e"), Stat("n2"), ListDir("/")}});
  c.push_back(
      {"renameat2 RENAME_EXCHANGE", false,
       Cat({// Two lower files, one with an xattr; a fifo and a symlink.
            {Rename("f", "a/g", RENAME_EXCHANGE), Stat("f"), Stat("a/g"),
             Open(0, "f", O_RDONLY), Read(0, 100), Close(0),
             Open(1, "a/g", O_RDONLY), Read(1, 100), Close(1),
             Getxattr("a/g", "user.tag"), ListDir("/"), ListDir("a"),
             Rename("fifo", "s", RENAME_EXCHANGE), Lstat("fifo"), Lstat("s"),
             Stat("fifo"), Mkdir("n")},
            MakeFile("n/in", "new"),
            // An upper directory with a merge directory (EXDEV), with a
            // lower file, with another upper directory, and with a file
            // one level down.
            {Rename("n", "e", RENAME_EXCHANGE), ListDir("n"), ListDir("e"),
             Rename("n", "f", RENAME_EXCHANGE), ListDir("f"), Stat("n"),
             Open(2, "n", O_RDONLY), Read(2, 100), Close(2), Mkdir("m"),
             Rename("m", "f", RENAME_EXCHANGE), ListDir("m"), ListDir("f"),
             Rename("m", "a/b/deep", RENAME_EXCHANGE), ListDir("a/b/deep"),
             Stat("m"), ListDir("a/b")},
            // Merge directories (EXDEV), a missing target (ENOENT).
            {Rename("a", "full", RENAME_EXCHANGE),
             Rename("f", "a", RENAME_EXCHANGE),
             Rename("e", "suid", RENAME_EXCHANGE), ListDir("e"), Stat("suid"),
             ListDir("suid"), Rename("f", "missing", RENAME_EXCHANGE),
             Rename("suid", "e/x", RENAME_EXCHANGE), ListDir("/")}})});
  c.push_back(
      {"type mixes and misuse",
       false,
       {Rmdir("f"), Unlink("a"), Rename("a", "f"), Rename("f", "a"), Rmdir("a"),
        Rename("a/b", "a/b/c"), Mkdir("f"), Open(0, "a", O_WRONLY),
        Open(1, "f/x", O_RDONLY), Link("a", "a3")}});
  c.push_back({"as an unprivileged user",
               true,
               {Open(0, "a/g", O_WRONLY | O_APPEND), Write(0, "mine"), Close(0),
                Open(1, "f", O_WRONLY), Unlink("f"), Mkdir("a/u"),
                Rmdir("full"), Chmod("a/g", 0600), Stat("a/g"), ListDir("a"),
                Open(2, "full/x", O_RDONLY)}});
  return c;
}

class OverlayDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = LinuxSideUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(OverlayDiff, HandWrittenCases) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Sequence s;
    s.name = c.name;
    s.unprivileged = c.unprivileged;
    s.overlay = true;
    s.lower = LowerTree();
    s.ops = c.ops;
    DiffResult r = RunDiff(s);
    EXPECT_TRUE(r.ok) << r.report;
  }
}

// Generated sequences on the overlay, the lower tree as above.
TEST_F(OverlayDiff, RandomSequences) {
  constexpr uint64_t kSeedBase = 0x0ee1a40000;
  // DIFFTEST_SCALE=k for a soak (see random_test.cc).
  const int count = ScaledSequenceCount(100, 1 << 20);
  int failures = 0;
  for (int i = 0; i < count && failures < 3; ++i) {
    Sequence s = GenerateSequence(kSeedBase + i, /*unprivileged=*/i % 4 == 3);
    s.name = absl::StrCat("overlay random ", i);
    s.overlay = true;
    s.lower = LowerTree();
    DiffResult r = RunDiff(s);
    if (!r.ok) {
      ++failures;
      ADD_FAILURE() << r.report;
    }
  }
}

}  // namespace
}  // namespace difftest
