#include "sentry/fs/proc/proc.h"

#include <fcntl.h>

#include <cinttypes>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sentry/fs/proc/nodes.h"

namespace sentry::fs::proc {

namespace {

using kernel::auth::IdMapEntry;

constexpr uint64_t kPageSize = 4096;
constexpr int kClockTicks = 100;  // USER_HZ

// What every node of one instance needs.
struct ProcState {
  const ProcessTable* table;
  const MachineInfoSource* machine;
  RefPtr<MountSource> msrc;

  ProcessRef Find(int32_t pid) const {
    return table ? table->Find(pid) : nullptr;
  }
  std::vector<int32_t> Pids() const {
    return table ? table->Pids() : std::vector<int32_t>{};
  }
};
using State = std::shared_ptr<const ProcState>;

uint32_t MapId(const std::vector<IdMapEntry>& map, uint32_t kid) {
  for (const IdMapEntry& e : map) {
    if (kid >= e.outside && kid - e.outside < e.length) {
      return e.inside + (kid - e.outside);
    }
  }
  return 65534;  // the overflow id
}

std::string KB(uint64_t bytes) {
  return absl::StrFormat("%8u kB", bytes / 1024);
}

std::string Centi(double v) {
  if (v < 0) v = 0;
  uint64_t c = static_cast<uint64_t>(v * 100 + 0.5);
  return absl::StrFormat("%u.%02u", c / 100, c % 100);
}

}  // namespace

// ---- Formatters.

std::string EscapeMountField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      absl::StrAppendFormat(&out, "\\%03o", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
// show_mnt_opts: nosuid, nodev, noexec, then the atime policy.
std::string MountFlagOptions(const MountInfo& mi) {
  std::string out;
  if (mi.flags.no_suid || mi.source_flags.no_suid) out += ",nosuid";
  if (mi.flags.no_dev || mi.source_flags.no_dev) out += ",nodev";
  if (mi.flags.no_exec || mi.source_flags.no_exec) out += ",noexec";
  if (mi.flags.no_atime || mi.source_flags.no_atime) {
    out += ",noatime";
  } else if (!mi.source_flags.strict_atime) {
    out += ",relatime";
  }
  return out;
}

// The filesystem's own options (after the leading "rw"/"ro").
std::string FsOptions(const MountInfo& mi) {
  std::string_view s = mi.super_options;
  if (s.substr(0, 2) == "rw" || s.substr(0, 2) == "ro") {
    s.remove_prefix(2);
    if (!s.empty() && s[0] == ',') s.remove_prefix(1);
  }
  return std::string(s);
}
}  // namespace

std::string MountOptions(const MountInfo& mi) {
  return std::string(mi.flags.read_only ? "ro" : "rw") + MountFlagOptions(mi);
}

std::string SuperOptions(const MountInfo& mi) {
  std::string out = mi.source_flags.read_only ? "ro" : "rw";
  if (mi.source_flags.synchronous) out += ",sync";
  std::string extra = FsOptions(mi);
  if (!extra.empty()) absl::StrAppend(&out, ",", extra);
  return out;
}

std::string FormatMountInfo(const std::vector<MountInfo>& mounts) {
  std::string out;
  for (const MountInfo& mi : mounts) {
    absl::StrAppendFormat(
        &out, "%d %d %u:%u %s %s %s - %s %s %s\n", mi.id, mi.parent_id,
        linux_abi::DevMajor(mi.dev), linux_abi::DevMinor(mi.dev),
        EscapeMountField(mi.root), EscapeMountField(mi.mount_point),
        MountOptions(mi), EscapeMountField(mi.fs_type),
        EscapeMountField(mi.source.empty() ? "none" : mi.source),
        SuperOptions(mi));
  }
  return out;
}

std::string FormatMounts(const std::vector<MountInfo>& mounts) {
  std::string out;
  for (const MountInfo& mi : mounts) {
    std::string opts =
        (mi.flags.read_only || mi.source_flags.read_only) ? "ro" : "rw";
    if (mi.source_flags.synchronous) opts += ",sync";
    opts += MountFlagOptions(mi);
    std::string extra = FsOptions(mi);
    if (!extra.empty()) absl::StrAppend(&opts, ",", extra);
    absl::StrAppendFormat(
        &out, "%s %s %s %s 0 0\n",
        EscapeMountField(mi.source.empty() ? "none" : mi.source),
        EscapeMountField(mi.mount_point), EscapeMountField(mi.fs_type), opts);
  }
  return out;
}

std::string FormatFilesystems() {
  std::string out;
  for (const Filesystem* fs : GetFilesystems()) {
    absl::StrAppend(&out,
                    (fs->Flags() & kFilesystemRequiresDev) ? "\t" : "nodev\t",
                    std::string(fs->Name()), "\n");
  }
  return out;
}

std::string FormatStatus(const ProcessInfo& p) {
  const kernel::auth::Credentials c = p.creds();
  const auto um = p.uid_map();
  const auto gm = p.gid_map();
  const MemoryUsage mem = p.memory();
  std::string comm = p.comm();
  std::string name;
  for (char ch : comm) {
    if (ch == '\n') {
      name += "\\n";
    } else if (ch == '\\') {
      name += "\\\\";
    } else {
      name += ch;
    }
  }
  std::string out;
  absl::StrAppend(&out, "Name:\t", name, "\n");
  absl::StrAppendFormat(&out, "Umask:\t%04o\n", p.umask());
  const char st = p.state();
  const char* st_name = st == 'R'   ? "running"
                        : st == 'S' ? "sleeping"
                        : st == 'D' ? "disk sleep"
                        : st == 'T' ? "stopped"
                        : st == 't' ? "tracing stop"
                        : st == 'Z' ? "zombie"
                        : st == 'X' ? "dead"
                                    : "idle";
  absl::StrAppendFormat(&out, "State:\t%c (%s)\n", st, st_name);
  absl::StrAppendFormat(&out, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n",
                        p.tgid(), p.pid(), p.ppid());
  absl::StrAppend(&out, "TracerPid:\t0\n");
  absl::StrAppendFormat(&out, "Uid:\t%u\t%u\t%u\t%u\n", MapId(um, c.uid),
                        MapId(um, c.euid), MapId(um, c.euid),
                        MapId(um, c.fsuid));
  absl::StrAppendFormat(&out, "Gid:\t%u\t%u\t%u\t%u\n", MapId(gm, c.gid),
                        MapId(gm, c.egid), MapId(gm, c.egid),
                        MapId(gm, c.fsgid));
  absl::StrAppendFormat(&out, "FDSize:\t%d\n", p.fd_table_size());
  out += "Groups:\t";
  for (size_t i = 0; i < c.groups.size(); ++i) {
    absl::StrAppend(&out, i ? " " : "", MapId(gm, c.groups[i]));
  }
  out += " \n";  // Linux's trailing space
  absl::StrAppendFormat(&out,
                        "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n",
                        p.tgid(), p.pid(), p.pgrp(), p.session());
  absl::StrAppend(&out, "VmPeak:\t", KB(mem.vm_peak), "\n");
  absl::StrAppend(&out, "VmSize:\t", KB(mem.vm_size), "\n");
  absl::StrAppend(&out, "VmLck:\t", KB(0), "\n");
  absl::StrAppend(&out, "VmPin:\t", KB(0), "\n");
  absl::StrAppend(&out, "VmHWM:\t", KB(mem.vm_hwm), "\n");
  absl::StrAppend(&out, "VmRSS:\t", KB(mem.vm_rss), "\n");
  absl::StrAppend(&out, "RssAnon:\t",
                  KB(mem.vm_rss - std::min(mem.vm_rss, mem.shared)), "\n");
  absl::StrAppend(&out, "RssFile:\t", KB(std::min(mem.vm_rss, mem.shared)),
                  "\n");
  absl::StrAppend(&out, "RssShmem:\t", KB(0), "\n");
  absl::StrAppend(&out, "VmData:\t", KB(mem.vm_data), "\n");
  absl::StrAppend(&out, "VmStk:\t", KB(mem.vm_stack), "\n");
  absl::StrAppend(&out, "VmExe:\t", KB(mem.vm_exe), "\n");
  absl::StrAppend(&out, "VmLib:\t", KB(mem.vm_lib), "\n");
  absl::StrAppend(&out, "VmPTE:\t", KB(0), "\n");
  absl::StrAppend(&out, "VmSwap:\t", KB(0), "\n");
  absl::StrAppendFormat(&out, "Threads:\t%d\n", p.threads());
  absl::StrAppend(&out, "SigPnd:\t0000000000000000\n");
  absl::StrAppend(&out, "ShdPnd:\t0000000000000000\n");
  absl::StrAppend(&out, "SigBlk:\t0000000000000000\n");
  absl::StrAppend(&out, "SigIgn:\t0000000000000000\n");
  absl::StrAppend(&out, "SigCgt:\t0000000000000000\n");
  const uint64_t caps = c.effective_caps.bits();
  absl::StrAppendFormat(&out, "CapInh:\t%016x\n", uint64_t{0});
  absl::StrAppendFormat(&out, "CapPrm:\t%016x\n", caps);
  absl::StrAppendFormat(&out, "CapEff:\t%016x\n", caps);
  absl::StrAppendFormat(&out, "CapBnd:\t%016x\n",
                        kernel::auth::CapabilitySet::All().bits());
  absl::StrAppendFormat(&out, "CapAmb:\t%016x\n", uint64_t{0});
  absl::StrAppend(&out, "NoNewPrivs:\t0\nSeccomp:\t0\n");
  absl::StrAppend(&out, "voluntary_ctxt_switches:\t0\n");
  absl::StrAppend(&out, "nonvoluntary_ctxt_switches:\t0\n");
  return out;
}

std::string FormatStat(const ProcessInfo& p, const MachineInfo&) {
  const MemoryUsage mem = p.memory();
  std::string comm = p.comm();
  // 52 fields, as fs/proc/array.c do_task_stat.
  return absl::StrFormat(
      "%d (%s) %c %d %d %d %d %d %u %u %u %u %u %u %u %d %d %d %d %d %d %u "
      "%u %u %u %u %u %u %u %u %u %u %u %u %u %u %u %d %d %u %u %u %u %d %u "
      "%u %u %u %u %u %u %d\n",
      p.pid(), comm, p.state(), p.ppid(), p.pgrp(), p.session(), 0 /*tty_nr*/,
      -1 /*tpgid*/, 4194304u /*PF_RANDOMIZE*/, 0u, 0u, 0u, 0u, p.utime_ticks(),
      p.stime_ticks(), 0, 0, 20 /*priority*/, 0 /*nice*/, p.threads(),
      0 /*itrealvalue*/, p.start_time_ticks(), mem.vm_size,
      mem.vm_rss / kPageSize, 18446744073709551615ull /*rsslim*/, 0u, 0u, 0u,
      0u, 0u, 0u /*signal*/, 0u, 0u, 0u, 0u /*wchan*/, 0u, 0u,
      17 /*exit_signal*/, 0 /*processor*/, 0u, 0u, 0u /*blkio*/, 0u, 0,
      0u /*start_data*/, 0u, 0u, 0u, 0u, 0u, 0u, 0 /*exit_code*/);
}

std::string FormatStatm(const ProcessInfo& p) {
  const MemoryUsage mem = p.memory();
  return absl::StrFormat("%u %u %u %u 0 %u 0\n", mem.vm_size / kPageSize,
                         mem.vm_rss / kPageSize, mem.shared / kPageSize,
                         mem.vm_exe / kPageSize,
                         (mem.vm_data + mem.vm_stack) / kPageSize);
}

std::string FormatLimits(const ProcessInfo& p) {
  std::string out = absl::StrFormat("%-25s %-20s %-20s %-10s\n", "Limit",
                                    "Soft Limit", "Hard Limit", "Units");
  const auto lims = p.rlimits();
  auto value = [&](uint64_t v) {
    if (v == linux_abi::kRlimInfinity) {
      absl::StrAppendFormat(&out, "%-20s ", "unlimited");
    } else {
      absl::StrAppendFormat(&out, "%-20u ", v);
    }
  };
  for (int r = 0; r < linux_abi::kRlimNlimits; ++r) {
    const linux_abi::RlimitName& n = linux_abi::kRlimitNames[r];
    absl::StrAppendFormat(&out, "%-25s ", n.row);
    value(lims[r].cur);
    value(lims[r].max);
    if (*n.unit != '\0') absl::StrAppendFormat(&out, "%-10s", n.unit);
    out += '\n';
  }
  return out;
}

std::string FormatIdMap(const std::vector<IdMapEntry>& map) {
  std::string out;
  for (const IdMapEntry& e : map) {
    absl::StrAppendFormat(&out, "%10u %10u %10u\n", e.inside, e.outside,
                          e.length);
  }
  return out;
}

std::string FormatMeminfo(const MachineInfo& m) {
  const uint64_t used = m.mem_total - std::min(m.mem_total, m.mem_free);
  const uint64_t anon = used - std::min(used, m.buffers + m.cached);
  struct Line {
    const char* key;
    uint64_t bytes;
  };
  const Line lines[] = {
      {"MemTotal", m.mem_total},
      {"MemFree", m.mem_free},
      {"MemAvailable", m.mem_available},
      {"Buffers", m.buffers},
      {"Cached", m.cached},
      {"SwapCached", 0},
      {"Active", anon + m.cached / 2},
      {"Inactive", m.cached - m.cached / 2},
      {"Active(anon)", anon},
      {"Inactive(anon)", 0},
      {"Active(file)", m.cached / 2},
      {"Inactive(file)", m.cached - m.cached / 2},
      {"Unevictable", 0},
      {"Mlocked", 0},
      {"SwapTotal", m.swap_total},
      {"SwapFree", m.swap_free},
      {"Dirty", 0},
      {"Writeback", 0},
      {"AnonPages", anon},
      {"Mapped", 0},
      {"Shmem", 0},
      {"KReclaimable", 0},
      {"Slab", 0},
      {"SReclaimable", 0},
      {"SUnreclaim", 0},
      {"KernelStack", 0},
      {"PageTables", 0},
      {"NFS_Unstable", 0},
      {"Bounce", 0},
      {"WritebackTmp", 0},
      {"CommitLimit", m.mem_total / 2 + m.swap_total},
      {"Committed_AS", anon},
      {"VmallocTotal", 34359738367ull * 1024},
      {"VmallocUsed", 0},
      {"VmallocChunk", 0},
      {"AnonHugePages", 0},
      {"ShmemHugePages", 0},
      {"ShmemPmdMapped", 0},
  };
  std::string out;
  for (const Line& l : lines) {
    // show_val_kb: the key and colon padded to 16, the value to 8.
    absl::StrAppendFormat(&out, "%-16s%8u kB\n", absl::StrCat(l.key, ":"),
                          l.bytes / 1024);
  }
  return out;
}

std::string FormatCpuinfo(const MachineInfo& m) {
  std::string out;
  for (int i = 0; i < m.cpus; ++i) {
    absl::StrAppendFormat(&out, "processor\t: %d\n", i);
    absl::StrAppendFormat(&out, "vendor_id\t: %s\n", m.cpu_vendor);
    absl::StrAppendFormat(&out, "cpu family\t: %d\n", m.cpu_family);
    absl::StrAppendFormat(&out, "model\t\t: %d\n", m.cpu_model);
    absl::StrAppendFormat(&out, "model name\t: %s\n", m.cpu_model_name);
    absl::StrAppendFormat(&out, "stepping\t: %d\n", m.cpu_stepping);
    absl::StrAppendFormat(&out, "cpu MHz\t\t: %.3f\n", m.cpu_mhz);
    absl::StrAppendFormat(&out, "physical id\t: 0\n");
    absl::StrAppendFormat(&out, "siblings\t: %d\n", m.cpus);
    absl::StrAppendFormat(&out, "core id\t\t: %d\n", i);
    absl::StrAppendFormat(&out, "cpu cores\t: %d\n", m.cpus);
    absl::StrAppendFormat(&out, "apicid\t\t: %d\n", i);
    absl::StrAppendFormat(&out, "initial apicid\t: %d\n", i);
    out += "fpu\t\t: yes\nfpu_exception\t: yes\n";
    out += "cpuid level\t: 13\nwp\t\t: yes\n";
    absl::StrAppendFormat(&out, "flags\t\t: %s\n", m.cpu_flags);
    absl::StrAppendFormat(&out, "bogomips\t: %.2f\n", m.cpu_mhz * 2);
    out += "clflush size\t: 64\ncache_alignment\t: 64\n";
    out += "address sizes\t: 46 bits physical, 48 bits virtual\n";
    out += "power management:\n\n";
  }
  return out;
}

std::string FormatProcStat(const MachineInfo& m, int processes, int running) {
  const int cpus = std::max(1, m.cpus);
  const uint64_t idle = static_cast<uint64_t>(m.idle * kClockTicks);
  std::string out;
  absl::StrAppendFormat(&out, "cpu  0 0 0 %u 0 0 0 0 0 0\n", idle);
  for (int i = 0; i < cpus; ++i) {
    absl::StrAppendFormat(&out, "cpu%d 0 0 0 %u 0 0 0 0 0 0\n", i, idle / cpus);
  }
  out += "intr 0\nctxt 0\n";
  absl::StrAppendFormat(&out, "btime %d\n", m.boot_time);
  absl::StrAppendFormat(&out, "processes %d\n", processes);
  absl::StrAppendFormat(&out, "procs_running %d\n", running);
  out += "procs_blocked 0\n";
  out += "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
  return out;
}

std::string FormatUptime(const MachineInfo& m) {
  return absl::StrCat(Centi(m.uptime), " ", Centi(m.idle), "\n");
}

std::string FormatLoadavg(const MachineInfo& m, int running, int total,
                          int last_pid) {
  return absl::StrFormat("%s %s %s %d/%d %d\n", Centi(m.loadavg[0]),
                         Centi(m.loadavg[1]), Centi(m.loadavg[2]), running,
                         total, last_pid);
}

std::string FormatVersion(const MachineInfo& m) {
  return absl::StrCat("Linux version ", m.osrelease, " (root@sentry) (gcc) ",
                      m.version, "\n");
}

std::string FdLinkTarget(const File& f, const ProcessInfo& p) {
  Inode* in = f.inode();
  Mount* m = f.mount();
  // An object with no file (AnonymousPath): the root of a private,
  // detached mount, named for what it is ("anon_inode:inotify").
  if (m == nullptr || (m->detached() && f.dirent() == m->root().get() &&
                       f.dirent()->IsRoot())) {
    if (in && in->type() == InodeType::kFifo) {
      return absl::StrCat("pipe:[", in->stable_attr().ino, "]");
    }
    if (in && in->type() == InodeType::kSocket) {
      return absl::StrCat("socket:[", in->stable_attr().ino, "]");
    }
    return f.dirent()->name();
  }
  RefPtr<MountNamespace> ns = p.mount_namespace();
  if (!ns) return f.dirent()->name();
  return ns->PathOf(Path{f.mount_ref(), f.dirent_ref()}, p.root());
}

std::string FormatFdinfo(const FdEntry& e) {
  int flags = e.file->flags() & ~(O_PATH | O_CLOEXEC);
  if (e.file->is_path()) flags = O_PATH;
  flags |= 0100000;  // O_LARGEFILE: every open on a 64-bit kernel has it
  if (e.cloexec) flags |= O_CLOEXEC;
  return absl::StrFormat(
      "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%u\n", e.file->offset(), flags,
      e.file->mount() ? e.file->mount()->id() : 0,
      e.file->inode() ? e.file->inode()->stable_attr().ino : 0);
}

// ---- The tree.

namespace {

ErrnoOr<ProcessRef> Need(const State& s, int32_t pid) {
  ProcessRef p = s->Find(pid);
  if (!p) return Errno(ESRCH);
  return p;
}

Owner ProcessOwner(const State& s, int32_t pid) {
  return [s, pid]() -> std::pair<uint32_t, uint32_t> {
    ProcessRef p = s->Find(pid);
    if (!p) return {0, 0};
    kernel::auth::Credentials c = p->creds();
    return {c.euid, c.egid};
  };
}

// A /proc/[pid] file generated by fn from the process.
template <typename Fn>
RefPtr<GenFile> PidFile(const State& s, int32_t pid, uint32_t perms, Fn fn,
                        int write_errno = EINVAL) {
  return NewFile(
      s->msrc, perms,
      [s, pid, fn](const Context& ctx) -> ErrnoOr<std::string> {
        ASSIGN_OR_RETURN(ProcessRef p, Need(s, pid));
        return fn(ctx, *p);
      },
      write_errno, ProcessOwner(s, pid));
}

template <typename Fn>
RefPtr<GenSymlink> PidLink(const State& s, int32_t pid, Fn fn,
                           uint32_t perms = 0777) {
  return NewSymlink(
      s->msrc,
      [s, pid, fn](const Context& ctx) -> ErrnoOr<std::string> {
        ASSIGN_OR_RETURN(ProcessRef p, Need(s, pid));
        return fn(ctx, *p);
      },
      perms, ProcessOwner(s, pid));
}

std::string NulJoined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& a : v) {
    out += a;
    out += '\0';
  }
  return out;
}

