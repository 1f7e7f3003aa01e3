// runsc do and runsc spec, end to end: the real binary, real gofer
// children, a real rootfs directory on the host, diod as a 9P server.
//
// Every run is checked for leftover processes: this test process is a
// child subreaper, so a gofer (or anything else) that outlives `runsc`
// is reparented to it and found among its children.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "runsc/fsgofer/test_util.h"

namespace {

using ::fsgofer::testing::ProcStatusField;

// An ordinary user for the unprivileged runs: not 65534, so that its own
// files and the overflow id that stands for everyone else's differ.
constexpr int kUser = 23456;

const bool kSubreaper = [] {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}();

struct Result {
  int status = -1;  // exit status; 128+N for a signal
  std::string out, err;
  std::vector<std::string> leftovers;  // "pid cmdline" of survivors
};

std::string Runsc() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/__main__/runsc/runsc");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Our live (or unreaped) children, from every thread's children list.
std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  std::istringstream in(
      ReadFile(absl::StrCat("/proc/", pid, "/task/", pid, "/children")));
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

// Children started by Start() and not yet Finish()ed (a diod serving
// while runsc runs is not a leftover).
std::set<pid_t> g_started;

// Kills and reaps every other child of ours, returning what they were.
std::vector<std::string> ReapLeftovers() {
  std::vector<std::string> out;
  for (pid_t c : Children(getpid())) {
    if (g_started.count(c)) continue;
    std::string cmd = ReadFile(absl::StrCat("/proc/", c, "/cmdline"));
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    out.push_back(absl::StrCat(c, " ", cmd));
    kill(c, SIGKILL);
    waitpid(c, nullptr, 0);
  }
  return out;
}

struct Running {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
};

// Starts `sh -c 'exec CMD'` (stdin a pipe kept open if keep_stdin, else
// /dev/null). `in_child` runs in the child just before exec.
Running Start(const std::string& cmd, bool keep_stdin = false,
              const std::function<void()>& in_child = nullptr) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    abort();
  }
  Running r;
  r.pid = fork();
  if (r.pid == 0) {
    if (keep_stdin) {
      dup2(in[0], 0);
    } else {
      int n = open("/dev/null", O_RDONLY);
      dup2(n, 0);
    }
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (in_child) in_child();
    std::string c = "exec " + cmd;
    execl("/bin/sh", "sh", "-c", c.c_str(), nullptr);
    _exit(127);
  }
  g_started.insert(r.pid);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  r.in = in[1];
  if (!keep_stdin) {
    close(r.in);
    r.in = -1;
  }
  r.out = out[0];
  r.err = err[0];
  return r;
}

