// ramfs: in-memory directories, files, symlinks and nodes.
//
// The storage that tmpfs, dev, proc and sys build on. A RamMountSource
// optionally limits bytes and inodes (tmpfs's size= and nr_inodes=).
// Directories keep entries in insertion order under serial numbers, which
// are the readdir offsets: an offset stays valid while entries come and go.
// tmpfs's directories list newest first, as Linux 6.14's libfs does;
// ramfs's oldest first.
// Regular files are sparse: 4 KiB pages in an ordered map, holes read as
// zeros, SEEK_DATA/SEEK_HOLE walk the map. Small files' pages are also
// published in a flat table that reads use without the lock.
//
// Locking: each inode's mu_ guards its attributes and contents. A
// directory operation locks the directory, then the child inode (link
// counts); rename locks the two directories by address, then children.
// The VFS serialises renames (RenameMutex), so no two renames interleave.
// mu_ is a SeqMutex: every exclusive section moves its sequence count, so
// stat, permission checks and reads of small files copy what they need
// without the lock and retry (or lock) if a writer was inside meanwhile.
#ifndef SENTRY_FS_RAMFS_RAMFS_H_
#define SENTRY_FS_RAMFS_RAMFS_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/mutex.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/pipe.h"

namespace sentry::fs::ramfs {

// A mount source whose instance may be bounded in bytes and inodes.
class RamMountSource : public MountSource {
 public:
  static constexpr uint64_t kUnlimited = ~uint64_t{0};
  RamMountSource(const Filesystem* fs, MountSourceFlags flags,
                 std::string device_name = "none",
                 uint64_t max_bytes = kUnlimited,
                 uint64_t max_inodes = kUnlimited)
      : MountSource(fs, flags, CachePolicy::kKeep, std::move(device_name)),
        max_bytes_(max_bytes),
        max_inodes_(max_inodes) {}

  // Reserves n pages' worth of bytes; false (nothing reserved) if full.
  bool ReserveBytes(uint64_t n);
  void ReleaseBytes(uint64_t n) { used_bytes_.fetch_sub(n); }
  bool ReserveInode();
  void ReleaseInode() { used_inodes_.fetch_sub(1); }

  uint64_t max_bytes() const { return max_bytes_; }
  uint64_t max_inodes() const { return max_inodes_; }
  uint64_t used_bytes() const { return used_bytes_.load(); }
  uint64_t used_inodes() const { return used_inodes_.load(); }
  // statfs f_type.
  virtual int64_t Magic() const { return linux_abi::kRamfsMagic; }
  std::string OptionsString() const override { return options_; }
  void set_options_string(std::string s) { options_ = std::move(s); }

 private:
  const uint64_t max_bytes_;
  const uint64_t max_inodes_;
  std::atomic<uint64_t> used_bytes_{0};
  std::atomic<uint64_t> used_inodes_{0};
  std::string options_;
};

// Common to every ramfs inode: attributes and extended attributes.
class RamInode : public Inode {
 public:
  RamInode(RefPtr<MountSource> msrc, InodeType type, const CreateSpec& spec,
           const linux_abi::Timespec& now);
  ~RamInode() override;

  // Both without mu_ (a copy of attr_ checked against mu_'s count), unless
  // a writer is in the middle: then under mu_ shared.
  ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // RamInode::GetAttr: attributes are in memory.
  bool GetAttrInGuard(const Context& ctx, UnstableAttr* out) final;
  ErrnoOr<AccessAttr> GetAccessAttr(const Context& ctx) override
      ABSL_LOCKS_EXCLUDED(mu_);
  Errno SetAttr(const Context& ctx, const AttrChange& ch) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // relatime's check without mu_ (a copy of the times, checked against
  // mu_'s count), so that reads of one file by many threads do not all
  // write its lock; mu_ only if atime is to move.
  void TouchAtime(const Context& ctx, bool relatime) override
      ABSL_LOCKS_EXCLUDED(mu_);
  ErrnoOr<std::string> GetXattr(const Context& ctx,
                                std::string_view name) override;
  Errno SetXattr(const Context& ctx, std::string_view name,
                 std::string_view value, int flags) override;
  ErrnoOr<std::vector<std::string>> ListXattr(const Context& ctx) override;
  Errno RemoveXattr(const Context& ctx, std::string_view name) override;
  ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx) override;

  // Link-count changes by the directory code (which holds the dir lock).
  void AdjustLinks(int delta, const linux_abi::Timespec& now)
      ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t links() const ABSL_LOCKS_EXCLUDED(mu_);
  void TouchCtime(const linux_abi::Timespec& now) ABSL_LOCKS_EXCLUDED(mu_);

