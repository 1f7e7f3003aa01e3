#include "runsc/fsgofer/gofer_main.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/mutex.h"
#include "p9/server.h"
#include "p9/transport.h"
#include "runsc/fsgofer/confine.h"
#include "runsc/fsgofer/fsgofer.h"
#include "runsc/logging/log.h"

namespace fsgofer {
namespace {

constexpr int kUsageError = 2;
constexpr int kFailure = 1;

// --status-fd: where the parent waits for "ready" or the error line.
int g_status_fd = -1;

void Debug(const std::string& msg) {
  runsc::logging::Log("runsc gofer", "debug", msg);
}

// Tells the parent (--status-fd) the outcome of start-up, then closes it.
void ReportStatus(const std::string& line) {
  if (g_status_fd < 0) return;
  std::string l = line + "\n";
  (void)!::write(g_status_fd, l.data(), l.size());
  ::close(g_status_fd);
  g_status_fd = -1;
}

int Fail(int code, const std::string& msg) {
  if (g_status_fd >= 0) {
    // The parent prints it, as its own one-line error.
    ReportStatus("error: " + msg);
  } else if (runsc::logging::JsonEnabled()) {
    runsc::logging::Log("runsc gofer", "error", msg);
  } else {
    std::fprintf(stderr, "runsc gofer: %s\n", msg.c_str());
  }
  return code;
}

struct Flags {
  std::string root;
  std::vector<int> io_fds;
  std::string listen;
  bool read_only = false;
  bool help = false;
  int status_fd = -1;
};

// Parses --name=value and --name value; returns an error line or "".
std::string ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      f->help = true;
      continue;
    }
    if (arg == "--ro" || arg == "--ro=true") {
      f->read_only = true;
      continue;
    }
    if (arg == "--ro=false") continue;
    if (arg == "--debug") {
      runsc::logging::SetDebug(true);
      continue;
    }
    if (arg.rfind("--", 0) != 0) return "unexpected argument \"" + arg + "\"";
    std::string name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (name != "--root" && name != "--io-fds" && name != "--listen" &&
        name != "--log-format" && name != "--status-fd") {
      return "unknown flag " + name;
    }
    if (!has_value) {
      if (i + 1 >= argc) return name + " needs a value";
      value = argv[++i];
    }
    if (name == "--root") {
      f->root = value;
    } else if (name == "--listen") {
      f->listen = value;
    } else if (name == "--log-format") {
      if (value != "text" && value != "json") {
        return "--log-format must be text or json";
      }
      runsc::logging::SetJson(value == "json");
    } else if (name == "--status-fd") {
      if (!absl::SimpleAtoi(value, &f->status_fd) || f->status_fd < 3 ||
          ::fcntl(f->status_fd, F_GETFD) < 0) {
        f->status_fd = -1;
        return "--status-fd: \"" + value + "\" is not an open fd above 2";
      }
      ::fcntl(f->status_fd, F_SETFD, FD_CLOEXEC);
      g_status_fd = f->status_fd;
    } else {
      for (absl::string_view s : absl::StrSplit(value, ',')) {
        int fd;
        if (!absl::SimpleAtoi(s, &fd) || fd < 0) {
          return "--io-fds: bad fd \"" + std::string(s) + "\"";
        }
        f->io_fds.push_back(fd);
      }
    }
  }
  return "";
}

struct Listener {
  p9::FileDescriptor fd;
  bool is_unix = false;
  std::string printable;
};

// unix:PATH or tcp:HOST:PORT with HOST loopback.
std::optional<Listener> Listen(const std::string& addr, std::string* err) {
  Listener l;
  if (addr.rfind("unix:", 0) == 0) {
    std::string path = addr.substr(5);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
      *err = "--listen: bad unix socket path \"" + path + "\"";
      return std::nullopt;
    }
    std::memcpy(sa.sun_path, path.data(), path.size());
    l.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      ::unlink(path.c_str());  // A stale socket from an earlier run.
    }
    if (!l.fd.valid() ||
        ::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::listen(l.fd.get(), 64) != 0) {
      *err = "--listen: " + addr + ": " + std::strerror(errno);
      return std::nullopt;
    }
    l.is_unix = true;
    l.printable = addr;
    return l;
  }
  if (addr.rfind("tcp:", 0) == 0) {
    std::string rest = addr.substr(4);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) {
      *err = "--listen: bad address \"" + addr + "\" (want tcp:127.0.0.1:PORT)";
      return std::nullopt;
    }
    std::string host = rest.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    int port;
    in_addr ia{};
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &port) || port < 0 ||
        port > 65535 || ::inet_pton(AF_INET, host.c_str(), &ia) != 1) {
      *err = "--listen: bad address \"" + addr + "\" (want tcp:127.0.0.1:PORT)";
      return std::nullopt;
    }
    if ((ntohl(ia.s_addr) >> 24) != 127) {
      *err = "--listen: " + host + " is not a loopback address";
      return std::nullopt;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr = ia;
    l.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    if (l.fd.valid()) {
      (void)::setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one,
                         sizeof(one));
    }
    socklen_t len = sizeof(sa);
    if (!l.fd.valid() ||
        ::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::listen(l.fd.get(), 64) != 0 ||
        ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) !=
            0) {
      *err = "--listen: " + addr + ": " + std::strerror(errno);
      return std::nullopt;
    }
    l.printable = absl::StrCat("tcp:", host, ":", ntohs(sa.sin_port));
    if (port == 0) {
      std::printf("%s\n", l.printable.c_str());
      std::fflush(stdout);
    }
    return l;
  }
  *err = "--listen: bad address \"" + addr +
         "\" (want unix:PATH or tcp:127.0.0.1:PORT)";
  return std::nullopt;
}

