#include "runsc/sandbox/compose.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runsc/logging/log.h"
#include "sentry/fs/proc/process.h"

namespace runsc::sandbox {

namespace {

using specutils::Spec;

absl::Status Error(const std::string& msg) {
  return absl::FailedPreconditionError(msg);
}

// ---- Gofer children.

std::vector<pid_t> g_gofers;

void OnSignal(int sig) {
  // Only async-signal-safe calls: stop the children, then go.
  for (pid_t p : g_gofers) kill(p, SIGTERM);
  for (pid_t p : g_gofers) waitpid(p, nullptr, 0);
  _exit(128 + sig);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status))
    return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return "unknown status";
}

// Starts `runsc gofer --root=dir --io-fds=3 --status-fd=4` on a
// socketpair and waits until it is confined and serving; returns our end,
// or -1 with the reason in *err (the gofer's own error line when it has
// one).
int StartGofer(const std::string& self, const std::string& dir, bool ro,
               std::string* err) {
  int sv[2], st[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    *err = absl::StrCat("socketpair: ", std::strerror(errno));
    return -1;
  }
  if (pipe2(st, O_CLOEXEC) != 0) {
    *err = absl::StrCat("pipe: ", std::strerror(errno));
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  // SIGINT/SIGTERM held until the child is in g_gofers, so that OnSignal
  // never misses one (nor sees the vector mid-change).
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, &old);
  pid_t pid = fork();
  if (pid < 0) {
    *err = absl::StrCat("fork: ", std::strerror(errno));
    sigprocmask(SIG_SETMASK, &old, nullptr);
    for (int fd : {sv[0], sv[1], st[0], st[1]}) close(fd);
    return -1;
  }
  if (pid == 0) {
    // Not runsc's OnSignal in here: the gofer handles its own. And no
    // blocked signals either (runsc mount blocks them for its threads):
    // the gofer is stopped with SIGTERM.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Out of the way of 3 and 4 first; dup2 clears close-on-exec.
    int s = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    int w = fcntl(st[1], F_DUPFD_CLOEXEC, 10);
    if (s < 0 || w < 0 || dup2(s, 3) < 0 || dup2(w, 4) < 0) _exit(127);
    std::string root = "--root=" + dir;
    std::vector<const char*> args = {"runsc", "gofer", root.c_str(),
                                     "--io-fds=3", "--status-fd=4"};
    if (ro) args.push_back("--ro");
    if (logging::DebugEnabled()) args.push_back("--debug");
    if (logging::JsonEnabled()) args.push_back("--log-format=json");
    args.push_back(nullptr);
    execv(self.c_str(), const_cast<char* const*>(args.data()));
    std::string msg =
        absl::StrCat("error: exec ", self, ": ", std::strerror(errno), "\n");
    (void)!write(4, msg.data(), msg.size());
    _exit(127);
  }
  close(sv[1]);
  close(st[1]);
  g_gofers.push_back(pid);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  // "ready", or "error: MSG", or nothing if it died first.
  std::string status;
  char buf[512];
  for (;;) {
    ssize_t n = read(st[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    status.append(buf, static_cast<size_t>(n));
  }
  close(st[0]);
  while (!status.empty() && status.back() == '\n') status.pop_back();
  if (status == "ready") {
    Log("debug",
        absl::StrCat("gofer ", pid, " serving ", dir, ro ? " (ro)" : ""));
    return sv[0];
  }
  close(sv[0]);
  if (status.rfind("error: ", 0) == 0) {
    status = status.substr(7);
  } else {
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    g_gofers.pop_back();
    sigprocmask(SIG_SETMASK, &old, nullptr);
    status =
        absl::StrCat("exited before it was ready (", DescribeExit(ws), ")");
  }
  *err = absl::StrCat("gofer for ", dir, ": ", status);
  return -1;
}

// A 9P server that accepts the connection but never answers would hang
// the boot: if it has not completed in this time, SIGALRM shuts the
// connection down, which fails the boot with a clear error. Generous for
// a server on another machine: attaching takes a handful of round trips.
constexpr unsigned kNinePAnswerSeconds = 10;
volatile sig_atomic_t g_nine_p_timed_out = 0;
int g_nine_p_fd = -1;

void OnAlarm(int) {
  g_nine_p_timed_out = 1;
  if (g_nine_p_fd >= 0) shutdown(g_nine_p_fd, SHUT_RDWR);
}

// Connects to a 9P server: tcp:HOST:PORT or unix:PATH.
int Dial(const std::string& addr, std::string* err) {
  if (addr.rfind("unix:", 0) == 0) {
    std::string path = addr.substr(5);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) {
      *err = "unix socket path too long";
      close(fd);
      return -1;
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      *err = absl::StrCat("connecting to ", addr, ": ", std::strerror(errno));
      close(fd);
      return -1;
    }
    return fd;
  }
  if (addr.rfind("tcp:", 0) == 0) {
    std::string hp = addr.substr(4);
    size_t colon = hp.rfind(':');
    if (colon == std::string::npos) {
      *err = "expected tcp:HOST:PORT, got " + addr;
      return -1;
    }
    std::string host = hp.substr(0, colon), port = hp.substr(colon + 1);
    if (!host.empty() && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (gai != 0) {
      *err = absl::StrCat("resolving ", addr, ": ", gai_strerror(gai));
      return -1;
    }
    int fd = -1;
    for (addrinfo* a = res; a; a = a->ai_next) {
      fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
      close(fd);
      fd = -1;
    }
    int e = errno;
    freeaddrinfo(res);
    if (fd < 0) {
      *err = absl::StrCat("connecting to ", addr, ": ", std::strerror(e));
    }
    return fd;
  }
  *err = "9P address must be tcp:HOST:PORT or unix:PATH, got " + addr;
  return -1;
}

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, n);
}

