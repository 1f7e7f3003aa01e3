// Differential tests: the same tree on a host tmpfs and in a sandbox tmpfs;
// each command through RunScript on the sandbox and the real GNU tool on
// the host (LC_ALL=C, TZ=UTC), outputs, errors and statuses compared byte
// for byte. Plus syntax tests of the interpreter.
#include "runsc/shell/shell.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/testutil/testutil.h"

namespace runsc::shell {
namespace {

using sentry::fs::testutil::NewTmpfsTask;
using sentry::fs::testutil::TmpfsTask;

constexpr time_t kOld = 1577934245;  // 2020-01-02 03:04:05 UTC

struct Op {
  enum Kind { kDir, kFile, kSymlink, kLink, kChown } kind;
  std::string path;
  std::string data;  // contents, or symlink target / link source
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::vector<Op> TreeOps() {
  std::string big;
  for (int i = 0; i < 300; ++i)
    big += "line " + std::to_string(i) + " of the big file\n";
  return {
      {Op::kDir, "d", "", 0755},
      {Op::kDir, "d/sub", "", 0700},
      {Op::kFile, "d/sub/deep.txt", "deep\n", 0644},
      {Op::kFile, "d/notes.md", "# notes\n\nsome text here\n", 0640},
      {Op::kFile, "a.txt", "hello world\nsecond line\n", 0644},
      {Op::kFile, "empty", "", 0600},
      {Op::kFile, "exec.sh", "#!/bin/sh\necho hi\n", 0755},
      {Op::kFile, "suid", "s", 04755},
      {Op::kFile, "sgid", "g", 02750},
      {Op::kFile, "noexec-suid", "S", 04644},
      {Op::kDir, "sticky", "", 01777},
      {Op::kDir, "sticky2", "", 01770},
      {Op::kFile, ".hidden", "h\n", 0644},
      {Op::kSymlink, "link", "a.txt"},
      {Op::kSymlink, "dangling", "nowhere"},
      {Op::kSymlink, "dirlink", "d"},
      {Op::kLink, "hard", "a.txt"},
      {Op::kFile, "big", big, 0644},
      {Op::kFile, "noline", "no newline at end", 0644},
      {Op::kFile, "owned", "o\n", 0644},
      {Op::kChown, "owned", "", 0, 1, 1},
      {Op::kFile, "nobody", "n\n", 0644},
      {Op::kChown, "nobody", "", 0, 12345, 54321},
      {Op::kDir, "wide", "", 0755},
      {Op::kChown, "wide", "", 0, 123456, 7654321},
  };
}

// Paths whose mtime is "recent" (within six months): the rest are old.
bool IsRecent(const std::string& p) { return p == "exec.sh" || p == "d/sub"; }

std::vector<std::string> AllPaths() {
  std::vector<std::string> ps;
  for (const Op& op : TreeOps()) {
    if (op.kind == Op::kChown || op.kind == Op::kLink) continue;
    ps.push_back(op.path);
  }
  ps.push_back(".");
  return ps;
}

std::string ReadHostFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ShellDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (mounts a host tmpfs)";
    umask(022);
    char tmpl[] = "/tmp/shell_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    if (mount("tmpfs", base_.c_str(), "tmpfs", 0, "mode=755") != 0) {
      rmdir(base_.c_str());
      base_.clear();
      GTEST_SKIP() << "cannot mount a host tmpfs";
    }
    now_ = time(nullptr);
  }
  void TearDown() override {
    if (!base_.empty()) {
      umount2(base_.c_str(), MNT_DETACH);
      rmdir(base_.c_str());
    }
  }