// Closes stdin, collects the output, waits (killing after `timeout`), and
// lists what survived it.
Result Finish(Running& r, absl::Duration timeout = absl::Seconds(60)) {
  if (r.in >= 0) close(r.in);
  r.in = -1;
  Result res;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Time exited_at = absl::InfiniteFuture();
  bool reaped = false;
  int ws = 0;
  pollfd p[2] = {{r.out, POLLIN, 0}, {r.err, POLLIN, 0}};
  std::string* sinks[2] = {&res.out, &res.err};
  int open_fds = 2;
  // A survivor holding our pipes must not hang us: stop reading a moment
  // after the process itself is gone.
  while (open_fds > 0 && absl::Now() < exited_at + absl::Seconds(2)) {
    if (!reaped && waitpid(r.pid, &ws, WNOHANG) == r.pid) {
      reaped = true;
      exited_at = absl::Now();
    }
    if (!reaped && absl::Now() > deadline) {
      kill(r.pid, SIGKILL);
      ADD_FAILURE() << "timed out";
    }
    if (poll(p, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(p[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else {
        p[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (!reaped) waitpid(r.pid, &ws, 0);
  g_started.erase(r.pid);
  close(r.out);
  close(r.err);
  res.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  res.leftovers = ReapLeftovers();
  return res;
}

// Runs `runsc ARGS` (through sh), checking that nothing outlives it.
Result RunRunsc(const std::string& args) {
  Running r = Start(Runsc() + " " + args);
  Result res = Finish(r);
  EXPECT_TRUE(res.leftovers.empty()) << "left behind by runsc " << args << ":\n"
                                     << absl::StrJoin(res.leftovers, "\n");
  return res;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string NsLink(pid_t pid, const char* ns) {
  char buf[64] = {};
  ssize_t n = readlink(absl::StrCat("/proc/", pid, "/ns/", ns).c_str(), buf,
                       sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "";
}

// Waits for `runsc`'s single gofer child to be confined (its seccomp
// filter is the last step before it reports ready); -1 on timeout.
pid_t WaitForGofer(pid_t runsc) {
  for (int i = 0; i < 1000; ++i) {
    std::vector<pid_t> c = Children(runsc);
    if (c.size() == 1 && ProcStatusField(c[0], "Seccomp") == "2") return c[0];
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

// Whether this kernel lets an ordinary user make a user namespace (what
// the gofer checks, and the unshare that decides).
bool UnprivilegedUserNamespaces() {
  if (Trim(ReadFile("/proc/sys/kernel/unprivileged_userns_clone")) == "0") {
    return false;
  }
  return Trim(ReadFile("/proc/sys/user/max_user_namespaces")) != "0";
}

// `in_child` hook: drops to kUser (no capabilities, no groups).
void BecomeUser() {
  if (setgroups(0, nullptr) != 0 || setgid(kUser) != 0 || setuid(kUser) != 0) {
    _exit(126);
  }
}

class RunscDoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the gofer pivots)";
    ASSERT_TRUE(kSubreaper);
    char t[] = "/tmp/runsc_rootfsXXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    rootfs_ = t;
    ASSERT_EQ(
        system(absl::StrCat("mkdir -p ", rootfs_, "/etc ", rootfs_,
                            "/data && echo sandbox > ", rootfs_,
                            "/etc/hostname && echo d1 > ", rootfs_, "/data/one")
                   .c_str()),
        0);
  }
  void TearDown() override {
    if (rootfs_.empty()) return;
    // The rootfs and every sibling a test named after it (rootfs_ + "_bin",
    // "_bundle", "_diod.sock", ...); best effort, as rm -rf.
    namespace stdfs = std::filesystem;
    std::error_code ec;
    std::vector<stdfs::path> doomed;
    for (const auto& e :
         stdfs::directory_iterator(stdfs::path(rootfs_).parent_path(), ec)) {
      if (e.path().native().rfind(rootfs_, 0) == 0) doomed.push_back(e.path());
    }
    for (const stdfs::path& p : doomed) stdfs::remove_all(p, ec);
  }
  // A copy of runsc an ordinary user may run, a rootfs it may read (with
  // one file of its own) and no access to anything else of ours.
  std::string PrepareUnprivileged() {
    std::string bin = rootfs_ + "_bin";
    EXPECT_EQ(
        system(absl::StrCat("cp ", Runsc(), " ", bin, " && chmod 0755 ", bin,
                            " && echo mine > ", rootfs_, "/data/mine && chown ",
                            kUser, ":", kUser, " ", rootfs_,
                            "/data/mine && chmod -R a+rX ", rootfs_)
                   .c_str()),
        0);
    return bin;
  }
  std::string rootfs_;
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
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(src, ec);
}

// config.json as a protobuf Struct (protobuf's JSON parser).
google::protobuf::Struct ReadJson(const std::string& path) {
  google::protobuf::Struct st;
  auto s = google::protobuf::util::JsonStringToMessage(ReadFile(path), &st);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return st;
}

google::protobuf::Value StringValue(const std::string& v) {
  google::protobuf::Value x;
  x.set_string_value(v);
  return x;
}

// Adds {destination, type, source, options} to the spec's mounts.
void AddMount(google::protobuf::Struct* spec, const std::string& dst,
              const std::string& type, const std::string& src,
              const std::vector<std::string>& options) {
  google::protobuf::Struct m;
  (*m.mutable_fields())["destination"] = StringValue(dst);
  (*m.mutable_fields())["type"] = StringValue(type);
  (*m.mutable_fields())["source"] = StringValue(src);
  auto* opts = (*m.mutable_fields())["options"].mutable_list_value();
  for (const std::string& o : options) *opts->add_values() = StringValue(o);
  *(*spec->mutable_fields())["mounts"]
       .mutable_list_value()
       ->add_values()
       ->mutable_struct_value() = m;
}

// Mount point -> {per-mount options, fs type}, from mountinfo.
std::map<std::string, std::pair<std::string, std::string>> ParseMountinfo(
    const std::string& text) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (absl::string_view l : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(l, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || dash + 1 == f.end()) continue;
    out[f[4]] = {f[5], *(dash + 1)};
  }
  return out;
}

// `runsc do` on a bundle from `runsc spec` and on one from `runc spec`,
// each with a read-only bind mount and a tmpfs with options added: every
// mount the spec asks for is in the sandbox's mountinfo with its type
// (a bind as the 9P filesystem), or named in a warning as one the sandbox
// provides itself or does not know; the mandatory mounts are there; the
// root is read-only as the spec says.
TEST_F(RunscDoTest, BundlesFromRunscSpecAndRuncSpecComposeTheirMounts) {
  std::string bundle = rootfs_ + "_bundle";
  ASSERT_EQ(mkdir(bundle.c_str(), 0755), 0);
  const std::string config = bundle + "/config.json";
  for (const bool runc : {false, true}) {
    SCOPED_TRACE(runc ? "runc spec" : "runsc spec");
    if (runc && access("/usr/sbin/runc", X_OK) != 0) {
      GTEST_SKIP() << "runc not installed";
    }
    unlink(config.c_str());
    ASSERT_EQ(
        system((runc ? absl::StrCat("cd ", bundle, " && runc spec")
                     : absl::StrCat(Runsc(), " spec --rootfs=x > ", config))
                   .c_str()),
        0);
    google::protobuf::Struct spec = ReadJson(config);
    (*(*spec.mutable_fields())["root"]
          .mutable_struct_value()
          ->mutable_fields())["path"] = StringValue(rootfs_);
    AddMount(&spec, "/data2", "bind", rootfs_ + "/data", {"rbind", "ro"});
    AddMount(&spec, "/scratch", "tmpfs", "tmpfs", {"mode=1700", "nosuid"});
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(spec, &json).ok());
    std::ofstream(config) << json;

    Result r = RunRunsc(absl::StrCat(
        "do --bundle=", bundle, " ",
        Quote("cat /proc/self/mountinfo; echo =====; cat /data2/one; "
              "stat -c %a /scratch; touch /new")));
    EXPECT_EQ(r.status, 1) << r.err;  // the read-only root refuses /new
    size_t sep = r.out.find("=====\n");
    ASSERT_NE(sep, std::string::npos) << r.out;
    EXPECT_EQ(r.out.substr(sep), "=====\nd1\n1700\n");
    EXPECT_NE(r.err.find("touch: cannot touch '/new': Read-only file system"),
              std::string::npos)
        << r.err;
    auto mi = ParseMountinfo(r.out.substr(0, sep));
    ASSERT_TRUE(mi.count("/"));
    EXPECT_EQ(mi["/"].second, "9p");
    EXPECT_EQ(mi["/"].first.substr(0, 3), "ro,") << "the root is read-only";
    for (auto [dst, type] : std::vector<std::pair<std::string, std::string>>{
             {"/proc", "proc"},
             {"/sys", "sysfs"},
             {"/dev", "devtmpfs"},
             {"/dev/pts", "devpts"},
             {"/tmp", "tmpfs"}}) {
      EXPECT_EQ(mi[dst].second, type) << dst;
    }
    for (const auto& v : spec.fields().at("mounts").list_value().values()) {
      const auto& m = v.struct_value().fields();
      const std::string dst = m.at("destination").string_value();
      const std::string type = m.at("type").string_value();
      SCOPED_TRACE(dst);
      const bool warned =
          r.err.find("runsc: warning: ignoring dev mount at " + dst + " ") !=
              std::string::npos ||
          r.err.find("runsc: warning: ignoring unknown filesystem type \"" +
                     type + "\" (mount at " + dst + ")") != std::string::npos;
      if (warned) {
        EXPECT_TRUE(dst.rfind("/dev", 0) == 0 || type == "cgroup" ||
                    type == "mqueue")
            << "a mount the sandbox can make was dropped";
        continue;
      }
      ASSERT_TRUE(mi.count(dst)) << r.out << r.err;
      EXPECT_EQ(mi[dst].second, type == "bind" ? "9p" : type);
    }
    EXPECT_EQ(mi["/data2"].first.substr(0, 3), "ro,");
    EXPECT_NE(mi["/scratch"].first.find("nosuid"), std::string::npos);
  }
}

// process.rlimits reach the sandbox's process, as `runsc spec` (and runc)
// write them and beyond what an unprivileged setrlimit could; and one the
// kernel would refuse fails the start, in one line, leaving nothing.
TEST_F(RunscDoTest, ProcessRlimitsReachTheSandbox) {
  std::string bundle = rootfs_ + "_bundle";
  ASSERT_EQ(mkdir(bundle.c_str(), 0755), 0);
  const std::string config = bundle + "/config.json";
  ASSERT_EQ(
      system(absl::StrCat(Runsc(), " spec --rootfs=x > ", config).c_str()), 0);
  google::protobuf::Struct spec = ReadJson(config);
  (*(*spec.mutable_fields())["root"]
        .mutable_struct_value()
        ->mutable_fields())["path"] = StringValue(rootfs_);
  auto run = [&](const std::string& cmd) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(spec, &json).ok());
    std::ofstream(config, std::ios::trunc) << json;
    return RunRunsc(absl::StrCat("do --bundle=", bundle, " ", Quote(cmd)));
  };
  Result r = run("cat /proc/self/limits");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\nMax open files            1024                 1024 "
                       "                files     \n"),
            std::string::npos)
      << r.out;
  auto set = [&](const std::string& rlimits_json) {
    google::protobuf::Value v;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(rlimits_json, &v).ok());
    (*(*spec.mutable_fields())["process"]
          .mutable_struct_value()
          ->mutable_fields())["rlimits"] = v;
  };
  set(R"([{"type": "RLIMIT_NOFILE", "hard": 65536, "soft": 2048},
          {"type": "RLIMIT_FSIZE", "hard": 1000000, "soft": 4}])");
  r = run("cat /proc/self/limits; echo 12345678 > /tmp/big");
  EXPECT_EQ(r.status, 1) << r.err;  // the echo meets RLIMIT_FSIZE
  EXPECT_NE(r.out.find("\nMax open files            2048                 65536"
                       "                files     \n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\nMax file size             4                    "
                       "1000000              bytes     \n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("runsc: echo: write error: File too large"),
            std::string::npos)
      << r.err;
  // A start refused: status 1, and the error as the last line, after the
  // warnings about the spec's /dev mounts.
  auto refused = [&](const std::string& rlimits_json, const std::string& want) {
    set(rlimits_json);
    Result r = run("true");
    EXPECT_EQ(r.status, 1);
    const std::string last =
        r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
    EXPECT_EQ(last.rfind("runsc do: ", 0), 0u) << r.err;
    EXPECT_NE(last.find(want), std::string::npos) << r.err;
  };
  refused(R"([{"type": "RLIMIT_NOFILE", "hard": 2000000, "soft": 1024}])",
          "process.rlimits: RLIMIT_NOFILE soft 1024 hard 2000000: Operation "
          "not permitted");
  refused(R"([{"type": "RLIMIT_NOFILES", "hard": 1, "soft": 1}])",
          "process.rlimits[0].type: \"RLIMIT_NOFILES\" is not a resource "
          "limit");
}

struct ErrorCase {
  const char* name;
  std::string args;
  int status;
  std::string want;
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
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(bundle, ec);
}

TEST_F(RunscDoTest, TheHostRootByDefaultIsReadOnlyUnderAnOverlay) {
  Result r =
      RunRunsc("do " + Quote("touch /runsc_do_probe && ls /runsc_do_probe"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "/runsc_do_probe\n");
  struct stat st;
  EXPECT_NE(stat("/runsc_do_probe", &st), 0) << "the host was written";
}

// As root: the gofer has no new privileges, a seccomp filter, a mount
// namespace of its own whose root is the rootfs, and no user namespace.
TEST_F(RunscDoTest, TheGoferIsConfinedAsRoot) {
  ASSERT_EQ(chown((rootfs_ + "/data/one").c_str(), 1234, 5678), 0);
  Running r = Start(absl::StrCat(Runsc(), " do --rootfs=", rootfs_),
                    /*keep_stdin=*/true);
  pid_t g = WaitForGofer(r.pid);
  ASSERT_GT(g, 0);
  EXPECT_EQ(ProcStatusField(g, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatusField(g, "Seccomp"), "2");
  EXPECT_NE(NsLink(g, "mnt"), NsLink(r.pid, "mnt"));
  EXPECT_EQ(NsLink(g, "user"), NsLink(r.pid, "user"));
  struct stat groot, dir, host;
  ASSERT_EQ(stat(absl::StrCat("/proc/", g, "/root/").c_str(), &groot), 0);
  ASSERT_EQ(stat(rootfs_.c_str(), &dir), 0);
  ASSERT_EQ(stat("/", &host), 0);
  EXPECT_EQ(groot.st_ino, dir.st_ino) << "its root is not the rootfs";
  EXPECT_EQ(groot.st_dev, dir.st_dev);
  const std::string script = "ls -n /data; cat /etc/hostname\n";
  ASSERT_EQ(write(r.in, script.data(), script.size()),
            static_cast<ssize_t>(script.size()));
  Result res = Finish(r);
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  // Ownership as the host has it.
  EXPECT_NE(res.out.find(" 1234 5678 "), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("sandbox\n"), std::string::npos) << res.out;
}

// As an ordinary user, where the kernel allows unprivileged user
// namespaces (as Debian 12's does by default): the gofer makes one that
// maps only its own uid and gid, and inside it the same mount namespace
// and pivot_root as root. Files owned by anyone else carry the overflow
// id; its own files carry its own.
TEST_F(RunscDoTest, AsAnOrdinaryUserTheGoferConfinesItselfInAUserNamespace) {
  if (!UnprivilegedUserNamespaces()) {
    GTEST_SKIP() << "this kernel forbids unprivileged user namespaces";
  }
  std::string bin = PrepareUnprivileged();
  Running r =
      Start(absl::StrCat(bin, " do --debug --overlay --rootfs=", rootfs_),
            /*keep_stdin=*/true, BecomeUser);
  pid_t g = WaitForGofer(r.pid);
  ASSERT_GT(g, 0);
  EXPECT_EQ(ProcStatusField(g, "Uid").substr(0, 5), std::to_string(kUser));
  EXPECT_EQ(ProcStatusField(g, "NoNewPrivs"), "1");
  EXPECT_EQ(ProcStatusField(g, "Seccomp"), "2");
  EXPECT_EQ(ProcStatusField(g, "CapEff"), "0000000000000000");
  EXPECT_NE(NsLink(g, "user"), NsLink(r.pid, "user"));
  EXPECT_NE(NsLink(g, "mnt"), NsLink(r.pid, "mnt"));
  std::vector<std::string> map =
      absl::StrSplit(ReadFile(absl::StrCat("/proc/", g, "/uid_map")), ' ',
                     absl::SkipWhitespace());
  EXPECT_EQ(map, (std::vector<std::string>{std::to_string(kUser),
                                           std::to_string(kUser), "1\n"}));
  struct stat groot, dir;
  ASSERT_EQ(stat(absl::StrCat("/proc/", g, "/root/").c_str(), &groot), 0);
  ASSERT_EQ(stat(rootfs_.c_str(), &dir), 0);
  EXPECT_EQ(groot.st_ino, dir.st_ino) << "its root is not the rootfs";
  EXPECT_EQ(groot.st_dev, dir.st_dev);
  const std::string script =
      "stat -c '%n %u %g' /data/one /data/mine; cat /etc/hostname; "
      "echo w > /etc/hostname; cat /etc/hostname\n";
  ASSERT_EQ(write(r.in, script.data(), script.size()),
            static_cast<ssize_t>(script.size()));
  Result res = Finish(r);
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  const std::string overflow = Trim(ReadFile("/proc/sys/kernel/overflowuid"));
  EXPECT_EQ(res.out,
            absl::StrCat("/data/one ", overflow, " ", overflow, "\n/data/mine ",
                         kUser, " ", kUser, "\nsandbox\nw\n"));
  EXPECT_NE(res.err.find("user namespace (uid 23456 and gid 23456 mapped to "
                         "themselves, capabilities dropped), private mount "
                         "namespace, pivot_root"),
            std::string::npos)
      << res.err;
  EXPECT_EQ(ReadFile(rootfs_ + "/etc/hostname"), "sandbox\n");
}

// Where the kernel refuses the user namespace, the gofer says why (with
// --debug) and keeps to its directory fd, still with no_new_privs and
// seccomp. Made real without touching the host's limits: runsc runs as
// kUser inside a user namespace of the test's whose
// user.max_user_namespaces is 0, so the gofer's unshare gets ENOSPC.
TEST_F(RunscDoTest, WhereUserNamespacesAreForbiddenTheGoferFallsBack) {
  std::string bin = PrepareUnprivileged();
  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe2(to_parent, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(to_child, O_CLOEXEC), 0);
  auto in_child = [&] {
    char c = 0;
    if (unshare(CLONE_NEWUSER) != 0 || write(to_parent[1], &c, 1) != 1 ||
        read(to_child[0], &c, 1) != 1) {
      _exit(125);
    }
    int fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(124);
    close(fd);
    BecomeUser();
  };
  Running r =
      Start(absl::StrCat(bin, " do --debug --overlay --rootfs=", rootfs_,
                         " 'cat /etc/hostname'"),
            /*keep_stdin=*/false, in_child);
  char c;
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  // The whole id range, written by us (root in the parent namespace).
  for (const char* map : {"uid_map", "gid_map"}) {
    std::ofstream(absl::StrCat("/proc/", r.pid, "/", map))
        << "0 0 4294967295\n";
  }
  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) {
    close(fd);
  }
  Result res = Finish(r);
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  EXPECT_EQ(res.out, "sandbox\n");
  EXPECT_NE(res.err.find("runsc gofer: debug: confined to " + rootfs_ +
                         ": no mount namespace (user.max_user_namespaces is "
                         "0): directory-fd discipline only, no_new_privs, "
                         "seccomp"),
            std::string::npos)
      << res.err;
}

// --debug: what was mounted where, and each gofer's start and stop, on
// stderr; nothing without it.
TEST_F(RunscDoTest, DebugLogsMountsAndGofers) {
  Result quiet = RunRunsc(absl::StrCat("do --rootfs=", rootfs_, " true"));
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(quiet.err, "");
  Result r = RunRunsc(absl::StrCat("do --debug --rootfs=", rootfs_,
                                   " --mount=tmpfs:none:/scratch true"));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.err, '\n');
  auto has = [&](const std::string& prefix, const std::string& rest = "") {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.rfind(prefix, 0) == 0 &&
             l.find(rest, prefix.size()) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("runsc: debug: gofer ", " serving " + rootfs_)) << r.err;
  EXPECT_TRUE(has("runsc: debug: gofer ", " stopped (exit status 0)")) << r.err;
  EXPECT_TRUE(has("runsc gofer: debug: confined to " + rootfs_ +
                  ": private mount namespace, pivot_root"))
      << r.err;
  EXPECT_TRUE(has("runsc: debug: mounted \"" + rootfs_ + "\" at / (root)"))
      << r.err;
  for (const char* at :
       {"/proc type proc", "/sys type sysfs", "/dev type devtmpfs",
        "/dev/pts type devpts", "/tmp type tmpfs", "/scratch type tmpfs"}) {
    EXPECT_TRUE(has("runsc: debug: mounted ", std::string(" at ") + at))
        << at << "\n"
        << r.err;
  }
}

// Parses every stderr line as JSON (protobuf's parser into a Struct);
// returns the lines, failing the test on any that is not an object with
// string "level", "source" and "msg".
struct LogLine {
  std::string level, source, msg;
};

std::vector<LogLine> JsonLines(const std::string& err) {
  std::vector<LogLine> out;
  for (absl::string_view l : absl::StrSplit(err, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct st;
    auto status =
        google::protobuf::util::JsonStringToMessage(std::string(l), &st);
    EXPECT_TRUE(status.ok()) << status.ToString() << ": " << l;
    LogLine line;
    for (auto [key, value] :
         {std::pair{"level", &line.level}, std::pair{"source", &line.source},
          std::pair{"msg", &line.msg}}) {
      auto it = st.fields().find(key);
      if (it == st.fields().end() || !it->second.has_string_value()) {
        ADD_FAILURE() << "no string \"" << key << "\": " << l;
        continue;
      }
      *value = it->second.string_value();
    }
    out.push_back(line);
  }
  return out;
}

TEST_F(RunscDoTest, LogFormatJsonIsOneObjectPerLine) {
  // A bind source whose name needs escaping: a quote, a backslash, a tab
  // and UTF-8 that is not ASCII.
  std::string src = rootfs_ + "_src \"q\\\t\xc3\xa9";
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  Result r = RunRunsc(
      absl::StrCat("do --debug --log-format=json --rootfs=", rootfs_, " ",
                   Quote("--mount=bind:" + src + ":/b"), " 'cat /nope'"));
  EXPECT_EQ(r.status, 1);
  // The script's own error stays the command's stderr, as coreutils'.
  std::string cmd_err = "cat: /nope: No such file or directory\n";
  size_t at = r.err.find(cmd_err);
  ASSERT_NE(at, std::string::npos) << r.err;
  std::string logs = r.err.substr(0, at) + r.err.substr(at + cmd_err.size());
  auto lines = JsonLines(logs);
  std::set<std::string> levels;
  int gofers_started = 0, gofers_stopped = 0, confined = 0;
  bool root = false, bind = false;
  for (const auto& [level, source, msg] : lines) {
    levels.insert(level);
    if (msg.rfind("gofer ", 0) == 0 && msg.find(" serving ") != msg.npos) {
      ++gofers_started;
    }
    if (msg.rfind("gofer ", 0) == 0 &&
        msg.find(" stopped (exit status 0)") != msg.npos) {
      ++gofers_stopped;
    }
    if (source == "runsc gofer" && msg.rfind("confined to ", 0) == 0) {
      ++confined;
    }
    root |= msg == "mounted \"" + rootfs_ + "\" at / (root)";
    bind |= msg == "mounted \"" + src + "\" at /b type bind";
  }
  EXPECT_EQ(levels, std::set<std::string>{"debug"}) << logs;
  EXPECT_EQ(gofers_started, 2) << logs;
  EXPECT_EQ(gofers_stopped, 2) << logs;
  EXPECT_EQ(confined, 2) << logs;
  EXPECT_TRUE(root) << logs;
  EXPECT_TRUE(bind) << logs;

  // runsc's own error, in the same format, still one line.
  Result e = RunRunsc("do --log-format=json --rootfs=/nonexistent ls");
  EXPECT_EQ(e.status, 1);
  auto el = JsonLines(e.err);
  ASSERT_EQ(el.size(), 1u) << e.err;
  EXPECT_EQ(el[0].level, "error");
  EXPECT_EQ(el[0].msg, "rootfs /nonexistent: No such file or directory");
  Result bad = RunRunsc("do --log-format=xml true");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--log-format must be text or json"),
            std::string::npos);
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(src, ec);
}

// A free loopback port: bound to port 0 and released (the caller retries
// if someone takes it in between).
int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int port = -1;
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(s);
  return port;
}

