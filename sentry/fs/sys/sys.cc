#include "sentry/fs/sys/sys.h"

#include "absl/strings/str_cat.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/proc/nodes.h"

namespace sentry::fs::sys {

using proc::StaticDir;

std::string CpuList(int cpus) {
  if (cpus <= 1) return "0\n";
  return absl::StrCat("0-", cpus - 1, "\n");
}

namespace {

class SysFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "sysfs"; }
  bool AllowUserMount() const override { return true; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    if (!data.empty()) return Errno(EINVAL);  // sysfs takes no options
    return NewSysRoot(ctx, nullptr, flags, std::string(device));
  }
};

const Registrar<SysFilesystem> registrar;

}  // namespace

ErrnoOr<RefPtr<Inode>> NewSysRoot(const Context&,
                                  const proc::MachineInfoSource* machine,
                                  const MountSourceFlags& flags,
                                  std::string device) {
  const Filesystem* fs = nullptr;
  if (auto f = FindFilesystem("sysfs"); f.ok()) fs = *f;
  const proc::MachineInfoSource* m =
      machine ? machine : &proc::DefaultMachineInfo();
  RefPtr<MountSource> msrc =
      base::AdoptRef<MountSource>(new proc::SyntheticMountSource(
          fs, flags, device.empty() ? "sysfs" : device,
          linux_abi::kSysfsMagic));
  auto root = base::AdoptRef(new StaticDir(msrc, 0555));
  root->set_create_errno(EPERM);  // kernfs without mkdir: EPERM
  root->Subdir("block", 0755);
  root->Subdir("bus", 0755);
  root->Subdir("class", 0755);
  root->Subdir("dev", 0755);
  RefPtr<StaticDir> cpu = root->Subdir("devices", 0755)
                              ->Subdir("system", 0755)
                              ->Subdir("cpu", 0755);
  const int cpus = std::max(1, m->Get().cpus);
  for (int i = 0; i < cpus; ++i) cpu->Subdir(absl::StrCat("cpu", i), 0755);
  auto list = [m](const Context&) -> ErrnoOr<std::string> {
    return CpuList(m->Get().cpus);
  };
  cpu->Add("online", proc::NewFile(msrc, 0444, list));
  cpu->Add("possible", proc::NewFile(msrc, 0444, list));
  cpu->Add("present", proc::NewFile(msrc, 0444, list));
  root->Subdir("firmware", 0755);
  root->Subdir("fs", 0755)->Subdir("cgroup", 0755);
  root->Subdir("kernel", 0755);
  root->Subdir("module", 0755);
  root->Subdir("power", 0755);
  return RefPtr<Inode>(std::move(root));
}

}  // namespace sentry::fs::sys