// False with errno set (ENOTDIR for an existing non-directory).
bool IsDir(const std::string& p) {
  struct stat st;
  if (stat(p.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return false;
  }
  return true;
}

// The spec the flags describe (step 1 of composing).
absl::StatusOr<Spec> BuildSpec(const SourceFlags& f, bool* host_root) {
  Spec spec;
  *host_root = false;
  if (!f.bundle.empty()) {
    auto s = specutils::ReadSpecFromBundle(f.bundle);
    if (!s.ok()) return s.status();
    spec = *s;
    std::string root = spec.root().path();
    if (!root.empty() && root[0] != '/') root = f.bundle + "/" + root;
    spec.mutable_root()->set_path(root);
  } else if (!f.rootfs.empty()) {
    spec = specutils::DefaultSpec(f.rootfs);
    spec.mutable_root()->set_readonly(false);
  } else {
    // Like gVisor's `runsc do`: the host's root, read-only, under a tmpfs.
    spec = specutils::DefaultSpec(f.root_9p.empty() ? "/" : f.root_9p);
    spec.mutable_root()->set_readonly(false);
    *host_root = f.root_9p.empty();
  }
  if (f.bundle.empty()) {
    // Our own default spec lists /dev mounts as runc's does; the sandbox
    // provides those itself, so they go quietly.
    auto* ms = spec.mutable_mounts();
    for (int i = ms->size() - 1; i >= 0; --i) {
      if (!specutils::IsSupportedDevMount(ms->Get(i))) ms->DeleteSubrange(i, 1);
    }
  }
  if (f.ro) spec.mutable_root()->set_readonly(true);
  for (const std::string& m : f.mounts) {
    std::vector<std::string> p = absl::StrSplit(m, absl::MaxSplits(':', 3));
    if (p.size() < 3 || p[2].empty() || p[2][0] != '/') {
      return Error("--mount=" + m +
                   ": expected TYPE:SRC:DST[:OPTS] with an "
                   "absolute DST");
    }
    specutils::Mount* sm = spec.add_mounts();
    sm->set_type(p[0]);
    sm->set_source(p[1]);
    sm->set_destination(p[2]);
    if (p.size() == 4) {
      for (absl::string_view o : absl::StrSplit(p[3], ',', absl::SkipEmpty())) {
        sm->add_options(std::string(o));
      }
    }
  }
  return spec;
}

// The gofer connections, root first, then each bind mount in boot's order
// (step 2).
absl::StatusOr<std::vector<int>> StartGofers(const SourceFlags& f,
                                             const Spec& spec, bool host_root) {
  std::string self = SelfExe();
  std::vector<int> io_fds;
  auto fail = [&](const std::string& msg) {
    for (int fd : io_fds) close(fd);
    return Error(msg);
  };
  if (!f.root_9p.empty()) {
    std::string err;
    int fd = Dial(f.root_9p, &err);
    if (fd < 0) return fail(err);
    io_fds.push_back(fd);
  } else {
    const std::string& root = spec.root().path();
    if (!IsDir(root)) {
      return fail(absl::StrCat("rootfs ", root, ": ", std::strerror(errno)));
    }
    // The host's root is only ever read: the overlay takes the writes.
    std::string err;
    int fd = StartGofer(self, root, host_root || spec.root().readonly(), &err);
    if (fd < 0) return fail(err);
    io_fds.push_back(fd);
  }
  boot::BootLog log;
  for (const specutils::Mount& m : boot::CompileMounts(spec, &log)) {
    if (m.type() != "bind") continue;
    if (!IsDir(m.source())) {
      return fail(absl::StrCat("bind mount source ", m.source(), ": ",
                               std::strerror(errno)));
    }
    bool ro = false;
    for (const std::string& o : m.options()) ro |= o == "ro";
    std::string err;
    int fd = StartGofer(self, m.source(), ro, &err);
    if (fd < 0) return fail(err);
    io_fds.push_back(fd);
  }
  return io_fds;
}

}  // namespace

