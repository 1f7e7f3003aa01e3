// runsc/boot end to end: namespaces booted over real gofers (the fsgofer
// handler, in process, one per socketpair), with every filesystem linked.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "p9/server.h"
#include "p9/transport.h"
#include "runsc/boot/fs.h"
#include "runsc/fsgofer/fsgofer.h"
#include "runsc/specutils/specutils.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/task.h"

namespace runsc::boot {
namespace {

using sentry::kernel::Task;
using sentry::kernel::auth::Credentials;

// Serves host directories; each Serve() gives a socket for io_fds.
class Gofers {
 public:
  ~Gofers() {
    for (auto& s : servers_) s->Stop();
    for (auto& t : threads_) t.join();
  }
  int Serve(const std::string& dir, bool ro = false) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fsgofer::Config c;
    c.read_only = ro;
    c.root_path = dir;
    auto exp = fsgofer::Export::Open(dir, c);
    EXPECT_TRUE(exp.ok());
    handlers_.push_back(std::make_unique<fsgofer::Handler>(*exp));
    servers_.push_back(std::make_unique<p9::Server>(
        std::make_unique<p9::SocketTransport>(p9::FileDescriptor(sv[1]), false),
        handlers_.back().get()));
    p9::Server* s = servers_.back().get();
    threads_.emplace_back([s] { (void)s->Serve(); });
    return sv[0];
  }

 private:
  std::vector<std::unique_ptr<fsgofer::Handler>> handlers_;
  std::vector<std::unique_ptr<p9::Server>> servers_;
  std::vector<std::thread> threads_;
};

std::string TempDir() {
  char t[] = "/tmp/boot_testXXXXXX";
  EXPECT_NE(mkdtemp(t), nullptr);
  return t;
}

Mount M(const char* type, std::string src, const char* dst,
        std::initializer_list<const char*> opts = {}) {
  Mount m;
  m.set_type(type);
  m.set_source(src);
  m.set_destination(dst);
  for (const char* o : opts) m.add_options(o);
  return m;
}

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rootfs_ = TempDir();
    ASSERT_EQ(system(absl::StrCat("mkdir -p ", rootfs_, "/etc ", rootfs_,
                                  "/var/real && ln -s real ", rootfs_,
                                  "/var/run && echo img > ", rootfs_, "/etc/f")
                         .c_str()),
              0);
  }
  void TearDown() override {
    std::error_code ec;  // best effort, as rm -rf
    std::filesystem::remove_all(rootfs_, ec);
  }
  std::string Mountinfo(Task* t) {
    std::string s;
    for (const auto& m : t->mount_namespace()->Mounts(t->root())) {
      absl::StrAppend(&s, m.mount_point, " ", m.fs_type, "\n");
    }
    return s;
  }
  std::string rootfs_;
  sentry::context::Context ctx_{Credentials::Root()};
};

TEST_F(BootTest, MountsTheSpecInOrderOverAGoferRoot) {
  Gofers g;
  std::string data = TempDir();
  ASSERT_EQ(system(("echo bound > " + data + "/b").c_str()), 0);
  Spec spec;
  spec.mutable_root()->set_path(rootfs_);
  *spec.add_mounts() = M("bind", data, "/data", {"ro"});
  *spec.add_mounts() = M("tmpfs", "none", "/var/run/secrets", {"mode=700"});
  *spec.add_mounts() = M("tmpfs", "none", "/proc/scratch");  // over /proc
  *spec.add_mounts() = M("weird", "x", "/w");
  BootLog log;
  auto ns = CreateMountNamespace(ctx_, spec, Config{},
                                 {g.Serve(rootfs_), g.Serve(data, true)}, &log);
  ASSERT_TRUE(ns.ok()) << ns.status();
  {
    Task t(*ns, Credentials::Root());
    std::string mi = Mountinfo(&t);
    EXPECT_EQ(mi,
              "/ 9p\n/proc proc\n/sys sysfs\n/tmp tmpfs\n/dev devtmpfs\n"
              "/dev/pts devpts\n/data 9p\n/var/real/secrets tmpfs\n"
              "/proc/scratch tmpfs\n/__runsc_containers__ tmpfs\n")
        << mi;
    // mkdirAll went through the /var/run symlink.
    struct stat st;
    ASSERT_EQ(t.Fstatat(AT_FDCWD, "/var/run/secrets", &st, 0), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ(sentry::fs::testutil::ReadFile(&t, "/data/b"), "bound\n");
    EXPECT_EQ(t.Open("/data/new", O_CREAT | O_WRONLY, 0644), -EROFS);
    EXPECT_EQ(sentry::fs::testutil::ReadFile(&t, "/etc/f"), "img\n");
  }
  bool warned = false;
  for (const auto& w : log.warnings)
    warned |= w.find("weird") != std::string::npos;
  EXPECT_TRUE(warned);
  ns->reset();
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(data, ec);
}

// Shared file access: what others do on the host shows in the sandbox,
// through the submount overlay (and the --overlay tmpfs) as well: a name
// looked up before the host made it, one removed and one changed.
TEST_F(BootTest, SharedAccessSeesHostChangesThroughTheOverlays) {
  for (bool overlay : {false, true}) {
    SCOPED_TRACE(overlay ? "--overlay" : "submount overlay only");
    Gofers g;
    Spec spec;
    spec.mutable_root()->set_path(rootfs_);
    Config conf;
    conf.file_access = FileAccess::kShared;
    conf.overlay = overlay;
    BootLog log;
    auto ns = CreateMountNamespace(ctx_, spec, conf, {g.Serve(rootfs_)}, &log);
    ASSERT_TRUE(ns.ok()) << ns.status();
    {
      Task t(*ns, Credentials::Root());
      struct stat st;
      ASSERT_EQ(t.Fstatat(AT_FDCWD, "/etc/new", &st, 0), -ENOENT);
      ASSERT_EQ(t.Fstatat(AT_FDCWD, "/late", &st, 0), -ENOENT);
      ASSERT_EQ(system(absl::StrCat("echo made > ", rootfs_, "/etc/new && ",
                                    "mkdir ", rootfs_, "/late")
                           .c_str()),
                0);
      EXPECT_EQ(sentry::fs::testutil::ReadFile(&t, "/etc/new"), "made\n");
      EXPECT_EQ(t.Fstatat(AT_FDCWD, "/late", &st, 0), 0);
    }
    ns->reset();
    ASSERT_EQ(
        system(absl::StrCat("rm -rf ", rootfs_, "/etc/new ", rootfs_, "/late")
                   .c_str()),
        0);
  }
}

TEST_F(BootTest, GoferFdsMustMatchTheBindMounts) {
  Gofers g;
  Spec spec;
  spec.mutable_root()->set_path(rootfs_);
  BootLog log;
  auto extra = CreateMountNamespace(ctx_, spec, Config{},
                                    {g.Serve(rootfs_), g.Serve(rootfs_)}, &log);
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("left over"), std::string::npos);
  *spec.add_mounts() = M("bind", rootfs_, "/b");
  auto missing =
      CreateMountNamespace(ctx_, spec, Config{}, {g.Serve(rootfs_)}, &log);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("more bind mounts than gofers"),
            std::string::npos);
}