 protected:
  // Size changes: regular files override. EINVAL elsewhere.
  virtual Errno TruncateLocked(const Context& ctx, int64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // UnstableAttr as an inode keeps it: 56 bytes, not 88, so that a
  // RamInode is 128 (the link count is at most kLinkMax; a time is its
  // seconds and nanoseconds apart, with no padding; st_blocks is asked of
  // Usage()). Lossless for everything Linux's tmpfs can hold.
  struct Attr {
    enum Time { kAtime, kMtime, kCtime };
    uint16_t perms = 0;  // mode & 07777
    uint16_t nlink = 1;
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t nsec[3] = {};  // by Time
    int64_t size = 0;
    int64_t sec[3] = {};  // by Time
    linux_abi::Timespec Get(Time t) const { return {sec[t], nsec[t]}; }
    void Set(Time t, const linux_abi::Timespec& ts) {
      sec[t] = ts.tv_sec;
      nsec[t] = static_cast<uint32_t>(ts.tv_nsec);
    }
    // mtime and ctime both (a change of contents).
    void SetModified(const linux_abi::Timespec& ts) {
      Set(kMtime, ts);
      Set(kCtime, ts);
    }
  };
  static_assert(sizeof(Attr) == 56);
  static_assert(linux_abi::kLinkMax <= UINT16_MAX);

  // st_blocks * 512 from what the subclass holds (regular files: their
  // pages); 0 by default. Called with mu_ held, or inside a lock-free
  // copy (then a racing result is thrown away with the copy).
  int64_t Usage() const ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // The source's byte and inode counter, if it has one (a RamMountSource;
  // ramfs inodes may also serve other mount sources).
  RamMountSource* counter() const;

  mutable base::SeqMutex mu_;
  Attr attr_ ABSL_GUARDED_BY(mu_);

 private:
  // The attributes, lock-free if it can, else under mu_ shared.
  void CopyAttr(UnstableAttr* out) const ABSL_LOCKS_EXCLUDED(mu_);
  // attr_ as an UnstableAttr: under mu_, or inside a lock-free copy.
  void UnpackAttr(UnstableAttr* out) const;
  // Copy attr_ (or the fields named) without mu_; false if a writer was
  // in the way (after a few tries), and then *out is garbage.
  bool CopyAttrLockFree(UnstableAttr* out) const;
  bool CopyAccessLockFree(AccessAttr* out) const;
  bool CopyTimesLockFree(linux_abi::Timespec* atime, linux_abi::Timespec* mtime,
                         linux_abi::Timespec* ctime) const;
};

class Dir : public RamInode {
 public:
  // A directory's st_size: 20 bytes an entry plus 40, as tmpfs reports.
  static constexpr int64_t kBogoDirentSize = 20;
  // Where a tmpfs directory stream stands once it has listed its last
  // entry: libfs's DIR_OFFSET_EOD, S32_MAX. A stream there lists nothing
  // more until it is moved (rewound).
  static constexpr uint64_t kEndOfDir = 0x7fffffff;
  Dir(RefPtr<MountSource> msrc, const CreateSpec& spec,
      const linux_abi::Timespec& now);
  ~Dir() override;

  ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                std::string_view name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  ErrnoOr<RefPtr<Inode>> CreateChild(const Context& ctx, std::string_view name,
                                     const CreateSpec& spec) override;
  ErrnoOr<RefPtr<Inode>> CreateTmpfile(const Context& ctx,
                                       const CreateSpec& spec,
                                       bool linkable) override;
  Errno Link(const Context& ctx, std::string_view name, Inode* target) override;
  Errno RemoveChild(const Context& ctx, std::string_view name,
                    bool dir) override;
  Errno Rename(const Context& ctx, std::string_view old_name, Inode* new_parent,
               std::string_view new_name, unsigned flags) override;
  Errno IterateDir(const Context& ctx, uint64_t offset, DirSink& sink) override;
  ErrnoOr<bool> HasChildren(const Context& ctx) override;

  // Adds an existing inode under name (MakeDirectoryTree, dev, proc).
  Errno AddChild(std::string_view name, RefPtr<Inode> child);
  // The number of entries (tests).
  size_t EntryCountForTest() const;

