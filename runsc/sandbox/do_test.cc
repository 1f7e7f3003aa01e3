// runsc do and runsc spec, end to end: the real binary, real gofer
// children, a real rootfs directory on the host.
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

std::string Runsc() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/__main__/runsc/runsc");
}

// Runs `runsc ARGS` through sh, capturing stdout and stderr.
Result RunRunsc(const std::string& args) {
  char errf[] = "/tmp/runsc_errXXXXXX";
  int efd = mkstemp(errf);
  close(efd);
  std::string cmd =
      absl::StrCat(Runsc(), " ", args, " 2>", errf, " </dev/null");
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(errf);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  unlink(errf);
  return r;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int GoferCount() {
  FILE* p = popen("pgrep -fc 'runsc gofer --root=' || true", "r");
  int n = 0;
  if (fscanf(p, "%d", &n) != 1) n = 0;
  pclose(p);
  return n;
}

class RunscDoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the gofer pivots)";
    char t[] = "/tmp/runsc_rootfsXXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    rootfs_ = t;
    ASSERT_EQ(
        system(absl::StrCat("mkdir -p ", rootfs_, "/etc ", rootfs_,
                            "/data && echo sandbox > ", rootfs_,
                            "/etc/hostname && echo d1 > ", rootfs_, "/data/one")
                   .c_str()),
        0);
    baseline_ = GoferCount();
  }
  void TearDown() override {
    EXPECT_EQ(GoferCount(), baseline_) << "a gofer was left running";
    if (!rootfs_.empty()) system(("rm -rf " + rootfs_).c_str());
  }
  std::string rootfs_;
  int baseline_ = 0;
};

TEST_F(RunscDoTest, ComposesTheRootAndTheMandatoryMounts) {
  Result r = RunRunsc(
      absl::StrCat("do --rootfs=", rootfs_, " ",
                   Quote("cat /etc/hostname; ls /; cat /proc/self/mountinfo")));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("sandbox\n", 0), 0u) << r.out;
  for (const char* m : {" / / ", " /proc ", " /sys ", " /tmp ", " /dev ",
                        " /dev/pts ", " /__runsc_containers__ "}) {
    EXPECT_NE(r.out.find(m), std::string::npos) << m << "\n" << r.out;
  }
}

TEST_F(RunscDoTest, OverlayKeepsTheRootfsUnchanged) {
  Result r = RunRunsc(absl::StrCat(
      "do --overlay --rootfs=", rootfs_, " ",
      Quote("echo new > /etc/hostname && mkdir /made && cat /etc/hostname")));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "new\n");
  std::ifstream h(rootfs_ + "/etc/hostname");
  std::string line;
  std::getline(h, line);
  EXPECT_EQ(line, "sandbox");
  struct stat st;
  EXPECT_NE(stat((rootfs_ + "/made").c_str(), &st), 0);
}

TEST_F(RunscDoTest, WithoutOverlayWritesReachTheRootfsThroughTheGofer) {
  Result r = RunRunsc(absl::StrCat("do --rootfs=", rootfs_, " ",
                                   Quote("echo changed > /data/one")));
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream h(rootfs_ + "/data/one");
  std::string line;
  std::getline(h, line);
  EXPECT_EQ(line, "changed");
}

TEST_F(RunscDoTest, BindMountsEachGetTheirGofer) {
  char t[] = "/tmp/runsc_bindXXXXXX";
  ASSERT_NE(mkdtemp(t), nullptr);
  std::string src = t;
  ASSERT_EQ(system(("echo bound > " + src + "/b").c_str()), 0);
  Result r =
      RunRunsc(absl::StrCat("do --rootfs=", rootfs_, " --mount=bind:", src,
                            ":/mnt/x:ro --mount=tmpfs:none:/scratch:mode=700 ",
                            Quote("cat /mnt/x/b; stat -c %a /scratch; "
                                  "echo no > /mnt/x/c")));
  EXPECT_EQ(r.status, 1) << r.err;  // the read-only bind refuses the write
  EXPECT_EQ(r.out, "bound\n700\n");
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  system(("rm -rf " + src).c_str());
}

