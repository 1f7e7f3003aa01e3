#include "runsc/fuse/mount.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runsc/fuse/server.h"
#include "runsc/sandbox/compose.h"

namespace runsc::fuse {

namespace {

struct MountFlags {
  sandbox::SourceFlags source;
  bool daemon = false;
  std::vector<std::string> options;
  std::string mountpoint;
};

int Usage(const std::string& msg) {
  std::fprintf(stderr, "runsc mount: %s (see \"runsc help mount\")\n",
               msg.c_str());
  return 2;
}

// 0, or 2 after printing the usage error.
int ParseFlags(int argc, char** argv, MountFlags* f) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) positional.push_back(argv[i]);
      break;
    }
    if (a.empty() || a[0] != '-') {
      positional.push_back(std::string(a));
      continue;
    }
    if (a == "--daemon") {
      f->daemon = true;
      continue;
    }
    if (a == "-o") {
      if (i + 1 >= argc) return Usage("-o needs options");
      f->options.push_back(argv[++i]);
      continue;
    }
    if (a.rfind("-o", 0) == 0 && a.size() > 2) {
      f->options.push_back(std::string(a.substr(2)));
      continue;
    }
    switch (sandbox::ParseSourceFlag("mount", argc, argv, &i, &f->source)) {
      case sandbox::FlagResult::kTaken:
        continue;
      case sandbox::FlagResult::kUsageError:
        return 2;
      case sandbox::FlagResult::kNotMine:
        return Usage(absl::StrCat("unknown flag \"",
                                  absl::string_view(a.data(), a.size()), "\""));
    }
  }
  if (!sandbox::CheckSourceFlags("mount", f->source)) return 2;
  if (positional.size() != 1) return Usage("expected one MOUNTPOINT");
  f->mountpoint = positional[0];
  return 0;
}

std::vector<sentry::kernel::auth::IdMapEntry> IdMap(
    const google::protobuf::RepeatedPtrField<specutils::IDMapping>& m) {
  std::vector<sentry::kernel::auth::IdMapEntry> out;
  for (const specutils::IDMapping& e : m) {
    out.push_back({e.containerid(), e.hostid(), e.size()});
  }
  return out;
}

// --daemon: the parent waits on a pipe for the child's word that the
// mount is ready (or why it failed), then exits with that outcome.
// Returns the write end in the child, -1 without --daemon; the parent
// never returns.
int Daemonize(bool daemon) {
  if (!daemon) return -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    std::perror("runsc mount: pipe");
    _exit(1);
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("runsc mount: fork");
    _exit(1);
  }
  if (pid > 0) {
    close(p[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof(buf))) > 0 ||
           (n < 0 && errno == EINTR)) {
      if (n > 0) msg.append(buf, n);
    }
    if (msg == "ready") _exit(0);
    if (msg.empty()) msg = "the server exited before the mount was ready";
    std::fprintf(stderr, "runsc mount: %s\n", msg.c_str());
    _exit(1);
  }
  close(p[0]);
  setsid();
  return p[1];
}

// Reports a failure: to the waiting parent (--daemon) or stderr.
int Fail(int notify_fd, const std::string& msg) {
  if (notify_fd >= 0) {
    (void)!write(notify_fd, msg.data(), msg.size());
    close(notify_fd);
  } else {
    std::fprintf(stderr, "runsc mount: %s\n", msg.c_str());
  }
  return 1;
}

int Run(MountFlags f) {
  struct stat st;
  if (stat(f.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(-1, absl::StrCat("mount point ", f.mountpoint, ": ",
                                 std::strerror(errno ? errno : ENOTDIR)));
  }
  // Absolute, so that unmounting does not depend on the working directory
  // (a daemon leaves it).
  if (char* abs = realpath(f.mountpoint.c_str(), nullptr)) {
    f.mountpoint = abs;
    free(abs);
  }
  const int notify_fd = Daemonize(f.daemon);
  // Threads made while composing (the 9P clients') and libfuse's workers
  // keep these blocked, so the signal reaches the thread that waits for
  // the loop to end.
  sigset_t stop;
  sigemptyset(&stop);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop, s);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto sb = sandbox::Sandbox::Compose(f.source);
  if (!sb.ok()) return Fail(notify_fd, std::string(sb.status().message()));
  int status = 0;
  {
    ServerOptions opts;
    opts.uid_map = IdMap((*sb)->spec().linux().uidmappings());
    opts.gid_map = IdMap((*sb)->spec().linux().gidmappings());
    Server server((*sb)->mount_namespace(), opts);
    absl::Status ms = server.Mount(f.mountpoint, f.options);
    // libfuse leaves an ignored signal ignored (as a shell's `&` leaves
    // SIGINT); we promise that SIGINT and SIGTERM unmount.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (ms.ok()) ms = server.HandleSignals();
    if (!ms.ok()) return Fail(notify_fd, std::string(ms.message()));
    pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
    sandbox::Log("debug", absl::StrCat("serving at ", f.mountpoint));
    if (notify_fd >= 0) {
      int null = open("/dev/null", O_RDWR);
      (void)!write(notify_fd, "ready", 5);
      close(notify_fd);
      if (null >= 0) {
        for (int fd = 0; fd <= 2; ++fd) dup2(null, fd);
        if (null > 2) close(null);
      }
      // Hold no directory busy (the gofers have their roots already).
      (void)!chdir("/");
    }
    int r = server.Serve();
    if (r < 0) {
      sandbox::Log("warning",
                   absl::StrCat("serving ended: ", std::strerror(-r)));
      status = 1;
    }
    server.Unmount();
  }
  sb->reset();  // stops the gofers
  sandbox::Log("debug", "unmounted");
  return status;
}

}  // namespace

const char* MountUsage() {
  static const std::string usage = absl::StrCat(
      "runsc mount ", sandbox::kSourceFlagsUsage,
      "\n         [--daemon] [-o OPTIONS]... [--] MOUNTPOINT\n"
      "  Composes a sandbox's filesystem as `runsc do` does and serves it\n"
      "  at MOUNTPOINT through FUSE, in the foreground until unmounted\n"
      "  (umount, fusermount3 -u) or until SIGINT/SIGTERM, which unmount\n"
      "  and stop the gofers. --daemon returns once the mount is ready and\n"
      "  serves in the background. -o passes FUSE mount options through\n"
      "  (allow_other, ro, dev, suid, ...; default_permissions is refused:\n"
      "  the sandbox checks permissions itself, as the caller's uid, gid\n"
      "  and groups, mapped through the spec's uid/gid mappings).\n"
      "  Exit status: 0 after a clean unmount, 1 on failure, 2 for usage\n"
      "  errors.\n");
  return usage.c_str();
}

int MountMain(int argc, char** argv) {
  MountFlags f;
  if (int r = ParseFlags(argc, argv, &f); r != 0) return r;
  return Run(f);
}

}  // namespace runsc::fuse