 private:
  // One name in this directory, in one allocation with the name after it
  // (see NewEntry), so the name is stored once for both orders below.
  // Serial and name length share a word: an entry with a name of up to 8
  // bytes is 24.
  struct Entry {
    uint64_t serial_len;  // serial << 8 | name length
    RefPtr<Inode> inode;
    char name[8];  // the name's bytes (no NUL); may run past the struct
    // Insertion order; readdir resumes after the entry at serial + 1.
    uint64_t serial() const { return serial_len >> 8; }
    std::string_view Name() const {
      return std::string_view(name, serial_len & 0xff);
    }
  };
  // Serials fit in 56 bits (2^56 creations in one directory: ENOSPC).
  static constexpr uint64_t kMaxSerial = (uint64_t{1} << 56) - 1;
  static Entry* NewEntry(uint64_t serial, std::string_view name,
                         RefPtr<Inode> inode);
  static void FreeEntry(Entry* e);
  // Orders entries by serial; also compares with a bare serial.
  struct BySerial {
    using is_transparent = void;
    bool operator()(const Entry* a, const Entry* b) const {
      return a->serial_len < b->serial_len;
    }
    bool operator()(const Entry* a, uint64_t b) const {
      return a->serial() < b;
    }
    bool operator()(uint64_t a, const Entry* b) const {
      return a < b->serial();
    }
  };
  // Hash and equality of an entry by its name; also of a bare name.
  struct ByName {
    using is_transparent = void;
    size_t operator()(const Entry* e) const { return Hash(e->Name()); }
    size_t operator()(std::string_view n) const { return Hash(n); }
    bool operator()(const Entry* a, const Entry* b) const { return a == b; }
    bool operator()(const Entry* a, std::string_view b) const {
      return a->Name() == b;
    }
    bool operator()(std::string_view a, const Entry* b) const {
      return a == b->Name();
    }
    static size_t Hash(std::string_view n);
  };

