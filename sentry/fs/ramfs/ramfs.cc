#include "sentry/fs/ramfs/ramfs.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>

#include "absl/base/attributes.h"
#include "base/hash.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/filesystem.h"

namespace sentry::fs::ramfs {

namespace {

bool Before(const linux_abi::Timespec& a, const linux_abi::Timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

StableAttr MakeStable(MountSource* msrc, InodeType type, uint64_t rdev) {
  StableAttr s;
  s.type = type;
  s.dev = msrc->device();
  s.ino = msrc->NextIno();
  s.rdev = rdev;
  s.block_size = 4096;
  return s;
}

bool ReserveInodeOf(MountSource* msrc) {
  auto* r = dynamic_cast<RamMountSource*>(msrc);
  return r == nullptr || r->ReserveInode();
}

// Byte accounting against a source's limit, where it has one.
bool ReserveBytesOf(RamMountSource* r, uint64_t n) {
  return r == nullptr || r->ReserveBytes(n);
}
void ReleaseBytesOf(RamMountSource* r, uint64_t n) {
  if (r != nullptr) r->ReleaseBytes(n);
}

}  // namespace

// ---- RamMountSource.

bool RamMountSource::ReserveBytes(uint64_t n) {
  if (max_bytes_ == kUnlimited) {
    used_bytes_.fetch_add(n);
    return true;
  }
  uint64_t cur = used_bytes_.load();
  do {
    if (cur + n > max_bytes_) return false;
  } while (!used_bytes_.compare_exchange_weak(cur, cur + n));
  return true;
}

bool RamMountSource::ReserveInode() {
  uint64_t cur = used_inodes_.load();
  do {
    if (max_inodes_ != kUnlimited && cur + 1 > max_inodes_) return false;
  } while (!used_inodes_.compare_exchange_weak(cur, cur + 1));
  return true;
}

// ---- RamInode.

RamInode::RamInode(RefPtr<MountSource> msrc, InodeType type,
                   const CreateSpec& spec, const linux_abi::Timespec& now)
    : Inode(msrc, MakeStable(msrc.get(), type, spec.rdev)) {
  attr_.perms = spec.mode & 07777;
  attr_.uid = spec.uid;
  attr_.gid = spec.gid;
  attr_.nlink = 1;
  attr_.Set(Attr::kAtime, now);
  attr_.SetModified(now);
}

namespace {

// Pages and page tables a locked section unpublished are handed to
// epoch::Retire only once mu_ is released: Retire may run other objects'
// deleters (files, dirents), which take locks of their own and must not
// run under an inode lock. Per thread, as a section runs in one thread.
struct DeferredRetires {
  struct Item {
    void* p;
    void (*fn)(void*);
  };
  std::vector<Item> items;
  void Flush() {
    while (!items.empty()) {
      std::vector<Item> v;
      v.swap(items);
      for (const Item& i : v) epoch::Retire(i.p, i.fn);
    }
  }
  ~DeferredRetires() { Flush(); }
};
thread_local DeferredRetires t_deferred;

void RetireAfterUnlock(void* p, void (*fn)(void*)) {
  t_deferred.items.push_back({p, fn});
}

// Declared before a section's lock, so that it runs after the unlock.
struct RetireOnExit {
  RetireOnExit() = default;
  RetireOnExit(const RetireOnExit&) = delete;
  ~RetireOnExit() { t_deferred.Flush(); }
};

// Tries of a lock-free copy before taking the lock: a changed count means
// a writer came and went, and the next try usually succeeds.
constexpr int kLockFreeTries = 4;
}  // namespace

// Field by field, so no memcpy call (which TSan intercepts whatever the
// attribute says) copies racing bytes, and the fields themselves rather
// than Attr::Get (an instrumented call, under TSan): the lock-free copy
// calls this, and what races there is thrown away.
// Writes every field of *out (GetAttrInGuard's contract): the size check
// below fails if UnstableAttr gains one this does not write.
static_assert(sizeof(UnstableAttr) == 88, "UnpackAttr writes every field");
BASE_NO_SANITIZE_THREAD void RamInode::UnpackAttr(UnstableAttr* out) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  out->perms = attr_.perms;
  out->uid = attr_.uid;
  out->gid = attr_.gid;
  out->nlink = attr_.nlink;
  out->size = attr_.size;
  out->usage = Usage();
  out->atime = {attr_.sec[Attr::kAtime], attr_.nsec[Attr::kAtime]};
  out->mtime = {attr_.sec[Attr::kMtime], attr_.nsec[Attr::kMtime]};
  out->ctime = {attr_.sec[Attr::kCtime], attr_.nsec[Attr::kCtime]};
}

BASE_NO_SANITIZE_THREAD bool RamInode::CopyAttrLockFree(UnstableAttr* out) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (int i = 0; i < kLockFreeTries; ++i) {
    const uint32_t begin = mu_.ReadBegin();
    if (begin & 1) return false;  // a writer is inside: wait on the lock
    UnpackAttr(out);
    if (mu_.ReadValid(begin)) return true;
  }
  return false;
}

BASE_NO_SANITIZE_THREAD bool RamInode::CopyAccessLockFree(AccessAttr* out) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (int i = 0; i < kLockFreeTries; ++i) {
    const uint32_t begin = mu_.ReadBegin();
    if (begin & 1) return false;
    out->perms = attr_.perms;
    out->uid = attr_.uid;
    out->gid = attr_.gid;
    if (mu_.ReadValid(begin)) return true;
  }
  return false;
}

// Inline into TouchAtime, which every read of a relatime mount runs
// (except under TSan, where its no-sanitize attribute forbids inlining
// into a sanitized caller).
#ifdef BASE_TSAN
#define RAMFS_INLINE_UNLESS_TSAN inline
#else
#define RAMFS_INLINE_UNLESS_TSAN ABSL_ATTRIBUTE_ALWAYS_INLINE inline
#endif
BASE_NO_SANITIZE_THREAD RAMFS_INLINE_UNLESS_TSAN bool
RamInode::CopyTimesLockFree(
    linux_abi::Timespec* atime, linux_abi::Timespec* mtime,
    linux_abi::Timespec* ctime) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (int i = 0; i < kLockFreeTries; ++i) {
    const uint32_t begin = mu_.ReadBegin();
    if (begin & 1) return false;
    *atime = {attr_.sec[Attr::kAtime], attr_.nsec[Attr::kAtime]};
    *mtime = {attr_.sec[Attr::kMtime], attr_.nsec[Attr::kMtime]};
    *ctime = {attr_.sec[Attr::kCtime], attr_.nsec[Attr::kCtime]};
    if (mu_.ReadValid(begin)) return true;
  }
  return false;
}

