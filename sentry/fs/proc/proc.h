// proc: the process information filesystem, registered as "proc".
//
// Every file is generated from live state when it is opened: the mount
// namespace for mounts and mountinfo, the embedder's ProcessTable for
// /proc/[pid], its MachineInfoSource for meminfo, cpuinfo, stat, uptime,
// loadavg, version and /proc/sys, the filesystem registry for
// /proc/filesystems. Formats follow Linux (fs/proc/*.c, fs/proc_namespace.c).
//
// A "proc" mount made through the registry (mount -t proc) shows the
// default table and machine source (process.h); an embedder with several
// pid namespaces builds roots with NewProcRoot.
#ifndef SENTRY_FS_PROC_PROC_H_
#define SENTRY_FS_PROC_PROC_H_

#include <string>
#include <vector>

#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/proc/process.h"

namespace sentry::fs::proc {

// The root of a new proc instance showing table (may be null: no
// processes) and machine (null: DefaultMachineInfo()). Both must outlive
// the instance. fs is the Filesystem to report (null: the registered
// "proc").
ErrnoOr<RefPtr<Inode>> NewProcRoot(const Context& ctx,
                                   const ProcessTable* table,
                                   const MachineInfoSource* machine,
                                   const MountSourceFlags& flags = {},
                                   std::string device = "proc");

// The formatters behind the files, for tests and other embedders.
// Linux's octal escaping of ' ', '\t', '\n' and '\\' (mangle()).
std::string EscapeMountField(std::string_view s);
// "rw,nosuid,nodev,noexec,relatime": the per-mount options of mountinfo.
std::string MountOptions(const MountInfo& mi);
// "rw" + ",sync" + the filesystem's own options: mountinfo's super options.
std::string SuperOptions(const MountInfo& mi);
std::string FormatMountInfo(const std::vector<MountInfo>& mounts);
std::string FormatMounts(const std::vector<MountInfo>& mounts);
std::string FormatFilesystems();
std::string FormatStatus(const ProcessInfo& p);
std::string FormatStat(const ProcessInfo& p, const MachineInfo& m);
std::string FormatStatm(const ProcessInfo& p);
std::string FormatLimits(const ProcessInfo& p);
std::string FormatIdMap(const std::vector<kernel::auth::IdMapEntry>& map);
std::string FormatMeminfo(const MachineInfo& m);
std::string FormatCpuinfo(const MachineInfo& m);
std::string FormatProcStat(const MachineInfo& m, int processes, int running);
std::string FormatUptime(const MachineInfo& m);
std::string FormatLoadavg(const MachineInfo& m, int running, int total,
                          int last_pid);
std::string FormatVersion(const MachineInfo& m);
// What /proc/[pid]/fd/N reads as: the path from p's root, or
// "pipe:[ino]", "socket:[ino]", "anon_inode:..." for files with no path.
std::string FdLinkTarget(const File& f, const ProcessInfo& p);
std::string FormatFdinfo(const FdEntry& e);

}  // namespace sentry::fs::proc

#endif  // SENTRY_FS_PROC_PROC_H_
