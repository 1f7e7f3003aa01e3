// The memory devices: null, zero, full, random and urandom.
#include <linux/capability.h>
#include <linux/random.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "sentry/fs/dev/dev.h"
#include "sentry/fs/device.h"
#include "sentry/fs/file.h"

namespace sentry::fs::dev {
namespace {

enum class MemKind { kNull, kZero, kFull, kRandom };

// One open of a memory device. Stateless: the offset the File keeps means
// nothing to these devices, as to Linux's.
class MemDeviceFile : public FileOperations {
 public:
  explicit MemDeviceFile(MemKind kind) : kind_(kind) {}

  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t offset) override {
    switch (kind_) {
      case MemKind::kNull:
        return size_t{0};
      case MemKind::kZero:
      case MemKind::kFull:
        return dst.ZeroOut(0, dst.size());
      case MemKind::kRandom:
        return ReadRandom(ctx, dst);
    }
    return Errno(EINVAL);
  }

  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t offset, bool append,
                        uint64_t* offset_out) override {
    *offset_out = offset;
    // write_full fails every write, even an empty one, as Linux's.
    if (kind_ == MemKind::kFull) return Errno(ENOSPC);
    // random's input only stirs the pool: discarding it is as good.
    return src.size();
  }

  // null, zero and full have no ioctl (ENOTTY); random's are the entropy
  // pool's, which say EINVAL to anything else.
  ErrnoOr<int64_t> Ioctl(const Context& ctx, File& f, uint64_t cmd,
                         uintptr_t arg) override {
    if (kind_ != MemKind::kRandom) return Errno(ENOTTY);
    switch (cmd) {
      case RNDGETENTCNT: {
        // A seeded pool reports its full POOL_READY_BITS, as Linux since
        // 5.18 does once the CRNG is ready.
        if (arg == 0) return Errno(EFAULT);
        const int bits = 256;
        std::memcpy(reinterpret_cast<void*>(arg), &bits, sizeof(bits));
        return int64_t{0};
      }
      case RNDADDTOENTCNT:
      case RNDADDENTROPY:
      case RNDZAPENTCNT:
      case RNDCLEARPOOL:
      case RNDRESEEDCRNG:
        // Privileged; the host's pool needs no help from the sandbox.
        if (!ctx.creds().HasCapability(CAP_SYS_ADMIN)) return Errno(EPERM);
        return int64_t{0};
      default:
        return Errno(EINVAL);
    }
  }

  // The drivers have no fsync: vfs_fsync_range says EINVAL.
  Errno Fsync(const Context& ctx, File& f) override { return Errno(EINVAL); }

 private:
  static ErrnoOr<size_t> ReadRandom(const Context& ctx, const IOSequence& dst) {
    char buf[4096];
    size_t done = 0;
    const size_t want = dst.size();
    while (done < want) {
      size_t chunk = std::min(sizeof(buf), want - done);
      ssize_t n = getrandom(buf, chunk, 0);
      if (n < 0) {
        if (errno == EINTR) {
          if (ctx.interrupted()->load()) {
            if (done > 0) break;
            return Errno(EINTR);
          }
          continue;
        }
        if (done > 0) break;
        return Errno(errno);
      }
      dst.CopyOut(done, buf, static_cast<size_t>(n));
      done += static_cast<size_t>(n);
    }
    return done;
  }

  const MemKind kind_;
};

DeviceOpener OpenerFor(MemKind kind) {
  return
      [kind](const Context&, uint32_t, uint32_t, int) -> ErrnoOr<FileOpsPtr> {
        return FileOpsPtr(new MemDeviceFile(kind));
      };
}

CharDeviceRegistrar null_registrar(kMemMajor, kNullMinor, kNullMinor,
                                   OpenerFor(MemKind::kNull));
CharDeviceRegistrar zero_registrar(kMemMajor, kZeroMinor, kZeroMinor,
                                   OpenerFor(MemKind::kZero));
CharDeviceRegistrar full_registrar(kMemMajor, kFullMinor, kFullMinor,
                                   OpenerFor(MemKind::kFull));
CharDeviceRegistrar random_registrar(kMemMajor, kRandomMinor, kURandomMinor,
                                     OpenerFor(MemKind::kRandom));

}  // namespace
}  // namespace sentry::fs::dev