  // IterateDir for tmpfs's directories (see ramfs.cc).
  Errno IterateNewestFirstLocked(uint64_t offset, DirSink& sink)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static DirEntry DirEntryOf(const Entry* en, uint64_t next_off);
  Errno InsertLocked(std::string_view name, RefPtr<Inode> child)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RefPtr<Inode> EraseLocked(std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry* FindEntryLocked(std::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Inode* FindLocked(std::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // The entries in insertion order; owns them (freed in ~Dir).
  absl::btree_set<Entry*, BySerial> entries_ ABSL_GUARDED_BY(mu_);
  // The same entries by name.
  absl::flat_hash_set<Entry*, ByName, ByName> by_name_ ABSL_GUARDED_BY(mu_);
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 2;
  // The ".." inode number. Atomic, so a parent never locks a child
  // directory just to set it.
  std::atomic<uint64_t> parent_ino_{0};
};

class RegularFile : public RamInode {
 public:
  static constexpr uint64_t kPageSize = 4096;
  RegularFile(RefPtr<MountSource> msrc, const CreateSpec& spec,
              const linux_abi::Timespec& now);
  ~RegularFile() override;

  ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                         uint64_t offset) override;
  ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                          uint64_t offset, bool append,
                          uint64_t* offset_out) override;
  bool NonBlockingIO() const override { return true; }
  // Reads src straight into this file's pages (one copy, not two), under
  // mu_ across src's reads: see Inode::CopyRangeFrom's precondition.
  ErrnoOr<size_t> CopyRangeFrom(const Context& ctx, Inode* src, uint64_t offset,
                                size_t n) override ABSL_LOCKS_EXCLUDED(mu_);
  ErrnoOr<uint64_t> SeekDataHole(const Context& ctx, uint64_t offset,
                                 int whence) override;
  // An O_TMPFILE file that linkat may still give a name (I_LINKABLE).
  // Cleared by the first link, as Linux does.
  bool TakeLinkable() ABSL_LOCKS_EXCLUDED(mu_);
  void set_linkable(bool l) ABSL_LOCKS_EXCLUDED(mu_);
  // Pages held, read without mu_ by a lock-free attribute copy (which
  // throws a result that raced a writer away).
  size_t PageCountRacy() const {
    const Data* d = data_.load(std::memory_order_acquire);
    return d ? d->pages_held.load(std::memory_order_relaxed) : 0;
  }
  Errno Allocate(const Context& ctx, int mode, uint64_t offset,
                 uint64_t length) override;

 protected:
  Errno TruncateLocked(const Context& ctx, int64_t size) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

 private:
  using Page = std::unique_ptr<char[]>;
  using PageMap = absl::btree_map<uint64_t, Page>;
  // Pages 0..cap-1 of a file as published to lock-free readers (null for
  // a hole). Replaced by a bigger copy as the file grows, never shrunk;
  // a replaced table, and a page dropped while a table covers it, are
  // freed through epoch::Retire, so a reader inside a ReadGuard may
  // follow any table or page pointer it loaded. Entries change only under
  // mu_ held exclusively, so readers validate with mu_'s count.
  struct PageTable {
    uint64_t cap;
    std::atomic<char*>* slots() {
      return reinterpret_cast<std::atomic<char*>*>(this + 1);
    }
    static PageTable* New(uint64_t cap);
    static void Free(void* t);
  };
  // The lock-free read: the bytes read, or kReadLocked when it must be
  // done under mu_ (a writer in the way, no table, or pages past the
  // table). Not an optional: its flag byte, stored and reloaded as part of
  // a word across the guard's destructor, stalled store forwarding.
  static constexpr size_t kReadLocked = ~size_t{0};
  size_t ReadLockFree(const IOSequence& dst, uint64_t offset);
  ErrnoOr<size_t> ReadLocked(const IOSequence& dst, uint64_t offset)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Adds page idx to the page map (before `hint`) and to the table, growing it
  // if the file is dense enough.
  PageMap::iterator InsertPageLocked(PageMap::iterator hint, uint64_t idx,
                                     Page p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The page after it (end() at once when appending).
  PageMap::iterator NextPage(PageMap::iterator it, bool appending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes a page from the page map and the table; a published page is
  // retired.
  PageMap::iterator ErasePageLocked(PageMap::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops pages wholly at or past `from`, zeroes the tail of a partial one.
  void DropFromLocked(uint64_t from) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The page map, the fallocate set and the lock-free readers' table,
  // made on the first write, fallocate or set_linkable: an empty file
  // holds one null pointer for all of it. Never freed before the file.
  struct Data {
    PageMap pages;
    // Pages fallocate made that nothing has written yet: they hold zeros
    // and, as in shmem, SEEK_DATA/SEEK_HOLE treat them as holes.
    absl::btree_set<uint64_t> unwritten;
    // Written under mu_ (exclusive), read by ReadLockFree; null until
    // the first page (and for files too sparse to be worth a table).
    std::atomic<PageTable*> table{nullptr};
    // pages.size(), for lock-free attribute copies (a btree's own count
    // is no atomic); stored under mu_ wherever a page comes or goes.
    std::atomic<uint64_t> pages_held{0};
    bool linkable = false;  // see TakeLinkable
  };
  // Makes data_ if need be.
  Data& D() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // data_, or an empty Data shared by every file that has none.
  const Data& CD() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  size_t PageCount() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return CD().pages.size();
  }
  // The table lock-free readers use, or null.
  PageTable* Table() const {
    const Data* d = data_.load(std::memory_order_acquire);
    return d ? d->table.load(std::memory_order_acquire) : nullptr;
  }
  // Set once under mu_ (exclusive); its contents are guarded by mu_, but
  // for the lock-free readers of PageCountRacy and Table.
  std::atomic<Data*> data_{nullptr};
};
// A regular file with no pages is as small as an inode can be here: the
// VFS's share (Inode), the lock and the attributes, and one pointer
// (ThreadSanitizer's builds grow the lock).
#ifndef BASE_TSAN
static_assert(sizeof(RegularFile) <= 136);
#endif

class Symlink : public RamInode {
 public:
  Symlink(RefPtr<MountSource> msrc, const CreateSpec& spec,
          const linux_abi::Timespec& now);
  ErrnoOr<std::string> Readlink(const Context& ctx) override;

 private:
  const std::string target_;
};

// Fifos, sockets and device nodes: attributes only; opening them is the
// VFS's business (device registry, pipes).
class Node : public RamInode {
 public:
  Node(RefPtr<MountSource> msrc, InodeType type, const CreateSpec& spec,
       const linux_abi::Timespec& now);
  // A fifo opens an end of its pipe; other nodes say ENXIO.
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags) override;

 private:
  RefPtr<Pipe> pipe_;  // fifos only
};

// Makes a new inode of spec's type (ENOSPC if the source is out of inodes,
// EINVAL for an unknown type).
ErrnoOr<RefPtr<Inode>> NewInode(const Context& ctx, RefPtr<MountSource> msrc,
                                const CreateSpec& spec);
// A new root directory for an instance.
RefPtr<Dir> NewRoot(const Context& ctx, RefPtr<MountSource> msrc,
                    uint32_t perms, uint32_t uid, uint32_t gid);

// Creates each of paths (e.g. "/proc", "/dev/pts") as directories under
// root, with intermediate directories, mode 0755 owned by root; existing
// directories are kept. As the seed's MakeDirectoryTree, used for the
// submount stub directories under a read-only root.
ErrnoOr<RefPtr<Dir>> MakeDirectoryTree(const Context& ctx,
                                       const std::vector<std::string>& paths);

}  // namespace sentry::fs::ramfs

#endif  // SENTRY_FS_RAMFS_RAMFS_H_