bool Connectable(const std::string& addr) {
  int s;
  int rc;
  if (addr.rfind("unix:", 0) == 0) {
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::string path = addr.substr(5);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    rc = connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  } else {
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(std::stoi(addr.substr(addr.rfind(':') + 1)));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  }
  close(s);
  return rc == 0;
}

// The root from Debian's diod (9P2000.L) over loopback TCP and a unix
// socket: the sandbox sees what the host sees.
TEST_F(RunscDoTest, RootFrom9PServerDiod) {
  if (access("/usr/sbin/diod", X_OK) != 0) GTEST_SKIP() << "no diod";
  ASSERT_EQ(system(absl::StrCat("cd ", rootfs_,
                                " && mkdir -p sub/deep && echo x > etc/x && "
                                "ln -s etc/x lnk && printf '%%s' 12345 > "
                                "sub/deep/f && chown 1234:5678 sub && "
                                "chmod 0750 sub && touch -d @1000000000 "
                                "sub/deep/f")
                       .c_str()),
            0);
  for (const bool tcp : {true, false}) {
    SCOPED_TRACE(tcp ? "tcp" : "unix");
    Running diod;
    std::string addr;
    for (int attempt = 0; attempt < 5 && addr.empty(); ++attempt) {
      std::string listen, a;
      if (tcp) {
        int port = FreePort();
        listen = absl::StrCat("127.0.0.1:", port);
        a = "tcp:" + listen;
      } else {
        listen = rootfs_ + "_diod.sock";
        a = "unix:" + listen;
      }
      diod = Start(
          absl::StrCat("/usr/sbin/diod -f -n -N -l ", listen, " -e ", rootfs_));
      for (int i = 0; i < 200; ++i) {
        if (Connectable(a)) {
          addr = a;
          break;
        }
        if (waitpid(diod.pid, nullptr, WNOHANG) == diod.pid) break;
        absl::SleepFor(absl::Milliseconds(10));
      }
      if (addr.empty()) {
        kill(diod.pid, SIGKILL);
        Finish(diod);
      }
    }
    ASSERT_FALSE(addr.empty()) << "diod did not start";
    Result r = RunRunsc(absl::StrCat(
        "do --root-9p=", addr, ",aname=", rootfs_, " ",
        Quote("ls -ln --time-style=+%s /; echo =====; cat /etc/x; cd /; "
              "ls -lnR --time-style=+%s etc sub lnk; stat -c '%s %Y %a' "
              "sub/deep/f")));
    kill(diod.pid, SIGTERM);
    Finish(diod);
    ASSERT_EQ(r.status, 0) << r.err;
    // The host's view of the same tree, with GNU ls.
    Running h = Start(absl::StrCat(
        "sh -c ", Quote(absl::StrCat("cd ", rootfs_,
                                     " && ls -ln --time-style=+%s . && "
                                     "echo ===== && cat "
                                     "etc/x && ls -lnR --time-style=+%s etc "
                                     "sub lnk && stat -c '%s %Y %a' "
                                     "sub/deep/f"))));
    Result host = Finish(h);
    ASSERT_EQ(host.status, 0) << host.err;
    // The root listing: the host's entries, field for field (the sandbox
    // adds its own mount points, which change the column widths).
    auto entries = [](const std::string& listing) {
      std::vector<std::vector<std::string>> out;
      for (absl::string_view l :
           absl::StrSplit(listing, '\n', absl::SkipEmpty())) {
        std::vector<std::string> f =
            absl::StrSplit(l, ' ', absl::SkipWhitespace());
        if (f.size() < 7) continue;
        static const std::set<std::string> kMounts = {
            "dev", "proc", "sys", "tmp", "__runsc_containers__"};
        if (kMounts.count(f[6])) continue;
        out.push_back(f);
      }
      return out;
    };
    size_t split_s = r.out.find("=====\n");
    size_t split_h = host.out.find("=====\n");
    ASSERT_NE(split_s, std::string::npos) << r.out;
    ASSERT_NE(split_h, std::string::npos) << host.out;
    EXPECT_EQ(entries(r.out.substr(0, split_s)),
              entries(host.out.substr(0, split_h)))
        << r.out << "\n---\n"
        << host.out;
    // The rest (cat, the subtree listing, stat): byte for byte.
    EXPECT_EQ(r.out.substr(split_s), host.out.substr(split_h));
  }
}

