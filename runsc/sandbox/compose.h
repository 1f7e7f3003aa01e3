// Composing a sandbox's filesystem, shared by `runsc do` and `runsc mount`.
//
// The source flags (--bundle, --rootfs, --root-9p, --overlay, --ro,
// --file-access, --mount, --debug, --log-format) choose a spec; Sandbox
// starts one `runsc gofer` child per rootfs and bind mount on socketpairs
// (as runsc does), boots the mount namespace with runsc/boot and registers
// the spec's process as pid 1 for /proc. The gofers stop when the Sandbox
// goes, and on SIGINT/SIGTERM if the command asks for ExitOnSignal.
//
// One Sandbox per process (the gofer list is process-wide so that a signal
// handler can reach it). Not thread-safe: compose and destroy on one thread.
#ifndef RUNSC_SANDBOX_COMPOSE_H_
#define RUNSC_SANDBOX_COMPOSE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/refcount.h"
#include "runsc/boot/fs.h"
#include "runsc/specutils/specutils.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"
#include "sentry/kernel/process_table.h"
#include "sentry/kernel/task.h"

namespace runsc::sandbox {

// What the sandbox's filesystem is made of.
struct SourceFlags {
  std::string bundle, rootfs, root_9p, root_aname;
  bool overlay = false, ro = false;
  boot::FileAccess access = boot::FileAccess::kExclusive;
  std::vector<std::string> mounts;
};

// The usage lines of the source flags, for the subcommands' help.
inline constexpr char kSourceFlagsUsage[] =
    "[--bundle=DIR | --rootfs=DIR | --root-9p=ADDR[,aname=PATH]]\n"
    "         [--overlay] [--ro] [--file-access=exclusive|shared]\n"
    "         [--mount=TYPE:SRC:DST[:OPTS]]... [--debug]\n"
    "         [--log-format=text|json]";

enum class FlagResult { kNotMine, kTaken, kUsageError };

// Parses argv[*i] as a source or logging flag ("--name=value" or "--name
// value", which advances *i). kUsageError after printing "runsc CMD: ..."
// to stderr; kNotMine leaves *i alone for the caller's own flags.
FlagResult ParseSourceFlag(std::string_view cmd, int argc, char** argv, int* i,
                           SourceFlags* f);
// Checks the flags together (the sources are exclusive); false after
// printing the problem.
bool CheckSourceFlags(std::string_view cmd, const SourceFlags& f);

// Logging as --debug and --log-format asked: level "debug", "warning", ...
void Log(const char* level, std::string_view msg);

// SIGINT and SIGTERM stop the gofers and exit 128+signal (runsc do).
void ExitOnSignal();

class Sandbox {
 public:
  // Builds the spec from f, starts the gofers and boots the namespace. On
  // error the gofers already started are stopped and the message says
  // what failed (bad spec, missing rootfs, boot error).
  static absl::StatusOr<std::unique_ptr<Sandbox>> Compose(const SourceFlags& f);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const specutils::Spec& spec() const { return spec_; }
  const base::RefPtr<sentry::fs::MountNamespace>& mount_namespace() const {
    return ns_;
  }
  // The spec's process user, as the sandbox's kernel sees it.
  const sentry::kernel::auth::Credentials& process_creds() const {
    return creds_;
  }
  // pid 1: the spec's process, at the spec's cwd; /proc/self of contexts
  // with pid 1 is this task.
  sentry::kernel::Task& init() { return *init_; }

 private:
  Sandbox() = default;

  specutils::Spec spec_;
  sentry::kernel::auth::Credentials creds_;
  sentry::kernel::TaskProcessTable procs_;
  base::RefPtr<sentry::fs::MountNamespace> ns_;
  std::unique_ptr<sentry::kernel::Task> init_;
};

// Stops every gofer child this process started (also done by ~Sandbox).
void StopGofers();

}  // namespace runsc::sandbox

#endif  // RUNSC_SANDBOX_COMPOSE_H_