ErrnoOr<AccessAttr> RamInode::GetAccessAttr(const Context&) {
  AccessAttr a;
  if (CopyAccessLockFree(&a)) return a;
  base::SeqReaderMutexLock l(&mu_);
  return AccessAttr{attr_.perms, attr_.uid, attr_.gid};
}

RamInode::~RamInode() {
  if (RamMountSource* r = counter()) r->ReleaseInode();
}

RamMountSource* RamInode::counter() const {
  return dynamic_cast<RamMountSource*>(mount_source());
}

BASE_NO_SANITIZE_THREAD int64_t RamInode::Usage() const {
  // Only RegularFile is of this type here (NewInode).
  if (!IsRegular()) return 0;
  return static_cast<int64_t>(
      static_cast<const RegularFile*>(this)->PageCountRacy() *
      RegularFile::kPageSize);
}

void RamInode::CopyAttr(UnstableAttr* out) const {
  if (CopyAttrLockFree(out)) return;
  base::SeqReaderMutexLock l(&mu_);
  UnpackAttr(out);
}

ErrnoOr<UnstableAttr> RamInode::GetAttr(const Context&) {
  UnfilledAttr storage;  // CopyAttr writes every field (see UnpackAttr)
  CopyAttr(storage.get());
  return *storage.get();
}

// Straight into *out: no ErrnoOr to fill and copy again.
bool RamInode::GetAttrInGuard(const Context&, UnstableAttr* out) {
  CopyAttr(out);
  return true;
}

Errno RamInode::TruncateLocked(const Context&, int64_t) {
  return Errno(IsDir() ? EISDIR : EINVAL);
}

Errno RamInode::SetAttr(const Context& ctx, const AttrChange& ch) {
  RetireOnExit retire;  // what a truncate dropped
  base::SeqMutexLock l(&mu_);
  linux_abi::Timespec now = ctx.Now();
  if (ch.size) {
    RETURN_IF_ERRNO(TruncateLocked(ctx, *ch.size));
  }
  if (ch.perms) attr_.perms = *ch.perms & 07777;
  if (ch.uid) attr_.uid = *ch.uid;
  if (ch.gid) attr_.gid = *ch.gid;
  if (ch.atime) attr_.Set(Attr::kAtime, *ch.atime);
  if (ch.mtime) attr_.Set(Attr::kMtime, *ch.mtime);
  attr_.Set(Attr::kCtime, ch.ctime ? *ch.ctime : now);
  return Errno();
}

namespace {

// relatime: atime moves only if it is older than mtime or ctime, or a day
// old (which a coarse clock tells as well as a precise one, and cheaper:
// this runs on every read).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool AtimeStale(
    const Context& ctx, const linux_abi::Timespec& atime,
    const linux_abi::Timespec& mtime, const linux_abi::Timespec& ctime) {
  return !Before(mtime, atime) || !Before(ctime, atime) ||
         ctx.NowCoarse().tv_sec - atime.tv_sec >= 24 * 3600;
}

}  // namespace

void RamInode::TouchAtime(const Context& ctx, bool relatime) {
  if (relatime) {
    // Usually nothing to do: find that out without writing mu_'s line.
    linux_abi::Timespec a, m, c;
    if (CopyTimesLockFree(&a, &m, &c) && !AtimeStale(ctx, a, m, c)) return;
  }
  base::SeqMutexLock l(&mu_);
  if (relatime &&
      !AtimeStale(ctx, attr_.Get(Attr::kAtime), attr_.Get(Attr::kMtime),
                  attr_.Get(Attr::kCtime))) {
    return;
  }
  attr_.Set(Attr::kAtime, ctx.Now());
}

void RamInode::AdjustLinks(int delta, const linux_abi::Timespec& now) {
  base::SeqMutexLock l(&mu_);
  attr_.nlink += delta;
  attr_.Set(Attr::kCtime, now);
}

uint64_t RamInode::links() const {
  base::SeqReaderMutexLock l(&mu_);
  return attr_.nlink;
}

void RamInode::TouchCtime(const linux_abi::Timespec& now) {
  base::SeqMutexLock l(&mu_);
  attr_.Set(Attr::kCtime, now);
}

ErrnoOr<std::string> RamInode::GetXattr(const Context&, std::string_view name) {
  base::SeqReaderMutexLock l(&mu_);
  const XattrMap* x = memory_xattrs_if_any();
  if (x == nullptr) return Errno(ENODATA);
  auto it = x->find(name);
  if (it == x->end()) return Errno(ENODATA);
  return it->second;
}

Errno RamInode::SetXattr(const Context& ctx, std::string_view name,
                         std::string_view value, int flags) {
  base::SeqMutexLock l(&mu_);
  XattrMap* x = memory_xattrs_if_any();
  if (x == nullptr && (flags & XATTR_REPLACE)) return Errno(ENODATA);
  if (x == nullptr) x = &memory_xattrs();
  auto it = x->find(name);
  if (it != x->end() && (flags & XATTR_CREATE)) return Errno(EEXIST);
  if (it == x->end() && (flags & XATTR_REPLACE)) return Errno(ENODATA);
  if (it != x->end()) {
    it->second = std::string(value);
  } else {
    x->emplace(std::string(name), std::string(value));
  }
  attr_.Set(Attr::kCtime, ctx.Now());
  return Errno();
}

ErrnoOr<std::vector<std::string>> RamInode::ListXattr(const Context&) {
  base::SeqReaderMutexLock l(&mu_);
  std::vector<std::string> out;
  if (const XattrMap* x = memory_xattrs_if_any()) {
    for (const auto& [k, v] : *x) out.push_back(k);
  }
  return out;
}

Errno RamInode::RemoveXattr(const Context& ctx, std::string_view name) {
  base::SeqMutexLock l(&mu_);
  XattrMap* x = memory_xattrs_if_any();
  if (x == nullptr) return Errno(ENODATA);
  auto it = x->find(name);
  if (it == x->end()) return Errno(ENODATA);
  x->erase(it);
  attr_.Set(Attr::kCtime, ctx.Now());
  return Errno();
}