  // A fresh host directory with the tree.
  std::string BuildHost() {
    std::string dir = base_ + "/case" + std::to_string(counter_++);
    EXPECT_EQ(mkdir(dir.c_str(), 0755), 0);
    for (const Op& op : TreeOps()) {
      std::string p = dir + "/" + op.path;
      switch (op.kind) {
        case Op::kDir:
          EXPECT_EQ(mkdir(p.c_str(), op.mode), 0) << p;
          EXPECT_EQ(chmod(p.c_str(), op.mode), 0);
          break;
        case Op::kFile: {
          int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
          EXPECT_GE(fd, 0) << p;
          EXPECT_EQ(write(fd, op.data.data(), op.data.size()),
                    static_cast<ssize_t>(op.data.size()));
          close(fd);
          EXPECT_EQ(chmod(p.c_str(), op.mode), 0);
          break;
        }
        case Op::kSymlink:
          EXPECT_EQ(symlink(op.data.c_str(), p.c_str()), 0);
          break;
        case Op::kLink:
          EXPECT_EQ(link((dir + "/" + op.data).c_str(), p.c_str()), 0);
          break;
        case Op::kChown:
          EXPECT_EQ(lchown(p.c_str(), op.uid, op.gid), 0);
          EXPECT_EQ(chmod(p.c_str(), 0644), 0);
          break;
      }
    }
    for (const std::string& rel : AllPaths()) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = IsRecent(rel) ? now_ - 3600 : kOld;
      ts[0].tv_nsec = ts[1].tv_nsec = 123456789;
      EXPECT_EQ(utimensat(AT_FDCWD, (dir + "/" + rel).c_str(), ts,
                          AT_SYMLINK_NOFOLLOW),
                0)
          << rel;
    }
    return dir;
  }

  // The same tree in a sandbox at /work, with the host's passwd and group.
  TmpfsTask BuildSandbox() {
    TmpfsTask t = NewTmpfsTask();
    t->Mkdirat(AT_FDCWD, "/etc", 0755);
    sentry::fs::testutil::WriteFile(t.get(), "/etc/passwd",
                                    ReadHostFile("/etc/passwd"));
    sentry::fs::testutil::WriteFile(t.get(), "/etc/group",
                                    ReadHostFile("/etc/group"));
    EXPECT_EQ(t->Mkdirat(AT_FDCWD, "/work", 0755), 0);
    EXPECT_EQ(t->Chdir("/work"), 0);
    for (const Op& op : TreeOps()) {
      const char* p = op.path.c_str();
      switch (op.kind) {
        case Op::kDir:
          EXPECT_EQ(t->Mkdirat(AT_FDCWD, p, op.mode), 0) << p;
          EXPECT_EQ(t->Fchmodat(AT_FDCWD, p, op.mode), 0);
          break;
        case Op::kFile:
          EXPECT_EQ(sentry::fs::testutil::WriteFile(t.get(), p, op.data, 0600),
                    0);
          EXPECT_EQ(t->Fchmodat(AT_FDCWD, p, op.mode), 0);
          break;
        case Op::kSymlink:
          EXPECT_EQ(t->Symlinkat(op.data.c_str(), AT_FDCWD, p), 0);
          break;
        case Op::kLink:
          EXPECT_EQ(t->Linkat(AT_FDCWD, op.data.c_str(), AT_FDCWD, p, 0), 0);
          break;
        case Op::kChown:
          EXPECT_EQ(
              t->Fchownat(AT_FDCWD, p, op.uid, op.gid, AT_SYMLINK_NOFOLLOW), 0);
          EXPECT_EQ(t->Fchmodat(AT_FDCWD, p, 0644), 0);
          break;
      }
    }
    for (const std::string& rel : AllPaths()) {
      struct timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = IsRecent(rel) ? now_ - 3600 : kOld;
      ts[0].tv_nsec = ts[1].tv_nsec = 123456789;
      EXPECT_EQ(t->Utimensat(AT_FDCWD, rel.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
          << rel;
    }
    return t;
  }

  struct Result {
    std::string out, err;
    int status;
  };

  Result RunHost(const std::string& dir, const std::string& cmd) {
    std::string errfile = base_ + "/stderr";
    std::string full = "cd '" + dir + "' && (export LC_ALL=C TZ=UTC; " + cmd +
                       ") 2>'" + errfile + "'";
    FILE* f = popen(full.c_str(), "r");
    Result r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.out.append(buf, n);
    int st = pclose(f);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = ReadHostFile(errfile);
    unlink(errfile.c_str());
    return r;
  }

  Result RunSandbox(TmpfsTask& t, const std::string& cmd) {
    Io io;
    Result r;
    r.status = RunScript(t.get(), cmd, io);
    r.out = io.out_buf;
    r.err = io.err_buf;
    return r;
  }

  void Compare(const std::string& cmd, bool compare_status = true) {
    SCOPED_TRACE(cmd);
    std::string dir = BuildHost();
    Result h = RunHost(dir, cmd);
    Result s;
    {
      TmpfsTask t = BuildSandbox();
      s = RunSandbox(t, cmd);
      t.reset();
    }
    EXPECT_EQ(s.out, h.out);
    EXPECT_EQ(s.err, h.err);
    if (compare_status) {
      EXPECT_EQ(s.status, h.status);
    }
  }

  std::string base_;
  int counter_ = 0;
  time_t now_ = 0;
};

TEST_F(ShellDiffTest, Ls) {
  for (const char* cmd : {
           "ls",
           "ls -a",
           "ls -A",
           "ls -l",
           "ls -la d",
           "ls -lA",
           "ls -ln",
           "ls -lR",
           "ls -R",
           "ls -aR",
           "ls -d d",
           "ls -ld d sticky sticky2",
           "ls -l d",
           "ls -l link",
           "ls link",
           "ls dirlink",
           "ls -l dirlink",
           "ls link d a.txt",
           "ls -l a.txt d sticky",
           "ls -l --time-style=full-iso",
           "ls -l --time-style=long-iso",
           "ls -l --time-style=iso",
           "ls -l '--time-style=+%Y/%m/%d %H:%M:%S'",
           "ls missing",
           "ls missing a.txt",
           "ls -l missing d",
           "ls d/sub",
           "ls -la d/",
           "ls -R d/",
           "ls -n owned nobody",
           "ls -l owned nobody hard",
           // The file operands' columns are as wide as the directory
           // operands' (GNU sizes them over every operand).
           "ls -ln a.txt link wide",
           "ls -l a.txt wide d",
       }) {
    Compare(cmd);
  }
}

TEST_F(ShellDiffTest, Stat) {
  for (const char* cmd : {
           "stat -c '%n %s %a %A %F %u %g %U %G %h %b %B %Y %N %f %t %T %o' "
           "a.txt empty exec.sh suid sgid noexec-suid sticky sticky2 link "
           "dangling dirlink hard big owned nobody d d/sub",
           "stat --format='%n|%-8s|%5a|%10.10A|' a.txt big",
           "stat -c %y a.txt link",
           "stat -L -c '%n %F %s' link dirlink",
           "stat missing",
           "stat missing a.txt -c %n",
           "stat --printf='%n:%s\\n' a.txt empty",
       }) {
    Compare(cmd);
  }
}

// The default format, without the lines that differ between two machines
// (device, inode, atime, ctime, birth).
TEST_F(ShellDiffTest, StatDefault) {
  auto filter = [](const std::string& s) {
    std::string out;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Device:", 0) == 0 || line.rfind("Change:", 0) == 0 ||
          line.rfind(" Birth:", 0) == 0 ||
          (line.rfind("Access: ", 0) == 0 && line[8] != '('))
        continue;
      out += line + "\n";
    }
    return out;
  };
  for (const char* f : {"a.txt", "link", "d", "empty", "nobody"}) {
    std::string cmd = std::string("stat ") + f;
    SCOPED_TRACE(cmd);
    std::string dir = BuildHost();
    Result h = RunHost(dir, cmd);
    TmpfsTask t = BuildSandbox();
    Result s = RunSandbox(t, cmd);
    t.reset();
    EXPECT_EQ(filter(s.out), filter(h.out));
    EXPECT_EQ(s.status, h.status);
  }
}

