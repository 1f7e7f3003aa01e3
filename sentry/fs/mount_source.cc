#include "sentry/fs/mount_source.h"

#include "abi/linux/linux.h"

namespace sentry::fs {

uint64_t AllocateAnonDevice() {
  // Minor numbers from 1 up, major 0, as get_anon_bdev hands them out.
  static std::atomic<uint32_t> next{1};
  return linux_abi::MakeDev(0, next.fetch_add(1, std::memory_order_relaxed));
}

namespace {

MountSource::Atime AtimeOf(const MountSourceFlags& f) {
  if (f.no_atime) return MountSource::Atime::kNone;
  return f.strict_atime ? MountSource::Atime::kStrict
                        : MountSource::Atime::kRelatime;
}

}  // namespace

MountSource::MountSource(const Filesystem* fs, MountSourceFlags flags,
                         CachePolicy policy, std::string device_name)
    : fs_(fs),
      policy_(policy),
      device_name_(std::move(device_name)),
      dev_(AllocateAnonDevice()),
      flags_(flags),
      read_only_(flags.read_only),
      atime_(AtimeOf(flags)) {}

MountSource::~MountSource() = default;

MountSourceFlags MountSource::flags() const {
  base::MutexLock l(&mu_);
  return flags_;
}

void MountSource::set_flags(MountSourceFlags f) {
  base::MutexLock l(&mu_);
  flags_ = f;
  read_only_.store(f.read_only, std::memory_order_relaxed);
  atime_.store(AtimeOf(f), std::memory_order_relaxed);
}

}  // namespace sentry::fs