// Each failure is one line on stderr and a non-zero exit, and leaves no
// process behind (RunRunsc checks).
TEST_F(RunscDoTest, StartupFailuresAreOneLineAndLeaveNothingBehind) {
  std::string file = rootfs_ + "/etc/hostname";
  std::string sock = rootfs_ + "_nosuch.sock";
  // A listener that never answers: accepts (in the backlog) but is silent.
  int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(silent, 4), 0);
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const std::string silent_addr =
      absl::StrCat("tcp:127.0.0.1:", ntohs(sa.sin_port));
  const ErrorCase kCases[] = {
      {"rootfs is a file", "do --rootfs=" + file + " ls", 1,
       "rootfs " + file + ": Not a directory"},
      {"bind source missing",
       absl::StrCat("do --rootfs=", rootfs_,
                    " --mount=bind:/nonexistent:/x ls"),
       1, "bind mount source /nonexistent: No such file or directory"},
      {"bind source is a file",
       absl::StrCat("do --rootfs=", rootfs_, " --mount=bind:", file, ":/x ls"),
       1, "bind mount source " + file + ": Not a directory"},
      {"no unix socket", "do --root-9p=unix:" + sock + " ls", 1,
       "connecting to unix:" + sock + ": No such file or directory"},
      {"a 9P server that never answers",
       absl::StrCat("do --root-9p=", silent_addr, " ls"), 1,
       "9P server at " + silent_addr + " did not answer within 10 s"},
  };
  for (const ErrorCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Result r = RunRunsc(c.args);
    EXPECT_EQ(r.status, c.status) << r.err;
    EXPECT_EQ(r.err, "runsc do: " + c.want + "\n");
  }
  close(silent);
}