TEST_F(ShellDiffTest, Files) {
  for (const char* cmd : {
           "cat a.txt",
           "cat a.txt empty noline big",
           "cat d",
           "cat missing a.txt",
           "cat < a.txt",
           "head -n 1 a.txt",
           "head -c 5 a.txt",
           "head big",
           "head -n 3 a.txt exec.sh",
           "head -n -1 a.txt",
           "head -c -3 a.txt",
           "head -n 2 noline",
           "tail -n 1 a.txt",
           "tail -c 3 a.txt",
           "tail big",
           "tail -n +2 a.txt",
           "tail -n 1 noline",
           "tail -c +4 a.txt",
           "tail -n 2 a.txt big",
           "head missing",
           "tail missing",
           "head d",
           "tail d",
           "head -3 big",
           "wc a.txt",
           "wc -l a.txt",
           "wc -c a.txt big",
           "wc a.txt empty big noline",
           "cat a.txt | wc",
           "cat big | wc -l",
           "wc missing",
           "wc missing a.txt",
           "wc d",
           "wc -l < big",
           "sha256sum a.txt empty big",
           "sha256sum missing",
           "sha256sum d",
           "echo -n abc | sha256sum",
           "cat big big big | sha256sum",
           "echo hello world",
           "echo -n x",
           "echo hi > f && cat f",
           "echo a >> a.txt && cat a.txt",
           "echo 'a  b' \"c  d\" e\\ f",
       }) {
    Compare(cmd);
  }
}