std::optional<FdEntry> FindFd(const ProcessInfo& p, int fd) {
  for (FdEntry& e : p.fds()) {
    if (e.fd == fd) return std::move(e);
  }
  return std::nullopt;
}

ErrnoOr<std::vector<std::string>> FdNames(const State& s, int32_t pid) {
  ASSIGN_OR_RETURN(ProcessRef p, Need(s, pid));
  std::vector<std::string> names;
  for (const FdEntry& e : p->fds()) names.push_back(std::to_string(e.fd));
  return names;
}

uint64_t MntNsId(const ProcessInfo& p) {
  RefPtr<MountNamespace> ns = p.mount_namespace();
  if (!ns) return 4026531841u;
  // Mount ids are global, so the root mount's names its namespace.
  return 4026532000u + static_cast<uint64_t>(ns->Root().mount->id());
}

RefPtr<Inode> MakePidDir(const State& s, int32_t pid) {
  auto dir = base::AdoptRef(new StaticDir(s->msrc, 0555, ProcessOwner(s, pid)));
  const RefPtr<MountSource>& m = s->msrc;
  dir->Add("cmdline",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             return NulJoined(p.argv());
           }));
  dir->Add("comm",
           PidFile(s, pid, 0644, [](const Context&, const ProcessInfo& p) {
             return p.comm().substr(0, 15) + "\n";
           }));
  dir->Add("cwd", PidLink(s, pid,
                          [](const Context&,
                             const ProcessInfo& p) -> ErrnoOr<std::string> {
                            RefPtr<MountNamespace> ns = p.mount_namespace();
                            Path cwd = p.cwd();
                            if (!ns || !cwd.valid()) return Errno(ENOENT);
                            return ns->PathOf(cwd, p.root());
                          }));
  dir->Add("environ",
           PidFile(s, pid, 0400, [](const Context&, const ProcessInfo& p) {
             return NulJoined(p.envp());
           }));
  dir->Add("exe", PidLink(s, pid,
                          [](const Context&,
                             const ProcessInfo& p) -> ErrnoOr<std::string> {
                            std::string e = p.exe();
                            if (e.empty()) return Errno(ENOENT);
                            return e;
                          }));
  // fd/: one link per descriptor, named by its number.
  auto fd_names = [s, pid](const Context&) { return FdNames(s, pid); };
  auto fd_dir = base::AdoptRef(new DynamicDir(
      m, 0500, fd_names,
      [s, pid](const std::string& name) -> RefPtr<Inode> {
        int fd = std::stoi(name);
        uint32_t perms = 0100;
        if (ProcessRef p = s->Find(pid)) {
          if (auto e = FindFd(*p, fd)) {
            if (e->file->readable()) perms |= 0400;
            if (e->file->writable()) perms |= 0200;
          }
        }
        return PidLink(
            s, pid,
            [fd](const Context&, const ProcessInfo& p) -> ErrnoOr<std::string> {
              auto e = FindFd(p, fd);
              if (!e) return Errno(ENOENT);
              return FdLinkTarget(*e->file, p);
            },
            perms);
      },
      ProcessOwner(s, pid)));
  dir->Add("fd", fd_dir);
  auto fdinfo_dir = base::AdoptRef(new DynamicDir(
      m, 0555, fd_names,
      [s, pid](const std::string& name) -> RefPtr<Inode> {
        int fd = std::stoi(name);
        return PidFile(
            s, pid, 0444,
            [fd](const Context&, const ProcessInfo& p) -> ErrnoOr<std::string> {
              auto e = FindFd(p, fd);
              if (!e) return Errno(ENOENT);
              return FormatFdinfo(*e);
            });
      },
      ProcessOwner(s, pid)));
  dir->Add("fdinfo", fdinfo_dir);
  dir->Add("gid_map", PidFile(
                          s, pid, 0644,
                          [](const Context&, const ProcessInfo& p) {
                            return FormatIdMap(p.gid_map());
                          },
                          EPERM));
  dir->Add("limits",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             return FormatLimits(p);
           }));
  dir->Add("mountinfo",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             RefPtr<MountNamespace> ns = p.mount_namespace();
             return ns ? FormatMountInfo(ns->Mounts(p.root())) : std::string();
           }));
  dir->Add("mounts",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             RefPtr<MountNamespace> ns = p.mount_namespace();
             return ns ? FormatMounts(ns->Mounts(p.root())) : std::string();
           }));
  auto ns_dir = base::AdoptRef(new StaticDir(m, 0511, ProcessOwner(s, pid)));
  struct NsKind {
    const char* name;
    const char* kind;
    uint64_t id;  // 0: the mount namespace's own
  };
  const NsKind kinds[] = {
      {"cgroup", "cgroup", 4026531835u},
      {"ipc", "ipc", 4026531839u},
      {"mnt", "mnt", 0},
      {"net", "net", 4026531840u},
      {"pid", "pid", 4026531836u},
      {"pid_for_children", "pid", 4026531836u},
      {"time", "time", 4026531834u},
      {"time_for_children", "time", 4026531834u},
      {"user", "user", 4026531837u},
      {"uts", "uts", 4026531838u},
  };
  for (const NsKind& k : kinds) {
    std::string kind = k.kind;
    uint64_t id = k.id;
    ns_dir->Add(
        k.name,
        PidLink(s, pid, [kind, id](const Context&, const ProcessInfo& p) {
          return absl::StrCat(kind, ":[", id ? id : MntNsId(p), "]");
        }));
  }
  dir->Add("ns", ns_dir);
  dir->Add("root", PidLink(s, pid,
                           [](const Context&,
                              const ProcessInfo& p) -> ErrnoOr<std::string> {
                             RefPtr<MountNamespace> ns = p.mount_namespace();
                             Path root = p.root();
                             if (!ns || !root.valid()) return Errno(ENOENT);
                             return ns->PathOf(root, root);
                           }));
  dir->Add("stat",
           PidFile(s, pid, 0444, [s](const Context&, const ProcessInfo& p) {
             return FormatStat(p, s->machine->Get());
           }));
  dir->Add("statm",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             return FormatStatm(p);
           }));
  dir->Add("status",
           PidFile(s, pid, 0444, [](const Context&, const ProcessInfo& p) {
             return FormatStatus(p);
           }));
  dir->Add("uid_map", PidFile(
                          s, pid, 0644,
                          [](const Context&, const ProcessInfo& p) {
                            return FormatIdMap(p.uid_map());
                          },
                          EPERM));
  return dir;
}