// A gofer that starts but cannot serve (an ordinary user's gofer asked to
// serve a directory it may not enter): runsc reports the gofer's own
// reason as its one line, and both are gone.
TEST_F(RunscDoTest, AGoferThatFailsToStartIsOneLine) {
  std::string bin = PrepareUnprivileged();
  std::string locked = rootfs_ + "_locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0700), 0);
  for (const std::string& args :
       {absl::StrCat("do --rootfs=", locked, " ls"),
        absl::StrCat("do --rootfs=", rootfs_, " --mount=bind:", locked,
                     ":/x ls")}) {
    SCOPED_TRACE(args);
    Running r = Start(bin + " " + args, false, BecomeUser);
    Result res = Finish(r);
    EXPECT_EQ(res.status, 1);
    EXPECT_EQ(res.err, "runsc do: gofer for " + locked +
                           ": chdir to the root: Permission denied\n");
    EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  }
}

// SIGTERM while a script is waiting for input: runsc stops its gofers and
// exits 128+15.
// The README's first command, as root and as an ordinary user: the
// host's / under a tmpfs overlay, with the mandatory mounts, and the
// host's own entries listed.
TEST_F(RunscDoTest, TheReadmesFirstCommand) {
  std::string bin = PrepareUnprivileged();
  for (const bool user : {false, true}) {
    SCOPED_TRACE(user ? "ordinary user" : "root");
    Running r = Start(absl::StrCat(user ? bin : Runsc(), " do ",
                                   Quote("ls -l /; cat /proc/self/mountinfo")),
                      false, user ? BecomeUser : std::function<void()>());
    Result res = Finish(r);
    EXPECT_EQ(res.status, 0) << res.err;
    EXPECT_EQ(res.err, "");
    EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
    for (const char* e : {" etc\n", " usr\n", " proc\n"}) {
      EXPECT_NE(res.out.find(e), std::string::npos) << e << res.out;
    }
    auto mi = ParseMountinfo(res.out);
    EXPECT_EQ(mi["/"].second, "overlay") << res.out;
    EXPECT_EQ(mi["/proc"].second, "proc");
    EXPECT_EQ(mi["/sys"].second, "sysfs");
    EXPECT_EQ(mi["/dev"].second, "devtmpfs");
    EXPECT_EQ(mi["/dev/pts"].second, "devpts");
    EXPECT_EQ(mi["/tmp"].second, "tmpfs");
  }
}