TEST_F(ShellDiffTest, Find) {
  for (const char* cmd : {
           "find . | sort",
           "find d | sort",
           "find . -type f | sort",
           "find . -type d | sort",
           "find . -type l | sort",
           "find . -name '*.txt' | sort",
           "find . -name 's*' -type d | sort",
           "find . -maxdepth 1 | sort",
           "find . -maxdepth 1 -type f -name '*e*' | sort",
           "find . -mindepth 2 | sort",
           "find . ! -type d | sort",
           "find . -type f -o -type l | sort",
           "find . -printf '%p %s %m %y %l %n %U %G %T@\\n' | sort",
           "find . -type f -printf '%f\\t%h %k %b %M\\n' | sort",
           "find d -printf '%d %P %u %g\\n' | sort",
           "find missing",
           "find missing d/sub",
           "find a.txt link dangling",
           "find . -empty | sort",
           "find . -iname 'A*' | sort",
           "find . -path './d/*' | sort",
       }) {
    Compare(cmd);
  }
}

TEST_F(ShellDiffTest, Mutations) {
  const char* listing = " ; find . -printf '%p %m %s %n %U %G %y %l\\n' | sort";
  for (std::string cmd : {
           "mkdir x",
           "mkdir d",
           "mkdir -p x/y/z",
           "mkdir -p d/sub",
           "mkdir a.txt/x",
           "mkdir -p a.txt/x",
           "mkdir missing/x",
           "mkdir -m 700 m",
           "mkdir -p -m 1777 p/q",
           "rmdir d",
           "rmdir missing",
           "rmdir d/sub/deep.txt",
           "rmdir sticky",
           "rm a.txt",
           "rm d",
           "rm -r d",
           "rm missing",
           "rm -f missing",
           "rm -rf d missing",
           "rm link dangling",
           "rm -r sticky",
           "mv a.txt b.txt",
           "mv a.txt d",
           "mv missing x",
           "mv d e",
           "mv a.txt empty d",
           "mv a.txt empty big",
           "mv d d/sub",
           "cp a.txt c.txt",
           "cp d e",
           "cp -r d e",
           "cp a.txt d",
           "cp missing x",
           "cp exec.sh suid d/sub",
           "cp -r d d2 && cp -r d d2",
           "cp link l2",
           "cp -r dirlink dl2",
           "cp a.txt a.txt",
           "ln -s a.txt s",
           "ln a.txt h2",
           "ln -s a.txt link",
           "ln a.txt hard",
           "ln -s a.txt d",
           "ln a.txt d",
           "ln -sf empty link",
           "ln missing x",
           "ln d dd",
           "readlink link",
           "readlink a.txt",
           "readlink dangling dirlink",
           "readlink missing",
           "touch newfile",
           "touch missingdir/x",
           "touch -c nofile",
           "chmod 600 a.txt",
           "chmod u+x,go-w a.txt",
           "chmod g+s d",
           "chmod a=rwx,o-x a.txt",
           "chmod -w a.txt",
           "chmod +x empty",
           "chmod 644 missing",
           "chmod 755 missing a.txt",
           "chmod u=rw,g=r,o= big",
           "chmod -R go-rwx d",
           "chmod 644 sgid suid",
           "chmod o+t,g-s sgid",
           "chmod g=u exec.sh",
           "chown 1:1 a.txt",
           "chown daemon a.txt",
           "chown foo a.txt",
           "chown 12:34 a.txt big",
           "chown :5 a.txt",
           "chown bin:bin a.txt",
           "chown 1 missing",
           "chown -R 2:3 d",
           "truncate -s 3 a.txt",
           "truncate -s 10K newf",
           "truncate -s 0 big",
           "truncate -s +5 a.txt",
           "truncate -s 7 missingdir/x",
       }) {
    Compare(cmd + listing, false);
    Compare(cmd);
  }
}

