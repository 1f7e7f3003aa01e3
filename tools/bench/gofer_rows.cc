// The gofer rows: our 9P client filesystem ("9p") over a socketpair to a
// server serving a directory of the host tmpfs, against Linux reading the
// same host files; and our server (runsc/fsgofer's Handler) against
// Debian's diod, both serving the same tree to our client.
//
// Messages are counted by a CountingTransport on the client's side; the
// round_trips counter is per iteration (clunks excluded: the client sends
// them in the background).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "p9/server.h"
#include "p9/transport.h"
#include "runsc/fsgofer/fsgofer.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/gofer/gofer.h"
#include "sentry/fs/testutil/counting_transport.h"
#include "tools/bench/suite.h"

namespace bench {
namespace {

using sentry::fs::CachePolicy;
using sentry::fs::testutil::CountingTransport;
using sentry::fs::testutil::MessageCounts;

constexpr const char* kDiod = "/usr/sbin/diod";
constexpr size_t kMiB = 1 << 20;
constexpr int kReaddirEntries = 100;

// The served tree, built on the host tmpfs through Linux: gofer/ holds a
// depth-8 chain, data4096, data1048576 and rd/ with kReaddirEntries files.
const std::string& GoferRoot() {
  static const std::string* root = [] {
    Env<LinuxFs>& env = LinuxEnv();
    env.Once("gofer", [&] {
      MakeDirs(env.fs,
               "gofer/" + ChainPath(8).substr(0, ChainPath(8).size() - 2));
      for (int d = 1; d <= 8; ++d) MakeFile(env.fs, "gofer/" + ChainPath(d), 0);
      MakeFile(env.fs, "gofer/data4096", 4096);
      MakeFile(env.fs, absl::StrCat("gofer/data", kMiB), kMiB);
      MakeDirs(env.fs, "gofer/rd");
      for (int i = 0; i < kReaddirEntries; ++i) {
        MakeFile(env.fs, absl::StrCat("gofer/rd/f", i), 0);
      }
    });
    return new std::string(Host().path() + "/gofer");
  }();
  return *root;
}

// Linux on the served directory itself, for the ratio rows.
Env<LinuxFs>& GoferLinuxEnv() {
  static Env<LinuxFs>* env = [] {
    int fd = ::open(GoferRoot().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) Die("open " + GoferRoot(), -errno);
    return new Env<LinuxFs>(*new LinuxFs(fd));
  }();
  return *env;
}

enum class Server { kOurs, kDiod };

// One mount of the served tree in a fresh namespace, with its server.
class GoferMount {
 public:
  GoferMount(Server server, CachePolicy policy) {
    std::unique_ptr<p9::Transport> client_end;
    if (server == Server::kOurs) {
      static std::shared_ptr<fsgofer::Export> exp = [] {
        fsgofer::Config c;
        c.root_path = GoferRoot();
        auto e = fsgofer::Export::Open(GoferRoot(), c);
        if (!e.ok()) Die("fsgofer export", -e.error().value());
        return *e;
      }();
      handler_ = std::make_unique<fsgofer::Handler>(exp);
      // Host fds donated on open, as `runsc gofer` does on a unix socket.
      auto pair = p9::SocketPair(/*pass_fds=*/true);
      if (!pair.ok()) Die("socketpair", -pair.error().value());
      p9::Server::Options so;
      so.donate_fds = true;
      server_ = std::make_unique<p9::Server>(std::move(pair->second),
                                             handler_.get(), so);
      thread_ = std::thread([this] { (void)server_->Serve(); });
      client_end = std::move(pair->first);
    } else {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        Die("socketpair", -errno);
      }
      pid_ = ::fork();
      if (pid_ == 0) {
        int fd = ::dup(sv[1]);  // without FD_CLOEXEC
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
        std::string fds = std::to_string(fd);
        ::execl(kDiod, "diod", "-f", "-n", "-N", "-r", fds.c_str(), "-w",
                fds.c_str(), "-e", GoferRoot().c_str(), "-c", "/dev/null",
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(sv[1]);
      client_end = std::make_unique<p9::SocketTransport>(
          p9::FileDescriptor(sv[0]), false);
    }
    sentry::fs::gofer::MountOptions o;
    o.policy = policy;
    o.aname = GoferRoot();
    sentry::context::Context ctx(sentry::kernel::auth::Credentials::Root());
    auto root = sentry::fs::gofer::MountOverTransport(
        ctx,
        std::make_unique<CountingTransport>(std::move(client_end), &counts_),
        o);
    if (!root.ok()) Die("gofer mount", -root.error().value());
    ns_ = sentry::fs::MountNamespace::New(
        sentry::fs::Dirent::NewRoot(std::move(*root)));
    task_ = std::make_unique<sentry::kernel::Task>(
        ns_, sentry::kernel::auth::Credentials::Root());
  }

  ~GoferMount() {
    task_.reset();
    ns_.reset();
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  sentry::kernel::Task* task() { return task_.get(); }
  MessageCounts& counts() { return counts_; }

 private:
  MessageCounts counts_;
  std::unique_ptr<fsgofer::Handler> handler_;
  std::unique_ptr<p9::Server> server_;
  std::thread thread_;
  pid_t pid_ = -1;
  base::RefPtr<sentry::fs::MountNamespace> ns_;
  std::unique_ptr<sentry::kernel::Task> task_;
};

bool HaveDiod() { return ::access(kDiod, X_OK) == 0; }

void ReportRoundTrips(benchmark::State& s, int64_t messages) {
  s.counters["round_trips"] = benchmark::Counter(
      static_cast<double>(messages), benchmark::Counter::kAvgIterations);
}

// A mounted, warmed stat of the depth-d file.
void WarmStat(benchmark::State& s, CachePolicy policy, int depth) {
  GoferMount m(Server::kOurs, policy);
  OursFs fs(m.task());
  const std::string p = ChainPath(depth);
  struct stat st;
  Check(fs.Stat(p.c_str(), &st), "warm-up stat", p);
  m.counts().Reset();
  for (auto _ : s) Check(fs.Stat(p.c_str(), &st), "stat", p);
  ReportRoundTrips(s, m.counts().RoundTrips());
  s.SetItemsProcessed(s.iterations());
}

// A stat on a mount that has cached nothing (a fresh mount per iteration,
// made outside the timing).
void ColdStat(benchmark::State& s, CachePolicy policy, int depth) {
  const std::string p = ChainPath(depth);
  int64_t messages = 0;
  struct stat st;
  for (auto _ : s) {
    s.PauseTiming();
    auto m = std::make_unique<GoferMount>(Server::kOurs, policy);
    m->counts().Reset();
    s.ResumeTiming();
    Check(m->task()->Fstatat(AT_FDCWD, p.c_str(), &st, 0), "stat", p);
    s.PauseTiming();
    messages += m->counts().RoundTrips();
    m.reset();
    s.ResumeTiming();
  }
  ReportRoundTrips(s, messages);
}

template <typename Fs>
void ReadFile(benchmark::State& s, Fs& fs, const std::string& name,
              size_t size) {
  std::vector<char> buf(size);
  int fd = static_cast<int>(Check(fs.Open(name.c_str(), O_RDONLY), name));
  for (auto _ : s) {
    Check(fs.Pread(fd, buf.data(), size, 0), "pread", name);
    benchmark::DoNotOptimize(buf.data());
  }
  fs.Close(fd);
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(size));
}

// Our client with cache=none, so every operation reaches the server.
enum class ServerOp { kStat, kOpenRead4k, kReaddir };
void ServerRow(benchmark::State& s, Server server, ServerOp op) {
  if (server == Server::kDiod && !HaveDiod()) {
    s.SkipWithError("diod not installed");
    return;
  }
  GoferMount m(server, CachePolicy::kNone);
  OursFs fs(m.task());
  std::vector<char> buf(64 << 10);
  struct stat st;
  m.counts().Reset();
  for (auto _ : s) {
    switch (op) {
      case ServerOp::kStat:
        Check(fs.Stat("data4096", &st), "stat");
        break;
      case ServerOp::kOpenRead4k: {
        int fd = static_cast<int>(Check(fs.Open("data4096", O_RDONLY), "open"));
        Check(fs.Pread(fd, buf.data(), 4096, 0), "read");
        fs.Close(fd);
        break;
      }
      case ServerOp::kReaddir: {
        int fd = static_cast<int>(
            Check(fs.Open("rd", O_RDONLY | O_DIRECTORY), "open rd"));
        long r;
        while ((r = fs.Getdents(fd, buf.data(), buf.size())) > 0) {
        }
        Check(r, "getdents");
        fs.Close(fd);
        break;
      }
    }
  }
  ReportRoundTrips(s, m.counts().RoundTrips());
  s.SetItemsProcessed(s.iterations());
}

}  // namespace

void RegisterGoferRows() {
  Register("gofer/stat/depth:8/linux", [](benchmark::State& s) {
    GoferLinuxEnv();
    struct stat st;
    const std::string p = ChainPath(8);
    for (auto _ : s) Check(GoferLinuxEnv().fs.Stat(p.c_str(), &st), "stat");
    s.SetItemsProcessed(s.iterations());
  });
  Register("gofer/stat/depth:8/keep",
           [](benchmark::State& s) { WarmStat(s, CachePolicy::kKeep, 8); });
  Register("gofer/stat/depth:8/revalidate", [](benchmark::State& s) {
    WarmStat(s, CachePolicy::kRevalidate, 8);
  });
  Register("gofer/cold_stat/depth:6/keep", [](benchmark::State& s) {
    ColdStat(s, CachePolicy::kKeep, 6);
  })->Iterations(50);
  Register("gofer/cold_stat/depth:6/revalidate", [](benchmark::State& s) {
    ColdStat(s, CachePolicy::kRevalidate, 6);
  })->Iterations(50);
  const std::string data = absl::StrCat("data", kMiB);
  Register(absl::StrCat("gofer/read/bytes:", kMiB, "/linux"),
           [data](benchmark::State& s) {
             ReadFile(s, GoferLinuxEnv().fs, data, kMiB);
           });
  for (auto [name, policy] :
       {std::pair{"keep", CachePolicy::kKeep},
        std::pair{"revalidate", CachePolicy::kRevalidate}}) {
    Register(absl::StrCat("gofer/read/bytes:", kMiB, "/", name),
             [data, policy = policy](benchmark::State& s) {
               GoferMount m(Server::kOurs, policy);
               OursFs fs(m.task());
               ReadFile(s, fs, data, kMiB);
             });
  }
  for (auto [opname, op] : {std::pair{"stat", ServerOp::kStat},
                            std::pair{"open_read_4k", ServerOp::kOpenRead4k},
                            std::pair{"readdir", ServerOp::kReaddir}}) {
    for (auto [sname, server] : {std::pair{"fsgofer", Server::kOurs},
                                 std::pair{"diod", Server::kDiod}}) {
      Register(absl::StrCat("gofer_server/", opname, "/", sname),
               [op = op, server = server](benchmark::State& s) {
                 ServerRow(s, server, op);
               });
    }
  }
}

}  // namespace bench