// SIGTERM or SIGINT while a script is waiting for input: runsc stops
// its gofers and exits 128+N.
TEST_F(RunscDoTest, SigtermAndSigintStopTheGofers) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(strsignal(sig));
    Running r = Start(absl::StrCat(Runsc(), " do --rootfs=", rootfs_,
                                   " --mount=bind:", rootfs_, "/data:/d"),
                      /*keep_stdin=*/true);
    // Both confined (so both are recorded and past start-up).
    auto ready = [&] {
      std::vector<pid_t> c = Children(r.pid);
      return c.size() == 2 && ProcStatusField(c[0], "Seccomp") == "2" &&
             ProcStatusField(c[1], "Seccomp") == "2";
    };
    for (int i = 0; i < 1000 && !ready(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_TRUE(ready());
    ASSERT_EQ(kill(r.pid, sig), 0);
    Result res = Finish(r);
    EXPECT_EQ(res.status, 128 + sig);
    EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  }
}

// Reads the terminal until `screen` (all read so far) holds `want` at or
// after `*from`; moves *from past it. False on timeout or hang-up.
bool ReadUntil(int master, std::string* screen, size_t* from,
               const std::string& want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    if (size_t at = screen->find(want, *from); at != std::string::npos) {
      *from = at + want.size();
      return true;
    }
    if (absl::Now() > deadline) return false;
    pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) return false;
    screen->append(buf, n);
  }
}

