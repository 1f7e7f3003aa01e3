// Unit tests of the spec-to-mounts rules. End-to-end tests that boot a
// namespace over a real gofer live in runsc/boot/boot_test.cc.
#include "runsc/boot/fs.h"

#include <fcntl.h>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "runsc/specutils/specutils.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/task.h"

namespace runsc::boot {
namespace {

using sentry::kernel::auth::Credentials;

Mount M(const char* type, const char* dst,
        std::initializer_list<const char*> opts = {}) {
  Mount m;
  m.set_type(type);
  m.set_destination(dst);
  for (const char* o : opts) m.add_options(o);
  return m;
}

std::string Dests(const std::vector<Mount>& ms) {
  std::vector<std::string> v;
  for (const Mount& m : ms) v.push_back(m.type() + ":" + m.destination());
  return absl::StrJoin(v, " ");
}

TEST(CompileMountsTest, MandatoryMountsComeFirstInOrder) {
  Spec s;
  *s.add_mounts() = M("bind", "/data");
  *s.add_mounts() = M("tmpfs", "/proc/driver");  // a submount of /proc
  BootLog log;
  EXPECT_EQ(Dests(CompileMounts(s, &log)),
            "proc:/proc sysfs:/sys tmpfs:/tmp devtmpfs:/dev devpts:/dev/pts "
            "bind:/data tmpfs:/proc/driver");
  EXPECT_TRUE(log.warnings.empty());
}

TEST(CompileMountsTest, SpecMountsOfProcSysTmpReplaceTheMandatoryOnes) {
  Spec s;
  *s.add_mounts() = M("proc", "/proc/");
  *s.add_mounts() = M("sysfs", "/sys");
  *s.add_mounts() = M("tmpfs", "/tmp", {"mode=1777"});
  BootLog log;
  EXPECT_EQ(Dests(CompileMounts(s, &log)),
            "devtmpfs:/dev devpts:/dev/pts proc:/proc/ sysfs:/sys tmpfs:/tmp");
}

TEST(CompileMountsTest, UnsupportedDevMountsAreIgnoredWithAWarning) {
  Spec s = specutils::DefaultSpec("rootfs");  // has /dev, /dev/pts, /dev/shm
  *s.add_mounts() = M("bind", "/dev/fuse");
  BootLog log;
  std::string d = Dests(CompileMounts(s, &log));
  EXPECT_EQ((" " + d).find(" tmpfs:/dev "), std::string::npos) << d;
  EXPECT_EQ(d.find("/dev/shm"), std::string::npos) << d;
  EXPECT_NE(d.find("bind:/dev/fuse"), std::string::npos) << d;
  EXPECT_EQ(log.warnings.size(), 3u);  // /dev, /dev/pts, /dev/shm
}

TEST(BootHelpersTest, Subtargets) {
  std::vector<Mount> ms = {M("x", "/a"),  M("x", "/a/b"), M("x", "/a/b/c/"),
                           M("x", "/ab"), M("x", "/"),    M("x", "/c")};
  EXPECT_EQ(absl::StrJoin(Subtargets("/a", ms), " "), "b b/c");
  EXPECT_EQ(absl::StrJoin(Subtargets("/", ms), " "), "a a/b a/b/c ab c");
  EXPECT_TRUE(Subtargets("/c", ms).empty());
}

TEST(BootHelpersTest, MountFlagsFromOptions) {
  BootLog log;
  auto f = MountFlagsFromOptions(
      {"ro", "nosuid", "nodev", "noexec", "noatime", "rbind", "mode=755"}, &log,
      {"mode"});
  EXPECT_TRUE(f.read_only && f.no_suid && f.no_dev && f.no_exec && f.no_atime);
  ASSERT_EQ(log.warnings.size(), 1u);
  EXPECT_NE(log.warnings[0].find("rbind"), std::string::npos);
  EXPECT_FALSE(MountFlagsFromOptions({"ro", "rw"}, &log).read_only);
}

TEST(BootHelpersTest, ParseAndFilterOptions) {
  BootLog log;
  auto r = ParseAndFilterOptions({"mode=1777", "size=1m", "nosuid", "uid=5"},
                                 {"mode", "uid", "gid", "size"}, &log);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(absl::StrJoin(*r, ","), "mode=1777,size=1m,uid=5");
  EXPECT_FALSE(ParseAndFilterOptions({"a=b=c"}, {"a"}, &log).ok());
}

TEST(BootHelpersTest, P9MountOptionsFollowFileAccess) {
  Config c;
  EXPECT_EQ(absl::StrJoin(P9MountOptions(c, 7), ","),
            "trans=fd,rfdno=7,wfdno=7,privateunixsocket=true");
  c.file_access = FileAccess::kShared;
  EXPECT_EQ(absl::StrJoin(P9MountOptions(c, 3), ","),
            "trans=fd,rfdno=3,wfdno=3,privateunixsocket=true,"
            "cache=remote_revalidating");
}

TEST(BootHelpersTest, FdDispenserHandsOutInOrderAndSaysWhenEmpty) {
  FdDispenser d({5, 6});
  EXPECT_EQ(*d.Remove(), 5);
  EXPECT_EQ(*d.Remove(), 6);
  EXPECT_TRUE(d.empty());
  auto r = d.Remove();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more bind mounts than gofers"),
            std::string::npos);
}

TEST(RestoreEnvironmentTest, ListsEveryMountBySourceFilesystem) {
  Spec s;
  s.mutable_root()->set_readonly(true);
  *s.add_mounts() = M("bind", "/data", {"ro"});
  *s.add_mounts() = M("tmpfs", "/scratch", {"mode=700", "nosuid"});
  *s.add_mounts() = M("weirdfs", "/w");
  FdDispenser fds({10, 11});
  BootLog log;
  auto r = CreateRestoreEnvironment(s, Config{}, &fds, &log);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->mount_sources["9p"].size(), 2u);
  EXPECT_EQ(r->mount_sources["9p"][0].dev, "9pfs-/");
  EXPECT_TRUE(r->mount_sources["9p"][0].flags.read_only);
  EXPECT_NE(r->mount_sources["9p"][0].data.find("rfdno=10"), std::string::npos);
  EXPECT_EQ(r->mount_sources["9p"][1].dev, "9pfs-/data");
  EXPECT_TRUE(r->mount_sources["9p"][1].flags.read_only);
  // /tmp (mandatory) and /scratch.
  ASSERT_EQ(r->mount_sources["tmpfs"].size(), 2u);
  EXPECT_EQ(r->mount_sources["tmpfs"][1].data, "mode=700");
  EXPECT_TRUE(r->mount_sources["tmpfs"][1].flags.no_suid);
  EXPECT_EQ(r->mount_sources.count("weirdfs"), 0u);
  bool warned = false;
  for (const auto& w : log.warnings)
    warned |= w.find("weirdfs") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_TRUE(fds.empty());
}

