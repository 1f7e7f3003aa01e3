#include "sentry/fs/overlay/overlay.h"

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/ramfs/ramfs.h"

namespace sentry::fs::overlay {

namespace {

bool IsPrivateXattr(std::string_view name) {
  return name.substr(0, kPrivateXattrPrefix.size()) == kPrivateXattrPrefix;
}

// Collects a directory's entries.
class VectorSink : public DirSink {
 public:
  bool Add(const DirEntry& e) override {
    if (e.name != "." && e.name != "..") {
      entries.push_back({std::string(e.name), e.ino, e.type});
    }
    return true;
  }
  std::vector<OverlayInode::Entry> entries;
};

ErrnoOr<std::vector<OverlayInode::Entry>> ListDir(const Context& ctx,
                                                  Inode* dir) {
  VectorSink sink;
  RETURN_IF_ERRNO(dir->IterateDir(ctx, 0, sink));
  return std::move(sink.entries);
}

// A directory's merged listing, taken when reading starts (offset 0) so
// offsets stay valid while entries come and go, as Linux overlayfs caches
// a merged directory per open file.
class MergedDirFile : public FileOperations {
 public:
  Errno Readdir(const Context& ctx, File& f, uint64_t offset,
                DirSink& sink) override {
    auto* dir = static_cast<OverlayInode*>(f.inode());
    if (offset == 0 || !snapshot_) {
      ASSIGN_OR_RETURN(std::vector<OverlayInode::Entry> e,
                       dir->MergedEntries(ctx));
      snapshot_ =
          std::make_unique<std::vector<OverlayInode::Entry>>(std::move(e));
    }
    if (offset == 0) {
      if (!sink.Add({".", dir->stable_attr().ino, DT_DIR, 1})) return Errno();
      offset = 1;
    }
    if (offset == 1) {
      if (!sink.Add({"..", dir->stable_attr().ino, DT_DIR, 2})) return Errno();
      offset = 2;
    }
    for (uint64_t i = offset - 2; i < snapshot_->size(); ++i) {
      const auto& e = (*snapshot_)[i];
      if (!sink.Add({e.name, e.ino, e.type, i + 3})) break;
    }
    return Errno();
  }