// --file-access: shared revalidates against the host, so a change made
// on the host during the session is seen; exclusive caches (the sandbox
// owns the tree), so it is not. The mount options say which.
TEST_F(RunscDoTest, FileAccessSharedSeesHostChangesExclusiveCaches) {
  for (const bool shared : {true, false}) {
    SCOPED_TRACE(shared ? "shared" : "exclusive");
    ASSERT_EQ(system(absl::StrCat("echo d1 > ", rootfs_, "/data/one").c_str()),
              0);
    Running r = Start(
        absl::StrCat(Runsc(), " do --file-access=",
                     shared ? "shared" : "exclusive", " --rootfs=", rootfs_),
        /*keep_stdin=*/true);
    std::string out;
    size_t at = 0;
    auto run = [&](const std::string& line) {
      ASSERT_EQ(write(r.in, line.data(), line.size()),
                static_cast<ssize_t>(line.size()));
    };
    run("head -1 /proc/self/mountinfo; stat -c %s /data/one; echo .\n");
    ASSERT_TRUE(ReadUntil(r.out, &out, &at, "\n3\n.\n")) << out;
    EXPECT_NE(out.find(shared ? "cache=remote_revalidating" : "cache=fscache"),
              std::string::npos)
        << out;
    ASSERT_EQ(
        system(absl::StrCat("echo longer > ", rootfs_, "/data/one").c_str()),
        0);
    run("stat -c %s /data/one; echo .\n");
    EXPECT_TRUE(ReadUntil(r.out, &out, &at, shared ? "7\n.\n" : "3\n.\n"))
        << out;
    Result res = Finish(r);
    EXPECT_EQ(res.status, 0) << res.err;
    EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  }
}

