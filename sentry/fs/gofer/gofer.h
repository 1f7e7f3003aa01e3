// gofer: the 9P2000.L client filesystem ("9p"), backed by a gofer or diod.
//
// Every Inode is backed by a walked fid on the server. A mount is a
// GoferMountSource owning the p9::Client, the attach fid's root inode, a
// weak map from QID path to live inode (so revalidation finds the same
// Inode and the VFS keeps its cached Dirent), and a background clunker.
//
// Mount options (mount(2) data, as runsc/boot passes them):
//   trans=fd,rfdno=N,wfdno=N   the connection (rfdno may differ from wfdno:
//                              two pipes/sockets); the fds are dup'ed
//   privateunixsocket=true     accepted (the socket is ours alone)
//   cache=fscache (default)    exclusive access: CachePolicy::kKeep
//   cache=remote_revalidating  shared: CachePolicy::kRevalidate
//   cache=none                 CachePolicy::kNone
//   aname=PATH                 the attach name (default "/")
//   version=9p2000.L           the only dialect (extensions negotiated)
//   msize=N                    proposed message size
// Anything else is EINVAL.
//
// Thread-safe.
#ifndef SENTRY_FS_GOFER_GOFER_H_
#define SENTRY_FS_GOFER_GOFER_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/errno.h"
#include "p9/transport.h"
#include "sentry/context/context.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs::gofer {

struct MountOptions {
  CachePolicy policy = CachePolicy::kKeep;
  std::string aname = "/";
  int rfd = -1;
  int wfd = -1;
  bool private_unix_socket = false;
  uint32_t msize = 0;  // 0: the p9 client's default
  // Propose the library's 9P2000.L.Gofer.N extensions (falls back).
  bool use_extensions = true;
};

// Parses mount(2) data. EINVAL for unknown options or bad values.
base::ErrnoOr<MountOptions> ParseOptions(std::string_view data);

// Mounts over an already connected transport (the fds in opts are
// ignored) and returns the root inode. `fs` is what the MountSource
// reports as its filesystem (may be null).
base::ErrnoOr<RefPtr<Inode>> MountOverTransport(
    const Context& ctx, std::unique_ptr<p9::Transport> transport,
    const MountOptions& opts, MountSourceFlags flags = {},
    const Filesystem* fs = nullptr);

class GoferFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "9p"; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override;
};

}  // namespace sentry::fs::gofer

#endif  // SENTRY_FS_GOFER_GOFER_H_
