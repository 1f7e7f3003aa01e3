#include "runsc/specutils/specutils.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace runsc::specutils {
namespace {

TEST(ParseSpecTest, RuncSpecParses) {
  if (access("/usr/sbin/runc", X_OK) != 0) GTEST_SKIP() << "runc not installed";
  char dir[] = "/tmp/specXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  for (const char* extra : {"", " --rootless"}) {
    SCOPED_TRACE(extra);
    std::string cmd = absl::StrCat("cd ", dir,
                                   " && rm -f config.json && "
                                   "/usr/sbin/runc spec",
                                   extra);
    ASSERT_EQ(system(cmd.c_str()), 0);
    auto spec = ReadSpecFromBundle(dir);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_FALSE(spec->ociversion().empty());
    EXPECT_EQ(spec->process().args(0), "sh");
    EXPECT_EQ(spec->root().path(), "rootfs");
    EXPECT_TRUE(spec->root().readonly());
    bool proc = false;
    for (const Mount& m : spec->mounts()) proc |= m.destination() == "/proc";
    EXPECT_TRUE(proc);
    EXPECT_GT(spec->linux().namespaces_size(), 0);
    if (std::string(extra) == " --rootless") {
      ASSERT_GT(spec->linux().uidmappings_size(), 0);
      EXPECT_EQ(spec->linux().uidmappings(0).size(), 1u);
    }
  }
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(dir, ec);
}

TEST(ParseSpecTest, DockerStyleSpecWithUnknownFieldsParses) {
  constexpr char kSpec[] = R"json({
    "ociVersion": "1.0.2-dev",
    "process": {
      "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]},
      "args": ["/bin/sh", "-c", "echo hi"],
      "env": ["PATH=/usr/bin:/bin", "HOSTNAME=abc"],
      "cwd": "/work",
      "capabilities": {"bounding": ["CAP_CHOWN"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
      "apparmorProfile": "docker-default"
    },
    "root": {"path": "/var/lib/docker/overlay2/x/merged"},
    "hostname": "abc",
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc",
       "options": ["nosuid", "noexec", "nodev"]},
      {"destination": "/etc/hosts", "type": "bind",
       "source": "/var/lib/docker/containers/x/hosts",
       "options": ["rbind", "rprivate"]}
    ],
    "hooks": {"prestart": [{"path": "/usr/bin/docker-proxy"}]},
    "linux": {
      "resources": {"memory": {"limit": 1000000}},
      "cgroupsPath": "system.slice:docker:x",
      "namespaces": [{"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}],
      "maskedPaths": ["/proc/kcore"],
      "readonlyPaths": ["/proc/sys"],
      "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}
    },
    "annotations": {"org.opencontainers.image.ref.name": "latest"}
  })json";
  auto spec = ParseSpec(kSpec);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->process().user().uid(), 1000u);
  EXPECT_EQ(spec->process().user().additionalgids_size(), 2);
  EXPECT_EQ(spec->mounts(1).type(), "bind");
  EXPECT_EQ(spec->linux().namespaces(1).path(), "/proc/1/ns/net");
  EXPECT_EQ(spec->annotations().at("org.opencontainers.image.ref.name"),
            "latest");
  EXPECT_FALSE(spec->root().readonly());
  ASSERT_EQ(spec->process().rlimits_size(), 1);
  EXPECT_EQ(spec->process().rlimits(0).type(), "RLIMIT_NOFILE");
  EXPECT_EQ(spec->process().rlimits(0).hard(), 1024u);
  EXPECT_EQ(spec->process().rlimits(0).soft(), 1024u);
}

TEST(ParseSpecTest, RlimitsTakeEveryResourceAndFullRange) {
  constexpr char kSpec[] = R"json({"ociVersion": "1.0.2", "process": {
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 65536},
                {"type": "RLIMIT_FSIZE", "hard": 18446744073709551615,
                 "soft": "18446744073709551615"},
                {"type": "RLIMIT_RTTIME", "hard": 1, "soft": 0}]}})json";
  auto spec = ParseSpec(kSpec);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->process().rlimits_size(), 3);
  EXPECT_EQ(spec->process().rlimits(1).hard(), ~uint64_t{0});
  EXPECT_EQ(spec->process().rlimits(1).soft(), ~uint64_t{0});
  EXPECT_EQ(RlimitResource("RLIMIT_NOFILE"), 7);
  EXPECT_EQ(RlimitResource("RLIMIT_CPU"), 0);
  EXPECT_EQ(RlimitResource("RLIMIT_RTTIME"), 15);
  EXPECT_EQ(RlimitResource("NOFILE"), -1);
  EXPECT_EQ(RlimitResource("rlimit_nofile"), -1);
}

struct BadSpec {
  const char* name;
  const char* json;
  const char* want;  // must appear in the error
};