void Log(const char* level, std::string_view msg) {
  logging::Log("runsc", level, msg);
}

void StopGofers() {
  for (pid_t p : g_gofers) kill(p, SIGTERM);
  for (pid_t p : g_gofers) {
    int status = 0;
    while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
    }
    Log("debug",
        absl::StrCat("gofer ", p, " stopped (", DescribeExit(status), ")"));
  }
  g_gofers.clear();
}

void ExitOnSignal() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

FlagResult ParseSourceFlag(std::string_view cmd, int argc, char** argv, int* i,
                           SourceFlags* f) {
  const std::string_view a = argv[*i];
  auto value = [&](std::string_view name, std::string* out) -> bool {
    std::string prefix =
        absl::StrCat("--", absl::string_view(name.data(), name.size()), "=");
    if (a.rfind(prefix, 0) == 0) {
      *out = std::string(a.substr(prefix.size()));
      return true;
    }
    if (a == prefix.substr(0, prefix.size() - 1) && *i + 1 < argc) {
      *out = argv[++*i];
      return true;
    }
    return false;
  };
  auto usage = [&](const std::string& msg) {
    std::fprintf(stderr, "runsc %.*s: %s\n", static_cast<int>(cmd.size()),
                 cmd.data(), msg.c_str());
    return FlagResult::kUsageError;
  };
  std::string v;
  if (value("bundle", &f->bundle) || value("rootfs", &f->rootfs)) {
    return FlagResult::kTaken;
  }
  if (value("root-9p", &v)) {
    std::vector<std::string> parts = absl::StrSplit(v, ',');
    f->root_9p = parts[0];
    for (size_t k = 1; k < parts.size(); ++k) {
      if (parts[k].rfind("aname=", 0) == 0) {
        f->root_aname = parts[k].substr(6);
      } else {
        return usage("--root-9p: unknown option \"" + parts[k] + "\"");
      }
    }
    return FlagResult::kTaken;
  }
  if (value("file-access", &v)) {
    if (v == "exclusive") {
      f->access = boot::FileAccess::kExclusive;
    } else if (v == "shared") {
      f->access = boot::FileAccess::kShared;
    } else {
      return usage("--file-access must be exclusive or shared");
    }
    return FlagResult::kTaken;
  }
  if (value("mount", &v)) {
    f->mounts.push_back(v);
    return FlagResult::kTaken;
  }
  if (value("log-format", &v)) {
    if (v != "text" && v != "json") {
      return usage("--log-format must be text or json");
    }
    logging::SetJson(v == "json");
    return FlagResult::kTaken;
  }
  if (a == "--overlay") {
    f->overlay = true;
  } else if (a == "--ro") {
    f->ro = true;
  } else if (a == "--debug") {
    logging::SetDebug(true);
  } else {
    return FlagResult::kNotMine;
  }
  return FlagResult::kTaken;
}