// A sysctl file: a value and a newline. Writes are refused (EPERM): the
// sandbox's sysctls are not settable.
RefPtr<GenFile> Sysctl(const State& s, uint32_t perms,
                       std::function<std::string(const MachineInfo&)> fn) {
  return NewFile(
      s->msrc, perms,
      [s, fn](const Context&) -> ErrnoOr<std::string> {
        return fn(s->machine->Get()) + "\n";
      },
      EPERM);
}

template <typename Fn>
RefPtr<GenFile> MachineFile(const State& s, Fn fn) {
  return NewFile(s->msrc, 0444,
                 [s, fn](const Context&) -> ErrnoOr<std::string> {
                   return fn(s->machine->Get());
                 });
}

class ProcFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "proc"; }
  bool AllowUserMount() const override { return true; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    // Linux's proc options; accepted and, as in gVisor, not enforced.
    for (std::string_view rest = data; !rest.empty();) {
      size_t comma = rest.find(',');
      std::string_view opt = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view()
                                             : rest.substr(comma + 1);
      if (opt.empty()) continue;
      std::string_view key = opt.substr(0, opt.find('='));
      if (key != "hidepid" && key != "gid" && key != "subset") {
        return Errno(EINVAL);
      }
    }
    return NewProcRoot(ctx, DefaultProcessTable(), &DefaultMachineInfo(), flags,
                       std::string(device));
  }
};