TEST_F(BootTest, OverlayPutsATmpfsOverTheRootAndWritableBinds) {
  Gofers g;
  std::string data = TempDir();
  ASSERT_EQ(chmod(rootfs_.c_str(), 0751), 0);
  ASSERT_EQ(chmod(data.c_str(), 0750), 0);
  Spec spec;
  spec.mutable_root()->set_path(rootfs_);
  *spec.add_mounts() = M("bind", data, "/data");
  Config conf;
  conf.overlay = true;
  BootLog log;
  auto ns = CreateMountNamespace(ctx_, spec, conf,
                                 {g.Serve(rootfs_), g.Serve(data)}, &log);
  ASSERT_TRUE(ns.ok()) << ns.status();
  {
    Task t(*ns, Credentials::Root());
    // The overlays show the image's directories as they are (the tmpfs
    // uppers take their mode and owner, not tmpfs's 1777).
    struct stat st;
    ASSERT_EQ(t.Fstatat(AT_FDCWD, "/", &st, 0), 0);
    EXPECT_EQ(st.st_mode & 07777, 0751u);
    ASSERT_EQ(t.Fstatat(AT_FDCWD, "/data", &st, 0), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    ASSERT_GE(sentry::fs::testutil::WriteFile(&t, "/etc/f", "changed"), 0);
    ASSERT_GE(sentry::fs::testutil::WriteFile(&t, "/data/new", "n"), 0);
    EXPECT_EQ(sentry::fs::testutil::ReadFile(&t, "/etc/f"), "changed");
  }
  ns->reset();
  // The host saw none of it.
  EXPECT_EQ(system(("grep -qx img " + rootfs_ + "/etc/f").c_str()), 0);
  EXPECT_NE(access((data + "/new").c_str(), F_OK), 0);
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(data, ec);
}

TEST_F(BootTest, ChildContainersMountUnderTheirId) {
  Gofers g;
  Spec spec;
  spec.mutable_root()->set_path(rootfs_);
  BootLog log;
  auto ns =
      CreateMountNamespace(ctx_, spec, Config{}, {g.Serve(rootfs_)}, &log);
  ASSERT_TRUE(ns.ok()) << ns.status();
  std::string child_root = TempDir();
  ASSERT_EQ(system(("echo child > " + child_root + "/who").c_str()), 0);
  Spec child;
  child.mutable_root()->set_path(child_root);
  *child.add_mounts() = M("tmpfs", "none", "/scratch");
  auto croot = SetupChildContainer(ctx_, ns->get(), child, Config{},
                                   {g.Serve(child_root)}, "c1", &log);
  ASSERT_TRUE(croot.ok()) << croot.status();
  {
    Task t(*ns, Credentials::Root());
    EXPECT_EQ(
        sentry::fs::testutil::ReadFile(&t, "/__runsc_containers__/c1/who"),
        "child\n");
    std::string mi = Mountinfo(&t);
    for (const char* p :
         {"/__runsc_containers__/c1 9p", "/__runsc_containers__/c1/proc proc",
          "/__runsc_containers__/c1/scratch tmpfs"}) {
      EXPECT_NE(mi.find(p), std::string::npos) << p << "\n" << mi;
    }
    // A process of the child sees its root as /.
    Task c(*ns, Credentials::Root(), 2);
    ASSERT_EQ(c.Chroot("/__runsc_containers__/c1"), 0);
    ASSERT_EQ(c.Chdir("/"), 0);
    EXPECT_EQ(sentry::fs::testutil::ReadFile(&c, "/who"), "child\n");
  }
  EXPECT_FALSE(
      SetupChildContainer(ctx_, ns->get(), child, Config{}, {}, "../x", &log)
          .ok());
  croot = absl::StatusOr<sentry::fs::Path>(absl::UnknownError("done"));
  ns->reset();
  std::error_code ec;  // best effort, as rm -rf
  std::filesystem::remove_all(child_root, ec);
}

}  // namespace
}  // namespace runsc::boot
