#include "sentry/fs/permissions.h"

#include "abi/linux/linux.h"

namespace sentry::fs {

using base::Errno;
using kernel::auth::Credentials;

Errno GenericPermission(const Credentials& creds, InodeType type,
                        const AccessAttr& attr, int may) {
  uint32_t mode = attr.perms;
  uint32_t bits;
  if (creds.fsuid == attr.uid) {
    bits = (mode >> 6) & 7;
  } else if (creds.InGroup(attr.gid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  int want =
      may & (linux_abi::MAY_READ | linux_abi::MAY_WRITE | linux_abi::MAY_EXEC);
  if ((bits & want) == static_cast<uint32_t>(want)) return Errno();

  const bool dir = type == InodeType::kDirectory;
  if (creds.HasCapability(CAP_DAC_OVERRIDE)) {
    // Execute needs some x bit on non-directories even for root.
    if (!(want & linux_abi::MAY_EXEC) || dir || (mode & 0111)) return Errno();
  }
  if (creds.HasCapability(CAP_DAC_READ_SEARCH)) {
    int rest = want & ~linux_abi::MAY_READ;
    if (dir) rest &= ~linux_abi::MAY_EXEC;
    if (rest == 0) return Errno();
  }
  return Errno(EACCES);
}

bool OwnerOrCapable(const Credentials& creds, const UnstableAttr& attr) {
  return creds.fsuid == attr.uid || creds.HasCapability(CAP_FOWNER);
}

Errno CheckSticky(const Credentials& creds, const UnstableAttr& dir,
                  const UnstableAttr& victim) {
  if (!(dir.perms & S_ISVTX)) return Errno();
  if (creds.fsuid == victim.uid || creds.fsuid == dir.uid ||
      creds.HasCapability(CAP_FOWNER)) {
    return Errno();
  }
  return Errno(EPERM);
}

CreateSpec OwnerForNew(const Credentials& creds, const UnstableAttr& dir,
                       uint32_t mode) {
  CreateSpec spec;
  spec.mode = mode;
  spec.uid = creds.fsuid;
  spec.gid = creds.fsgid;
  if (dir.perms & S_ISGID) {
    spec.gid = dir.gid;
    if ((mode & S_IFMT) == S_IFDIR) spec.mode |= S_ISGID;
  }
  if ((mode & S_IFMT) != S_IFDIR && (spec.mode & S_ISGID) &&
      (spec.mode & S_IXGRP) && !creds.InGroup(spec.gid) &&
      !creds.HasCapability(CAP_FSETID)) {
    spec.mode &= ~S_ISGID;
  }
  return spec;
}

std::optional<uint32_t> PermsAfterWrite(const Credentials& creds,
                                        const UnstableAttr& attr,
                                        InodeType type) {
  return PermsAfterWrite(creds, attr.perms, type);
}

std::optional<uint32_t> PermsAfterWrite(const Credentials& creds,
                                        uint32_t perms, InodeType type) {
  if (type != InodeType::kRegular) return std::nullopt;
  uint32_t p = perms;
  uint32_t kill = 0;
  if (p & S_ISUID) kill |= S_ISUID;
  if ((p & S_ISGID) && (p & S_IXGRP)) kill |= S_ISGID;
  if (kill == 0 || creds.HasCapability(CAP_FSETID)) return std::nullopt;
  return p & ~kill;
}

}  // namespace sentry::fs