const Registrar<ProcFilesystem> registrar;

}  // namespace

ErrnoOr<RefPtr<Inode>> NewProcRoot(const Context& ctx,
                                   const ProcessTable* table,
                                   const MachineInfoSource* machine,
                                   const MountSourceFlags& flags,
                                   std::string device) {
  (void)ctx;
  const Filesystem* fs = nullptr;
  if (auto f = FindFilesystem("proc"); f.ok()) fs = *f;
  auto st = std::make_shared<ProcState>();
  st->table = table;
  st->machine = machine ? machine : &DefaultMachineInfo();
  st->msrc = base::AdoptRef<MountSource>(new SyntheticMountSource(
      fs, flags, device.empty() ? "proc" : device, linux_abi::kProcMagic));
  State s = st;
  const RefPtr<MountSource>& m = s->msrc;

  // The root's pid entries must not hold the root (no cycles): the
  // closures hold the state, which holds only the mount source.
  auto root = base::AdoptRef(new DynamicDir(
      m, 0555,
      [s](const Context&) -> ErrnoOr<std::vector<std::string>> {
        std::vector<std::string> names;
        for (int32_t pid : s->Pids()) names.push_back(std::to_string(pid));
        return names;
      },
      [s](const std::string& name) -> RefPtr<Inode> {
        return MakePidDir(s, std::stoi(name));
      }));
  auto add = [&](std::string name, RefPtr<Inode> in) {
    root->AddFixed(std::move(name), std::move(in));
  };
  add("cpuinfo",
      MachineFile(s, [](const MachineInfo& mi) { return FormatCpuinfo(mi); }));
  add("filesystems",
      NewFile(m, 0444, [](const Context&) -> ErrnoOr<std::string> {
        return FormatFilesystems();
      }));
  add("loadavg", MachineFile(s, [s](const MachineInfo& mi) {
        std::vector<int32_t> pids = s->Pids();
        int n = static_cast<int>(pids.size());
        return FormatLoadavg(mi, n > 0 ? 1 : 0, n, n ? pids.back() : 0);
      }));
  add("meminfo",
      MachineFile(s, [](const MachineInfo& mi) { return FormatMeminfo(mi); }));
  add("mounts", NewSymlink(m, [](const Context&) -> ErrnoOr<std::string> {
        return std::string("self/mounts");
      }));
  add("self", NewSymlink(m, [](const Context& ctx) -> ErrnoOr<std::string> {
        return std::to_string(ctx.pid());
      }));
  add("stat", MachineFile(s, [s](const MachineInfo& mi) {
        int n = static_cast<int>(s->Pids().size());
        return FormatProcStat(mi, n, n > 0 ? 1 : 0);
      }));
  auto sys = base::AdoptRef(new StaticDir(m, 0555));
  RefPtr<StaticDir> kern = sys->Subdir("kernel");
  kern->Add("hostname",
            Sysctl(s, 0644, [](const MachineInfo& mi) { return mi.hostname; }));
  kern->Add("ostype",
            Sysctl(s, 0444, [](const MachineInfo& mi) { return mi.ostype; }));
  kern->Add("osrelease", Sysctl(s, 0444, [](const MachineInfo& mi) {
              return mi.osrelease;
            }));
  kern->Add("version",
            Sysctl(s, 0444, [](const MachineInfo& mi) { return mi.version; }));
  RefPtr<StaticDir> fsd = sys->Subdir("fs");
  fsd->Add("file-max", Sysctl(s, 0644, [](const MachineInfo& mi) {
             return std::to_string(mi.file_max);
           }));
  fsd->Add("nr_open", Sysctl(s, 0644, [](const MachineInfo& mi) {
             return std::to_string(mi.nr_open);
           }));
  add("sys", sys);
  add("uptime",
      MachineFile(s, [](const MachineInfo& mi) { return FormatUptime(mi); }));
  add("version",
      MachineFile(s, [](const MachineInfo& mi) { return FormatVersion(mi); }));
  return RefPtr<Inode>(std::move(root));
}

}  // namespace sentry::fs::proc