// One served connection.
struct Conn {
  std::unique_ptr<Handler> handler;
  std::unique_ptr<p9::Server> server;
  std::thread thread;
  std::atomic<bool> done{false};
};

class Supervisor {
 public:
  explicit Supervisor(std::shared_ptr<Export> exp) : exp_(std::move(exp)) {}

  // Starts serving a connected socket.
  void Start(p9::FileDescriptor fd, bool pass_fds) {
    auto c = std::make_unique<Conn>();
    c->handler = std::make_unique<Handler>(exp_);
    p9::Server::Options o;
    o.donate_fds = pass_fds;
    c->server = std::make_unique<p9::Server>(
        std::make_unique<p9::SocketTransport>(std::move(fd), pass_fds),
        c->handler.get(), o);
    Conn* raw = c.get();
    base::MutexLock l(&mu_);
    if (stopping_) return;
    raw->thread = std::thread([raw] {
      (void)raw->server->Serve();
      raw->done = true;
    });
    conns_.push_back(std::move(c));
  }

  // Joins finished connections.
  void Reap() {
    std::list<std::unique_ptr<Conn>> dead;
    {
      base::MutexLock l(&mu_);
      for (auto it = conns_.begin(); it != conns_.end();) {
        if ((*it)->done) {
          dead.push_back(std::move(*it));
          it = conns_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& c : dead) c->thread.join();
  }

  void StopAll() {
    base::MutexLock l(&mu_);
    stopping_ = true;
    for (auto& c : conns_) c->server->Stop();
  }

  // Waits for every connection. They stay in conns_ meanwhile, so that a
  // StopAll from the signal thread still reaches them.
  void JoinAll() {
    std::vector<Conn*> all;
    {
      base::MutexLock l(&mu_);
      for (auto& c : conns_) all.push_back(c.get());
    }
    for (Conn* c : all) c->thread.join();
    base::MutexLock l(&mu_);
    conns_.clear();
  }

 private:
  std::shared_ptr<Export> exp_;
  base::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::unique_ptr<Conn>> conns_ ABSL_GUARDED_BY(mu_);
};

// The end of a confined gofer: exit at once, without atexit handlers or
// static destructors. Nothing is left to tidy under the seccomp filter,
// the detached signal thread may still hold the Supervisor, and a
// sanitizer's leak check at exit would ptrace the process, which the
// filter refuses (it then spins for ever).
[[noreturn]] void ExitConfined(int code) {
  std::fflush(nullptr);
  ::_exit(code);
}

bool IsUnixSocket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
         ss.ss_family == AF_UNIX;
}

}  // namespace

const char* GoferUsage() {
  return "runsc gofer --root=DIR (--io-fds=N[,N...] | "
         "--listen=unix:PATH|tcp:127.0.0.1:PORT) [--ro]\n"
         "            [--debug] [--log-format=text|json] [--status-fd=N]\n"
         "  Serves DIR over 9P2000.L, confined to it (no new privileges, a\n"
         "  private mount namespace rooted at DIR, inside a user namespace\n"
         "  of its own when unprivileged, where the kernel permits; a "
         "seccomp\n"
         "  allowlist). --io-fds serves inherited connected sockets until\n"
         "  every peer hangs up; --listen accepts connections until\n"
         "  SIGTERM/SIGINT. --ro refuses every change with EROFS. --debug\n"
         "  logs the confinement and start/stop to stderr. --status-fd: "
         "once\n"
         "  confined, writes \"ready\" (or \"error: MSG\") to fd N and "
         "closes it.\n";
}