ErrnoOr<linux_abi::Statfs> RamInode::StatFS(const Context&) {
  linux_abi::Statfs s{};
  RamMountSource* r = dynamic_cast<RamMountSource*>(mount_source());
  s.f_type = r ? r->Magic() : linux_abi::kRamfsMagic;
  s.f_bsize = 4096;
  s.f_frsize = 4096;
  s.f_namelen = linux_abi::kNameMax;
  if (r && r->max_bytes() != RamMountSource::kUnlimited) {
    s.f_blocks = r->max_bytes() / 4096;
    uint64_t used = r->used_bytes() / 4096;
    s.f_bfree = s.f_bavail = s.f_blocks > used ? s.f_blocks - used : 0;
  }
  if (r && r->max_inodes() != RamMountSource::kUnlimited) {
    s.f_files = r->max_inodes();
    uint64_t used = r->used_inodes();
    s.f_ffree = s.f_files > used ? s.f_files - used : 0;
  }
  return s;
}

// ---- Dir.

Dir::Dir(RefPtr<MountSource> msrc, const CreateSpec& spec,
         const linux_abi::Timespec& now)
    : RamInode(std::move(msrc), InodeType::kDirectory, spec, now) {
  base::SeqMutexLock l(&mu_);
  attr_.nlink = 2;
  attr_.size = 2 * kBogoDirentSize;
  parent_ino_.store(stable_attr().ino, std::memory_order_relaxed);
}

// The last reference is gone: nobody else can hold mu_.
Dir::~Dir() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  by_name_.clear();
  for (Entry* e : entries_) FreeEntry(e);
  entries_.clear();
}

size_t Dir::ByName::Hash(std::string_view n) { return base::HashName(n); }

Dir::Entry* Dir::NewEntry(uint64_t serial, std::string_view name,
                          RefPtr<Inode> inode) {
  // Names are at most NAME_MAX (255) bytes: InsertLocked checked.
  void* mem = ::operator new(
      std::max(sizeof(Entry), offsetof(Entry, name) + name.size()));
  Entry* e = new (mem) Entry{serial << 8 | name.size(), std::move(inode), {}};
  std::memcpy(reinterpret_cast<char*>(e) + offsetof(Entry, name), name.data(),
              name.size());
  return e;
}

void Dir::FreeEntry(Entry* e) {
  e->~Entry();
  ::operator delete(e);
}

Dir::Entry* Dir::FindEntryLocked(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : *it;
}

Inode* Dir::FindLocked(std::string_view name) const {
  Entry* e = FindEntryLocked(name);
  return e == nullptr ? nullptr : e->inode.get();
}

Errno Dir::InsertLocked(std::string_view name, RefPtr<Inode> child) {
  if (by_name_.contains(name)) return Errno(EEXIST);
  // The VFS checks NAME_MAX on paths; this is for callers that come in
  // below it (dev, restore).
  if (name.size() > static_cast<size_t>(linux_abi::kNameMax)) {
    return Errno(ENAMETOOLONG);
  }
  if (next_serial_ > kMaxSerial) return Errno(ENOSPC);
  attr_.size += kBogoDirentSize;
  if (child->IsDir()) {
    attr_.nlink++;
    if (auto* d = dynamic_cast<Dir*>(child.get())) {
      d->parent_ino_.store(stable_attr().ino, std::memory_order_relaxed);
    }
  }
  Entry* e = NewEntry(next_serial_++, name, std::move(child));
  by_name_.insert(e);
  entries_.insert(e);
  return Errno();
}

RefPtr<Inode> Dir::EraseLocked(std::string_view name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  Entry* e = *it;
  by_name_.erase(it);
  entries_.erase(e);
  RefPtr<Inode> child = std::move(e->inode);
  FreeEntry(e);
  attr_.size -= kBogoDirentSize;
  if (child->IsDir()) attr_.nlink--;
  return child;
}

ErrnoOr<RefPtr<Inode>> Dir::Lookup(const Context&, std::string_view name) {
  base::SeqReaderMutexLock l(&mu_);
  Inode* in = FindLocked(name);
  if (!in) return Errno(ENOENT);
  return RefPtr<Inode>(in);
}

ErrnoOr<RefPtr<Inode>> Dir::CreateChild(const Context& ctx,
                                        std::string_view name,
                                        const CreateSpec& spec) {
  base::SeqMutexLock l(&mu_);
  if (attr_.nlink == 0) return Errno(ENOENT);  // removed directory
  if (FindLocked(name)) return Errno(EEXIST);
  if ((spec.mode & S_IFMT) == S_IFDIR && attr_.nlink >= linux_abi::kLinkMax) {
    return Errno(EMLINK);
  }
  ASSIGN_OR_RETURN(RefPtr<Inode> child,
                   NewInode(ctx, RefPtr<MountSource>(mount_source()), spec));
  RETURN_IF_ERRNO(InsertLocked(name, child));
  attr_.SetModified(ctx.Now());
  return child;
}

Errno Dir::AddChild(std::string_view name, RefPtr<Inode> child) {
  base::SeqMutexLock l(&mu_);
  return InsertLocked(name, std::move(child));
}

ErrnoOr<RefPtr<Inode>> Dir::CreateTmpfile(const Context& ctx,
                                          const CreateSpec& spec,
                                          bool linkable) {
  {
    base::SeqReaderMutexLock l(&mu_);
    if (attr_.nlink == 0) return Errno(ENOENT);
  }
  CreateSpec s = spec;
  s.mode = S_IFREG | (spec.mode & 07777);
  ASSIGN_OR_RETURN(RefPtr<Inode> in,
                   NewInode(ctx, RefPtr<MountSource>(mount_source()), s));
  auto* reg = static_cast<RegularFile*>(in.get());
  reg->AdjustLinks(-1, ctx.Now());
  reg->set_linkable(linkable);
  return in;
}

Errno Dir::Link(const Context& ctx, std::string_view name, Inode* target) {
  auto* t = dynamic_cast<RamInode*>(target);
  if (t == nullptr || target->mount_source() != mount_source()) {
    return Errno(EXDEV);
  }
  if (target->IsDir()) return Errno(EPERM);
  base::SeqMutexLock l(&mu_);
  if (attr_.nlink == 0) return Errno(ENOENT);
  if (FindLocked(name)) return Errno(EEXIST);
  uint64_t n = t->links();
  if (n == 0) {
    // Only an O_TMPFILE file opened without O_EXCL may come back.
    auto* reg = dynamic_cast<RegularFile*>(t);
    if (reg == nullptr || !reg->TakeLinkable()) return Errno(ENOENT);
  }
  if (n >= static_cast<uint64_t>(linux_abi::kLinkMax)) return Errno(EMLINK);
  linux_abi::Timespec now = ctx.Now();
  RETURN_IF_ERRNO(InsertLocked(name, RefPtr<Inode>(target)));
  t->AdjustLinks(+1, now);
  attr_.SetModified(now);
  return Errno();
}

