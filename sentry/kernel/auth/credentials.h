// Credentials: who is asking, for every permission decision in the VFS.
//
// A value type (copy it freely; it is small). The sentry has one user
// namespace per sandbox; ids here are already the sandbox's (kernel) ids,
// and the uid/gid maps translate to and from the ids an application sees.
// Thread-compatible.
#ifndef SENTRY_KERNEL_AUTH_CREDENTIALS_H_
#define SENTRY_KERNEL_AUTH_CREDENTIALS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace sentry::kernel::auth {

using KUID = uint32_t;
using KGID = uint32_t;
inline constexpr KUID kRootUID = 0;
inline constexpr KGID kRootGID = 0;
inline constexpr KUID kOverflowUID = 65534;  // "nobody", as Linux shows it
inline constexpr KGID kOverflowGID = 65534;

// A set of capabilities, one bit per CAP_* number.
class CapabilitySet {
 public:
  constexpr CapabilitySet() = default;
  constexpr explicit CapabilitySet(uint64_t bits) : bits_(bits) {}
  static constexpr CapabilitySet All() {
    return CapabilitySet((1ull << 41) - 1);
  }
  constexpr bool Has(int cap) const { return (bits_ >> cap) & 1; }
  constexpr CapabilitySet With(int cap) const {
    return CapabilitySet(bits_ | (1ull << cap));
  }
  constexpr CapabilitySet Without(int cap) const {
    return CapabilitySet(bits_ & ~(1ull << cap));
  }
  constexpr uint64_t bits() const { return bits_; }

 private:
  uint64_t bits_ = 0;
};

// One line of a uid_map/gid_map: [inside, inside+length) <-> [outside, ...).
struct IdMapEntry {
  uint32_t inside;
  uint32_t outside;
  uint32_t length;
};

struct Credentials {
  KUID uid = 0;  // real
  KGID gid = 0;
  KUID euid = 0;  // effective; permission checks use the fs ids below
  KGID egid = 0;
  KUID fsuid = 0;  // filesystem ids (follow the effective ids)
  KGID fsgid = 0;
  std::vector<KGID> groups;  // supplementary groups
  CapabilitySet effective_caps;

  // Root with every capability: what runsc gives the sandbox's init.
  static Credentials Root();
  // An ordinary user without capabilities.
  static Credentials User(KUID uid, KGID gid, std::vector<KGID> groups = {});

  bool HasCapability(int cap) const { return effective_caps.Has(cap); }
  // Whether gid is the fsgid or a supplementary group (in_group_p).
  bool InGroup(KGID g) const;
};

}  // namespace sentry::kernel::auth

#endif  // SENTRY_KERNEL_AUTH_CREDENTIALS_H_
