// The FUSE export of a mount namespace: the host kernel's FUSE client
// speaks to our VFS, so unmodified programs run on exactly the
// filesystem a sandboxed application sees.
//
// Server answers libfuse's low-level protocol (inodes, not paths) with
// sentry::kernel::Task calls made as the requesting process: each
// request gets a Task with the caller's uid, gid and supplementary groups
// (mapped through the spec's id maps), its nodes installed as O_PATH
// descriptors, so every permission check, ownership rule and errno is the
// VFS's own; the kernel's default_permissions is never used.
//
// Nodes: a table keyed by FUSE node id (1 is the namespace root), each
// holding a Path (Mount and Dirent references) and the kernel's lookup
// count. One node per (Mount, Inode), so hard links share a node and a
// file seen through two bind mounts does not. A node goes, and its
// references with it, when FORGET brings its count to zero. Open files
// and directories are File references in the FUSE file handle.
//
// Locks: a POSIX record lock belongs to the lock owner the kernel names in
// the request (one per host process's open-files table) and goes at that
// owner's flush (close); a flock lock belongs to the handle's File (one
// open file description). A blocking request waits on its worker thread
// and an interrupt (a signal to the caller) ends it with EINTR.
//
// Caching: entry and attribute timeouts are 0 and the page cache of a
// file is dropped at each open (no keep_cache), so what the sandbox
// changes is visible at once; proc and sysfs files (st_size 0, content
// made at read) are served with direct_io.
//
// st_ino: the kernel shows our attributes' st_ino, and inode numbers are
// unique only within one filesystem, so, as overlayfs's xino does, the
// top 16 bits carry a per-device index (0 for the root's filesystem, so
// its numbers show unchanged); st_dev is the FUSE mount's.
//
// Thread-safe: libfuse calls in from several worker threads; mu_ guards
// the node table and is a leaf (never held across a VFS call).
#ifndef RUNSC_FUSE_SERVER_H_
#define RUNSC_FUSE_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/auth/credentials.h"

struct fuse_session;

namespace sentry::fs {
class File;
}  // namespace sentry::fs

namespace runsc::fuse {

struct ServerOptions {
  // Host ids (as the FUSE request carries them) to the sandbox's, one
  // entry per OCI IDMapping (inside = containerID, outside = hostID).
  // Empty: identity. An unmapped id becomes the overflow id (65534).
  std::vector<sentry::kernel::auth::IdMapEntry> uid_map, gid_map;
  // The pid the VFS sees for every request: /proc/self of the sandbox
  // (runsc registers the spec's process as 1).
  int32_t pid = 1;
  // Worker threads at most. Blocking lock requests (F_SETLKW, flock)
  // each hold one while they wait.
  int max_threads = 64;
};

class Server {
 public:
  Server(base::RefPtr<sentry::fs::MountNamespace> ns, ServerOptions opts);
  // Unmounts if still mounted.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Mounts at mountpoint with mount options (each one -o argument, e.g.
  // "allow_other" or "ro,dev"). Errors: bad options, no /dev/fuse, the
  // mount itself.
  absl::Status Mount(const std::string& mountpoint,
                     const std::vector<std::string>& options);
  // Serves requests (multi-threaded) until the filesystem is unmounted or
  // a handled signal arrives. Returns 0, or -errno.
  int Serve();
  // SIGINT, SIGTERM and SIGHUP end Serve (libfuse's handlers).
  absl::Status HandleSignals();
  // Unmounts (lazily, as `umount -l`): Serve returns once the kernel lets
  // go. Idempotent; safe from any thread.
  void Unmount();

  // Live nodes, the root included (for tests).
  size_t NodeCount() const ABSL_LOCKS_EXCLUDED(mu_);
  // Open file handles (for tests).
  int64_t OpenHandles() const ABSL_LOCKS_EXCLUDED(mu_);
  // Lookups counted and lookups forgotten so far (for tests).
  uint64_t LookupCount() const { return lookups_.load(); }
  uint64_t ForgetCount() const { return forgets_.load(); }

  // ---- For the request handlers (server.cc). Not for other callers.
  struct Node {
    uint64_t id;
    sentry::fs::Path path;
    uint64_t nlookup = 0;
  };
  // The node's path; invalid (no mount) if the id is unknown.
  sentry::fs::Path PathOf(uint64_t id) const ABSL_LOCKS_EXCLUDED(mu_);
  // Counts one lookup of p and returns its node id (a new node if p's
  // (mount, inode) has none).
  uint64_t AddLookup(const sentry::fs::Path& p) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops n lookups of id; the node goes at zero.
  void Forget(uint64_t id, uint64_t n) ABSL_LOCKS_EXCLUDED(mu_);
  // The st_ino the kernel is shown (see above).
  uint64_t MapIno(uint64_t dev, uint64_t ino) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether a host uid is the sandbox's root.
  bool IsRoot(uid_t host_uid) const;
  sentry::kernel::auth::Credentials CredsFor(
      uid_t uid, gid_t gid, const std::vector<gid_t>& groups) const;
  const base::RefPtr<sentry::fs::MountNamespace>& ns() const { return ns_; }
  const ServerOptions& options() const { return opts_; }
  // Open files the kernel holds as handles: each owns one reference. What
  // the kernel never released (the connection ended first) goes with the
  // Server.
  void AddHandle(sentry::fs::File* f) ABSL_LOCKS_EXCLUDED(mu_);
  void DropHandle(sentry::fs::File* f) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Key = std::pair<const sentry::fs::Mount*, const sentry::fs::Inode*>;

  const base::RefPtr<sentry::fs::MountNamespace> ns_;
  const ServerOptions opts_;
  struct fuse_session* se_ = nullptr;
  std::string mountpoint_;
  std::atomic<bool> mounted_{false};
  std::atomic<bool> serving_{false};
  std::atomic<uint64_t> lookups_{0}, forgets_{0};
  bool signals_ = false;

  mutable base::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Node>> nodes_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, Node*> by_key_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 2;
  absl::flat_hash_map<uint64_t, uint64_t> dev_index_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<sentry::fs::File*> handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runsc::fuse

#endif  // RUNSC_FUSE_SERVER_H_
