// devpts: the pseudo-terminal filesystem, registered as "devpts".
//
// An instance's root holds "ptmx" (char 5:2, mode ptmxmode=, 0000 by
// default, owned by root) and, for each open master, the replica "N"
// (char 136:N). Opening ptmx makes a new pair (sentry/fs/tty/terminal.h)
// with the lowest free index; the pair starts locked (TIOCSPTLCK 0 unlocks
// it, as unlockpt(3) does) and opening N while locked fails with EIO.
// A replica is owned by its first opener's fsuid, its group is gid= if
// given (else the opener's fsgid) and its mode mode= (0600 by default, as
// Linux's DEVPTS_DEFAULT_PTY_MODE; OCI runtimes mount with
// "mode=620,gid=5"). As on Linux, N disappears from the directory when the
// master closes (even if the replica is still open: it is hung up then),
// and the index is reused only once both ends are gone.
//
// Options: uid=, gid=, mode= (octal), ptmxmode= (octal), max=,
// newinstance; anything else is EINVAL. Every mount is a new instance, as
// on Linux >= 4.7.
//
// Device nodes outside devpts (a devtmpfs /dev/ptmx, a tmpfs mknod) reach
// the *default* instance: the most recently mounted devpts instance that
// is still alive and was not mounted with `newinstance`. (Linux instead
// looks for "pts/ptmx" beside the /dev/ptmx that was opened; a device
// opener here is not told the node's path.) So /dev/ptmx (5:2) opens a
// master of the default instance, ENODEV when there is none; 136:N opens
// replica N of the default instance (EIO if there is no such pair).
// /dev/tty (5:0) opens the caller's controlling terminal: the replica the
// caller's pid last made its controlling terminal with TIOCSCTTY (until
// TIOCNOTTY or the master's close); ENXIO when there is none.
#ifndef SENTRY_FS_TTY_DEVPTS_H_
#define SENTRY_FS_TTY_DEVPTS_H_

#include <cstdint>
#include <string_view>

#include "base/errno.h"

namespace sentry::fs::tty {

inline constexpr uint32_t kTtyAuxMajor = 5;  // /dev/tty 5:0, ptmx 5:2
inline constexpr uint32_t kPtmxMinor = 2;
inline constexpr uint32_t kPtsMajor = 136;      // UNIX98_PTY_SLAVE_MAJOR
inline constexpr uint32_t kMaxPtys = 1u << 20;  // NR_UNIX98_PTY_MAX

struct DevptsOptions {
  bool uid_set = false;
  uint32_t uid = 0;
  bool gid_set = false;
  uint32_t gid = 0;
  uint32_t mode = 0600;
  uint32_t ptmxmode = 0;
  uint32_t max = kMaxPtys;
  bool newinstance = false;
};

// Parses mount(2) data for devpts; EINVAL for an unknown option or value.
base::ErrnoOr<DevptsOptions> ParseDevptsOptions(std::string_view data);

}  // namespace sentry::fs::tty

#endif  // SENTRY_FS_TTY_DEVPTS_H_