Errno Dir::RemoveChild(const Context& ctx, std::string_view name, bool dir) {
  base::SeqMutexLock l(&mu_);
  Inode* in = FindLocked(name);
  if (!in) return Errno(ENOENT);
  if (dir) {
    if (!in->IsDir()) return Errno(ENOTDIR);
    auto* d = static_cast<Dir*>(in);
    base::SeqReaderMutexLock cl(&d->mu_);
    if (!d->entries_.empty()) return Errno(ENOTEMPTY);
  } else if (in->IsDir()) {
    return Errno(EISDIR);
  }
  linux_abi::Timespec now = ctx.Now();
  RefPtr<Inode> child = EraseLocked(name);
  auto* rc = static_cast<RamInode*>(child.get());
  if (child->IsDir()) {
    rc->AdjustLinks(-2, now);
  } else {
    rc->AdjustLinks(-1, now);
  }
  attr_.SetModified(now);
  return Errno();
}

Errno Dir::Rename(const Context& ctx, std::string_view old_name,
                  Inode* new_parent_inode, std::string_view new_name,
                  unsigned flags) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const unsigned hint = flags & kRenameHintMask;
  flags &= ~kRenameHintMask;
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return Errno(EINVAL);
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) {
    return Errno(EINVAL);
  }
  auto* np = dynamic_cast<Dir*>(new_parent_inode);
  if (np == nullptr || np->mount_source() != mount_source()) {
    return Errno(EXDEV);
  }
  RefPtr<Inode> keep_src, keep_dst;  // released after the locks
  // Ancestor first, as creates and removals lock parent before child;
  // unrelated directories by address.
  Dir* a = this;
  Dir* b = np;
  if (hint & kRenameNewParentIsAncestor) {
    std::swap(a, b);
  } else if (!(hint & kRenameOldParentIsAncestor) && b < a) {
    std::swap(a, b);
  }
  a->mu_.Lock();
  if (b != a) b->mu_.Lock();
  auto unlock = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (b != a) b->mu_.Unlock();
    a->mu_.Unlock();
  };
  if (attr_.nlink == 0 || np->attr_.nlink == 0) {  // a removed directory
    unlock();
    return Errno(ENOENT);
  }
  Inode* src = FindLocked(old_name);
  if (!src) {
    unlock();
    return Errno(ENOENT);
  }
  Inode* dst = np->FindLocked(new_name);
  if (flags & RENAME_NOREPLACE && dst) {
    unlock();
    return Errno(EEXIST);
  }
  linux_abi::Timespec now = ctx.Now();
  if (flags & RENAME_EXCHANGE) {
    if (!dst) {
      unlock();
      return Errno(ENOENT);
    }
    if (src == dst) {
      unlock();
      return Errno();
    }
    std::swap(FindEntryLocked(old_name)->inode,
              np->FindEntryLocked(new_name)->inode);
    if (this != np && src->IsDir() != dst->IsDir()) {
      // A directory changes parent: link counts of the parents move.
      if (src->IsDir()) {
        attr_.nlink--;
        np->attr_.nlink++;
      } else {
        attr_.nlink++;
        np->attr_.nlink--;
      }
    }
    for (auto [in, parent] : {std::pair{src, np}, std::pair{dst, this}}) {
      if (auto* d = dynamic_cast<Dir*>(in)) {
        d->parent_ino_.store(parent->stable_attr().ino,
                             std::memory_order_relaxed);
      }
      static_cast<RamInode*>(in)->TouchCtime(now);
    }
    attr_.SetModified(now);
    np->attr_.SetModified(now);
    unlock();
    return Errno();
  }
  if (dst) {
    if (src == dst) {  // two names of one inode: nothing happens
      unlock();
      return Errno();
    }
    if (src->IsDir()) {
      if (!dst->IsDir()) {
        unlock();
        return Errno(ENOTDIR);
      }
      auto* dd = static_cast<Dir*>(dst);
      bool empty;
      {
        base::SeqReaderMutexLock cl(&dd->mu_);
        empty = dd->entries_.empty();
      }
      if (!empty) {
        unlock();
        return Errno(ENOTEMPTY);
      }
    } else if (dst->IsDir()) {
      unlock();
      return Errno(EISDIR);
    }
    if (src->IsDir() && np->attr_.nlink >= linux_abi::kLinkMax && this != np) {
      unlock();
      return Errno(EMLINK);
    }
    keep_dst = np->EraseLocked(new_name);
    static_cast<RamInode*>(keep_dst.get())
        ->AdjustLinks(keep_dst->IsDir() ? -2 : -1, now);
  } else if (src->IsDir() && this != np &&
             np->attr_.nlink >= linux_abi::kLinkMax) {
    unlock();
    return Errno(EMLINK);
  }
  keep_src = EraseLocked(old_name);
  Errno e = np->InsertLocked(new_name, keep_src);
  static_cast<RamInode*>(keep_src.get())->TouchCtime(now);
  attr_.SetModified(now);
  np->attr_.SetModified(now);
  unlock();
  return e;
}

Errno Dir::IterateDir(const Context&, uint64_t offset, DirSink& sink) {
  // shmem's directories (tmpfs, devtmpfs) list through libfs's offset
  // maps; ramfs's through the dentry cache.
  const RamMountSource* c = counter();
  const bool shmem = c != nullptr && c->Magic() == linux_abi::kTmpfsMagic;
  base::SeqReaderMutexLock l(&mu_);
  if (shmem) return IterateNewestFirstLocked(offset, sink);
  if (offset == 0) {
    if (!sink.Add({".", stable_attr().ino, DT_DIR, 1})) return Errno();
    offset = 1;
  }
  if (offset == 1) {
    if (!sink.Add(
            {"..", parent_ino_.load(std::memory_order_relaxed), DT_DIR, 2})) {
      return Errno();
    }
    offset = 2;
  }
  for (auto it = entries_.lower_bound(offset); it != entries_.end(); ++it) {
    if (!sink.Add(DirEntryOf(*it, (*it)->serial() + 1))) break;
  }
  return Errno();
}

