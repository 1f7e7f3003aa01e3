#include "sentry/fs/dirent.h"

#include <algorithm>

#include "sentry/fs/epoch.h"

namespace sentry::fs {

namespace {
// Debian's abseil has its own string_view type; look up through it.
absl::string_view AbslKey(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Past this many negative entries in one directory, unreferenced ones go.
constexpr int kMaxNegativePerDir = 1024;
// Past this many entries in one directory of a filesystem that is not
// kKeep (remote ones), unreferenced leaf entries go.
constexpr size_t kMaxCachedPerDir = 1024;

// Brackets a namespace change on a mount source (see
// MountSource::BeginNamespaceChange); taken under the parents' locks.
class NamespaceChange {
 public:
  explicit NamespaceChange(MountSource* ms) : ms_(ms) {
    ms_->BeginNamespaceChange();
  }
  ~NamespaceChange() { ms_->EndNamespaceChange(); }
  NamespaceChange(const NamespaceChange&) = delete;
  NamespaceChange& operator=(const NamespaceChange&) = delete;

 private:
  MountSource* const ms_;
};
}  // namespace

base::Mutex& RenameMutex() {
  static base::Mutex* mu = new base::Mutex();
  return *mu;
}

Dirent::Dirent(RefPtr<Inode> inode, std::string name, RefPtr<Dirent> parent)
    : inode_(std::move(inode)),
      name_(std::move(name)),
      parent_(std::move(parent)) {}

Dirent::~Dirent() = default;

void Dirent::OnLastRef() const {
  epoch::Retire(const_cast<Dirent*>(this),
                [](void* p) { delete static_cast<Dirent*>(p); });
}

RefPtr<Dirent> Dirent::NewRoot(RefPtr<Inode> inode, std::string name) {
  return base::AdoptRef(new Dirent(std::move(inode), std::move(name), nullptr));
}

RefPtr<Dirent> Dirent::NewDetached(RefPtr<Inode> inode, std::string name,
                                   RefPtr<Dirent> parent) {
  RefPtr<Dirent> d = base::AdoptRef(
      new Dirent(std::move(inode), std::move(name), std::move(parent)));
  d->unlinked_.store(true, std::memory_order_release);
  return d;
}

std::string Dirent::name() const {
  base::ReaderMutexLock l(&RenameMutex());
  return name_;
}

RefPtr<Dirent> Dirent::parent() const {
  base::ReaderMutexLock l(&RenameMutex());
  return parent_;
}

bool Dirent::IsRoot() const {
  base::ReaderMutexLock l(&RenameMutex());
  return parent_ == nullptr;
}

bool Dirent::IsAncestorOfLocked(const Dirent* d) const {
  for (; d != nullptr; d = d->parent_.get()) {
    if (d == this) return true;
  }
  return false;
}

void Dirent::MarkUnlinked(Dirent* child) {
  // An unlinked dirent is out of its parent's map, so nothing would ever
  // break the cycles between it and its cached descendants: the whole
  // subtree is marked unlinked (so it caches nothing more) and emptied,
  // top down. Each lock is taken alone, ancestor first; the dropped
  // dirents are released once their locks are let go (destructors take
  // no locks).
  std::vector<absl::flat_hash_map<std::string, RefPtr<Dirent>>> dropped;
  std::vector<Dirent*> todo{child};
  while (!todo.empty()) {
    Dirent* d = todo.back();
    todo.pop_back();
    d->unlinked_.store(true, std::memory_order_release);
    absl::flat_hash_map<std::string, RefPtr<Dirent>> kids;
    {
      base::MutexLock l(&d->mu_);
      d->negative_children_ = 0;
      kids.swap(d->children_);
      d->index_.Clear();
    }
    for (auto& [name, k] : kids) {
      if (!k->negative()) todo.push_back(k.get());
    }
    dropped.push_back(std::move(kids));
  }
}

RefPtr<Dirent> Dirent::ReplaceChildLocked(std::string_view name,
                                          RefPtr<Dirent> d) {
  RefPtr<Dirent> old;
  auto it = children_.find(AbslKey(name));
  if (it != children_.end()) {
    old = std::move(it->second);
    if (old->negative()) --negative_children_;
    if (d) {
      it->second = std::move(d);
    } else {
      children_.erase(it);
    }
  } else if (d) {
    it = children_.emplace(std::string(name), std::move(d)).first;
  }
  auto now = children_.find(AbslKey(name));
  if (now != children_.end() && now->second->negative()) ++negative_children_;
  if (inode_ && inode_->IsDir() &&
      inode_->mount_source()->cache_policy() == CachePolicy::kKeep) {
    if (now != children_.end()) {
      index_.Put(name, now->second.get());
    } else {
      index_.Erase(name);
    }
  }
  return old;
}

ErrnoOr<RefPtr<Dirent>> Dirent::Walk(const Context& ctx,
                                     std::string_view name) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  if (inode_->mount_source()->cache_policy() == CachePolicy::kKeep) {
    base::ReaderMutexLock l(&mu_);
    auto it = children_.find(AbslKey(name));
    if (it != children_.end() && Trusted(*it->second)) return it->second;
  }
  std::vector<RefPtr<Dirent>> evicted;
  base::MutexLock l(&mu_);
  auto r = WalkLocked(ctx, name);
  TrimLocked(&evicted);
  return r;
}

void Dirent::TrimLocked(std::vector<RefPtr<Dirent>>* evicted) {
  // Bound the cache. Where the filesystem is the only record of the tree
  // (kKeep), only negative entries can go; elsewhere any entry nobody
  // uses, with no cached children and no mounts, can be looked up again.
  const bool keep =
      inode_->mount_source()->cache_policy() == CachePolicy::kKeep;
  if (negative_children_ > kMaxNegativePerDir ||
      (!keep && children_.size() > kMaxCachedPerDir)) {
    for (auto it = children_.begin(); it != children_.end();) {
      auto cur = it++;
      Dirent* c = cur->second.get();
      if (c->ReadRefs() != 1 || c->mount_count() != 0) continue;
      if (!c->negative()) {
        if (keep) continue;
        base::ReaderMutexLock cl(&c->mu_);
        if (!c->children_.empty()) continue;
      } else {
        --negative_children_;
      }
      evicted->push_back(std::move(cur->second));
      index_.Erase(cur->first);
      children_.erase(cur);
    }
  }
}

ErrnoOr<RefPtr<Dirent>> Dirent::WalkLocked(const Context& ctx,
                                           std::string_view name) {
  auto it = children_.find(AbslKey(name));
  const bool keep =
      inode_->mount_source()->cache_policy() == CachePolicy::kKeep;
  if (it != children_.end() && keep && Trusted(*it->second)) {
    return it->second;
  }
  auto looked = inode_->Lookup(ctx, name);
  if (unlinked()) {
    // Below a removed directory, cache nothing (see MarkUnlinked).
    if (!looked.ok() && looked.error() != Errno(ENOENT)) return looked.error();
    return base::AdoptRef(new Dirent(looked.ok() ? std::move(*looked) : nullptr,
                                     std::string(name), RefPtr(this)));
  }
  if (!looked.ok()) {
    if (looked.error() != Errno(ENOENT)) return looked.error();
    if (it != children_.end() && it->second->negative()) return it->second;
    RefPtr<Dirent> neg =
        base::AdoptRef(new Dirent(nullptr, std::string(name), RefPtr(this)));
    RefPtr<Dirent> old = ReplaceChildLocked(name, neg);
    if (old) MarkUnlinked(old.get());
    return neg;
  }
  if (it != children_.end() && it->second->inode() == looked->get()) {
    return it->second;
  }
  RefPtr<Dirent> d = base::AdoptRef(
      new Dirent(std::move(*looked), std::string(name), RefPtr(this)));
  RefPtr<Dirent> old = ReplaceChildLocked(name, d);
  if (old && !old->negative()) MarkUnlinked(old.get());
  return d;
}

ErrnoOr<std::vector<RefPtr<Dirent>>> Dirent::WalkChain(
    const Context& ctx, const std::vector<std::string_view>& names) {
  std::vector<RefPtr<Dirent>> out;
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  MountSource* ms = inode_->mount_source();
  const bool keep = ms->cache_policy() == CachePolicy::kKeep;
  std::optional<uint64_t> token;
  if (keep) token = ms->QuiescentToken();
  if (!unlinked() && (!keep || token)) {
    ASSIGN_OR_RETURN(std::vector<RefPtr<Inode>> inodes,
                     inode_->LookupChain(ctx, names));
    if (inodes.empty()) {
      if (RefPtr<Dirent> neg = AdoptFetched(names.at(0), nullptr, token)) {
        out.push_back(std::move(neg));
        return out;
      }
    }
    Dirent* parent = this;
    for (size_t i = 0; i < inodes.size() && i < names.size(); ++i) {
      const Inode* fetched = inodes[i].get();
      RefPtr<Dirent> d =
          parent->AdoptFetched(names[i], std::move(inodes[i]), token);
      if (!d) break;  // the tree changed meanwhile: walk on the careful way
      out.push_back(std::move(d));
      // The cache kept its own entry (another walk got there first): what
      // was fetched below ours hangs off an inode nobody keeps.
      if (out.back()->inode() != fetched || out.back()->negative()) break;
      parent = out.back().get();
    }
    // A shorter result says no more than that the walk stopped: the next
    // name is looked up on its own, which tells missing from failing.
    if (!out.empty()) return out;
  }
  ASSIGN_OR_RETURN(RefPtr<Dirent> d, Walk(ctx, names.at(0)));
  out.push_back(std::move(d));
  return out;
}

RefPtr<Dirent> Dirent::AdoptFetched(std::string_view name, RefPtr<Inode> inode,
                                    std::optional<uint64_t> token) {
  RefPtr<Dirent> old;
  std::vector<RefPtr<Dirent>> evicted;  // released after the unlock
  base::MutexLock l(&mu_);
  if (unlinked()) return nullptr;
  if (token && !inode_->mount_source()->NamespaceUnchangedSince(*token)) {
    return nullptr;
  }
  auto it = children_.find(AbslKey(name));
  if (it != children_.end() &&
      ((token && Trusted(*it->second)) || it->second->inode() == inode.get())) {
    // Where the cache is the record (kKeep), what it holds wins.
    return it->second;
  }
  RefPtr<Dirent> d = base::AdoptRef(
      new Dirent(std::move(inode), std::string(name), RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  if (old) MarkUnlinked(old.get());
  TrimLocked(&evicted);
  return d;
}

RefPtr<Dirent> Dirent::CachedChild(std::string_view name) {
  base::ReaderMutexLock l(&mu_);
  auto it = children_.find(AbslKey(name));
  if (it == children_.end() || !Trusted(*it->second)) return nullptr;
  return it->second;
}

bool Dirent::Trusted(const Dirent& child) const {
  return !child.negative() || inode_->mount_source()->TrustsNegativeEntries();
}

ErrnoOr<RefPtr<Dirent>> Dirent::Create(const Context& ctx,
                                       std::string_view name,
                                       const CreateSpec& spec) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&mu_);
  if (unlinked()) return Errno(ENOENT);  // nothing is made in a dead dir
  NamespaceChange change(inode_->mount_source());
  auto it = children_.find(AbslKey(name));
  if (it != children_.end() && !it->second->negative() &&
      inode_->mount_source()->cache_policy() == CachePolicy::kKeep) {
    return Errno(EEXIST);
  }
  ASSIGN_OR_RETURN(RefPtr<Inode> inode, inode_->CreateChild(ctx, name, spec));
  RefPtr<Dirent> d = base::AdoptRef(
      new Dirent(std::move(inode), std::string(name), RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  return d;
}

ErrnoOr<RefPtr<Dirent>> Dirent::Link(const Context& ctx, std::string_view name,
                                     Inode* target) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&mu_);
  if (unlinked()) return Errno(ENOENT);
  NamespaceChange change(inode_->mount_source());
  auto it = children_.find(AbslKey(name));
  if (it != children_.end() && !it->second->negative() &&
      inode_->mount_source()->cache_policy() == CachePolicy::kKeep) {
    return Errno(EEXIST);
  }
  RETURN_IF_ERRNO(inode_->Link(ctx, name, target));
  RefPtr<Dirent> d = base::AdoptRef(
      new Dirent(RefPtr<Inode>(target), std::string(name), RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  return d;
}

Errno Dirent::Remove(const Context& ctx, std::string_view name, bool dir) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&mu_);
  NamespaceChange change(inode_->mount_source());
  RETURN_IF_ERRNO(inode_->RemoveChild(ctx, name, dir));
  old = ReplaceChildLocked(name, nullptr);
  if (old) MarkUnlinked(old.get());
  return Errno();
}

// The analysis cannot follow locks taken through the first/second aliases.
Errno Dirent::Rename(const Context& ctx, Dirent* old_parent,
                     std::string_view old_name, Dirent* new_parent,
                     std::string_view new_name,
                     unsigned flags) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!old_parent->inode() || !old_parent->inode()->IsDir() ||
      !new_parent->inode() || !new_parent->inode()->IsDir()) {
    return Errno(ENOTDIR);
  }
  // Released only after every lock is dropped.
  RefPtr<Dirent> src, dst, replaced1, replaced2;
  base::MutexLock rename_lock(&RenameMutex());

  // Lock the parents: one if they are the same; else ancestor first; else
  // by address.
  Dirent* first = old_parent;
  Dirent* second = new_parent;
  if (first != second) {
    if (new_parent->IsAncestorOfLocked(old_parent)) {
      std::swap(first, second);
    } else if (!old_parent->IsAncestorOfLocked(new_parent) && second < first) {
      std::swap(first, second);
    }
  }
  first->mu_.Lock();
  if (second != first) second->mu_.Lock();
  auto unlock = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (second != first) second->mu_.Unlock();
    first->mu_.Unlock();
  };

  // A removed directory takes no renames in or out (IS_DEADDIR): its
  // cache must stay empty, and the filesystem may no longer know it.
  if (old_parent->unlinked() || new_parent->unlinked()) {
    unlock();
    return Errno(ENOENT);
  }
  auto s = old_parent->WalkLocked(ctx, old_name);
  if (!s.ok()) {
    unlock();
    return s.error();
  }
  src = *s;
  if (src->negative()) {
    unlock();
    return Errno(ENOENT);
  }
  auto d = new_parent->WalkLocked(ctx, new_name);
  if (!d.ok()) {
    unlock();
    return d.error();
  }
  dst = *d;
  const bool exchange = flags & RENAME_EXCHANGE;
  // A directory cannot move into its own subtree.
  if (src->inode()->IsDir() && src->IsAncestorOfLocked(new_parent)) {
    unlock();
    return Errno(EINVAL);
  }
  if (!dst->negative()) {
    if (exchange && dst->inode()->IsDir() &&
        dst->IsAncestorOfLocked(old_parent)) {
      unlock();
      return Errno(EINVAL);
    }
    // Renaming over an ancestor of the source.
    if (!exchange && dst->IsAncestorOfLocked(old_parent)) {
      unlock();
      return Errno(ENOTEMPTY);
    }
  } else if (exchange) {
    unlock();
    return Errno(ENOENT);
  }
  if (src->mount_count() > 0 || (!dst->negative() && dst->mount_count() > 0)) {
    unlock();
    return Errno(EBUSY);
  }
  unsigned hint = 0;
  if (old_parent != new_parent) {
    if (old_parent->IsAncestorOfLocked(new_parent)) {
      hint = kRenameOldParentIsAncestor;
    } else if (new_parent->IsAncestorOfLocked(old_parent)) {
      hint = kRenameNewParentIsAncestor;
    }
  }
  // Ended when this returns (after the unlock: later than need be, which
  // only makes a racing chain walk more careful).
  NamespaceChange change(old_parent->inode()->mount_source());
  Errno e = old_parent->inode()->Rename(ctx, old_name, new_parent->inode(),
                                        new_name, flags | hint);
  if (!e.ok()) {
    unlock();
    return e;
  }
  if (src.get() == dst.get()) {  // same name, nothing moves
    unlock();
    return Errno();
  }
  if (exchange) {
    replaced1 = old_parent->ReplaceChildLocked(old_name, dst);
    replaced2 = new_parent->ReplaceChildLocked(new_name, src);
    std::swap(src->name_, dst->name_);
    std::swap(src->parent_, dst->parent_);
  } else if (src->inode() == (dst->negative() ? nullptr : dst->inode())) {
    // Hard links to one inode: Linux leaves both names in place.
  } else {
    replaced1 = old_parent->ReplaceChildLocked(old_name, nullptr);
    replaced2 = new_parent->ReplaceChildLocked(new_name, src);
    if (replaced2 && !replaced2->negative()) MarkUnlinked(replaced2.get());
    src->name_ = std::string(new_name);
    src->parent_ = RefPtr(new_parent);
  }
  unlock();
  return Errno();
}