bool CheckSourceFlags(std::string_view cmd, const SourceFlags& f) {
  int sources = !f.bundle.empty() + !f.rootfs.empty() + !f.root_9p.empty();
  if (sources > 1) {
    std::fprintf(stderr,
                 "runsc %.*s: --bundle, --rootfs and --root-9p are exclusive\n",
                 static_cast<int>(cmd.size()), cmd.data());
    return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Compose(
    const SourceFlags& f) {
  bool host_root;
  auto spec = BuildSpec(f, &host_root);
  if (!spec.ok()) return spec.status();
  boot::Config conf;
  conf.file_access = f.access;
  conf.overlay = f.overlay || host_root;
  conf.root_aname = f.root_aname;

  auto io_fds = StartGofers(f, *spec, host_root);
  if (!io_fds.ok()) {
    StopGofers();
    return io_fds.status();
  }

  // Boot, as root; the spec's user is the sandbox's process.
  std::unique_ptr<Sandbox> sb(new Sandbox());
  sb->spec_ = *std::move(spec);
  sentry::fs::proc::SetDefaultProcessTable(&sb->procs_);
  sentry::context::Context root_ctx(sentry::kernel::auth::Credentials::Root());
  boot::BootLog blog;
  if (!f.root_9p.empty()) {
    g_nine_p_fd = (*io_fds)[0];
    struct sigaction sa {};
    sa.sa_handler = OnAlarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, nullptr);
    alarm(kNinePAnswerSeconds);
  }
  auto ns =
      boot::CreateMountNamespace(root_ctx, sb->spec_, conf, *io_fds, &blog);
  alarm(0);
  g_nine_p_fd = -1;
  for (int fd : *io_fds) close(fd);  // the 9P client holds its own
  if (g_nine_p_timed_out) {
    sentry::fs::proc::SetDefaultProcessTable(nullptr);
    sb.reset();
    StopGofers();
    return Error(absl::StrCat("9P server at ", f.root_9p,
                              " did not answer within ", kNinePAnswerSeconds,
                              " s"));
  }
  for (const std::string& w : blog.warnings) Log("warning", w);
  for (const std::string& d : blog.debug) Log("debug", d);
  if (!ns.ok()) {
    sentry::fs::proc::SetDefaultProcessTable(nullptr);
    sb.reset();
    StopGofers();
    return ns.status();
  }
  sb->ns_ = *std::move(ns);
  const specutils::User& u = sb->spec_.process().user();
  sentry::kernel::auth::Credentials creds =
      u.uid() == 0
          ? sentry::kernel::auth::Credentials::Root()
          : sentry::kernel::auth::Credentials::User(
                u.uid(), u.gid(),
                {u.additionalgids().begin(), u.additionalgids().end()});
  if (u.uid() == 0 && u.gid() != 0) {
    creds.gid = creds.egid = creds.fsgid = u.gid();
  }
  sb->creds_ = creds;
  sb->init_ = std::make_unique<sentry::kernel::Task>(sb->ns_, creds, /*pid=*/1);
  // process.rlimits, set as runc sets them: before privileges drop, so a
  // hard limit may go up; a value the kernel would refuse (soft above
  // hard, RLIMIT_NOFILE past fs.nr_open) fails the start.
  for (const specutils::POSIXRlimit& r : sb->spec_.process().rlimits()) {
    const int res = specutils::RlimitResource(r.type());  // ParseSpec checked
    base::Errno e = sb->init_->SetRlimitForRuntime(res, {r.soft(), r.hard()});
    if (!e.ok()) {
      const std::string what =
          absl::StrCat("process.rlimits: ", r.type(), " soft ", r.soft(),
                       " hard ", r.hard(), ": ", std::strerror(e.value()));
      sb.reset();  // stops the gofers (and frees r)
      return Error(what);
    }
  }
  sentry::kernel::TaskProcessOptions popts;
  popts.argv = {sb->spec_.process().args().begin(),
                sb->spec_.process().args().end()};
  popts.envp = {sb->spec_.process().env().begin(),
                sb->spec_.process().env().end()};
  popts.exe = "/proc/self/exe";
  sb->procs_.Add(sb->init_.get(), popts);
  if (!sb->spec_.process().cwd().empty()) {
    long r = sb->init_->Chdir(sb->spec_.process().cwd().c_str());
    if (r < 0) {
      Log("warning", absl::StrCat("cwd ", sb->spec_.process().cwd(), ": ",
                                  std::strerror(-r)));
    }
  }
  return sb;
}

Sandbox::~Sandbox() {
  if (init_) {
    procs_.Remove(1);
    init_.reset();
  }
  if (ns_) sentry::fs::proc::SetDefaultProcessTable(nullptr);
  ns_.reset();
  StopGofers();
}

}  // namespace runsc::sandbox