// Linux 6.14's libfs, as tmpfs lists: newest entry first; after an entry,
// the stream stands at the next (older) entry's serial + 1, and resumes
// with the newest entry below that; after the oldest it stands at
// kEndOfDir. So entries made while a listing runs are not in it, and one
// removed meanwhile leaves the rest where they were. Position 2 (past
// "..") is the newest entry, as is any position past every serial.
Errno Dir::IterateNewestFirstLocked(uint64_t offset, DirSink& sink) {
  if (offset == 0) {
    if (!sink.Add({".", stable_attr().ino, DT_DIR, 1})) return Errno();
    offset = 1;
  }
  if (offset == 1) {
    const uint64_t first =
        entries_.empty() ? kEndOfDir : (*entries_.rbegin())->serial() + 1;
    if (!sink.Add({"..", parent_ino_.load(std::memory_order_relaxed), DT_DIR,
                   first})) {
      return Errno();
    }
    offset = 2;
  }
  if (offset == kEndOfDir) return Errno();
  // One iterator, one step back per entry: the older neighbour is the
  // next entry and gives this one's next_off. (No iterator copies: a
  // copy is a 16-byte store whose fields are reloaded at once, which
  // stalls store forwarding, and cost this loop 70%.)
  auto it = offset == 2 ? entries_.end() : entries_.lower_bound(offset);
  if (it != entries_.begin()) {
    const Entry* cur = *--it;
    while (it != entries_.begin()) {
      const Entry* older = *--it;
      if (!sink.Add(DirEntryOf(cur, older->serial() + 1))) return Errno();
      cur = older;
    }
    if (!sink.Add(DirEntryOf(cur, kEndOfDir))) return Errno();
  }
  sink.ReachedEnd(kEndOfDir);
  return Errno();
}

DirEntry Dir::DirEntryOf(const Entry* en, uint64_t next_off) {
  const Inode* in = en->inode.get();
  return DirEntry{en->Name(), in->stable_attr().ino,
                  linux_abi::ModeToDirentType(FileTypeBits(in->type())),
                  next_off};
}

ErrnoOr<bool> Dir::HasChildren(const Context&) {
  base::SeqReaderMutexLock l(&mu_);
  return !entries_.empty();
}

size_t Dir::EntryCountForTest() const {
  base::SeqReaderMutexLock l(&mu_);
  return entries_.size();
}

// ---- RegularFile.

RegularFile::RegularFile(RefPtr<MountSource> msrc, const CreateSpec& spec,
                         const linux_abi::Timespec& now)
    : RamInode(std::move(msrc), InodeType::kRegular, spec, now) {}

RegularFile::Data& RegularFile::D() {
  Data* d = data_.load(std::memory_order_relaxed);
  if (d == nullptr) {
    d = new Data();
    data_.store(d, std::memory_order_release);
  }
  return *d;
}

const RegularFile::Data& RegularFile::CD() const {
  static const Data* const empty = new Data();
  const Data* d = data_.load(std::memory_order_relaxed);
  return d ? *d : *empty;
}

bool RegularFile::TakeLinkable() {
  base::SeqMutexLock l(&mu_);
  if (!CD().linkable) return false;
  D().linkable = false;
  return true;
}

void RegularFile::set_linkable(bool l) {
  base::SeqMutexLock lock(&mu_);
  if (l || CD().linkable) D().linkable = l;
}

RegularFile::~RegularFile() {
  base::SeqMutexLock l(&mu_);
  ReleaseBytesOf(counter(), PageCount() * kPageSize);
  // No reader can be inside ReadAt: each holds a reference on the inode.
  if (Data* d = data_.load(std::memory_order_relaxed)) {
    PageTable::Free(d->table.load(std::memory_order_relaxed));
    delete d;
  }
}

// ---- RegularFile's page table.

namespace {

// The table covers page indices below this (16 MiB); larger files keep
// their further pages in the map only and read them under the lock.
constexpr uint64_t kMaxTablePages = 4096;
// A table is grown to cover an index only while it has at most this many
// slots per page the file holds (sparse files are not worth a table).
constexpr uint64_t kMaxSlotsPerPage = 8;

void FreePage(void* p) { delete[] static_cast<char*>(p); }

// Pages dropped together (truncate), retired as one.
struct RetiredPages {
  std::vector<char*> pages;
  static void Free(void* p) {
    auto* r = static_cast<RetiredPages*>(p);
    for (char* page : r->pages) FreePage(page);
    delete r;
  }
};

// One load of a field that a concurrent writer may change: the compiler
// must not read it twice and act on two different values.
template <typename T>
T LoadOnce(const T& x) {
  return __atomic_load_n(&x, __ATOMIC_RELAXED);
}

}  // namespace

RegularFile::PageTable* RegularFile::PageTable::New(uint64_t cap) {
  void* mem =
      ::operator new(sizeof(PageTable) + cap * sizeof(std::atomic<char*>));
  auto* t = new (mem) PageTable{cap};
  for (uint64_t i = 0; i < cap; ++i) {
    new (&t->slots()[i]) std::atomic<char*>(nullptr);
  }
  return t;
}

void RegularFile::PageTable::Free(void* t) { ::operator delete(t); }

RegularFile::PageMap::iterator RegularFile::InsertPageLocked(
    PageMap::iterator hint, uint64_t idx, Page p) {
  char* raw = p.get();
  auto it = D().pages.emplace_hint(hint, idx, std::move(p));
  D().pages_held.store(D().pages.size(), std::memory_order_relaxed);
  PageTable* t = D().table.load(std::memory_order_relaxed);
  if (t == nullptr || idx >= t->cap) {
    uint64_t cap = t ? t->cap : 0;
    uint64_t want = std::max<uint64_t>(4, std::bit_ceil(idx + 1));
    if (want > kMaxTablePages || want > kMaxSlotsPerPage * PageCount()) {
      return it;  // too big or too sparse: this page stays off the table
    }
    PageTable* fresh = PageTable::New(want);
    for (uint64_t i = 0; i < cap; ++i) {
      fresh->slots()[i].store(t->slots()[i].load(std::memory_order_relaxed),
                              std::memory_order_relaxed);
    }
    // Pages past the old table (which a sparser file kept off it).
    for (auto j = D().pages.lower_bound(cap);
         j != D().pages.end() && j->first < want; ++j) {
      fresh->slots()[j->first].store(j->second.get(),
                                     std::memory_order_relaxed);
    }
    D().table.store(fresh, std::memory_order_seq_cst);
    if (t) RetireAfterUnlock(t, &PageTable::Free);
    return it;
  }
  // The page's bytes are written (by the caller) inside this exclusive
  // section, so a reader that finds the page before they are validates
  // against the count and retries.
  t->slots()[idx].store(raw, std::memory_order_release);
  return it;
}