TEST(GetExecutablePathTest, SearchesPathWithReadAndExecuteChecks) {
  auto t = sentry::fs::testutil::NewTmpfsTask();
  for (const char* d : {"/bin", "/usr", "/usr/bin", "/noexec"}) {
    ASSERT_EQ(t->Mkdirat(AT_FDCWD, d, 0755), 0);
  }
  ASSERT_GE(t->Open("/usr/bin/tool", O_CREAT | O_WRONLY, 0755), 0);
  ASSERT_GE(t->Open("/noexec/tool", O_CREAT | O_WRONLY, 0644), 0);
  ASSERT_GE(t->Open("/bin/tool", O_CREAT | O_WRONLY, 0700), 0);
  auto* ns = t->mount_namespace();
  sentry::fs::Path root = ns->Root();
  std::vector<std::string> env = {"PATH=/missing:/noexec:/usr/bin:/bin"};
  // As root: /noexec/tool has no x bit at all, so it is skipped.
  sentry::context::Context root_ctx(Credentials::Root());
  EXPECT_EQ(*GetExecutablePath(root_ctx, ns, root, "tool", env),
            "/usr/bin/tool");
  // A user cannot run /bin/tool (0700, root's), but /usr/bin/tool.
  sentry::context::Context user(Credentials::User(1000, 1000));
  EXPECT_EQ(*GetExecutablePath(user, ns, root, "tool", {"PATH=/bin:/usr/bin"}),
            "/usr/bin/tool");
  EXPECT_EQ(*GetExecutablePath(user, ns, root, "./x/../tool", env), "tool");
  EXPECT_EQ(*GetExecutablePath(user, ns, root, "/abs//tool", env), "/abs/tool");
  auto missing = GetExecutablePath(user, ns, root, "nothere", env);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  t.reset();
}

}  // namespace
}  // namespace runsc::boot