// ---- syntax ----

class ShellSyntaxTest : public ::testing::Test {
 protected:
  Io io;
  int Run(const std::string& script) {
    io.out_buf.clear();
    io.err_buf.clear();
    return RunScript(t_.get(), script, io);
  }
  void TearDown() override { t_.reset(); }
  TmpfsTask t_ = NewTmpfsTask();
};

TEST_F(ShellSyntaxTest, Quoting) {
  EXPECT_EQ(Run("echo 'a  b' \"c  $? \\\" d\" e\\ f g\\\\h '' x"), 0);
  EXPECT_EQ(io.out_buf, "a  b c  0 \" d e f g\\h  x\n");
  EXPECT_EQ(
      Run("echo 'semi;colon' \"pipe|amp&\" # a comment\n# another\necho x#y"),
      0);
  EXPECT_EQ(io.out_buf, "semi;colon pipe|amp&\nx#y\n");
  EXPECT_EQ(Run("echo 'unterminated"), 2);
  EXPECT_EQ(io.err_buf,
            "runsc: unexpected EOF while looking for matching `''\n");
  EXPECT_EQ(Run("echo \"unterminated"), 2);
  EXPECT_EQ(Run("echo a \\\n b"), 0);
  EXPECT_EQ(io.out_buf, "a b\n");
}

TEST_F(ShellSyntaxTest, SyntaxErrorsRunNothing) {
  EXPECT_EQ(Run("echo a; | echo b"), 2);
  EXPECT_EQ(io.out_buf, "");
  EXPECT_EQ(io.err_buf, "runsc: syntax error near unexpected token `|'\n");
  EXPECT_EQ(Run("echo a >"), 2);
  EXPECT_EQ(io.err_buf,
            "runsc: syntax error near unexpected token `newline'\n");
  EXPECT_EQ(Run("echo a &&"), 2);
  EXPECT_EQ(Run("echo a ;;"), 2);
  EXPECT_EQ(Run("echo a &"), 2);
  EXPECT_EQ(Run("echo a || || echo b"), 2);
  EXPECT_EQ(io.out_buf, "");
}