RegularFile::PageMap::iterator RegularFile::ErasePageLocked(
    PageMap::iterator it) {
  PageTable* t = CD().table.load(std::memory_order_relaxed);
  if (t != nullptr && it->first < t->cap) {
    t->slots()[it->first].store(nullptr, std::memory_order_seq_cst);
    RetireAfterUnlock(it->second.release(), &FreePage);
  }
  auto next = D().pages.erase(it);
  D().pages_held.store(D().pages.size(), std::memory_order_relaxed);
  return next;
}

// ---- RegularFile reads and writes.

ErrnoOr<size_t> RegularFile::ReadAt(const Context&, const IOSequence& dst,
                                    uint64_t offset) {
#ifndef BASE_TSAN
  // Under TSan the copy's race with a writer would be reported (it is
  // thrown away, but a memcpy is a memcpy): always lock there.
  if (size_t n = ReadLockFree(dst, offset); n != kReadLocked) return n;
#endif
  return ReadLocked(dst, offset);
}

// A sequence-locked read: the size, the pages and their bytes are copied
// between two loads of mu_'s count and kept only if it did not move, so
// a read sees one whole state between writes, as the locked read does.
// What it copied on a failed try is overwritten by the next one (the
// caller's buffer may briefly hold bytes of a write in progress; bytes
// past the count finally returned keep what a try put there).
size_t RegularFile::ReadLockFree(const IOSequence& dst, uint64_t offset)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  epoch::ReadGuard guard;  // keeps tables and pages we load alive
  for (int i = 0; i < kLockFreeTries; ++i) {
    const uint32_t begin = mu_.ReadBegin();
    if (begin & 1) return kReadLocked;  // a writer is inside: wait on mu_
    PageTable* t = Table();
    if (t == nullptr) return kReadLocked;
    const int64_t size = LoadOnce(attr_.size);
    size_t n = 0;
    if (size >= 0 && offset < static_cast<uint64_t>(size)) {
      n = std::min<uint64_t>(dst.size(), size - offset);
      if (n > 0 && (offset + n - 1) / kPageSize >= t->cap) return kReadLocked;
      for (size_t done = 0; done < n;) {
        uint64_t pos = offset + done;
        uint64_t in_page = pos % kPageSize;
        size_t k = std::min<uint64_t>(kPageSize - in_page, n - done);
        char* page =
            t->slots()[pos / kPageSize].load(std::memory_order_acquire);
        if (page != nullptr) {
          dst.CopyOut(done, page + in_page, k);
        } else {
          dst.ZeroOut(done, k);
        }
        done += k;
      }
    }
    if (mu_.ReadValid(begin)) return n;
  }
  return kReadLocked;
}

ErrnoOr<size_t> RegularFile::ReadLocked(const IOSequence& dst,
                                        uint64_t offset) {
  base::SeqReaderMutexLock l(&mu_);
  uint64_t size = attr_.size;
  if (offset >= size) return size_t{0};
  size_t n = std::min<uint64_t>(dst.size(), size - offset);
  size_t done = 0;
  auto it = CD().pages.lower_bound(offset / kPageSize);
  while (done < n) {
    uint64_t pos = offset + done;
    uint64_t idx = pos / kPageSize;
    uint64_t in_page = pos % kPageSize;
    size_t k = std::min<uint64_t>(kPageSize - in_page, n - done);
    while (it != CD().pages.end() && it->first < idx) ++it;
    if (it != CD().pages.end() && it->first == idx) {
      dst.CopyOut(done, it->second.get() + in_page, k);
    } else {
      dst.ZeroOut(done, k);
    }
    done += k;
  }
  return n;
}

// The page after it, for a loop over consecutive pages. Past the last
// page (appending) that is end(): known without asking the b-tree, whose
// step off its last entry climbs to the root (and its iterator copy stalls
// store forwarding), once per page of a growing file.
RegularFile::PageMap::iterator RegularFile::NextPage(PageMap::iterator it,
                                                     bool appending) {
  return appending ? D().pages.end() : std::next(it);
}

ErrnoOr<size_t> RegularFile::WriteAt(const Context& ctx, const IOSequence& src,
                                     uint64_t offset, bool append,
                                     uint64_t* offset_out) {
  RetireOnExit retire;  // a table outgrown
  base::SeqMutexLock l(&mu_);
  if (append) offset = attr_.size;
  *offset_out = offset;
  size_t n = src.size();
  if (n == 0) return size_t{0};
  uint64_t limit = std::min<uint64_t>(ctx.file_size_limit(),
                                      std::numeric_limits<int64_t>::max());
  if (offset >= limit) return Errno(EFBIG);
  n = std::min<uint64_t>(n, limit - offset);
  Data& d = D();
  // Pages the write overwrites, from the start, straight from the
  // lock-free readers' table (which holds every page below its cap, and
  // is exact under mu_): no b-tree step per page. The first page the
  // table does not have (a hole, or past its cap) ends this, and the
  // loop below, which can add pages, does the rest.
  size_t done = 0;
  if (PageTable* t = d.table.load(std::memory_order_relaxed)) {
    const bool any_unwritten = !d.unwritten.empty();
    while (done < n) {
      const uint64_t pos = offset + done;
      const uint64_t idx = pos / kPageSize;
      if (idx >= t->cap) break;
      char* page = t->slots()[idx].load(std::memory_order_relaxed);
      if (page == nullptr) break;
      const uint64_t in_page = pos % kPageSize;
      const size_t k = std::min<uint64_t>(kPageSize - in_page, n - done);
      src.CopyIn(done, page + in_page, k);
      if (any_unwritten) d.unwritten.erase(idx);
      done += k;
    }
  }
  // One descent of the page map for the rest: the pages are visited (and
  // new ones inserted) in order, each at the iterator.
  auto it = d.pages.lower_bound((offset + done) / kPageSize);
  // The source is looked up (a dynamic_cast) once, and only if a page is
  // added: an overwrite, the common pwrite, needs none.
  RamMountSource* ctr = nullptr;
  bool ctr_known = false;
  bool appending = false;  // pages are being added past the last
  auto source = [&] {
    if (!ctr_known) {
      ctr = counter();
      ctr_known = true;
    }
    return ctr;
  };
  while (done < n) {
    uint64_t pos = offset + done;
    uint64_t idx = pos / kPageSize;
    uint64_t in_page = pos % kPageSize;
    size_t k = std::min<uint64_t>(kPageSize - in_page, n - done);
    bool fresh = false;  // a new page this copy fills whole
    if (it == d.pages.end() || it->first != idx) {
      if (!ReserveBytesOf(source(), kPageSize)) break;
      Page p(new char[kPageSize]);
      if (in_page != 0 || k != kPageSize) {
        std::memset(p.get(), 0, kPageSize);
      } else {
        fresh = true;
      }
      appending = it == d.pages.end();
      it = InsertPageLocked(it, idx, std::move(p));
    }
    src.CopyIn(done, it->second.get() + in_page, k, fresh);
    if (!d.unwritten.empty()) d.unwritten.erase(idx);
    it = NextPage(it, appending);
    done += k;
  }
  if (done == 0) return Errno(ENOSPC);
  if (offset + done > static_cast<uint64_t>(attr_.size)) {
    attr_.size = offset + done;
  }
  attr_.SetModified(ctx.Now());
  return done;
}

