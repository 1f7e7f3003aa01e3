#include "sentry/fs/device.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "abi/linux/linux.h"
#include "base/mutex.h"

namespace sentry::fs {
namespace {

struct Range {
  uint32_t major, lo, hi;
  DeviceOpener opener;
};

struct Registry {
  base::Mutex mu;
  std::vector<Range> ranges ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void RegisterCharDevice(uint32_t major, uint32_t minor_lo, uint32_t minor_hi,
                        DeviceOpener opener) {
  Registry& r = GetRegistry();
  base::MutexLock l(&r.mu);
  for (const Range& x : r.ranges) {
    if (x.major == major && minor_lo <= x.hi && x.lo <= minor_hi) {
      std::fprintf(stderr, "char device %u:%u-%u registered twice\n", major,
                   minor_lo, minor_hi);
      std::abort();
    }
  }
  r.ranges.push_back({major, minor_lo, minor_hi, std::move(opener)});
}

ErrnoOr<FileOpsPtr> OpenCharDevice(const Context& ctx, uint64_t rdev,
                                   int flags) {
  const uint32_t major = linux_abi::DevMajor(rdev);
  const uint32_t minor = linux_abi::DevMinor(rdev);
  DeviceOpener opener;
  {
    Registry& r = GetRegistry();
    base::MutexLock l(&r.mu);
    for (const Range& x : r.ranges) {
      if (x.major == major && x.lo <= minor && minor <= x.hi) {
        opener = x.opener;
        break;
      }
    }
  }
  if (!opener) return Errno(ENXIO);
  return opener(ctx, major, minor, flags);
}

}  // namespace sentry::fs