// A redirection's file that refuses the output fails the command.
TEST_F(ShellSyntaxTest, RedirectionWriteErrorsFail) {
  const struct rlimit four = {4, RLIM_INFINITY};
  ASSERT_EQ(t_->Setrlimit(RLIMIT_FSIZE, &four), 0);
  EXPECT_EQ(Run("echo 12345678 > /f"), 1);
  EXPECT_EQ(io.err_buf, "runsc: echo: write error: File too large\n");
  EXPECT_EQ(Run("cat /f"), 0);
  EXPECT_EQ(io.out_buf, "1234");
  EXPECT_EQ(Run("echo 1 >> /f || echo failed"), 0);
  EXPECT_EQ(io.out_buf, "failed\n");
}

TEST_F(ShellSyntaxTest, PipesAndRedirections) {
  EXPECT_EQ(Run("echo hello > /f; echo world >> /f; cat /f | wc -l"), 0);
  EXPECT_EQ(io.out_buf, "2\n");
  EXPECT_EQ(Run("cat < /f | head -n 1 | sha256sum"), 0);
  EXPECT_EQ(
      io.out_buf,
      "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  -\n");
  EXPECT_EQ(Run("cat /nope 2> /err; cat /err"), 1);
  EXPECT_EQ(io.out_buf, "cat: /nope: No such file or directory\n");
  EXPECT_EQ(io.err_buf, "");
  EXPECT_EQ(Run("cat /nope 2>&1 | wc -l"), 0);
  EXPECT_EQ(io.out_buf, "1\n");
  EXPECT_EQ(Run("echo x >&2"), 0);
  EXPECT_EQ(io.err_buf, "x\n");
  EXPECT_EQ(Run("cat < /nope"), 1);
  EXPECT_EQ(io.err_buf, "runsc: /nope: No such file or directory\n");
  EXPECT_EQ(Run("echo x > /nodir/f"), 1);
  // Truncation happens before the command runs, like a shell.
  EXPECT_EQ(Run("echo abc > /g; cat /g > /g; cat /g | wc -c"), 0);
  EXPECT_EQ(io.out_buf, "0\n");
  // The script's stdin goes to the first command that reads it.
  io.in = "from stdin\n";
  EXPECT_EQ(Run("echo first; cat"), 0);
  EXPECT_EQ(io.out_buf, "first\nfrom stdin\n");
}

TEST_F(ShellSyntaxTest, AndOrAndStatus) {
  EXPECT_EQ(Run("true && echo yes || echo no"), 0);
  EXPECT_EQ(io.out_buf, "yes\n");
  EXPECT_EQ(Run("false && echo yes || echo no"), 0);
  EXPECT_EQ(io.out_buf, "no\n");
  EXPECT_EQ(Run("cat /nope || echo $?"), 0);
  EXPECT_EQ(io.out_buf, "1\n");
  EXPECT_EQ(Run("ls /nope; echo \"status $?\""), 2);  // ls: 2, like GNU
  EXPECT_EQ(io.out_buf, "status 2\n");
  EXPECT_EQ(Run("cat /nope; echo still runs"), 1);
  EXPECT_EQ(io.out_buf, "still runs\n");
  EXPECT_EQ(Run("false | true"), 0);  // a pipeline's status is the last's
  EXPECT_EQ(Run("true | false"), 1);
  EXPECT_EQ(Run("nosuchcmd"), 2);
  EXPECT_EQ(io.err_buf, "runsc: nosuchcmd: command not found\n");
  EXPECT_EQ(Run("ls --bogus"), 2);
  EXPECT_EQ(Run("cat -z"), 2);
  EXPECT_EQ(Run(""), 0);
  EXPECT_EQ(Run("  ;\n\n # only comments"), 2);  // a leading ';' is an error
}

