// What /proc shows, as the embedding kernel supplies it.
//
// The proc filesystem knows no kernel: it asks a ProcessTable for the
// processes and a MachineInfoSource for the machine facts (CPU count,
// memory, uptime, uname strings) and formats them as Linux does. An
// embedder (sentry/kernel, or testutil's fake) implements these; the host's
// /proc is never read to produce a sandbox's file.
//
// Thread-safe: implementations must allow concurrent calls.
#ifndef SENTRY_FS_PROC_PROCESS_H_
#define SENTRY_FS_PROC_PROCESS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/linux/linux.h"
#include "base/refcount.h"
#include "sentry/fs/file.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"

namespace sentry::fs::proc {

// One open descriptor, as /proc/[pid]/fd and fdinfo show it.
struct FdEntry {
  int fd;
  base::RefPtr<File> file;
  bool cloexec = false;
};

// Memory figures of a process, in bytes (status, stat, statm).
struct MemoryUsage {
  uint64_t vm_size = 0;
  uint64_t vm_peak = 0;
  uint64_t vm_rss = 0;
  uint64_t vm_hwm = 0;
  uint64_t vm_data = 0;
  uint64_t vm_stack = 0;
  uint64_t vm_exe = 0;
  uint64_t vm_lib = 0;
  uint64_t shared = 0;
};

// One process, as /proc/[pid] shows it. Values are read at the time of
// the call (a /proc file is generated when it is opened).
class ProcessInfo {
 public:
  virtual ~ProcessInfo() = default;
  virtual int32_t pid() const = 0;
  virtual int32_t tgid() const { return pid(); }
  virtual int32_t ppid() const = 0;
  virtual int32_t pgrp() const { return pid(); }
  virtual int32_t session() const { return pid(); }
  virtual std::vector<std::string> argv() const = 0;
  virtual std::vector<std::string> envp() const = 0;
  // At most 15 bytes, as TASK_COMM_LEN.
  virtual std::string comm() const = 0;
  // 'R', 'S', 'D', 'Z', 'T', ...
  virtual char state() const { return 'R'; }
  virtual kernel::auth::Credentials creds() const = 0;
  virtual uint32_t umask() const = 0;
  virtual Path root() const = 0;
  virtual Path cwd() const = 0;
  virtual base::RefPtr<MountNamespace> mount_namespace() const = 0;
  // Open descriptors, ascending.
  virtual std::vector<FdEntry> fds() const = 0;
  // The FD table's size (status FDSize).
  virtual int fd_table_size() const { return 64; }
  // The executable's path; empty if there is none (readlink: ENOENT).
  virtual std::string exe() const = 0;
  // The user namespace's maps; default: the identity over all ids.
  virtual std::vector<kernel::auth::IdMapEntry> uid_map() const {
    return {{0, 0, 4294967295u}};
  }
  virtual std::vector<kernel::auth::IdMapEntry> gid_map() const {
    return {{0, 0, 4294967295u}};
  }
  virtual int threads() const { return 1; }
  // Clock ticks (USER_HZ) after boot at which the process started.
  virtual uint64_t start_time_ticks() const { return 0; }
  // CPU time used, in clock ticks.
  virtual uint64_t utime_ticks() const { return 0; }
  virtual uint64_t stime_ticks() const { return 0; }
  virtual MemoryUsage memory() const { return {}; }
  // Resource limits by RLIMIT_* number (limits); default: all unlimited.
  virtual std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits> rlimits()
      const {
    return {};
  }
};

using ProcessRef = std::shared_ptr<const ProcessInfo>;

// The processes of one pid namespace.
class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  // Null if there is no such process.
  virtual ProcessRef Find(int32_t pid) const = 0;
  // Every pid, ascending.
  virtual std::vector<int32_t> Pids() const = 0;
};

// The facts a container may see of its machine.
struct MachineInfo {
  int cpus = 1;
  uint64_t mem_total = 0;  // bytes
  uint64_t mem_free = 0;
  uint64_t mem_available = 0;
  uint64_t buffers = 0;
  uint64_t cached = 0;
  uint64_t swap_total = 0;
  uint64_t swap_free = 0;
  double uptime = 0;  // seconds
  double idle = 0;    // seconds, summed over CPUs
  double loadavg[3] = {0, 0, 0};
  int64_t boot_time = 0;  // seconds since the epoch
  std::string hostname = "localhost";
  std::string ostype = "Linux";
  std::string osrelease = "4.4.0";
  std::string version = "#1 SMP Sun Jan 10 15:06:54 PST 2016";
  std::string cpu_vendor = "GenuineIntel";
  std::string cpu_model_name = "unknown";
  int cpu_family = 6;
  int cpu_model = 0;
  int cpu_stepping = 0;
  double cpu_mhz = 0;
  std::string cpu_flags = "fpu";
  uint64_t nr_open = 1048576;
  uint64_t file_max = 9223372036854775807ull;
};

class MachineInfoSource {
 public:
  virtual ~MachineInfoSource() = default;
  virtual MachineInfo Get() const = 0;
};

// The machine facts of the host, from sysconf, sysinfo, uname and cpuid
// (never from the host's /proc).
const MachineInfoSource& HostMachineInfo();

// What a "proc" mount made through the registry shows. Both must outlive
// every proc instance made while they are set. Null table: no processes.
void SetDefaultProcessTable(const ProcessTable* table);
const ProcessTable* DefaultProcessTable();
// Null restores HostMachineInfo().
void SetDefaultMachineInfo(const MachineInfoSource* src);
const MachineInfoSource& DefaultMachineInfo();

}  // namespace sentry::fs::proc

#endif  // SENTRY_FS_PROC_PROCESS_H_
