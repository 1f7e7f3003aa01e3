// Our /proc files parsed with the same code as this machine's own.
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sentry/fs/proc/parse.h"
#include "sentry/fs/proc/proc.h"
#include "sentry/fs/proc/proc_fixture.h"

namespace sentry::fs::proc {
namespace {

using testutil::Succeeds;

std::string Host(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FormatTest : public ProcTest {
 protected:
  void SetUp() override {
    ProcTest::SetUp();
    ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/tmp", 01777), Succeeds());
    ASSERT_THAT(t_->Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID, nullptr),
                Succeeds());
  }
  void TearDown() override {
    t_->Umount2("/tmp", MNT_DETACH);
    ProcTest::TearDown();
  }
};

TEST_F(FormatTest, MountInfo) {
  std::string host = Host("/proc/self/mountinfo");
  ASSERT_FALSE(host.empty());
  for (std::string_view l : parse::Lines(host)) {
    auto m = parse::ParseMountInfoLine(l);
    ASSERT_TRUE(m) << "host: " << l;
    EXPECT_GE(m->fields, 10u);
  }
  std::string ours = Read("/proc/self/mountinfo");
  std::set<int> ids;
  auto lines = parse::Lines(ours);
  ASSERT_EQ(lines.size(), 3u) << ours;  // /, /proc, /tmp
  for (std::string_view l : lines) {
    auto m = parse::ParseMountInfoLine(l);
    ASSERT_TRUE(m) << "ours: " << l;
    EXPECT_GE(m->fields, 10u);
    EXPECT_TRUE(m->optional_fields.empty());
    ids.insert(m->id);
    for (std::string_view opt : {std::string_view(m->mount_options)}) {
      std::stringstream ss{std::string(opt)};
      std::string tok;
      while (std::getline(ss, tok, ',')) {
        EXPECT_TRUE(tok == "rw" || tok == "ro" || tok == "nosuid" ||
                    tok == "nodev" || tok == "noexec" || tok == "noatime" ||
                    tok == "relatime" || tok == "nodiratime")
            << tok;
      }
    }
  }
  for (std::string_view l : lines) {
    EXPECT_TRUE(ids.count(parse::ParseMountInfoLine(l)->parent_id)) << l;
  }
  auto tmp = parse::ParseMountInfoLine(lines[2]);
  EXPECT_EQ(tmp->mount_point, "/tmp");
  EXPECT_EQ(tmp->mount_options, "rw,nosuid,relatime");
}

TEST_F(FormatTest, Mounts) {
  for (const char* which : {"/proc/mounts", "/proc/self/mounts"}) {
    std::string host = Host(which);
    for (std::string_view l : parse::Lines(host)) {
      EXPECT_TRUE(parse::ParseMountsLine(l)) << "host: " << l;
    }
    std::string ours = Read(which);
    auto lines = parse::Lines(ours);
    ASSERT_EQ(lines.size(), 3u);
    for (std::string_view l : lines) {
      auto m = parse::ParseMountsLine(l);
      ASSERT_TRUE(m) << "ours: " << l;
      EXPECT_EQ(m->freq, 0);
      EXPECT_EQ(m->passno, 0);
    }
    EXPECT_EQ(parse::ParseMountsLine(lines[1])->options,
              "rw,nosuid,nodev,noexec,relatime");
  }
}

TEST_F(FormatTest, Status) {
  auto host = parse::ParseStatus(Host("/proc/self/status"));
  ASSERT_TRUE(host);
  std::map<std::string, std::string> host_shape;
  for (auto& [k, v] : *host) host_shape[k] = parse::ValueShape(v);
  auto ours = parse::ParseStatus(Read("/proc/self/status"));
  ASSERT_TRUE(ours);
  std::set<std::string> keys;
  for (auto& [k, v] : *ours) {
    keys.insert(k);
    ASSERT_TRUE(host_shape.count(k)) << "host has no " << k;
    if (k == "Groups") {
      // A list of numbers, possibly empty, on both.
      for (char c : parse::ValueShape(v)) EXPECT_EQ(c, 'd');
      continue;
    }
    EXPECT_EQ(parse::ValueShape(v), host_shape[k]) << k << ": '" << v << "'";
  }
  for (const char* k :
       {"Name", "Umask", "State", "Tgid", "Pid", "PPid", "TracerPid", "Uid",
        "Gid", "FDSize", "Groups", "Threads", "VmPeak", "VmRSS"}) {
    EXPECT_TRUE(keys.count(k)) << k;
  }
  // Keys come in Linux's order.
  std::vector<std::string> host_order;
  for (auto& [k, v] : *host) host_order.push_back(k);
  size_t pos = 0;
  for (auto& [k, v] : *ours) {
    auto it = std::find(host_order.begin() + pos, host_order.end(), k);
    ASSERT_NE(it, host_order.end()) << k << " out of order";
    pos = it - host_order.begin();
  }
}

// With this process's own limits, our limits file is the host's, byte for
// byte; then a change through setrlimit shows.
TEST_F(FormatTest, Limits) {
  for (int r = 0; r < linux_abi::kRlimNlimits; ++r) {
    struct rlimit host;
    ASSERT_EQ(getrlimit(static_cast<__rlimit_resource>(r), &host), 0);
    ASSERT_TRUE(t_->SetRlimitForRuntime(r, {host.rlim_cur, host.rlim_max}).ok())
        << r;
  }
  EXPECT_EQ(Read("/proc/self/limits"), Host("/proc/self/limits"));
  const struct rlimit nofile = {77, 88};
  ASSERT_THAT(t_->Setrlimit(RLIMIT_NOFILE, &nofile), Succeeds());
  const struct rlimit fsize = {RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_THAT(t_->Setrlimit(RLIMIT_FSIZE, &fsize), Succeeds());
  const std::string ours = Read("/proc/self/limits");
  EXPECT_NE(ours.find("\nMax open files            77                   88  "
                      "                 files     \n"),
            std::string::npos)
      << ours;
  EXPECT_NE(ours.find("\nMax file size             unlimited            "
                      "unlimited            bytes     \n"),
            std::string::npos)
      << ours;
}

TEST_F(FormatTest, PidStatAndStatm) {
  for (const std::string& text :
       {Host("/proc/self/stat"), Read("/proc/self/stat")}) {
    ASSERT_FALSE(text.empty());
    ASSERT_EQ(text.back(), '\n');
    auto s = parse::ParseStatLine(text.substr(0, text.size() - 1));
    ASSERT_TRUE(s) << text;
    EXPECT_EQ(s->fields.size(), 52u) << text;
    for (size_t i = 0; i < s->fields.size(); ++i) {
      if (i == 1) continue;
      if (i == 2) {
        EXPECT_EQ(s->fields[i].size(), 1u);
        continue;
      }
      EXPECT_TRUE(parse::IsNumber(s->fields[i])) << i << ": " << text;
    }
  }
  for (const std::string& text :
       {Host("/proc/self/statm"), Read("/proc/self/statm")}) {
    std::stringstream ss(text);
    std::string tok;
    int n = 0;
    while (ss >> tok) {
      EXPECT_TRUE(parse::IsNumber(tok));
      ++n;
    }
    EXPECT_EQ(n, 7);
  }
}

TEST_F(FormatTest, ProcStat) {
  std::string host_text = Host("/proc/stat");
  auto host = parse::ParseProcStat(host_text);
  ASSERT_TRUE(host);
  std::string ours_text = Read("/proc/stat");
  auto ours = parse::ParseProcStat(ours_text);
  ASSERT_TRUE(ours) << ours_text;
  for (const char* k : {"cpu", "cpu0", "cpu1", "intr", "ctxt", "btime",
                        "processes", "procs_running", "procs_blocked"}) {
    EXPECT_TRUE(ours->count(k)) << k;
  }
  for (auto& [k, v] : *ours) {
    if (k.rfind("cpu", 0) == 0) {
      EXPECT_EQ(v.size(), host->at("cpu").size()) << k;
    } else {
      ASSERT_TRUE(host->count(k)) << k;
      if (k != "intr") {
        EXPECT_EQ(v.size(), host->at(k).size()) << k;
      }
    }
  }
  EXPECT_EQ(host_text.substr(0, 5), "cpu  ");
  EXPECT_EQ(ours_text.substr(0, 5), "cpu  ");
}

TEST_F(FormatTest, Meminfo) {
  std::string host_text = Host("/proc/meminfo");
  auto host = parse::ParseMeminfo(host_text);
  ASSERT_TRUE(host);
  for (std::string_view l : parse::Lines(host_text)) {
    if (l.size() >= 3 && l.substr(l.size() - 3) == " kB") {
      EXPECT_TRUE(parse::MeminfoLineLayoutOk(l)) << "host: " << l;
    }
  }
  std::string ours_text = Read("/proc/meminfo");
  auto ours = parse::ParseMeminfo(ours_text);
  ASSERT_TRUE(ours);
  for (std::string_view l : parse::Lines(ours_text)) {
    EXPECT_TRUE(parse::MeminfoLineLayoutOk(l)) << "ours: " << l;
  }
  for (auto& [k, v] : *ours) {
    ASSERT_TRUE(host->count(k)) << "host has no " << k;
    EXPECT_EQ(v.second, host->at(k).second) << k;
  }
  EXPECT_EQ(ours->at("MemTotal").first, 8u << 20);
}

TEST_F(FormatTest, SmallFiles) {
  for (const char* f : {"/proc/uptime", "/proc/loadavg", "/proc/version",
                        "/proc/filesystems"}) {
    std::string h = Host(f), o = Read(f);
    EXPECT_EQ(std::count(h.begin(), h.end(), ' ') > 0,
              std::count(o.begin(), o.end(), ' ') > 0)
        << f;
    ASSERT_FALSE(o.empty());
    EXPECT_EQ(o.back(), '\n');
  }
  auto words = [](const std::string& s) {
    std::stringstream ss(s);
    std::string w;
    int n = 0;
    while (ss >> w) ++n;
    return n;
  };
  EXPECT_EQ(words(Read("/proc/uptime")), words(Host("/proc/uptime")));
  EXPECT_EQ(words(Read("/proc/loadavg")), words(Host("/proc/loadavg")));
  const std::string fss = Read("/proc/filesystems");
  for (std::string_view l : parse::Lines(fss)) {
    EXPECT_TRUE(l.rfind("nodev\t", 0) == 0 || l.rfind("\t", 0) == 0)
        << testing::PrintToString(std::string(l));
  }
  std::string cpu_host = Host("/proc/cpuinfo"), cpu = Read("/proc/cpuinfo");
  for (std::string_view l : parse::Lines(cpu)) {
    if (l.empty()) continue;
    std::string key(l.substr(0, l.find(':')));
    EXPECT_NE(cpu_host.find("\n" + key + ":"), std::string::npos) << key;
  }
}

// util-linux reads our tables.
TEST_F(FormatTest, FindmntParses) {
  const char* findmnt = "/usr/bin/findmnt";
  if (access(findmnt, X_OK) != 0) GTEST_SKIP() << "no findmnt";
  for (const char* which : {"/proc/self/mountinfo", "/proc/self/mounts"}) {
    std::string text = Read(which);
    char path[] = "/tmp/procfmtXXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
    close(fd);
    std::string cmd = std::string(findmnt) + " --tab-file " + path +
                      " -n -P -o TARGET,FSTYPE,OPTIONS 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    int rc = pclose(p);
    unlink(path);
    EXPECT_EQ(WEXITSTATUS(rc), 0) << out;
    EXPECT_THAT(out, ::testing::HasSubstr("TARGET=\"/proc\" FSTYPE=\"proc\""));
    EXPECT_THAT(
        out,
        ::testing::HasSubstr(
            "TARGET=\"/tmp\" FSTYPE=\"tmpfs\" OPTIONS=\"rw,nosuid,relatime"))
        << which << ":\n"
        << out;
    EXPECT_THAT(out, ::testing::HasSubstr("nosuid")) << out;
  }
}

}  // namespace
}  // namespace sentry::fs::proc