TEST_F(ShellSyntaxTest, CdPwdWhichHelpMountDf) {
  EXPECT_EQ(Run("mkdir -p /a/b && cd /a/b && pwd && cd .. && pwd"), 0);
  EXPECT_EQ(io.out_buf, "/a/b\n/a\n");
  EXPECT_EQ(Run("cd /nope"), 1);
  EXPECT_EQ(io.err_buf, "runsc: cd: /nope: No such file or directory\n");
  EXPECT_EQ(Run("mkdir -p /usr/bin && echo x > /usr/bin/tool && chmod 755 "
                "/usr/bin/tool && which tool"),
            0);
  EXPECT_EQ(io.out_buf, "/usr/bin/tool\n");
  EXPECT_EQ(Run("which nothing"), 1);
  EXPECT_EQ(io.out_buf, "");
  EXPECT_EQ(Run("help"), 0);
  EXPECT_THAT(io.out_buf, ::testing::HasSubstr("sha256sum"));
  EXPECT_EQ(
      Run("mkdir /mnt && mount -t tmpfs -o size=1m,nosuid tmp /mnt && mount"),
      0);
  EXPECT_THAT(io.out_buf,
              ::testing::HasSubstr("tmp on /mnt type tmpfs (rw,nosuid"));
  EXPECT_EQ(Run("df"), 0);
  EXPECT_THAT(io.out_buf, ::testing::StartsWith("Filesystem"));
  EXPECT_THAT(io.out_buf, ::testing::HasSubstr(" /mnt\n"));
  EXPECT_EQ(Run("umount /mnt && mount -t tmpfs"), 0);
  EXPECT_THAT(io.out_buf, ::testing::Not(::testing::HasSubstr("/mnt")));
  EXPECT_EQ(Run("umount /mnt"), 2);
  EXPECT_EQ(Run("echo v > /x && setfattr -n user.k -v hello /x && getfattr -n "
                "user.k /x"),
            0);
  EXPECT_EQ(io.out_buf, "# file: x\nuser.k=\"hello\"\n\n");
  EXPECT_EQ(Run("getfattr -d /x && setfattr -x user.k /x && getfattr -d /x"),
            0);
  EXPECT_EQ(io.out_buf, "# file: x\nuser.k=\"hello\"\n\n");
  EXPECT_EQ(Run("getfattr -n user.none /x"), 1);
  EXPECT_THAT(io.err_buf,
              ::testing::HasSubstr("/x: user.none: No such attribute\n"));
}

TEST_F(ShellSyntaxTest, Tree) {
  EXPECT_EQ(
      Run("mkdir -p /t/a/b && echo > /t/a/f && echo > /t/z && ln -s z /t/l && "
          "cd /t && tree"),
      0);
  EXPECT_EQ(io.out_buf,
            ".\n"
            "\u251c\u2500\u2500 a\n"
            "\u2502\u00a0\u00a0 \u251c\u2500\u2500 b\n"
            "\u2502\u00a0\u00a0 \u2514\u2500\u2500 f\n"
            "\u251c\u2500\u2500 l -> z\n"
            "\u2514\u2500\u2500 z\n"
            "\n2 directories, 3 files\n");
}

TEST(ShellInteractive, PipeInputHasNoPrompt) {
  TmpfsTask t = NewTmpfsTask();
  int in[2], out[2], err[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(pipe(out), 0);
  ASSERT_EQ(pipe(err), 0);
  std::string script = "echo 'multi\nline' > /f\ncat /f\nls /nope\necho done";
  ASSERT_EQ(write(in[1], script.data(), script.size()),
            static_cast<ssize_t>(script.size()));
  close(in[1]);
  int status = RunInteractive(t.get(), in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  auto drain = [](int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
      s.append(buf, static_cast<size_t>(n));
    close(fd);
    return s;
  };
  EXPECT_EQ(drain(out[0]), "multi\nline\ndone\n");
  EXPECT_EQ(drain(err[0]),
            "ls: cannot access '/nope': No such file or directory\n");
  EXPECT_EQ(status, 0);  // the last line's status
  t.reset();
}

TEST(ShellSha256, KnownVectors) {
  TmpfsTask t = NewTmpfsTask();
  Io io;
  io.in = "abc";
  EXPECT_EQ(RunScript(t.get(), "sha256sum", io), 0);
  EXPECT_EQ(
      io.out_buf,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n");
  t.reset();
}

}  // namespace
}  // namespace runsc::shell