ErrnoOr<size_t> RegularFile::CopyRangeFrom(const Context& ctx, Inode* src,
                                           uint64_t offset, size_t n) {
  RetireOnExit retire;  // a table outgrown
  base::SeqMutexLock l(&mu_);
  uint64_t limit = std::min<uint64_t>(ctx.file_size_limit(),
                                      std::numeric_limits<int64_t>::max());
  if (n == 0) return size_t{0};
  if (offset >= limit) return Errno(EFBIG);
  n = std::min<uint64_t>(n, limit - offset);
  RamMountSource* const ctr = counter();
  size_t done = 0;
  Errno err;
  bool full = false;
  bool appending = false;  // pages are being added past the last
  auto it = D().pages.lower_bound(offset / kPageSize);
  while (done < n) {
    const uint64_t pos = offset + done;
    const uint64_t idx = pos / kPageSize;
    const uint64_t in_page = pos % kPageSize;
    const size_t k = std::min<uint64_t>(kPageSize - in_page, n - done);
    bool fresh = false;  // a page made for this read
    if (it == D().pages.end() || it->first != idx) {
      if (!ReserveBytesOf(ctr, kPageSize)) {
        full = true;
        break;
      }
      fresh = true;
      Page p(new char[kPageSize]);
      if (in_page != 0 || k != kPageSize) std::memset(p.get(), 0, kPageSize);
      appending = it == D().pages.end();
      it = InsertPageLocked(it, idx, std::move(p));
    }
    char* at = it->second.get() + in_page;
    const bool whole_fresh = fresh && in_page == 0 && k == kPageSize;
    auto got = src->ReadAt(
        ctx, whole_fresh ? IOSequence::IntoFresh(at, k) : IOSequence(at, k),
        pos);
    if (!got.ok() || (*got == 0 && fresh)) {
      // Nothing came for a page made for it: take the page back.
      if (fresh) {
        ErasePageLocked(it);
        ReleaseBytesOf(ctr, kPageSize);
      }
      if (!got.ok()) err = got.error();
      break;
    }
    // What src did not fill (it ended) must read as zeros, as a page that
    // was never written does.
    if (*got < k) std::memset(at + *got, 0, k - *got);
    if (*got > 0 && !D().unwritten.empty()) D().unwritten.erase(idx);
    done += *got;
    if (*got < k) break;
    it = NextPage(it, appending);
  }
  if (done == 0) {
    if (!err.ok()) return err;
    if (full) return Errno(ENOSPC);
    return size_t{0};
  }
  if (offset + done > static_cast<uint64_t>(attr_.size)) {
    attr_.size = offset + done;
  }
  attr_.SetModified(ctx.Now());
  return done;
}

void RegularFile::DropFromLocked(uint64_t from) {
  if (data_.load(std::memory_order_relaxed) == nullptr) return;  // no page
  uint64_t first_whole = (from + kPageSize - 1) / kPageSize;
  if (from % kPageSize) {
    auto it = D().pages.find(from / kPageSize);
    if (it != D().pages.end()) {
      std::memset(it->second.get() + from % kPageSize, 0,
                  kPageSize - from % kPageSize);
    }
  }
  auto it = D().pages.lower_bound(first_whole);
  size_t dropped = 0;
  // Published pages go to the epoch in one batch, the rest at once.
  PageTable* t = CD().table.load(std::memory_order_relaxed);
  auto retired = std::make_unique<RetiredPages>();
  while (it != D().pages.end()) {
    D().unwritten.erase(it->first);
    if (t != nullptr && it->first < t->cap) {
      t->slots()[it->first].store(nullptr, std::memory_order_seq_cst);
      retired->pages.push_back(it->second.release());
    }
    it = D().pages.erase(it);
    D().pages_held.store(D().pages.size(), std::memory_order_relaxed);
    ++dropped;
  }
  if (!retired->pages.empty()) {
    RetireAfterUnlock(retired.release(), &RetiredPages::Free);
  }
  ReleaseBytesOf(counter(), dropped * kPageSize);
}

Errno RegularFile::TruncateLocked(const Context& ctx, int64_t size) {
  if (size < 0) return Errno(EINVAL);
  // inode_newsize_ok: RLIMIT_FSIZE bounds growth only.
  if (size > attr_.size &&
      static_cast<uint64_t>(size) > ctx.file_size_limit()) {
    return Errno(EFBIG);
  }
  if (size < attr_.size) DropFromLocked(size);
  if (size != attr_.size) {
    attr_.size = size;
    attr_.Set(Attr::kMtime, ctx.Now());
  }
  return Errno();
}

ErrnoOr<uint64_t> RegularFile::SeekDataHole(const Context&, uint64_t offset,
                                            int whence) {
  base::SeqReaderMutexLock l(&mu_);
  uint64_t size = attr_.size;
  if (offset >= size) return Errno(ENXIO);
  uint64_t idx = offset / kPageSize;
  auto is_data = [&](uint64_t i) ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return CD().pages.contains(i) && !CD().unwritten.contains(i);
  };
  if (whence == SEEK_DATA) {
    for (auto it = CD().pages.lower_bound(idx); it != CD().pages.end(); ++it) {
      if (CD().unwritten.contains(it->first)) continue;
      uint64_t pos = std::max(offset, it->first * kPageSize);
      if (pos >= size) return Errno(ENXIO);
      return pos;
    }
    return Errno(ENXIO);
  }
  // SEEK_HOLE: the first page at or after idx that holds no data (one
  // walk along the page map, not a lookup per page).
  if (!is_data(idx)) return offset;
  uint64_t next = idx;
  for (auto it = CD().pages.find(idx);
       it != CD().pages.end() && it->first == next &&
       !CD().unwritten.contains(next);
       ++it) {
    ++next;
  }
  return std::min(next * kPageSize, size);
}

