// MountSource: one mounted instance of a filesystem (Linux's super_block).
//
// It owns what all of an instance's inodes share: the mount flags the
// filesystem was mounted with, the caching policy, the anonymous device
// number (st_dev), the inode number allocator, and the negative-dirent
// budget. Inodes hold a strong reference to their MountSource, so it lives
// until its last inode goes.
//
// Thread-safe. Lock order: MountSource::mu_ is a leaf.
#ifndef SENTRY_FS_MOUNT_SOURCE_H_
#define SENTRY_FS_MOUNT_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "base/mutex.h"
#include "base/refcount.h"

namespace sentry::fs {

class Filesystem;

// Flags of a mounted instance (MS_* as they apply to a superblock).
struct MountSourceFlags {
  bool read_only = false;
  bool no_atime = false;
  bool strict_atime = false;  // default is relatime, as on Linux
  bool no_exec = false;
  bool no_suid = false;
  bool no_dev = false;
  bool synchronous = false;
};

// How far cached dirents can be trusted.
enum class CachePolicy {
  kKeep,        // the VFS is the only writer (ramfs, tmpfs): trust the cache
  kRevalidate,  // others may change the backing store: revalidate each use
  kNone,        // cache nothing beyond open files
};

class MountSource : public base::RefCounted<MountSource> {
 public:
  // fs may be null for internal instances (anonymous pipes, test trees).
  MountSource(const Filesystem* fs, MountSourceFlags flags, CachePolicy policy,
              std::string device_name = "none");
  virtual ~MountSource();

  const Filesystem* filesystem() const { return fs_; }
  const std::string& device_name() const { return device_name_; }
  CachePolicy cache_policy() const { return policy_; }
  // 32 bits, as Linux's dev_t (StableAttr::dev).
  uint32_t device() const { return static_cast<uint32_t>(dev_); }

  MountSourceFlags flags() const ABSL_LOCKS_EXCLUDED(mu_);
  void set_flags(MountSourceFlags f) ABSL_LOCKS_EXCLUDED(mu_);
  bool read_only() const { return read_only_.load(std::memory_order_relaxed); }
  // flags()' no_atime and strict_atime, without mu_ (every read asks).
  enum class Atime : uint8_t { kRelatime, kStrict, kNone };
  Atime atime() const { return atime_.load(std::memory_order_relaxed); }

  // Mount options as /proc/mounts shows them after the flags ("size=...").
  virtual std::string OptionsString() const { return ""; }
  // The type /proc/mounts shows when there is no registered filesystem
  // behind the instance (an overlay).
  virtual std::string TypeName() const { return "none"; }

  // A fresh inode number, unique within this instance.
  uint64_t NextIno() {
    return next_ino_.fetch_add(1, std::memory_order_relaxed);
  }

  // Mounts showing this instance, in any namespace. When the last one
  // goes, the instance's dirent tree is torn down (Dirent::DetachTree).
  void IncMountRefs() { mount_refs_.fetch_add(1, std::memory_order_acq_rel); }
  // Returns the count left.
  int DecMountRefs() {
    return mount_refs_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  }

  // Negative dirents this instance may keep cached.
  static constexpr int64_t kMaxNegativeDirents = 4096;

  // Whether a kKeep dirent cache may answer "no such name" from a cached
  // negative entry. An overlay is kKeep (its cache keeps each entry's
  // identity) even over a layer that others change (a revalidating
  // gofer): there a name may appear behind the cache, so negatives must
  // be looked up again.
  virtual bool TrustsNegativeEntries() const { return true; }

  // Namespace changes (create, link, remove, rename) made through the
  // dirent cache, counted when they begin and when they end; each is
  // bracketed under the affected parents' locks. A chain walk into a kKeep
  // cache (Dirent::WalkChain) caches what its round trip fetched only if
  // no change was in flight when it started and none began since.
  void BeginNamespaceChange() {
    ns_begun_.fetch_add(1, std::memory_order_acq_rel);
  }
  void EndNamespaceChange() {
    ns_ended_.fetch_add(1, std::memory_order_acq_rel);
  }
  // A token for NamespaceUnchangedSince, or nullopt while a change is in
  // flight.
  std::optional<uint64_t> QuiescentToken() const {
    const uint64_t ended = ns_ended_.load(std::memory_order_acquire);
    const uint64_t begun = ns_begun_.load(std::memory_order_acquire);
    if (begun != ended) return std::nullopt;
    return begun;
  }
  bool NamespaceUnchangedSince(uint64_t token) const {
    return ns_begun_.load(std::memory_order_acquire) == token;
  }

  void OnLastRef() const { delete this; }

 private:
  base::LiveCounter<MountSource> live_;
  const Filesystem* const fs_;
  const CachePolicy policy_;
  const std::string device_name_;
  const uint64_t dev_;
  std::atomic<uint64_t> next_ino_{1};
  std::atomic<int> mount_refs_{0};
  std::atomic<uint64_t> ns_begun_{0};
  std::atomic<uint64_t> ns_ended_{0};
  mutable base::Mutex mu_;
  MountSourceFlags flags_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> read_only_;
  std::atomic<Atime> atime_;
};

// Allocates an anonymous device number (major 0), as Linux's get_anon_bdev.
uint64_t AllocateAnonDevice();

}  // namespace sentry::fs

#endif  // SENTRY_FS_MOUNT_SOURCE_H_