int GoferMain(int argc, char** argv) {
  Flags f;
  if (std::string e = ParseFlags(argc, argv, &f); !e.empty()) {
    return Fail(kUsageError, e);
  }
  if (f.help) {
    std::fputs(GoferUsage(), stdout);
    return 0;
  }
  if (f.root.empty()) return Fail(kUsageError, "--root is required");
  // Modes arrive with the client's umask already applied (the sandbox's
  // own); ours must not take more away.
  ::umask(0);
  if (f.io_fds.empty() == f.listen.empty()) {
    return Fail(kUsageError,
                "exactly one of --io-fds and --listen is required");
  }
  char* real = ::realpath(f.root.c_str(), nullptr);
  if (real == nullptr) {
    return Fail(kFailure, "--root: " + f.root + ": " + std::strerror(errno));
  }
  std::string root = real;
  std::free(real);
  struct stat st;
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(kFailure, "--root: " + f.root + ": not a directory");
  }
  std::vector<bool> io_fd_is_unix;
  for (int fd : f.io_fds) {
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
      return Fail(kUsageError,
                  absl::StrCat("--io-fds: fd ", fd, " is not a socket"));
    }
    io_fd_is_unix.push_back(IsUnixSocket(fd));
  }

  // Everything that needs a host path happens before confinement.
  std::optional<Listener> listener;
  if (!f.listen.empty()) {
    std::string err;
    listener = Listen(f.listen, &err);
    if (!listener) return Fail(kUsageError, err);
  }
  p9::FileDescriptor proc(
      ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  // Signals are taken by a dedicated thread; block them everywhere first.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  absl::StatusOr<PrivateRoot> pr = EnterPrivateRoot(root, f.read_only);
  if (!pr.ok()) return Fail(kFailure, std::string(pr.status().message()));
  Debug(absl::StrCat("confined to ", root, ": ",
                     DescribeConfinement(*pr, uid, gid), ", seccomp"));
  std::vector<int> keep = {0, 1, 2, pr->root.get(), proc.get()};
  for (int fd : f.io_fds) keep.push_back(fd);
  if (listener) keep.push_back(listener->fd.get());
  if (g_status_fd >= 0) keep.push_back(g_status_fd);
  if (absl::Status s = CloseOtherFds(keep); !s.ok()) {
    return Fail(kFailure, std::string(s.message()));
  }
  Config config;
  config.read_only = f.read_only;
  config.root_path = root;
  auto exp =
      std::make_shared<Export>(std::move(pr->root), std::move(proc), config);
  if (absl::Status s = InstallSeccomp(); !s.ok()) {
    return Fail(kFailure, std::string(s.message()));
  }
  Debug(absl::StrCat("pid ", ::getpid(), " serving ", root,
                     f.read_only ? " read-only" : "", " on ",
                     f.io_fds.empty()
                         ? listener->printable
                         : absl::StrCat(f.io_fds.size(), " io-fd(s)")));
  ReportStatus("ready");

  // Shared with the detached signal thread, which may outlive this frame
  // by a moment at exit: heap objects, deliberately never freed.
  auto* sup = new Supervisor(exp);
  auto* stopping = new std::atomic<bool>(false);
  const int listen_fd = listener ? listener->fd.get() : -1;
  std::thread sig_thread([sigs, sup, stopping, listen_fd]() mutable {
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    *stopping = true;
    if (listen_fd >= 0) ::shutdown(listen_fd, SHUT_RDWR);
    sup->StopAll();
  });
  sig_thread.detach();

  if (!f.io_fds.empty()) {
    for (size_t i = 0; i < f.io_fds.size(); ++i) {
      // Host fds are passed (Rlopen donation) over unix sockets only.
      sup->Start(p9::FileDescriptor(f.io_fds[i]), io_fd_is_unix[i]);
    }
    sup->JoinAll();
    Debug(*stopping ? "stopped by a signal; exiting"
                    : "every peer hung up; exiting");
    ExitConfined(0);
  }
  for (;;) {
    int c = ::accept4(listener->fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (*stopping) break;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        ::usleep(10000);  // Out of resources: back off, keep serving.
        continue;
      }
      const int e = errno;  // before the joins can change it
      sup->StopAll();
      sup->JoinAll();
      ExitConfined(Fail(kFailure, absl::StrCat("accept: ", std::strerror(e))));
    }
    if (*stopping) {
      ::close(c);
      break;
    }
    if (!listener->is_unix) {
      int one = 1;
      (void)::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    sup->Start(p9::FileDescriptor(c), listener->is_unix);
    sup->Reap();
  }
  sup->StopAll();
  sup->JoinAll();
  Debug("stopped by a signal; exiting");
  ExitConfined(0);
}

}  // namespace fsgofer