Errno RegularFile::Allocate(const Context& ctx, int mode, uint64_t offset,
                            uint64_t length) {
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) {
    return Errno(EOPNOTSUPP);
  }
  RetireOnExit retire;  // punched pages
  base::SeqMutexLock l(&mu_);
  RamMountSource* const ctr = counter();  // once, not per page
  uint64_t end;
  if (__builtin_add_overflow(offset, length, &end) ||
      end > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Errno(EFBIG);
  }
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    if (!(mode & FALLOC_FL_KEEP_SIZE)) return Errno(EOPNOTSUPP);
    uint64_t e = std::min<uint64_t>(end, attr_.size);
    for (uint64_t pos = offset; pos < e;) {
      uint64_t idx = pos / kPageSize, in_page = pos % kPageSize;
      uint64_t k = std::min(kPageSize - in_page, e - pos);
      auto it = D().pages.find(idx);
      if (it != D().pages.end()) {
        if (k == kPageSize) {
          ErasePageLocked(it);
          D().unwritten.erase(idx);
          ReleaseBytesOf(ctr, kPageSize);
        } else {
          std::memset(it->second.get() + in_page, 0, k);
        }
      }
      pos += k;
    }
    attr_.SetModified(ctx.Now());
    return Errno();
  }
  if (end > static_cast<uint64_t>(attr_.size) && end > ctx.file_size_limit()) {
    return Errno(EFBIG);
  }
  std::vector<uint64_t> added;
  for (uint64_t idx = offset / kPageSize; idx * kPageSize < end; ++idx) {
    if (D().pages.contains(idx)) continue;
    if (!ReserveBytesOf(ctr, kPageSize)) {
      // All or nothing, as shmem_fallocate undoes a failed allocation.
      for (uint64_t a : added) {
        ErasePageLocked(D().pages.find(a));
        D().unwritten.erase(a);
      }
      ReleaseBytesOf(ctr, added.size() * kPageSize);
      return Errno(ENOSPC);
    }
    Page p(new char[kPageSize]);
    std::memset(p.get(), 0, kPageSize);
    InsertPageLocked(D().pages.lower_bound(idx), idx, std::move(p));
    D().unwritten.insert(idx);
    added.push_back(idx);
  }
  if (!(mode & FALLOC_FL_KEEP_SIZE) &&
      end > static_cast<uint64_t>(attr_.size)) {
    attr_.size = end;
  }
  attr_.Set(Attr::kCtime, ctx.Now());
  return Errno();
}

// ---- Symlink and Node.

Symlink::Symlink(RefPtr<MountSource> msrc, const CreateSpec& spec,
                 const linux_abi::Timespec& now)
    : RamInode(std::move(msrc), InodeType::kSymlink, spec, now),
      target_(spec.symlink_target) {
  base::SeqMutexLock l(&mu_);
  attr_.perms = 0777;
  attr_.size = target_.size();
}

ErrnoOr<std::string> Symlink::Readlink(const Context&) { return target_; }

Node::Node(RefPtr<MountSource> msrc, InodeType type, const CreateSpec& spec,
           const linux_abi::Timespec& now)
    : RamInode(std::move(msrc), type, spec, now) {
  if (type == InodeType::kFifo) pipe_ = base::MakeRef<Pipe>();
}

ErrnoOr<FileOpsPtr> Node::Open(const Context& ctx, int flags) {
  if (pipe_) return pipe_->Open(ctx, flags);
  return Inode::Open(ctx, flags);
}

// ---- Construction.

ErrnoOr<RefPtr<Inode>> NewInode(const Context& ctx, RefPtr<MountSource> msrc,
                                const CreateSpec& spec) {
  std::optional<InodeType> type = TypeFromMode(spec.mode);
  if (!type) return Errno(EINVAL);
  if (!ReserveInodeOf(msrc.get())) return Errno(ENOSPC);
  linux_abi::Timespec now = ctx.Now();
  switch (*type) {
    case InodeType::kDirectory:
      return RefPtr<Inode>(base::AdoptRef(new Dir(std::move(msrc), spec, now)));
    case InodeType::kRegular:
      return RefPtr<Inode>(
          base::AdoptRef(new RegularFile(std::move(msrc), spec, now)));
    case InodeType::kSymlink:
      return RefPtr<Inode>(
          base::AdoptRef(new Symlink(std::move(msrc), spec, now)));
    default:
      return RefPtr<Inode>(
          base::AdoptRef(new Node(std::move(msrc), *type, spec, now)));
  }
}

RefPtr<Dir> NewRoot(const Context& ctx, RefPtr<MountSource> msrc,
                    uint32_t perms, uint32_t uid, uint32_t gid) {
  CreateSpec spec;
  spec.mode = S_IFDIR | (perms & 07777);
  spec.uid = uid;
  spec.gid = gid;
  ReserveInodeOf(msrc.get());
  return base::AdoptRef(new Dir(std::move(msrc), spec, ctx.Now()));
}

ErrnoOr<RefPtr<Dir>> MakeDirectoryTree(const Context& ctx,
                                       const std::vector<std::string>& paths) {
  RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(
      new RamMountSource(nullptr, MountSourceFlags{}, "ramfs"));
  RefPtr<Dir> root = NewRoot(ctx, msrc, 0755, 0, 0);
  for (const std::string& p : paths) {
    if (p.empty() || p[0] != '/') return Errno(EINVAL);
    RefPtr<Dir> cur = root;
    size_t pos = 0;
    while (pos < p.size()) {
      while (pos < p.size() && p[pos] == '/') ++pos;
      size_t end = p.find('/', pos);
      if (end == std::string::npos) end = p.size();
      if (end == pos) break;
      std::string_view name(p.data() + pos, end - pos);
      pos = end;
      if (name == "." || name == "..") return Errno(EINVAL);
      auto found = cur->Lookup(ctx, name);
      if (found.ok()) {
        auto* d = dynamic_cast<Dir*>(found->get());
        if (d == nullptr) return Errno(ENOTDIR);
        cur = RefPtr<Dir>(d);
        continue;
      }
      CreateSpec spec;
      spec.mode = S_IFDIR | 0755;
      ASSIGN_OR_RETURN(RefPtr<Inode> child, cur->CreateChild(ctx, name, spec));
      cur = RefPtr<Dir>(static_cast<Dir*>(child.get()));
    }
  }
  return root;
}

namespace {

class RamfsFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "ramfs"; }
  bool AllowUserMount() const override { return true; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(
        new RamMountSource(this, flags, std::string(device)));
    return RefPtr<Inode>(
        NewRoot(ctx, msrc, 0755, ctx.creds().fsuid, ctx.creds().fsgid));
  }
};

Registrar<RamfsFilesystem> ramfs_registrar;

}  // namespace

}  // namespace sentry::fs::ramfs