TEST_F(RunscDoTest, RunscSpecBundlesParseAndBoot) {
  std::string bundle = rootfs_ + "_bundle";
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", bundle, " && ", Runsc(),
                                " spec --rootfs=", rootfs_, " > ", bundle,
                                "/config.json")
                       .c_str()),
            0);
  Result r = RunRunsc(absl::StrCat("do --bundle=", bundle, " ",
                                   Quote("cat /etc/hostname; ls /dev/pts")));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("sandbox\n"), std::string::npos) << r.out;
  // runc's own spec parses too (the sandbox provides /dev; warned about).
  if (access("/usr/sbin/runc", X_OK) == 0) {
    ASSERT_EQ(
        system(absl::StrCat("cd ", bundle,
                            " && rm config.json && "
                            "/usr/sbin/runc spec && sed -i 's|\"rootfs\"|\"",
                            rootfs_, "\"|' config.json")
                   .c_str()),
        0);
    Result rr = RunRunsc(
        absl::StrCat("do --bundle=", bundle, " ", Quote("cat /etc/hostname")));
    EXPECT_EQ(rr.status, 0) << rr.err;
    EXPECT_EQ(rr.out, "sandbox\n");
    EXPECT_NE(rr.err.find("ignoring dev mount"), std::string::npos);
  }
  system(("rm -rf " + bundle).c_str());
}

struct ErrorCase {
  const char* name;
  std::string args;
  int status;
  const char* want;
};

TEST_F(RunscDoTest, ErrorsAreOneLineWithTheRightStatus) {
  std::string bundle = rootfs_ + "_bad";
  ASSERT_EQ(
      system(absl::StrCat("mkdir -p ", bundle,
                          " && printf '{\"ociVersion\": \"1\",\\n \"process\": "
                          "{\"user\": {\"uid\": \"x\"}}}' > ",
                          bundle, "/config.json")
                 .c_str()),
      0);
  const ErrorCase kCases[] = {
      {"missing rootfs", "do --rootfs=/nonexistent/rootfs ls", 1,
       "rootfs /nonexistent/rootfs"},
      {"unreachable 9P server", "do --root-9p=tcp:127.0.0.1:1 ls", 1,
       "connecting to tcp:127.0.0.1:1"},
      {"bad address", "do --root-9p=nowhere ls", 1, "tcp:HOST:PORT"},
      {"unknown flag", "do --frobnicate ls", 2, "unknown flag"},
      {"two sources", absl::StrCat("do --rootfs=", rootfs_, " --bundle=x ls"),
       2, "exclusive"},
      {"bad config.json", absl::StrCat("do --bundle=", bundle, " ls"), 1,
       "process.user.uid"},
      {"a failing command",
       absl::StrCat("do --rootfs=", rootfs_, " 'cat /nope'"), 1,
       "cat: /nope: No such file or directory"},
  };
  for (const ErrorCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Result r = RunRunsc(c.args);
    EXPECT_EQ(r.status, c.status) << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  system(("rm -rf " + bundle).c_str());
}

TEST_F(RunscDoTest, TheHostRootByDefaultIsReadOnlyUnderAnOverlay) {
  Result r =
      RunRunsc("do " + Quote("touch /runsc_do_probe && ls /runsc_do_probe"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/runsc_do_probe\n");
  struct stat st;
  EXPECT_NE(stat("/runsc_do_probe", &st), 0) << "the host was written";
}

// As an ordinary user (no privileges: the gofer cannot make a mount
// namespace and keeps to its directory FD alone).
TEST_F(RunscDoTest, RunsAsAnOrdinaryUser) {
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
  std::string bin = rootfs_ + "_bin";
  ASSERT_EQ(system(absl::StrCat("cp ", Runsc(), " ", bin, " && chmod 0755 ",
                                bin, " && chmod -R a+rX ", rootfs_,
                                " && chmod a+x ", rootfs_)
                       .c_str()),
            0);
  char errf[] = "/tmp/runsc_uerrXXXXXX";
  close(mkstemp(errf));
  std::string cmd = absl::StrCat(
      "setpriv --reuid=65534 --regid=65534 --clear-groups ", bin,
      " do --overlay --rootfs=", rootfs_, " ",
      Quote("cat /etc/hostname; echo w > /etc/hostname; cat /etc/hostname"),
      " 2>", errf);
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  std::ifstream e(errf);
  std::string err((std::istreambuf_iterator<char>(e)), {});
  EXPECT_EQ(WEXITSTATUS(st), 0) << err;
  EXPECT_EQ(out, "sandbox\nw\n");
  unlink(errf);
  unlink(bin.c_str());
}

}  // namespace