// On a terminal: a prompt, line editing (backspace, ^U, ^L), help, ^D to
// end.
TEST_F(RunscDoTest, OnATerminalThereIsAPromptLineEditingAndHelp) {
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  Running r = Start(absl::StrCat(Runsc(), " do --overlay --rootfs=", rootfs_),
                    /*keep_stdin=*/false, [&] {
                      dup2(slave, 0);
                      dup2(slave, 1);
                    });
  close(slave);
  std::string screen;
  size_t at = 0;
  auto type = [&](const std::string& keys) {
    ASSERT_EQ(write(master, keys.data(), keys.size()),
              static_cast<ssize_t>(keys.size()));
  };
  // Typed only once prompted: runsc flushes input when it enters raw mode.
  // (Its "\r\n" reaches us as "\r\r\n": the terminal's output processing
  // stays on.)
  ASSERT_TRUE(ReadUntil(master, &screen, &at, "runsc> ")) << screen;
  type("ech\x7fho hi\r");  // "echo hi" after a backspace
  EXPECT_TRUE(
      ReadUntil(master, &screen, &at, "ech\b \bho hi\r\r\nhi\r\r\nrunsc> "))
      << screen;
  type(
      "rm -rf /etc\x15"
      "cat /etc/hostname\r");  // ^U erases the line
  std::string erased = "rm -rf /etc";
  for (int i = 0; i < 11; ++i) erased += "\b \b";
  EXPECT_TRUE(ReadUntil(master, &screen, &at,
                        erased + "cat /etc/hostname\r\r\nsandbox\r\r\nrunsc> "))
      << screen;
  // ^L redraws and keeps the line; backspace takes a whole UTF-8
  // character.
  type(
      "echo \xc3\xa9\x7f"
      "a\x0c"
      "b\r");
  EXPECT_TRUE(ReadUntil(master, &screen, &at,
                        "echo \xc3\xa9\b \ba\x1b[H\x1b[2Jrunsc> echo ab\r\r\n"
                        "ab\r\r\nrunsc> "))
      << screen;
  type("help\r");
  EXPECT_TRUE(ReadUntil(master, &screen, &at, "this list")) << screen;
  EXPECT_TRUE(ReadUntil(master, &screen, &at, "runsc> ")) << screen;
  type("\x04");
  Result res = Finish(r);
  close(master);
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_TRUE(res.leftovers.empty()) << absl::StrJoin(res.leftovers, "\n");
  EXPECT_EQ(ReadFile(rootfs_ + "/etc/hostname"), "sandbox\n");
}

}  // namespace
