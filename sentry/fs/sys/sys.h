// sys: a minimal sysfs, registered as "sysfs".
//
// /sys/devices/system/cpu/{online,possible,present} and cpuN/ from the
// machine facts (proc::MachineInfoSource), /sys/kernel/, /sys/fs/cgroup
// (an empty mount point), and empty /sys/class and /sys/block, with
// Linux's modes. Read-only.
#ifndef SENTRY_FS_SYS_SYS_H_
#define SENTRY_FS_SYS_SYS_H_

#include <string>

#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/proc/process.h"

namespace sentry::fs::sys {

// machine: null for proc::DefaultMachineInfo(); must outlive the instance.
ErrnoOr<RefPtr<Inode>> NewSysRoot(const Context& ctx,
                                  const proc::MachineInfoSource* machine,
                                  const MountSourceFlags& flags = {},
                                  std::string device = "sysfs");

// "0\n" for one CPU, "0-N\n" for more: the cpu list format of sysfs.
std::string CpuList(int cpus);

}  // namespace sentry::fs::sys

#endif  // SENTRY_FS_SYS_SYS_H_