 private:
  std::unique_ptr<std::vector<OverlayInode::Entry>> snapshot_;
};

}  // namespace

bool IsWhiteout(const Inode& in) {
  return in.type() == InodeType::kCharDevice && in.stable_attr().rdev == 0;
}

OverlayMountSource::OverlayMountSource(MountSourceFlags flags, std::string type,
                                       std::string device)
    : MountSource(nullptr, flags, CachePolicy::kKeep, std::move(device)),
      type_(std::move(type)) {}

namespace {
bool KeptLayer(const Inode& in) {
  const MountSource* m = in.mount_source();
  return m->cache_policy() == CachePolicy::kKeep && m->TrustsNegativeEntries();
}
}  // namespace

void OverlayMountSource::SetLayers(const Inode& upper, const Inode* lower) {
  trust_negatives_ =
      KeptLayer(upper) && (lower == nullptr || KeptLayer(*lower));
}

// ---- OverlayInode.

OverlayInode::OverlayInode(RefPtr<OverlayMountSource> msrc, InodeType type,
                           RefPtr<Inode> upper, RefPtr<Inode> lower,
                           RefPtr<OverlayInode> parent, std::string name)
    : Inode(msrc,
            StableAttr{type, msrc->device(), msrc->NextIno(),
                       (upper ? upper : lower)->stable_attr().rdev, 4096}),
      upper_(std::move(upper)),
      lower_(std::move(lower)),
      parent_(std::move(parent)),
      name_(std::move(name)) {}

OverlayInode::~OverlayInode() {
  if (registered_) {
    OverlayMountSource* m = omsrc();
    base::MutexLock l(&m->map_mu_);
    auto it = m->by_lower_.find(lower_.get());
    if (it != m->by_lower_.end() && it->second == this) m->by_lower_.erase(it);
  }
}

OverlayMountSource* OverlayInode::omsrc() const {
  return static_cast<OverlayMountSource*>(mount_source());
}

RefPtr<Inode> OverlayInode::upper() const {
  base::MutexLock l(&mu_);
  return upper_;
}

RefPtr<Inode> OverlayInode::current() const {
  base::MutexLock l(&mu_);
  return upper_ ? upper_ : lower_;
}

bool OverlayInode::OpaqueLocked(const Context& ctx, Inode* upper_dir) {
  auto v = upper_dir->GetXattr(ctx, kOpaqueXattr);
  return v.ok() && *v == "y";
}

ErrnoOr<OverlayInode::Found> OverlayInode::Find(const Context& ctx,
                                                std::string_view name) {
  if (!IsDir()) return Errno(ENOTDIR);
  Found f;
  RefPtr<Inode> up = upper();
  bool opaque = false;
  if (up) {
    opaque = OpaqueLocked(ctx, up.get());
    auto r = up->Lookup(ctx, name);
    if (r.ok()) {
      if (IsWhiteout(**r)) {
        f.whiteout = true;
      } else {
        f.upper = std::move(*r);
      }
    } else if (r.error() != Errno(ENOENT)) {
      return r.error();  // only ENOENT falls through to the lower layer
    }
  }
  if (f.whiteout || opaque || !lower_) return f;
  // An upper non-directory hides the lower entry; an upper directory
  // merges with a lower directory unless it is opaque.
  if (f.upper && (!f.upper->IsDir() || OpaqueLocked(ctx, f.upper.get()))) {
    return f;
  }
  auto r = lower_->Lookup(ctx, name);
  if (r.ok()) {
    if (!f.upper || (*r)->IsDir()) f.lower = std::move(*r);
  } else if (r.error() != Errno(ENOENT)) {
    return r.error();
  }
  return f;
}

ErrnoOr<RefPtr<Inode>> OverlayInode::Instantiate(Found f,
                                                 std::string_view name) {
  if (!f.upper && !f.lower) return Errno(ENOENT);
  OverlayMountSource* m = omsrc();
  const bool lower_file = !f.upper && !f.lower->IsDir();
  if (lower_file) {
    // One overlay inode per lower inode: hard links stay one file.
    base::MutexLock l(&m->map_mu_);
    auto it = m->by_lower_.find(f.lower.get());
    if (it != m->by_lower_.end() && it->second->TryIncRef()) {
      return RefPtr<Inode>::Adopt(it->second);
    }
  }
  InodeType type = (f.upper ? f.upper : f.lower)->type();
  auto* in =
      new OverlayInode(RefPtr<OverlayMountSource>(m), type, std::move(f.upper),
                       f.lower, RefPtr<OverlayInode>(this), std::string(name));
  RefPtr<Inode> out = RefPtr<Inode>::Adopt(in);
  if (lower_file) {
    base::MutexLock l(&m->map_mu_);
    m->by_lower_[f.lower.get()] = in;
    in->registered_ = true;
  }
  return out;
}

ErrnoOr<RefPtr<Inode>> OverlayInode::Lookup(const Context& ctx,
                                            std::string_view name) {
  ASSIGN_OR_RETURN(Found f, Find(ctx, name));
  return Instantiate(std::move(f), name);
}

ErrnoOr<std::vector<OverlayInode::Entry>> OverlayInode::MergedEntries(
    const Context& ctx) {
  if (!IsDir()) return Errno(ENOTDIR);
  std::vector<Entry> out;
  absl::flat_hash_set<std::string> seen;
  RefPtr<Inode> up = upper();
  bool opaque = false;
  if (up) {
    opaque = OpaqueLocked(ctx, up.get());
    ASSIGN_OR_RETURN(std::vector<Entry> ue, ListDir(ctx, up.get()));
    for (Entry& e : ue) {
      seen.insert(e.name);
      if (e.type == DT_CHR) {
        auto w = up->Lookup(ctx, e.name);
        if (w.ok() && IsWhiteout(**w)) continue;
      }
      out.push_back(std::move(e));
    }
  }
  if (lower_ && !opaque) {
    ASSIGN_OR_RETURN(std::vector<Entry> le, ListDir(ctx, lower_.get()));
    for (Entry& e : le) {
      if (seen.contains(e.name)) continue;
      out.push_back(std::move(e));
    }
  }
  return out;
}

ErrnoOr<bool> OverlayInode::HasChildren(const Context& ctx) {
  ASSIGN_OR_RETURN(std::vector<Entry> e, MergedEntries(ctx));
  return !e.empty();
}

Errno OverlayInode::IterateDir(const Context& ctx, uint64_t offset,
                               DirSink& sink) {
  ASSIGN_OR_RETURN(std::vector<Entry> e, MergedEntries(ctx));
  if (offset == 0) {
    if (!sink.Add({".", stable_attr().ino, DT_DIR, 1})) return Errno();
    offset = 1;
  }
  if (offset == 1) {
    if (!sink.Add({"..", stable_attr().ino, DT_DIR, 2})) return Errno();
    offset = 2;
  }
  for (uint64_t i = offset - 2; i < e.size(); ++i) {
    if (!sink.Add({e[i].name, e[i].ino, e[i].type, i + 3})) break;
  }
  return Errno();
}

// ---- Copy-up.

Errno OverlayInode::CopyUp(const Context& ctx) {
  if (upper()) return Errno();
  base::MutexLock l(&omsrc()->copy_mu_);
  return CopyUpLocked(ctx, /*with_data=*/true);
}

Errno OverlayInode::CopyUpLocked(const Context& ctx, bool with_data) {
  omsrc()->copy_mu_.AssertHeld();
  if (upper()) return Errno();
  if (!parent_) return Errno(EROFS);  // a root with no upper layer
  RETURN_IF_ERRNO(parent_->CopyUpLocked(ctx, true));
  RefPtr<Inode> up_dir = parent_->upper();
  ASSIGN_OR_RETURN(UnstableAttr la, lower_->GetAttr(ctx));
  CreateSpec spec;
  spec.mode = FileTypeBits(type()) | (la.perms & 07777);
  spec.uid = la.uid;
  spec.gid = la.gid;
  spec.rdev = lower_->stable_attr().rdev;
  std::string target;
  RefPtr<Inode> made;
  if (IsRegular()) {
    auto tmp = up_dir->CreateTmpfile(ctx, spec, /*linkable=*/true);
    RefPtr<Inode> t;
    bool named = false;
    if (tmp.ok()) {
      t = std::move(*tmp);
    } else {
      // No O_TMPFILE in the upper: copy in place (visible while copying).
      ASSIGN_OR_RETURN(t, up_dir->CreateChild(ctx, name_, spec));
      named = true;
    }
    Errno e;
    if (with_data && la.size > 0) {
      // Copy the data regions only, so sparse files stay sparse; the
      // upper reads the lower straight into its pages where it can
      // (Inode::CopyRangeFrom).
      constexpr size_t kChunk = 1 << 16;
      uint64_t pos = 0;
      const uint64_t size = la.size;
      context::Context unlimited(ctx.creds());
      while (pos < size && e.ok()) {
        auto data = lower_->SeekDataHole(ctx, pos, SEEK_DATA);
        if (!data.ok()) break;  // only a hole is left
        auto hole = lower_->SeekDataHole(ctx, *data, SEEK_HOLE);
        uint64_t end = hole.ok() ? *hole : size;
        for (pos = *data; pos < end && e.ok();) {
          size_t want = std::min<uint64_t>(kChunk, end - pos);
          auto n = t->CopyRangeFrom(unlimited, lower_.get(), pos, want);
          if (!n.ok()) {
            e = n.error();
            break;
          }
          if (*n == 0) break;
          pos += *n;
        }
        pos = end;
      }
      if (e.ok()) {
        AttrChange sz;
        sz.size = la.size;
        e = t->SetAttr(ctx, sz);
      }
    }
    if (e.ok() && !named) e = up_dir->Link(ctx, name_, t.get());
    if (!e.ok()) {
      if (named) (void)up_dir->RemoveChild(ctx, name_, false);
      return e;
    }
    made = std::move(t);
  } else {
    if (IsSymlink()) {
      ASSIGN_OR_RETURN(target, lower_->Readlink(ctx));
      spec.symlink_target = target;
    }
    ASSIGN_OR_RETURN(made, up_dir->CreateChild(ctx, name_, spec));
  }
  // Extended attributes, then times (last: everything above moves them).
  auto names = lower_->ListXattr(ctx);
  if (names.ok()) {
    for (const std::string& n : *names) {
      if (IsPrivateXattr(n)) continue;
      auto v = lower_->GetXattr(ctx, n);
      if (v.ok()) (void)made->SetXattr(ctx, n, *v, 0);
    }
  }
  AttrChange times;
  times.perms = la.perms;
  times.uid = la.uid;
  times.gid = la.gid;
  times.atime = la.atime;
  times.mtime = la.mtime;
  times.ctime = la.ctime;
  (void)made->SetAttr(ctx, times);
  base::MutexLock l(&mu_);
  upper_ = std::move(made);
  return Errno();
}

Errno OverlayInode::DropWhiteout(const Context& ctx, Inode* up_dir,
                                 std::string_view name) {
  auto w = up_dir->Lookup(ctx, name);
  if (w.ok() && IsWhiteout(**w)) return up_dir->RemoveChild(ctx, name, false);
  return Errno();
}

Errno OverlayInode::MakeWhiteout(const Context& ctx, Inode* up_dir,
                                 std::string_view name) {
  CreateSpec spec;
  spec.mode = S_IFCHR;
  spec.rdev = 0;
  return up_dir->CreateChild(ctx, name, spec).error();
}

// ---- Attributes.

ErrnoOr<UnstableAttr> OverlayInode::GetAttr(const Context& ctx) {
  RefPtr<Inode> up = upper();
  ASSIGN_OR_RETURN(UnstableAttr a, (up ? up : lower_)->GetAttr(ctx));
  // A merged directory's link count cannot be known without reading both
  // layers; Linux overlayfs reports 1, which tools read as "unknown".
  if (IsDir() && up && lower_ && !OpaqueLocked(ctx, up.get())) a.nlink = 1;
  return a;
}

Errno OverlayInode::SetAttr(const Context& ctx, const AttrChange& ch) {
  if (!upper()) {
    base::MutexLock l(&omsrc()->copy_mu_);
    // Truncating to zero need not copy the data first.
    bool with_data = !(ch.size && *ch.size == 0);
    RETURN_IF_ERRNO(CopyUpLocked(ctx, with_data));
  }
  return upper()->SetAttr(ctx, ch);
}

void OverlayInode::TouchAtime(const Context& ctx, bool relatime) {
  // Reading a lower file does not copy it up; its atime stays.
  if (RefPtr<Inode> up = upper()) up->TouchAtime(ctx, relatime);
}

// ---- Directories.

ErrnoOr<RefPtr<Inode>> OverlayInode::CreateChild(const Context& ctx,
                                                 std::string_view name,
                                                 const CreateSpec& spec) {
  ASSIGN_OR_RETURN(Found f, Find(ctx, name));
  if (f.upper || f.lower) return Errno(EEXIST);
  base::MutexLock l(&omsrc()->copy_mu_);
  RETURN_IF_ERRNO(CopyUpLocked(ctx, true));
  RefPtr<Inode> up = upper();
  RETURN_IF_ERRNO(DropWhiteout(ctx, up.get(), name));
  ASSIGN_OR_RETURN(RefPtr<Inode> made, up->CreateChild(ctx, name, spec));
  // A directory made where a lower one was deleted must not show it.
  if (made->IsDir() && f.whiteout) {
    RETURN_IF_ERRNO(made->SetXattr(ctx, kOpaqueXattr, "y", 0));
  }
  Found nf;
  nf.upper = std::move(made);
  return Instantiate(std::move(nf), name);
}

// A lower hard link's file is one overlay inode (Instantiate), copied up
// once, under the name it was reached by first. Another of its lower
// names then has no upper entry: an operation on the upper at that name
// (a rename) first links the copy there. f: what Find gave for name.
Errno OverlayInode::LinkCopiedUpLocked(const Context& ctx,
                                       std::string_view name, const Found& f,
                                       OverlayInode* child) {
  omsrc()->copy_mu_.AssertHeld();
  if (f.upper) return Errno();  // the name has its own upper entry
  RefPtr<Inode> up_dir = upper();
  auto have = up_dir->Lookup(ctx, name);
  if (have.ok()) return Errno();  // made by child's own copy-up
  if (have.error() != Errno(ENOENT)) return have.error();
  return up_dir->Link(ctx, name, child->upper().get());
}

Errno OverlayInode::Link(const Context& ctx, std::string_view name,
                         Inode* target) {
  auto* t = dynamic_cast<OverlayInode*>(target);
  if (t == nullptr || t->mount_source() != mount_source()) return Errno(EXDEV);
  ASSIGN_OR_RETURN(Found f, Find(ctx, name));
  if (f.upper || f.lower) return Errno(EEXIST);
  base::MutexLock l(&omsrc()->copy_mu_);
  RETURN_IF_ERRNO(CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(t->CopyUpLocked(ctx, true));
  RefPtr<Inode> up = upper();
  RETURN_IF_ERRNO(DropWhiteout(ctx, up.get(), name));
  return up->Link(ctx, name, t->upper().get());
}

Errno OverlayInode::RemoveChild(const Context& ctx, std::string_view name,
                                bool dir) {
  ASSIGN_OR_RETURN(Found f, Find(ctx, name));
  if (!f.upper && !f.lower) return Errno(ENOENT);
  Inode* victim = f.upper ? f.upper.get() : f.lower.get();
  if (dir && !victim->IsDir()) return Errno(ENOTDIR);
  if (!dir && victim->IsDir()) return Errno(EISDIR);
  if (dir) {
    ASSIGN_OR_RETURN(RefPtr<Inode> child, Instantiate(f, name));
    ASSIGN_OR_RETURN(bool has, child->HasChildren(ctx));
    if (has) return Errno(ENOTEMPTY);
  }
  base::MutexLock l(&omsrc()->copy_mu_);
  RETURN_IF_ERRNO(CopyUpLocked(ctx, true));
  RefPtr<Inode> up = upper();
  if (f.upper) {
    if (dir) {
      // The upper directory may hold whiteouts only; they go first.
      ASSIGN_OR_RETURN(std::vector<Entry> inner, ListDir(ctx, f.upper.get()));
      for (const Entry& e : inner) {
        RETURN_IF_ERRNO(f.upper->RemoveChild(ctx, e.name, false));
      }
    }
    RETURN_IF_ERRNO(up->RemoveChild(ctx, name, dir));
  }
  // Whether the lower layer has the name (also under an upper entry).
  bool in_lower = false;
  if (lower_) {
    bool opaque = OpaqueLocked(ctx, up.get());
    in_lower = !opaque && lower_->Lookup(ctx, name).ok();
  }
  if (in_lower) RETURN_IF_ERRNO(MakeWhiteout(ctx, up.get(), name));
  return Errno();
}

Errno OverlayInode::Rename(const Context& ctx, std::string_view old_name,
                           Inode* new_parent_inode, std::string_view new_name,
                           unsigned flags) {
  flags &= ~kRenameHintMask;
  auto* np = dynamic_cast<OverlayInode*>(new_parent_inode);
  if (np == nullptr || np->mount_source() != mount_source()) {
    return Errno(EXDEV);
  }
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return Errno(EINVAL);
  ASSIGN_OR_RETURN(Found src, Find(ctx, old_name));
  if (!src.upper && !src.lower) return Errno(ENOENT);
  ASSIGN_OR_RETURN(Found dst, np->Find(ctx, new_name));
  const bool dst_exists = dst.upper || dst.lower;
  if ((flags & RENAME_NOREPLACE) && dst_exists) return Errno(EEXIST);
  Inode* s = src.upper ? src.upper.get() : src.lower.get();
  ASSIGN_OR_RETURN(RefPtr<Inode> src_in, Instantiate(src, old_name));
  if (flags & RENAME_EXCHANGE) {
    return np->ExchangeWith(ctx, this, old_name, src, std::move(src_in),
                            new_name, dst);
  }
  if (dst_exists) {
    Inode* d = dst.upper ? dst.upper.get() : dst.lower.get();
    ASSIGN_OR_RETURN(RefPtr<Inode> dst_in, np->Instantiate(dst, new_name));
    if (src_in.get() == dst_in.get()) return Errno();  // one file, two names
    if (s->IsDir() && !d->IsDir()) return Errno(ENOTDIR);
    if (!s->IsDir() && d->IsDir()) return Errno(EISDIR);
    if (d->IsDir()) {
      ASSIGN_OR_RETURN(bool has, dst_in->HasChildren(ctx));
      if (has) return Errno(ENOTEMPTY);
    }
  }
  // Without redirect_dir, a directory with a lower part cannot move.
  if (s->IsDir() && src.lower) return Errno(EXDEV);
  auto* so = static_cast<OverlayInode*>(src_in.get());
  base::MutexLock l(&omsrc()->copy_mu_);
  RETURN_IF_ERRNO(CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(np->CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(so->CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(LinkCopiedUpLocked(ctx, old_name, src, so));
  RefPtr<Inode> up_old = upper();
  RefPtr<Inode> up_new = np->upper();
  if (dst.upper && dst.upper->IsDir()) {
    // An empty-looking upper directory may still hold whiteouts.
    ASSIGN_OR_RETURN(std::vector<Entry> inner, ListDir(ctx, dst.upper.get()));
    for (const Entry& e : inner) {
      RETURN_IF_ERRNO(dst.upper->RemoveChild(ctx, e.name, false));
    }
  }
  RETURN_IF_ERRNO(DropWhiteout(ctx, up_new.get(), new_name));
  RETURN_IF_ERRNO(up_old->Rename(ctx, old_name, up_new.get(), new_name, 0));
  bool src_in_lower = false;
  if (lower_) src_in_lower = lower_->Lookup(ctx, old_name).ok();
  if (src_in_lower && !OpaqueLocked(ctx, up_old.get())) {
    RETURN_IF_ERRNO(MakeWhiteout(ctx, up_old.get(), old_name));
  }
  // A directory moved over one with a lower part must not merge with it.
  if (s->IsDir() && dst.lower) {
    RETURN_IF_ERRNO(so->upper()->SetXattr(ctx, kOpaqueXattr, "y", 0));
  }
  so->parent_ = RefPtr<OverlayInode>(np);
  so->name_ = std::string(new_name);
  return Errno();
}

// renameat2's RENAME_EXCHANGE, as Linux's overlayfs does it without
// redirect_dir: both entries copied up and exchanged in the upper layer.
// Each name keeps an upper entry, so no whiteout is made or dropped; a
// directory with a lower part cannot move (EXDEV), and one that lands on
// a name with a lower part is made opaque, so it does not merge with it.
// this is the new parent; old_parent holds old_name.
Errno OverlayInode::ExchangeWith(const Context& ctx, OverlayInode* old_parent,
                                 std::string_view old_name, const Found& src,
                                 RefPtr<Inode> src_in,
                                 std::string_view new_name, const Found& dst) {
  if (!dst.upper && !dst.lower) return Errno(ENOENT);
  ASSIGN_OR_RETURN(RefPtr<Inode> dst_in, Instantiate(dst, new_name));
  if (src_in.get() == dst_in.get()) return Errno();  // one file, two names
  const bool src_dir = src_in->IsDir();
  const bool dst_dir = dst_in->IsDir();
  if ((src_dir && src.lower) || (dst_dir && dst.lower)) return Errno(EXDEV);
  auto* so = static_cast<OverlayInode*>(src_in.get());
  auto* dO = static_cast<OverlayInode*>(dst_in.get());
  base::MutexLock l(&omsrc()->copy_mu_);
  RETURN_IF_ERRNO(old_parent->CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(so->CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(dO->CopyUpLocked(ctx, true));
  RETURN_IF_ERRNO(old_parent->LinkCopiedUpLocked(ctx, old_name, src, so));
  RETURN_IF_ERRNO(LinkCopiedUpLocked(ctx, new_name, dst, dO));
  RefPtr<Inode> up_old = old_parent->upper();
  RefPtr<Inode> up_new = upper();
  RETURN_IF_ERRNO(
      up_old->Rename(ctx, old_name, up_new.get(), new_name, RENAME_EXCHANGE));
  if (src_dir && dst.lower) {
    RETURN_IF_ERRNO(so->upper()->SetXattr(ctx, kOpaqueXattr, "y", 0));
  }
  if (dst_dir && src.lower) {
    RETURN_IF_ERRNO(dO->upper()->SetXattr(ctx, kOpaqueXattr, "y", 0));
  }
  so->parent_ = RefPtr<OverlayInode>(this);
  so->name_ = std::string(new_name);
  dO->parent_ = RefPtr<OverlayInode>(old_parent);
  dO->name_ = std::string(old_name);
  return Errno();
}

// ---- Files.

ErrnoOr<size_t> OverlayInode::ReadAt(const Context& ctx, const IOSequence& dst,
                                     uint64_t offset) {
  return current()->ReadAt(ctx, dst, offset);
}

ErrnoOr<size_t> OverlayInode::WriteAt(const Context& ctx, const IOSequence& src,
                                      uint64_t offset, bool append,
                                      uint64_t* offset_out) {
  RETURN_IF_ERRNO(CopyUp(ctx));
  return upper()->WriteAt(ctx, src, offset, append, offset_out);
}

ErrnoOr<uint64_t> OverlayInode::SeekDataHole(const Context& ctx,
                                             uint64_t offset, int whence) {
  return current()->SeekDataHole(ctx, offset, whence);
}

Errno OverlayInode::Allocate(const Context& ctx, int mode, uint64_t offset,
                             uint64_t length) {
  RETURN_IF_ERRNO(CopyUp(ctx));
  return upper()->Allocate(ctx, mode, offset, length);
}

Errno OverlayInode::Sync(const Context& ctx) {
  if (RefPtr<Inode> up = upper()) return up->Sync(ctx);
  return Errno();
}

ErrnoOr<std::string> OverlayInode::Readlink(const Context& ctx) {
  return current()->Readlink(ctx);
}

// ---- Extended attributes (the overlay's own are hidden).

ErrnoOr<std::string> OverlayInode::GetXattr(const Context& ctx,
                                            std::string_view name) {
  if (IsPrivateXattr(name)) return Errno(ENODATA);
  return current()->GetXattr(ctx, name);
}

Errno OverlayInode::SetXattr(const Context& ctx, std::string_view name,
                             std::string_view value, int flags) {
  if (IsPrivateXattr(name)) return Errno(EPERM);
  RETURN_IF_ERRNO(CopyUp(ctx));
  return upper()->SetXattr(ctx, name, value, flags);
}

Errno OverlayInode::SetXattrUnhandled(const Context& ctx) {
  RETURN_IF_ERRNO(CopyUp(ctx));
  return Errno(EOPNOTSUPP);
}

ErrnoOr<std::vector<std::string>> OverlayInode::ListXattr(const Context& ctx) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, current()->ListXattr(ctx));
  names.erase(
      std::remove_if(names.begin(), names.end(),
                     [](const std::string& n) { return IsPrivateXattr(n); }),
      names.end());
  return names;
}

Errno OverlayInode::RemoveXattr(const Context& ctx, std::string_view name) {
  if (IsPrivateXattr(name)) return Errno(EPERM);
  // Removing what the lower file does not have copies nothing up.
  if (!upper()) RETURN_IF_ERRNO(lower_->GetXattr(ctx, name));
  RETURN_IF_ERRNO(CopyUp(ctx));
  return upper()->RemoveXattr(ctx, name);
}

ErrnoOr<linux_abi::Statfs> OverlayInode::StatFS(const Context& ctx) {
  // The upper layer's figures, as Linux overlayfs reports them.
  const OverlayInode* top = this;
  while (top->parent_) top = top->parent_.get();
  RefPtr<Inode> up = top->upper();
  ASSIGN_OR_RETURN(linux_abi::Statfs s, (up ? up : current())->StatFS(ctx));
  s.f_type = linux_abi::kOverlayfsMagic;
  return s;
}

ErrnoOr<FileOpsPtr> OverlayInode::Open(const Context& ctx, int flags) {
  if (IsDir()) {
    return FileOpsPtr(new MergedDirFile());
  }
  const int acc = flags & O_ACCMODE;
  if (IsRegular() && !(flags & O_PATH) &&
      (acc != O_RDONLY || (flags & O_TRUNC))) {
    // Open for writing copies up now, as Linux does; O_TRUNC need not
    // copy the data it is about to drop.
    base::MutexLock l(&omsrc()->copy_mu_);
    RETURN_IF_ERRNO(CopyUpLocked(ctx, !(flags & O_TRUNC)));
  }
  if (IsRegular() || IsSymlink()) {
    return InodeFileOperations::Shared();
  }
  // Fifos and devices open the object of the layer they live in.
  return current()->Open(ctx, flags);
}

// ---- Construction.

ErrnoOr<RefPtr<Inode>> NewOverlayRoot(const Context& ctx, RefPtr<Inode> upper,
                                      RefPtr<Inode> lower,
                                      MountSourceFlags flags) {
  if (!upper || !lower) return Errno(EINVAL);
  if (dynamic_cast<OverlayInode*>(upper.get()) != nullptr) {
    return Errno(EINVAL);  // an overlay cannot be the upper layer
  }
  if (!upper->IsDir() || !lower->IsDir()) return Errno(ENOTDIR);
  auto msrc = base::AdoptRef(new OverlayMountSource(flags));
  msrc->SetLayers(*upper, lower.get());
  return RefPtr<Inode>(base::AdoptRef(
      new OverlayInode(msrc, InodeType::kDirectory, std::move(upper),
                       std::move(lower), nullptr, "")));
}

ErrnoOr<RefPtr<Inode>> NewOverlayRootFile(const Context& ctx,
                                          RefPtr<Inode> upper_dir,
                                          RefPtr<Inode> lower,
                                          MountSourceFlags flags) {
  if (!upper_dir || !lower) return Errno(EINVAL);
  if (dynamic_cast<OverlayInode*>(upper_dir.get()) != nullptr) {
    return Errno(EINVAL);
  }
  if (!upper_dir->IsDir()) return Errno(ENOTDIR);
  if (lower->IsDir()) return Errno(EISDIR);
  auto msrc = base::AdoptRef(new OverlayMountSource(flags));
  msrc->SetLayers(*upper_dir, lower.get());
  // A hidden upper-only parent gives the file somewhere to be copied up.
  auto parent = base::AdoptRef(new OverlayInode(
      msrc, InodeType::kDirectory, std::move(upper_dir), nullptr, nullptr, ""));
  InodeType type = lower->type();
  return RefPtr<Inode>(base::AdoptRef(new OverlayInode(
      msrc, type, nullptr, std::move(lower), std::move(parent), "file")));
}

ErrnoOr<RefPtr<Inode>> NewSubmountOverlay(
    const Context& ctx, RefPtr<Inode> root,
    const std::vector<std::string>& submounts) {
  ASSIGN_OR_RETURN(RefPtr<ramfs::Dir> stubs,
                   ramfs::MakeDirectoryTree(ctx, submounts));
  if (!root || dynamic_cast<OverlayInode*>(root.get()) != nullptr) {
    return Errno(EINVAL);
  }
  if (!root->IsDir()) return Errno(ENOTDIR);
  // The stubs are an implementation detail: /proc/mounts shows what the
  // root really is.
  MountSource* up = root->mount_source();
  auto msrc = base::AdoptRef(new OverlayMountSource(
      up->flags(),
      up->filesystem() ? std::string(up->filesystem()->Name()) : up->TypeName(),
      up->device_name()));
  msrc->set_options_string(up->OptionsString());
  msrc->SetLayers(*root, stubs.get());
  return RefPtr<Inode>(base::AdoptRef(
      new OverlayInode(msrc, InodeType::kDirectory, std::move(root),
                       std::move(stubs), nullptr, "")));
}

}  // namespace sentry::fs::overlay
