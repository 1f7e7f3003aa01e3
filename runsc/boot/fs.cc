#include "runsc/boot/fs.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runsc/specutils/specutils.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/fs/permissions.h"

namespace runsc::boot {

namespace fs = ::sentry::fs;
using base::RefPtr;
using sentry::context::Context;
using specutils::CleanPath;

namespace {

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::Status ErrnoStatus(base::Errno e, std::string_view what) {
  return absl::Status(absl::StatusCode::kFailedPrecondition,
                      absl::StrCat(AV(what), ": ", e.ToString()));
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

absl::StatusOr<const fs::Filesystem*> FindFs(std::string_view name) {
  auto f = fs::FindFilesystem(name);
  if (!f.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "filesystem \"", AV(name), "\" is not available in this build"));
  }
  return *f;
}

Mount MakeMount(const char* type, const char* dst) {
  Mount m;
  m.set_type(type);
  m.set_destination(dst);
  return m;
}

fs::MountFlags PerMountFlags(const fs::MountSourceFlags& mf) {
  fs::MountFlags f;
  f.read_only = mf.read_only;
  f.no_atime = mf.no_atime;
  f.no_exec = mf.no_exec;
  f.no_suid = mf.no_suid;
  f.no_dev = mf.no_dev;
  return f;
}

// A tmpfs over lower (a directory, or a single file such as
// /etc/hostname), as the seed's addOverlay.
absl::StatusOr<RefPtr<fs::Inode>> AddOverlay(const Context& ctx,
                                             RefPtr<fs::Inode> lower,
                                             const std::string& name,
                                             fs::MountSourceFlags flags) {
  flags.read_only = false;  // the upper layer takes the writes
  auto tmpfs = FindFs("tmpfs");
  if (!tmpfs.ok()) return tmpfs.status();
  // The merged directory shows the upper's attributes: give the upper's
  // root the lower's mode and owner, so that --overlay leaves / as the
  // image has it (not tmpfs's 1777).
  std::string data;
  if (lower->IsDir()) {
    auto a = lower->GetAttr(ctx);
    if (a.ok()) {
      data = absl::StrFormat("mode=%o,uid=%u,gid=%u", a->perms & 07777, a->uid,
                             a->gid);
    }
  }
  auto upper = (*tmpfs)->Mount(ctx, name + "-upper", flags, data);
  if (!upper.ok()) return ErrnoStatus(upper.error(), "tmpfs overlay upper");
  auto ov = lower->IsDir()
                ? fs::overlay::NewOverlayRoot(ctx, *upper, lower, flags)
                : fs::overlay::NewOverlayRootFile(ctx, *upper, lower, flags);
  if (!ov.ok()) return ErrnoStatus(ov.error(), "overlay of " + name);
  return *ov;
}

absl::StatusOr<RefPtr<fs::Inode>> AddSubmountOverlay(
    const Context& ctx, RefPtr<fs::Inode> inode,
    const std::vector<std::string>& relative_targets) {
  std::vector<std::string> abs;
  for (const std::string& t : relative_targets) abs.push_back("/" + t);
  auto ov = fs::overlay::NewSubmountOverlay(ctx, std::move(inode), abs);
  if (!ov.ok()) return ErrnoStatus(ov.error(), "submount overlay");
  return *ov;
}

absl::StatusOr<RefPtr<fs::Inode>> CreateRootMount(
    const Context& ctx, const Spec& spec, const Config& conf, FdDispenser* fds,
    const std::vector<Mount>& mounts, BootLog* log) {
  fs::MountSourceFlags mf;
  mf.read_only = spec.root().readonly();
  auto fd = fds->Remove();
  if (!fd.ok()) return fd.status();
  log->debug.push_back(absl::StrCat("mounting root over 9P, gofer fd ", *fd));
  auto p9 = FindFs("9p");
  if (!p9.ok()) return p9.status();
  std::vector<std::string> opts = P9MountOptions(conf, *fd);
  if (!conf.root_aname.empty()) opts.push_back("aname=" + conf.root_aname);
  auto root = (*p9)->Mount(ctx, kRootDevice, mf, absl::StrJoin(opts, ","));
  if (!root.ok()) {
    return ErrnoStatus(
        root.error(), absl::StrCat("mounting the root over 9P (fd ", *fd, ")"));
  }
  // Stub directories for mount points the image may lack; /dev, /sys,
  // /proc and /tmp are always mounted.
  std::vector<std::string> submounts = Subtargets("/", mounts);
  for (const char* d : {"dev", "sys", "proc", "tmp"}) submounts.push_back(d);
  auto inode = AddSubmountOverlay(ctx, *root, submounts);
  if (!inode.ok()) return inode.status();
  if (conf.overlay && !spec.root().readonly()) {
    log->debug.push_back("adding a tmpfs overlay over the root");
    return AddOverlay(ctx, *inode, "root-overlay", mf);
  }
  log->debug.push_back(
      absl::StrCat("mounted \"", spec.root().path(), "\" at / (root)"));
  return inode;
}

struct NameAndOptions {
  std::string fs_name;  // empty: not mounted
  std::vector<std::string> opts;
  bool use_overlay = false;
};

absl::StatusOr<NameAndOptions> GetMountNameAndOptions(const Config& conf,
                                                      const Mount& m,
                                                      FdDispenser* fds,
                                                      BootLog* log) {
  NameAndOptions r;
  const std::string& t = m.type();
  if (t == "devpts" || t == "devtmpfs" || t == "proc" || t == "sysfs") {
    r.fs_name = t;
  } else if (t == "none") {
    r.fs_name = "sysfs";
  } else if (t == "tmpfs") {
    r.fs_name = t;
    std::vector<std::string> opts(m.options().begin(), m.options().end());
    auto f = ParseAndFilterOptions(opts, {"mode", "uid", "gid", "size"}, log);
    if (!f.ok()) return f.status();
    r.opts = *f;
  } else if (t == "bind") {
    auto fd = fds->Remove();
    if (!fd.ok()) return fd.status();
    r.fs_name = "9p";
    r.opts = P9MountOptions(conf, *fd);
    std::vector<std::string> opts(m.options().begin(), m.options().end());
    BootLog quiet;
    r.use_overlay =
        conf.overlay && !MountFlagsFromOptions(opts, &quiet).read_only;
  } else {
    log->warnings.push_back(absl::StrCat("ignoring unknown filesystem type \"",
                                         t, "\" (mount at ", m.destination(),
                                         ")"));
  }
  return r;
}

std::string MountDevice(const Mount& m) {
  // Bind mounts name their target, which stays the same across a restore.
  if (m.type() == "bind") return "9pfs-" + m.destination();
  return "none";
}

// Makes every missing directory of path (0755), following symlinks, as the
// seed's mkdirAll: "/var/run/secrets" lands in /run/secrets when /var/run
// is a symlink to /run.
absl::Status MkdirAll(const Context& ctx, fs::MountNamespace* ns,
                      const std::string& path) {
  fs::Path root = ns->Root();
  fs::Path cur = root;
  // Named, not a temporary: the split views it for the whole loop.
  const std::string clean = CleanPath(path);
  for (absl::string_view part : absl::StrSplit(AV(clean), '/')) {
    if (part.empty()) continue;
    std::string name(part);
    auto next = ns->Resolve(ctx, root, cur, name);
    if (next.ok()) {
      cur = std::move(*next);
      continue;
    }
    if (next.error() != base::Errno(ENOENT)) {
      return ErrnoStatus(next.error(),
                         "looking up \"" + name + "\" of " + path);
    }
    fs::CreateSpec spec;
    spec.mode = S_IFDIR | 0755;
    auto made = cur.dirent->Create(ctx, name, spec);
    if (!made.ok()) {
      return ErrnoStatus(made.error(),
                         "making directory \"" + name + "\" of " + path);
    }
    cur = ns->CrossMountsDown(fs::Path{cur.mount, std::move(*made)});
  }
  return absl::OkStatus();
}

absl::Status MountSubmount(const Context& ctx, const Config& conf,
                           fs::MountNamespace* ns, FdDispenser* fds,
                           const Mount& m, const std::vector<Mount>& mounts,
                           const std::string& dest, BootLog* log) {
  auto no = GetMountNameAndOptions(conf, m, fds, log);
  if (!no.ok()) return no.status();
  if (no->fs_name.empty()) return absl::OkStatus();
  auto filesystem = FindFs(no->fs_name);
  if (!filesystem.ok()) return filesystem.status();
  std::vector<std::string> opts(m.options().begin(), m.options().end());
  fs::MountSourceFlags mf =
      MountFlagsFromOptions(opts, log, {"mode", "uid", "gid", "size"});
  if (no->use_overlay) mf.read_only = true;  // all writes go to the upper
  auto inode =
      (*filesystem)
          ->Mount(ctx, MountDevice(m), mf, absl::StrJoin(no->opts, ","));
  if (!inode.ok()) {
    return ErrnoStatus(inode.error(),
                       absl::StrCat("mounting ", m.type(), " (source \"",
                                    m.source(), "\") at ", dest));
  }
  RefPtr<fs::Inode> in = std::move(*inode);
  std::vector<std::string> submounts = Subtargets(m.destination(), mounts);
  if (!submounts.empty()) {
    log->debug.push_back("adding a submount overlay over " + m.destination());
    auto ov = AddSubmountOverlay(ctx, in, submounts);
    if (!ov.ok()) return ov.status();
    in = std::move(*ov);
  }
  if (no->use_overlay) {
    log->debug.push_back("adding a tmpfs overlay over " + m.destination());
    auto ov = AddOverlay(ctx, in, m.type(), mf);
    if (!ov.ok()) return ov.status();
    in = std::move(*ov);
    mf.read_only = false;
  }
  absl::Status made = MkdirAll(ctx, ns, dest);
  if (!made.ok()) return made;
  fs::Path root = ns->Root();
  auto target = ns->Resolve(ctx, root, root, dest);
  if (!target.ok()) {
    return ErrnoStatus(target.error(), "finding mount destination " + dest);
  }
  auto mounted = ns->MountAt(*target, fs::Dirent::NewRoot(std::move(in)),
                             PerMountFlags(mf));
  if (!mounted.ok()) {
    return ErrnoStatus(mounted.error(), "mounting at " + dest);
  }
  log->debug.push_back(absl::StrCat("mounted \"", m.source(), "\" at ", dest,
                                    " type ", m.type()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> FdDispenser::Remove() {
  if (fds_.empty()) {
    return absl::FailedPreconditionError(
        "not enough gofer FDs: the spec has more bind mounts than gofers");
  }
  int fd = fds_.front();
  fds_.pop_front();
  return fd;
}

std::vector<Mount> CompileMounts(const Spec& spec, BootLog* log) {
  bool proc = false, sys = false, tmp = false;
  std::vector<Mount> mounts;
  mounts.push_back(MakeMount("devtmpfs", "/dev"));
  mounts.push_back(MakeMount("devpts", "/dev/pts"));
  for (const Mount& m : spec.mounts()) {
    if (!specutils::IsSupportedDevMount(m)) {
      log->warnings.push_back("ignoring dev mount at " + m.destination() +
                              " (the sandbox provides it)");
      continue;
    }
    mounts.push_back(m);
    std::string d = CleanPath(m.destination());
    proc |= d == "/proc";
    sys |= d == "/sys";
    tmp |= d == "/tmp";
  }
  // The OCI spec says /proc and /sys SHOULD be there; a tmpfs on /tmp
  // saves apps that mknod in /tmp. They go first, so that the spec's
  // submounts of them land on top.
  std::vector<Mount> mandatory;
  if (!proc) mandatory.push_back(MakeMount("proc", "/proc"));
  if (!sys) mandatory.push_back(MakeMount("sysfs", "/sys"));
  if (!tmp) mandatory.push_back(MakeMount("tmpfs", "/tmp"));
  mounts.insert(mounts.begin(), mandatory.begin(), mandatory.end());
  return mounts;
}

absl::StatusOr<RefPtr<fs::MountNamespace>> CreateMountNamespace(
    const Context& ctx, const Spec& spec, const Config& conf,
    std::vector<int> io_fds, BootLog* log) {
  std::vector<Mount> mounts = CompileMounts(spec, log);
  mounts.push_back(MakeMount("tmpfs", kChildContainersDir));
  FdDispenser fds(std::move(io_fds));
  auto root = CreateRootMount(ctx, spec, conf, &fds, mounts, log);
  if (!root.ok()) return root.status();
  // A read-only root is read-only as a mount too, as runc makes it (the
  // per-mount "ro" in mountinfo, ST_RDONLY from statfs).
  fs::MountSourceFlags root_mf;
  root_mf.read_only = spec.root().readonly();
  RefPtr<fs::MountNamespace> ns = fs::MountNamespace::New(
      fs::Dirent::NewRoot(*root), PerMountFlags(root_mf));
  for (const Mount& m : mounts) {
    absl::Status s = MountSubmount(ctx, conf, ns.get(), &fds, m, mounts,
                                   m.destination(), log);
    if (!s.ok()) return s;
  }
  if (!fds.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(fds.size(),
                     " gofer FD(s) left over: the spec has fewer bind mounts "
                     "than gofers"));
  }
  return ns;
}

absl::StatusOr<fs::Path> SetupChildContainer(
    const Context& ctx, fs::MountNamespace* ns, const Spec& spec,
    const Config& conf, std::vector<int> io_fds, const std::string& cid,
    BootLog* log) {
  if (cid.empty() || cid.find('/') != std::string::npos || cid == "." ||
      cid == "..") {
    return absl::InvalidArgumentError("invalid container id \"" + cid + "\"");
  }
  FdDispenser fds(std::move(io_fds));
  auto root = CreateRootMount(ctx, spec, conf, &fds, {}, log);
  if (!root.ok()) return root.status();
  const std::string container_root =
      absl::StrCat(kChildContainersDir, "/", cid);
  absl::Status made = MkdirAll(ctx, ns, container_root);
  if (!made.ok()) return made;
  fs::Path nsroot = ns->Root();
  auto target = ns->Resolve(ctx, nsroot, nsroot, container_root);
  if (!target.ok()) {
    return ErrnoStatus(target.error(), "finding " + container_root);
  }
  auto mounted = ns->MountAt(*target, fs::Dirent::NewRoot(*root), {});
  if (!mounted.ok()) {
    return ErrnoStatus(mounted.error(), "mounting at " + container_root);
  }
  std::vector<Mount> mounts = CompileMounts(spec, log);
  for (const Mount& m : mounts) {
    std::string dest = CleanPath(container_root + "/" + m.destination());
    absl::Status s = MountSubmount(ctx, conf, ns, &fds, m, mounts, dest, log);
    if (!s.ok()) return s;
  }
  if (!fds.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(fds.size(), " gofer FD(s) left over for container ", cid));
  }
  auto croot = ns->Resolve(ctx, nsroot, nsroot, container_root);
  if (!croot.ok()) return ErrnoStatus(croot.error(), container_root);
  return *croot;
}

absl::StatusOr<RestoreEnvironment> CreateRestoreEnvironment(const Spec& spec,
                                                            const Config& conf,
                                                            FdDispenser* fds,
                                                            BootLog* log) {
  RestoreEnvironment renv;
  auto fd = fds->Remove();
  if (!fd.ok()) return fd.status();
  MountArgs root;
  root.dev = kRootDevice;
  root.flags.read_only = spec.root().readonly();
  root.data = absl::StrJoin(P9MountOptions(conf, *fd), ",");
  renv.mount_sources["9p"].push_back(root);
  for (const Mount& m : CompileMounts(spec, log)) {
    auto no = GetMountNameAndOptions(conf, m, fds, log);
    if (!no.ok()) return no.status();
    if (no->fs_name.empty()) continue;
    std::vector<std::string> opts(m.options().begin(), m.options().end());
    MountArgs a;
    a.dev = MountDevice(m);
    a.flags = MountFlagsFromOptions(opts, log, {"mode", "uid", "gid", "size"});
    a.data = absl::StrJoin(no->opts, ",");
    renv.mount_sources[no->fs_name].push_back(std::move(a));
  }
  return renv;
}

absl::StatusOr<std::string> GetExecutablePath(
    const Context& ctx, fs::MountNamespace* ns, const fs::Path& root,
    const std::string& filename, const std::vector<std::string>& env) {
  std::string exec = CleanPath(filename);
  // A path (absolute or relative) is not searched for.
  if (filename.find('/') != std::string::npos) return exec;
  std::vector<std::string> dirs = specutils::GetPath(env);
  for (const std::string& d : dirs) {
    std::string bin = CleanPath(absl::StrCat("/", d, "/", filename));
    auto p = ns->Resolve(ctx, root, root, bin);
    if (!p.ok()) {
      if (p.error() == base::Errno(ENOENT) ||
          p.error() == base::Errno(EACCES) ||
          p.error() == base::Errno(ENOTDIR)) {
        continue;
      }
      return ErrnoStatus(p.error(), "looking up " + bin);
    }
    auto a = p->inode()->GetAttr(ctx);
    if (!a.ok() || p->inode()->IsDir() ||
        !fs::GenericPermission(ctx.creds(), p->inode()->type(), *a,
                               linux_abi::MAY_READ | linux_abi::MAY_EXEC)
             .ok()) {
      continue;  // found, but not something this user can run
    }
    return bin;
  }
  return absl::NotFoundError(absl::StrCat("could not find executable \"",
                                          filename, "\" in PATH ",
                                          absl::StrJoin(dirs, ":")));
}

fs::MountSourceFlags MountFlagsFromOptions(
    const std::vector<std::string>& opts, BootLog* log,
    const std::vector<std::string>& quiet_keys) {
  fs::MountSourceFlags mf;
  for (const std::string& o : opts) {
    if (o == "rw") {
      mf.read_only = false;
    } else if (o == "ro") {
      mf.read_only = true;
    } else if (o == "noatime") {
      mf.no_atime = true;
    } else if (o == "nosuid") {
      mf.no_suid = true;
    } else if (o == "nodev") {
      mf.no_dev = true;
    } else if (o == "noexec") {
      mf.no_exec = true;
    } else if (!Contains(quiet_keys, o.substr(0, o.find('=')))) {
      log->warnings.push_back("ignoring unknown mount option \"" + o + "\"");
    }
  }
  return mf;
}

absl::StatusOr<std::vector<std::string>> ParseAndFilterOptions(
    const std::vector<std::string>& opts,
    const std::vector<std::string>& allowed, BootLog* log) {
  std::vector<std::string> out;
  for (const std::string& o : opts) {
    size_t eq = o.find('=');
    if (eq != std::string::npos && o.find('=', eq + 1) != std::string::npos) {
      return absl::InvalidArgumentError("invalid mount option \"" + o + "\"");
    }
    if (Contains(allowed, o.substr(0, eq))) out.push_back(o);
  }
  (void)log;  // the flags pass (MountFlagsFromOptions) warns about the rest
  return out;
}

std::vector<std::string> Subtargets(const std::string& root,
                                    const std::vector<Mount>& mounts) {
  std::string r = CleanPath(root);
  if (r.back() != '/') r += '/';
  std::vector<std::string> out;
  for (const Mount& m : mounts) {
    std::string t = CleanPath(m.destination());
    if (t.size() > r.size() && t.compare(0, r.size(), r) == 0) {
      out.push_back(t.substr(r.size()));
    }
  }
  return out;
}

std::vector<std::string> P9MountOptions(const Config& conf, int fd) {
  std::vector<std::string> opts = {
      "trans=fd",
      absl::StrCat("rfdno=", fd),
      absl::StrCat("wfdno=", fd),
      "privateunixsocket=true",
  };
  if (conf.file_access == FileAccess::kShared) {
    opts.push_back("cache=remote_revalidating");
  }
  return opts;
}

}  // namespace runsc::boot
