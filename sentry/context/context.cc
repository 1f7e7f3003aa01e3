#include "sentry/context/context.h"

#include <time.h>

namespace sentry::context {
namespace {

class HostRealtimeClock final : public Clock {
 public:
  linux_abi::Timespec Now() const override {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return {ts.tv_sec, ts.tv_nsec};
  }
  // The vDSO answers this from its data page, without reading the TSC.
  linux_abi::Timespec NowCoarse() const override {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return {ts.tv_sec, ts.tv_nsec};
  }
};

}  // namespace

const Clock& RealtimeClock() {
  static const HostRealtimeClock* clock = new HostRealtimeClock();
  return *clock;
}

}  // namespace sentry::context