void Dirent::DetachTree() {
  absl::flat_hash_map<std::string, RefPtr<Dirent>> kids;
  {
    base::MutexLock l(&mu_);
    kids.swap(children_);
    index_.Clear();
    negative_children_ = 0;
  }
  for (auto& [name, child] : kids) child->DetachTree();
}

void Dirent::PruneUnused() {
  std::vector<RefPtr<Dirent>> keep, drop;
  {
    base::MutexLock l(&mu_);
    for (auto it = children_.begin(); it != children_.end();) {
      auto cur = it++;
      keep.push_back(cur->second);
    }
  }
  for (auto& c : keep) c->PruneUnused();
  base::MutexLock l(&mu_);
  for (auto it = children_.begin(); it != children_.end();) {
    auto cur = it++;
    // Ours and the `keep` vector's are the only references.
    if (cur->second->ReadRefs() == 2) {
      bool leaf;
      {
        base::ReaderMutexLock cl(&cur->second->mu_);
        leaf = cur->second->children_.empty();
      }
      if (leaf) {
        if (cur->second->negative()) --negative_children_;
        drop.push_back(std::move(cur->second));
        index_.Erase(cur->first);
        children_.erase(cur);
      }
    }
  }
}

size_t Dirent::CachedChildrenForTest() const {
  base::ReaderMutexLock l(&mu_);
  return children_.size();
}

}  // namespace sentry::fs
