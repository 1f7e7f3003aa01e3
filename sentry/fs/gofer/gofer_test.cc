// The gofer client end to end: mounted through the Task API over Debian's
// diod on a socketpair (skipped if diod is missing), and over the p9
// library's in-memory server with a message-counting transport for the
// round-trip budget.
#include "sentry/fs/gofer/gofer.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "p9/memfs_handler.h"
#include "p9/server.h"
#include "p9/transport.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/testutil/counting_transport.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::gofer {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;
using testutil::IsErrno;
using testutil::ListDir;
using testutil::ReadFile;
using testutil::Succeeds;
using testutil::WriteFile;

constexpr char kDiod[] = "/usr/sbin/diod";

std::string ReadHost(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteHost(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
}

std::vector<std::string> ListHost(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

// ---- Against diod.

// Each case runs against two real peers: Debian's diod and our own
// `runsc gofer` (the binary, as a child process on a socketpair).
class DiodGoferTest
    : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {
 protected:
  const char* Cache() const { return std::get<1>(GetParam()); }
  bool OurGofer() const {
    return std::string(std::get<0>(GetParam())) == "runsc";
  }
  static std::string RunscBinary() {
    const char* srcdir = std::getenv("TEST_SRCDIR");
    return std::string(srcdir ? srcdir : ".") + "/__main__/runsc/runsc";
  }
  void SetUp() override {
    if (!OurGofer() && ::access(kDiod, X_OK) != 0) {
      GTEST_SKIP() << "diod not installed";
    }
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/gofer.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(SpawnDiod());
    t_ = testutil::NewTmpfsTask();
    ASSERT_THAT(t_->Mkdirat(AT_FDCWD, "/mnt", 0755), Succeeds());
    std::string opts =
        "trans=fd,rfdno=" + std::to_string(fd_) +
        ",wfdno=" + std::to_string(fd_) +
        ",privateunixsocket=true,version=9p2000.L,aname=" + dir_ +
        std::string(*Cache() ? "," : "") + Cache();
    ASSERT_THAT(t_->Mount("9pfs-/", "/mnt", "9p", 0, opts.c_str()), Succeeds());
    ::close(fd_);  // the mount dup'ed it
    fd_ = -1;
  }

  void TearDown() override {
    t_.reset();
    if (fd_ >= 0) ::close(fd_);
    KillDiod();
    if (!dir_.empty()) {
      std::string cmd = "rm -rf '" + dir_ + "'";
      (void)std::system(cmd.c_str());
    }
  }

  bool SpawnDiod() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return false;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::dup(sv[1]);  // clears FD_CLOEXEC
      std::string fds = std::to_string(fd);
      if (OurGofer()) {
        std::string bin = RunscBinary();
        std::string root = "--root=" + dir_;
        std::string io = "--io-fds=" + fds;
        ::execl(bin.c_str(), "runsc", "gofer", root.c_str(), io.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::execl(kDiod, "diod", "-f", "-n", "-N", "-r", fds.c_str(), "-w",
              fds.c_str(), "-e", dir_.c_str(), "-c", "/dev/null", "-L",
              "stderr", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(sv[1]);
    fd_ = sv[0];
    return pid_ > 0;
  }

  void KillDiod() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  bool revalidating() const {
    return std::string(Cache()) == "cache=remote_revalidating";
  }

  std::string Host(const std::string& rel) { return dir_ + "/" + rel; }

  std::string dir_;
  pid_t pid_ = -1;
  int fd_ = -1;
  testutil::TmpfsTask t_;
};

TEST_P(DiodGoferTest, CreateWriteReadPread) {
  kernel::Task* t = t_.get();
  int fd = t->Open("/mnt/a.txt", O_CREAT | O_RDWR | O_EXCL, 0640);
  ASSERT_THAT(fd, Succeeds());
  const std::string text = "hello, 9p world";
  EXPECT_EQ(t->Write(fd, text.data(), text.size()),
            static_cast<long>(text.size()));
  char buf[64] = {};
  EXPECT_EQ(t->Pread64(fd, buf, sizeof(buf), 7), 8);
  EXPECT_EQ(std::string(buf, 8), "9p world");
  EXPECT_THAT(t->Fsync(fd), Succeeds());
  EXPECT_THAT(t->Close(fd), Succeeds());
  EXPECT_EQ(ReadHost(Host("a.txt")), text);
  EXPECT_EQ(ReadFile(t, "/mnt/a.txt"), text);
  EXPECT_THAT(t->Open("/mnt/a.txt", O_CREAT | O_EXCL | O_RDWR, 0644),
              IsErrno(EEXIST));

  // A large file crosses msize and the read-ahead window.
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_THAT(WriteFile(t, "/mnt/big", big), Succeeds());
  EXPECT_TRUE(ReadHost(Host("big")) == big);
  EXPECT_TRUE(ReadFile(t, "/mnt/big") == big);
  // And again, from the page cache where there is one.
  EXPECT_TRUE(ReadFile(t, "/mnt/big") == big);

  // Append and truncate.
  fd = t->Open("/mnt/a.txt", O_WRONLY | O_APPEND);
  ASSERT_THAT(fd, Succeeds());
  EXPECT_EQ(t->Write(fd, "!", 1), 1);
  EXPECT_THAT(t->Ftruncate(fd, 5), Succeeds());
  t->Close(fd);
  EXPECT_EQ(ReadHost(Host("a.txt")), "hello");
  EXPECT_EQ(ReadFile(t, "/mnt/a.txt"), "hello");
  EXPECT_THAT(t->Open("/mnt/missing", O_RDONLY), IsErrno(ENOENT));
}

TEST_P(DiodGoferTest, ReaddirMatchesHost) {
  kernel::Task* t = t_.get();
  WriteHost(Host("from_host"), "x");
  ASSERT_EQ(::mkdir(Host("host_dir").c_str(), 0755), 0);
  for (int i = 0; i < 300; ++i) {
    ASSERT_THAT(WriteFile(t, ("/mnt/f" + std::to_string(i)).c_str(), "y"),
                Succeeds());
  }
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/mnt/sub", 0700), Succeeds());
  EXPECT_THAT(ListDir(t, "/mnt"), UnorderedElementsAreArray(ListHost(dir_)));
  EXPECT_EQ(ListDir(t, "/mnt").size(), 303u);
  EXPECT_TRUE(ListDir(t, "/mnt/sub").empty());
  // "." and ".." come first.
  int fd = t->Open("/mnt/sub", O_RDONLY | O_DIRECTORY);
  ASSERT_THAT(fd, Succeeds());
  alignas(8) char buf[4096];
  long n = t->Getdents64(fd, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::vector<std::string> names;
  for (long off = 0; off < n;) {
    auto* d = reinterpret_cast<struct dirent64*>(buf + off);
    names.push_back(d->d_name);
    off += d->d_reclen;
  }
  EXPECT_THAT(names, ElementsAre(".", ".."));
  t->Close(fd);
}

TEST_P(DiodGoferTest, NamespaceOperations) {
  kernel::Task* t = t_.get();
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/mnt/d", 0755), Succeeds());
  ASSERT_THAT(WriteFile(t, "/mnt/d/f", "data"), Succeeds());
  struct stat st;
  ASSERT_EQ(::stat(Host("d/f").c_str(), &st), 0);

  // rename a file, then a directory holding a cached file.
  ASSERT_THAT(t->Renameat2(AT_FDCWD, "/mnt/d/f", AT_FDCWD, "/mnt/d/g", 0),
              Succeeds());
  EXPECT_NE(::access(Host("d/f").c_str(), F_OK), 0);
  EXPECT_EQ(ReadHost(Host("d/g")), "data");
  EXPECT_EQ(ReadFile(t, "/mnt/d/g"), "data");
  ASSERT_THAT(t->Renameat2(AT_FDCWD, "/mnt/d", AT_FDCWD, "/mnt/e", 0),
              Succeeds());
  EXPECT_EQ(ReadHost(Host("e/g")), "data");
  EXPECT_EQ(ReadFile(t, "/mnt/e/g"), "data");
  ASSERT_THAT(WriteFile(t, "/mnt/e/h", "more"), Succeeds());
  EXPECT_EQ(ReadHost(Host("e/h")), "more");
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/mnt/d/g", &st, 0), IsErrno(ENOENT));
  // rename over an existing file; RENAME_NOREPLACE refuses.
  EXPECT_THAT(t->Renameat2(AT_FDCWD, "/mnt/e/h", AT_FDCWD, "/mnt/e/g",
                           RENAME_NOREPLACE),
              IsErrno(EEXIST));
  ASSERT_THAT(t->Renameat2(AT_FDCWD, "/mnt/e/h", AT_FDCWD, "/mnt/e/g", 0),
              Succeeds());
  EXPECT_EQ(ReadFile(t, "/mnt/e/g"), "more");
  EXPECT_THAT(ListDir(t, "/mnt/e"), ElementsAre("g"));

  // symlink, readlink, link.
  ASSERT_THAT(t->Symlinkat("e/g", AT_FDCWD, "/mnt/sl"), Succeeds());
  char buf[64];
  long n = t->Readlinkat(AT_FDCWD, "/mnt/sl", buf, sizeof(buf));
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, n), "e/g");
  n = ::readlink(Host("sl").c_str(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "e/g");
  EXPECT_EQ(ReadFile(t, "/mnt/sl"), "more");
  ASSERT_THAT(t->Linkat(AT_FDCWD, "/mnt/e/g", AT_FDCWD, "/mnt/hard", 0),
              Succeeds());
  ASSERT_EQ(::stat(Host("hard").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  struct stat ours;
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/mnt/hard", &ours, 0), Succeeds());
  EXPECT_EQ(ours.st_nlink, 2u);

  // unlink, rmdir (and their errors).
  EXPECT_THAT(t->Unlinkat(AT_FDCWD, "/mnt/e", 0), IsErrno(EISDIR));
  EXPECT_THAT(t->Unlinkat(AT_FDCWD, "/mnt/e", AT_REMOVEDIR),
              IsErrno(ENOTEMPTY));
  ASSERT_THAT(t->Unlinkat(AT_FDCWD, "/mnt/e/g", 0), Succeeds());
  ASSERT_THAT(t->Unlinkat(AT_FDCWD, "/mnt/e", AT_REMOVEDIR), Succeeds());
  EXPECT_NE(::access(Host("e").c_str(), F_OK), 0);
  EXPECT_THAT(ListDir(t, "/mnt"), UnorderedElementsAreArray(ListHost(dir_)));
  EXPECT_THAT(t->Unlinkat(AT_FDCWD, "/mnt/nope", 0), IsErrno(ENOENT));
}

TEST_P(DiodGoferTest, StatMatchesHost) {
  kernel::Task* t = t_.get();
  WriteHost(Host("f"), "12345");
  ASSERT_EQ(::chmod(Host("f").c_str(), 0604), 0);
  ASSERT_EQ(::chown(Host("f").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::mkdir(Host("d").c_str(), 0711), 0);
  ASSERT_EQ(::mkdir(Host("d/sub").c_str(), 0700), 0);
  // The root's attributes were cached at mount: only the shared modes
  // see what the host did to it since.
  std::vector<const char*> paths = {"f", "d", "d/sub"};
  if (revalidating() || std::string(Cache()) == "cache=none") {
    paths.push_back("");
  }
  for (const char* p : paths) {
    struct stat h, s;
    ASSERT_EQ(::lstat(Host(p).c_str(), &h), 0);
    ASSERT_THAT(t->Fstatat(AT_FDCWD, (std::string("/mnt/") + p).c_str(), &s,
                           AT_SYMLINK_NOFOLLOW),
                Succeeds());
    EXPECT_EQ(s.st_mode, h.st_mode) << p;
    EXPECT_EQ(s.st_nlink, h.st_nlink) << p;
    EXPECT_EQ(s.st_uid, h.st_uid) << p;
    EXPECT_EQ(s.st_gid, h.st_gid) << p;
    if (!S_ISDIR(h.st_mode)) {
      EXPECT_EQ(s.st_size, h.st_size) << p;
    }
    EXPECT_EQ(s.st_ino, h.st_ino) << p;
    EXPECT_EQ(s.st_mtim.tv_sec, h.st_mtim.tv_sec) << p;
  }
  // chmod/chown/utimens go to the host.
  ASSERT_THAT(t->Fchmodat(AT_FDCWD, "/mnt/f", 0640), Succeeds());
  ASSERT_THAT(t->Fchownat(AT_FDCWD, "/mnt/f", 42, 43, 0), Succeeds());
  struct stat h;
  ASSERT_EQ(::stat(Host("f").c_str(), &h), 0);
  EXPECT_EQ(h.st_mode & 07777, 0640u);
  EXPECT_EQ(h.st_uid, 42u);
  EXPECT_EQ(h.st_gid, 43u);
  struct statfs sfs;
  EXPECT_THAT(t->Statfs("/mnt", &sfs), Succeeds());
  EXPECT_EQ(sfs.f_type, 0x01021997);
}

TEST_P(DiodGoferTest, HostChangesVisibleWhenRevalidating) {
  if (!revalidating()) GTEST_SKIP() << "only cache=remote_revalidating";
  kernel::Task* t = t_.get();
  ASSERT_EQ(::mkdir(Host("d").c_str(), 0755), 0);
  WriteHost(Host("d/f"), "first");
  EXPECT_EQ(ReadFile(t, "/mnt/d/f"), "first");
  EXPECT_THAT(ListDir(t, "/mnt/d"), ElementsAre("f"));
  struct stat st;
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/mnt/d/new", &st, 0), IsErrno(ENOENT));

  WriteHost(Host("d/f"), "SECOND");  // same inode, new content and size
  WriteHost(Host("d/new"), "n");
  EXPECT_EQ(ReadFile(t, "/mnt/d/f"), "SECOND");
  ASSERT_THAT(t->Fstatat(AT_FDCWD, "/mnt/d/f", &st, 0), Succeeds());
  EXPECT_EQ(st.st_size, 6);
  EXPECT_EQ(ReadFile(t, "/mnt/d/new"), "n");
  EXPECT_THAT(ListDir(t, "/mnt/d"), UnorderedElementsAreArray({"f", "new"}));

  WriteHost(Host("d/f"), "THIRD!");  // same size
  EXPECT_EQ(ReadFile(t, "/mnt/d/f"), "THIRD!");
  ASSERT_EQ(::unlink(Host("d/new").c_str()), 0);
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/mnt/d/new", &st, 0), IsErrno(ENOENT));
  EXPECT_THAT(ListDir(t, "/mnt/d"), ElementsAre("f"));
  // A rename on the host behind our back.
  ASSERT_EQ(::rename(Host("d").c_str(), Host("moved").c_str()), 0);
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/mnt/d/f", &st, 0), IsErrno(ENOENT));
  EXPECT_EQ(ReadFile(t, "/mnt/moved/f"), "THIRD!");
}

TEST_P(DiodGoferTest, KilledServerGivesEIO) {
  kernel::Task* t = t_.get();
  ASSERT_THAT(WriteFile(t, "/mnt/f", "abc"), Succeeds());
  int fd = t->Open("/mnt/f", O_RDWR);
  ASSERT_THAT(fd, Succeeds());
  KillDiod();
  char buf[8];
  // Nothing cached can be served from the dead connection in the
  // uncached modes; whatever is not cached fails with EIO.
  struct stat st;
  EXPECT_THAT(t->Fstatat(AT_FDCWD, "/mnt/never_seen", &st, 0), IsErrno(EIO));
  EXPECT_THAT(t->Open("/mnt/new", O_CREAT | O_RDWR, 0644), IsErrno(EIO));
  EXPECT_THAT(t->Pwrite64(fd, "x", 1, 0), IsErrno(EIO));
  long r = t->Pread64(fd, buf, sizeof(buf), 0);
  if (!revalidating() && std::string(Cache()) != "cache=none") {
    EXPECT_TRUE(r == -EIO || r == 3) << r;  // maybe served from the cache
  } else {
    EXPECT_THAT(r, IsErrno(EIO));
  }
  t->Close(fd);
}

INSTANTIATE_TEST_SUITE_P(
    Caches, DiodGoferTest,
    ::testing::Combine(::testing::Values("diod", "runsc"),
                       ::testing::Values("", "cache=fscache",
                                         "cache=remote_revalidating",
                                         "cache=none")),
    [](const auto& info) {
      std::string s = std::get<1>(info.param);
      if (s.empty()) {
        s = "Default";
      } else {
        s = s.substr(6);
        s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
      }
      return std::string(std::get<0>(info.param)) + "_" + s;
    });

TEST(OptionsTest, Parse) {
  auto o = ParseOptions(
      "trans=fd,rfdno=3,wfdno=3,privateunixsocket=true,"
      "cache=remote_revalidating");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->rfd, 3);
  EXPECT_EQ(o->wfd, 3);
  EXPECT_TRUE(o->private_unix_socket);
  EXPECT_EQ(o->policy, CachePolicy::kRevalidate);
  o = ParseOptions("trans=fd,rfdno=4,wfdno=5,aname=/x,version=9p2000.L");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->policy, CachePolicy::kKeep);
  EXPECT_EQ(o->aname, "/x");
  EXPECT_EQ(ParseOptions("trans=fd,rfdno=3,wfdno=3,cache=none")->policy,
            CachePolicy::kNone);
  for (const char* bad :
       {"", "trans=tcp,rfdno=3,wfdno=3", "trans=fd,rfdno=3",
        "trans=fd,rfdno=3,wfdno=3,bogus=1", "trans=fd,rfdno=x,wfdno=3",
        "trans=fd,rfdno=3,wfdno=3,cache=loose", "trans=fd,rfdno=3,wfdno=3,ro",
        "trans=fd,rfdno=3,wfdno=3,version=9p2000.u"}) {
    EXPECT_FALSE(ParseOptions(bad).ok()) << bad;
  }
  auto t = testutil::NewTmpfsTask();
  ASSERT_THAT(t->Mkdirat(AT_FDCWD, "/m", 0755), Succeeds());
  EXPECT_THAT(t->Mount("x", "/m", "9p", 0, "trans=fd,rfdno=3,wfdno=3,zz=1"),
              IsErrno(EINVAL));
  EXPECT_THAT(t->Mount("x", "/m", "9p", 0, "trans=fd,rfdno=999,wfdno=999"),
              IsErrno(EBADF));
}

// ---- Round trips, over the in-memory server.

class RoundTripTest : public ::testing::TestWithParam<CachePolicy> {
 protected:
  void TearDown() override {
    task_.reset();
    ns_.reset();
    if (server_) server_->Stop();
    if (serve_.joinable()) serve_.join();
    server_.reset();
  }

  // A fresh mount (so nothing is cached) of the handler's tree.
  void MountFresh() {
    task_.reset();
    ns_.reset();
    if (server_) server_->Stop();
    if (serve_.joinable()) serve_.join();
    auto pair = p9::SocketPair(false);
    ASSERT_TRUE(pair.ok());
    server_ = std::make_unique<p9::Server>(std::move(pair->second), &handler_);
    serve_ = std::thread([this] { (void)server_->Serve(); });
    MountOptions o;
    o.policy = GetParam();
    auto root =
        MountOverTransport(ctx_,
                           std::make_unique<testutil::CountingTransport>(
                               std::move(pair->first), &counts_),
                           o);
    ASSERT_TRUE(root.ok()) << root.error().ToString();
    ns_ = MountNamespace::New(Dirent::NewRoot(std::move(*root)));
    task_ =
        std::make_unique<kernel::Task>(ns_, kernel::auth::Credentials::Root());
  }

  int Count(p9::MsgType t) { return counts_.Count(t); }
  int Total() { return counts_.RoundTrips(); }
  void Reset() { counts_.Reset(); }
  // "Twalkstat=1 Tgetattr=1": what was sent, for failure messages.
  std::string Sent() {
    std::string out;
    for (int t = 0; t < 256; ++t) {
      const int n = counts_.Count(static_cast<p9::MsgType>(t));
      if (n == 0) continue;
      out += p9::MsgTypeName(static_cast<p9::MsgType>(t)) + "=" +
             std::to_string(n) + " ";
    }
    return out;
  }

  context::Context ctx_{kernel::auth::Credentials::Root()};
  p9::testing::MemFsHandler handler_;
  std::unique_ptr<p9::Server> server_;
  std::thread serve_;
  testutil::MessageCounts counts_;
  RefPtr<MountNamespace> ns_;
  std::unique_ptr<kernel::Task> task_;
};

std::string Deep(int depth) {
  std::string p;
  for (int i = 0; i < depth - 1; ++i) p += "/d" + std::to_string(i);
  return p + "/file";
}

void MakeDeep(kernel::Task* t, int depth) {
  std::string p;
  for (int i = 0; i < depth - 1; ++i) {
    p += "/d" + std::to_string(i);
    ASSERT_THAT(t->Mkdirat(AT_FDCWD, p.c_str(), 0755), Succeeds());
  }
  ASSERT_THAT(WriteFile(t, (p + "/file").c_str(), "x"), Succeeds());
}

TEST_P(RoundTripTest, StatDepth8ColdAndWarm) {
  MountFresh();
  MakeDeep(task_.get(), 8);
  MountFresh();
  struct stat st;
  Reset();
  ASSERT_THAT(task_->Fstatat(AT_FDCWD, Deep(8).c_str(), &st, 0), Succeeds());
  const int cold = Total(), cold_walks = Count(p9::MsgType::kTwalk);
  Reset();
  ASSERT_THAT(task_->Fstatat(AT_FDCWD, Deep(8).c_str(), &st, 0), Succeeds());
  const int warm = Total(), warm_walks = Count(p9::MsgType::kTwalk);
  std::cout << "[round trips] policy=" << static_cast<int>(GetParam())
            << " depth-8 stat: cold " << cold << " messages (" << cold_walks
            << " Twalk), warm " << warm << " (" << warm_walks
            << " Twalk); clunks not counted\n";
  EXPECT_EQ(cold, 1) << "one Twalkstat";
  if (GetParam() == CachePolicy::kKeep) {
    EXPECT_EQ(warm, 0);
  } else {
    EXPECT_EQ(warm, 1) << "one Twalkstat revalidates the whole path";
  }
}

// The budget: with nothing cached, stat of a 6-component path is
// one message (Twalkstat carries every directory's attributes for the
// search-permission checks and the file's for the stat).
TEST_P(RoundTripTest, ColdStatOfSixComponentsIsOneRoundTrip) {
  MountFresh();
  MakeDeep(task_.get(), 6);
  MountFresh();
  Reset();
  struct stat st;
  ASSERT_THAT(task_->Fstatat(AT_FDCWD, Deep(6).c_str(), &st, 0), Succeeds());
  EXPECT_EQ(Count(p9::MsgType::kTwalkstat), 1);
  EXPECT_EQ(Total(), 1) << Sent();
  EXPECT_EQ(st.st_size, 1);
}

// Names getdents64 reports, "." and ".." left out.
std::set<std::string> NamesIn(const char* buf, long n) {
  std::set<std::string> out;
  for (long pos = 0; pos < n;) {
    const auto* d = reinterpret_cast<const struct dirent64*>(buf + pos);
    std::string name = d->d_name;
    if (name != "." && name != "..") out.insert(name);
    pos += d->d_reclen;
  }
  return out;
}

// Listing a directory that fits one Treaddir reply costs the open's walk,
// a handle (Twalk, Tlopen), the reply, and one empty reply at the end:
// getdents returns a reply's entries without waiting for the next. A
// directory of several replies still lists every name, over several
// getdents calls.
TEST_P(RoundTripTest, ListingRoundTrips) {
  MountFresh();
  ASSERT_THAT(task_->Mkdirat(AT_FDCWD, "/rd", 0755), Succeeds());
  ASSERT_THAT(task_->Mkdirat(AT_FDCWD, "/big", 0755), Succeeds());
  for (int i = 0; i < 100; ++i) {
    ASSERT_THAT(
        WriteFile(task_.get(), ("/rd/f" + std::to_string(i)).c_str(), ""),
        Succeeds());
  }
  const std::string pad(200, 'n');
  for (int i = 0; i < 2000; ++i) {
    ASSERT_THAT(
        task_->Mkdirat(AT_FDCWD, ("/big/" + pad + std::to_string(i)).c_str(),
                       0755),
        Succeeds());
  }
  MountFresh();
  Reset();
  long fd = task_->Openat(AT_FDCWD, "/rd", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(fd, 0);
  std::vector<char> buf(64 << 10);
  std::set<std::string> names;
  long r;
  while ((r = task_->Getdents64(fd, buf.data(), buf.size())) > 0) {
    for (const std::string& n : NamesIn(buf.data(), r)) names.insert(n);
  }
  EXPECT_EQ(r, 0);
  EXPECT_EQ(names.size(), 100u);
  task_->Close(fd);
  std::cout << "[round trips] policy=" << static_cast<int>(GetParam())
            << " open+list of 100: " << Total() << " (" << Sent() << ")\n";
  EXPECT_EQ(Total(), 5) << Sent();
  EXPECT_EQ(Count(p9::MsgType::kTreaddir), 2) << Sent();

  fd = task_->Openat(AT_FDCWD, "/big", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(fd, 0);
  Reset();
  names.clear();
  int calls = 0;
  while ((r = task_->Getdents64(fd, buf.data(), buf.size())) > 0) {
    ++calls;
    for (const std::string& n : NamesIn(buf.data(), r)) names.insert(n);
  }
  EXPECT_EQ(r, 0);
  EXPECT_EQ(names.size(), 2000u);
  EXPECT_GT(Count(p9::MsgType::kTreaddir), 2) << "more than one reply";
  task_->Close(fd);
}

INSTANTIATE_TEST_SUITE_P(Policies, RoundTripTest,
                         ::testing::Values(CachePolicy::kKeep,
                                           CachePolicy::kRevalidate,
                                           CachePolicy::kNone),
                         [](const auto& info) {
                           switch (info.param) {
                             case CachePolicy::kKeep:
                               return "Keep";
                             case CachePolicy::kRevalidate:
                               return "Revalidate";
                             default:
                               return "None";
                           }
                         });

}  // namespace
}  // namespace sentry::fs::gofer