TEST(ParseSpecTest, ErrorsNameTheFieldAndPosition) {
  const BadSpec kCases[] = {
      {"syntax: missing colon", "{\"ociVersion\": \"1.0\",\n  \"process\" {}}",
       "line 2, column 13"},
      {"syntax: trailing comma", "{\"ociVersion\": \"1.0\",\n}",
       "expected a quoted member name at line 2, column 1"},
      {"syntax: truncated", "{\"ociVersion\": \"1.0\"", "line 1, column 21"},
      {"wrong type",
       "{\"ociVersion\": \"1\",\n \"process\": {\"user\": {\"uid\": "
       "\"root\"}}}",
       "process.user.uid: invalid value \"root\""},
      {"wrong type has a position",
       "{\"ociVersion\": \"1\",\n \"process\": {\"user\": {\"uid\": "
       "\"root\"}}}",
       "(at line 2, column 30)"},
      {"negative uid",
       "{\"ociVersion\": \"1\", \"process\": {\"user\": {\"uid\": -1}}}",
       "process.user.uid"},
      {"no ociVersion", "{\"process\": {}}", "ociVersion: missing"},
      {"relative mount",
       "{\"ociVersion\": \"1\", \"mounts\": [{\"destination\": \"/a\"}, "
       "{\"destination\": \"tmp\"}]}",
       "mounts[1].destination: \"tmp\" is not an absolute path"},
      {"unknown rlimit",
       "{\"ociVersion\": \"1\", \"process\": {\"rlimits\": [{\"type\": "
       "\"RLIMIT_NOFILE\"}, {\"type\": \"RLIMIT_BOGUS\"}]}}",
       "process.rlimits[1].type: \"RLIMIT_BOGUS\" is not a resource limit"},
      {"rlimit given twice",
       "{\"ociVersion\": \"1\", \"process\": {\"rlimits\": [{\"type\": "
       "\"RLIMIT_NOFILE\"}, {\"type\": \"RLIMIT_NOFILE\"}]}}",
       "process.rlimits[1].type: \"RLIMIT_NOFILE\" appears twice"},
      {"not an object", "[1, 2]", "config.json"},
      {"empty", "", "unexpected end of file"},
  };
  for (const BadSpec& c : kCases) {
    SCOPED_TRACE(c.name);
    auto spec = ParseSpec(c.json);
    ASSERT_FALSE(spec.ok());
    EXPECT_NE(spec.status().message().find(c.want), std::string::npos)
        << spec.status();
    EXPECT_NE(spec.status().message().find("config.json"), std::string::npos);
  }
}

TEST(ParseSpecTest, MissingBundleIsAClearError) {
  auto spec = ReadSpecFromBundle("/nonexistent/bundle");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("/nonexistent/bundle/config.json"),
            std::string::npos);
}

TEST(SpecutilsTest, DefaultSpecRoundTrips) {
  Spec s = DefaultSpec("/some/rootfs");
  auto back = ParseSpec(SpecToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), s.SerializeAsString());
  EXPECT_NE(SpecToJson(s).find("\"ociVersion\""), std::string::npos);
}

TEST(SpecutilsTest, IsSupportedDevMount) {
  const std::pair<const char*, bool> kCases[] = {
      {"/dev", false},         {"/dev/", false},      {"/dev/null", false},
      {"/dev/pts", false},     {"/dev/pts/0", false}, {"/dev/shm", false},
      {"/dev/./shm/x", false}, {"/dev/fuse", true},   {"/dev/nullx", true},
      {"/dev/sda", true},      {"/devices", true},    {"/tmp", true},
  };
  for (auto [dst, want] : kCases) {
    SCOPED_TRACE(dst);
    Mount m;
    m.set_destination(dst);
    EXPECT_EQ(IsSupportedDevMount(m), want);
  }
}

TEST(SpecutilsTest, GetPath) {
  EXPECT_EQ(GetPath({"HOME=/root", "PATH=/usr/bin:/bin"}),
            (std::vector<std::string>{"/usr/bin", "/bin"}));
  EXPECT_TRUE(GetPath({"HOME=/root"}).empty());
  EXPECT_EQ(GetPath({"XPATH=/x", "PATH="}), (std::vector<std::string>{""}));
}

TEST(SpecutilsTest, CleanPath) {
  const std::pair<const char*, const char*> kCases[] = {
      {"/", "/"},        {"//a//b/", "/a/b"}, {"/a/./b", "/a/b"},
      {"/a/../b", "/b"}, {"/..", "/"},        {"a/../../b", "../b"},
      {"", "."},         {"./", "."},
  };
  for (auto [in, want] : kCases) {
    SCOPED_TRACE(in);
    EXPECT_EQ(CleanPath(in), want);
  }
}

}  // namespace
}  // namespace runsc::specutils
