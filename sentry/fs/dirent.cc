#include "sentry/fs/dirent.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "sentry/fs/epoch.h"

namespace sentry::fs {

namespace {
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

Dirent* Dirent::New(RefPtr<Inode> inode, std::string_view name,
                    RefPtr<Dirent> parent) {
  // The name's length word is inline_name_, the struct's last member.
  static_assert(sizeof(Dirent) % alignof(Name) == 0);
  constexpr size_t kNameAt = sizeof(Dirent) - offsetof(Name, s);
  void* mem = ::operator new(
      std::max(kNameAt + offsetof(Name, s) + name.size(), sizeof(Dirent)));
  Dirent* d = new (mem) Dirent(std::move(inode), name, std::move(parent));
  if (reinterpret_cast<char*>(d->inline_name_) !=
      static_cast<char*>(mem) + kNameAt) {
    std::abort();  // a layout this code does not expect
  }
  return d;
}

void Dirent::Destroy(Dirent* d) {
  d->~Dirent();
  ::operator delete(d);
}

Dirent::Name* Dirent::InlineName() const {
  return reinterpret_cast<Name*>(const_cast<char*>(inline_name_));
}

Dirent::Dirent(RefPtr<Inode> inode, std::string_view name,
               RefPtr<Dirent> parent)
    : inode_(std::move(inode)),
      parent_(std::move(parent)),
      kids_(inode_ && inode_->IsDir() ? new Children() : nullptr),
      dir_(kids_ != nullptr),
      keep_(dir_ &&
            inode_->mount_source()->cache_policy() == CachePolicy::kKeep) {
  // Only the length and the bytes are written: a short name's allocation
  // ends before a whole Name would.
  Name* n = InlineName();
  n->len = static_cast<uint32_t>(name.size());
  std::memcpy(n->s, name.data(), name.size());
  name_.store(n, std::memory_order_relaxed);
}

Dirent::~Dirent() {
  const Name* n = name_.load(std::memory_order_relaxed);
  if (n != InlineName()) ::operator delete(const_cast<Name*>(n));
  delete kids_;
}

void Dirent::SetNameLocked(std::string_view name) {
  void* mem =
      ::operator new(std::max(offsetof(Name, s) + name.size(), sizeof(Name)));
  Name* n = static_cast<Name*>(mem);
  n->len = static_cast<uint32_t>(name.size());
  std::memcpy(n->s, name.data(), name.size());
  const Name* old = name_.exchange(n, std::memory_order_acq_rel);
  // Lock-free readers may still be comparing the old name.
  if (old != InlineName()) {
    epoch::Retire(const_cast<Name*>(old),
                  [](void* p) { ::operator delete(p); });
  }
}

void Dirent::OnLastRef() const {
  epoch::Retire(const_cast<Dirent*>(this),
                [](void* p) { Destroy(static_cast<Dirent*>(p)); });
}

RefPtr<Dirent> Dirent::NewRoot(RefPtr<Inode> inode, std::string name) {
  return base::AdoptRef(New(std::move(inode), name, nullptr));
}

RefPtr<Dirent> Dirent::NewDetached(RefPtr<Inode> inode, std::string name,
                                   RefPtr<Dirent> parent) {
  RefPtr<Dirent> d =
      base::AdoptRef(New(std::move(inode), name, std::move(parent)));
  d->unlinked_.store(true, std::memory_order_release);
  return d;
}

std::string Dirent::name() const {
  base::ReaderMutexLock l(&RenameMutex());
  return std::string(NameOf());
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
  std::vector<RefPtr<Dirent>> dropped;
  std::vector<Dirent*> todo{child};
  while (!todo.empty()) {
    Dirent* d = todo.back();
    todo.pop_back();
    d->unlinked_.store(true, std::memory_order_release);
    if (!d->dir_) continue;
    std::vector<RefPtr<Dirent>> kids;
    {
      base::MutexLock l(&d->kids_->mu);
      kids = d->TakeChildrenLocked();
    }
    for (RefPtr<Dirent>& k : kids) {
      if (!k->negative()) todo.push_back(k.get());
      dropped.push_back(std::move(k));
    }
  }
}

std::vector<RefPtr<Dirent>> Dirent::TakeChildrenLocked() {
  std::vector<Dirent*> raw;
  kids_->index.Clear(&raw);
  std::vector<RefPtr<Dirent>> out;
  out.reserve(raw.size());
  for (Dirent* k : raw) out.push_back(base::AdoptRef(k));
  return out;
}

RefPtr<Dirent> Dirent::ReplaceChildLocked(std::string_view name,
                                          RefPtr<Dirent> d) {
  // Only directories have children; callers have checked. The index keys
  // d by its own name, which callers gave it (or renamed it to) first.
  if (!d) return base::AdoptRef(kids_->index.Erase(name));
  if (d->NameOf() != name) std::abort();
  return base::AdoptRef(kids_->index.Put(d.release()));
}

ErrnoOr<RefPtr<Dirent>> Dirent::Walk(const Context& ctx,
                                     std::string_view name) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  if (keep_) {
    base::ReaderMutexLock l(&kids_->mu);
    Dirent* c = FindChildLocked(name);
    if (c != nullptr && Trusted(*c)) return RefPtr<Dirent>(c);
  }
  std::vector<RefPtr<Dirent>> evicted;
  base::MutexLock l(&kids_->mu);
  auto r = WalkLocked(ctx, name);
  TrimLocked(&evicted);
  return r;
}

void Dirent::TrimLocked(std::vector<RefPtr<Dirent>>* evicted) {
  // Bound the cache. Where the filesystem is the only record of the tree
  // (kKeep), only negative entries can go; elsewhere any entry nobody
  // uses, with no cached children and no mounts, can be looked up again.
  const bool keep = keep_;
  if (kids_->index.negative() > kMaxNegativePerDir ||
      (!keep && kids_->index.size() > kMaxCachedPerDir)) {
    std::vector<Dirent*> gone;
    kids_->index.EraseIf(
        [keep](Dirent* c) {
          if (c->ReadRefs() != 1 || c->mount_count() != 0) return false;
          if (c->negative()) return true;
          if (keep) return false;
          if (c->kids_ == nullptr) return true;  // no children: a file's
          base::ReaderMutexLock cl(&c->kids_->mu);
          return !c->HasChildrenLocked();
        },
        &gone);
    for (Dirent* c : gone) evicted->push_back(base::AdoptRef(c));
  }
}

ErrnoOr<RefPtr<Dirent>> Dirent::WalkLocked(const Context& ctx,
                                           std::string_view name) {
  Dirent* cached = FindChildLocked(name);  // a directory: callers checked
  if (cached != nullptr && keep_ && Trusted(*cached)) {
    return RefPtr<Dirent>(cached);
  }
  auto looked = inode_->Lookup(ctx, name);
  if (unlinked()) {
    // Below a removed directory, cache nothing (see MarkUnlinked).
    if (!looked.ok() && looked.error() != Errno(ENOENT)) return looked.error();
    return base::AdoptRef(
        New(looked.ok() ? std::move(*looked) : nullptr, name, RefPtr(this)));
  }
  if (!looked.ok()) {
    if (looked.error() != Errno(ENOENT)) return looked.error();
    if (cached != nullptr && cached->negative()) return RefPtr<Dirent>(cached);
    RefPtr<Dirent> neg = base::AdoptRef(New(nullptr, name, RefPtr(this)));
    RefPtr<Dirent> old = ReplaceChildLocked(name, neg);
    if (old) MarkUnlinked(old.get());
    return neg;
  }
  if (cached != nullptr && cached->inode() == looked->get()) {
    return RefPtr<Dirent>(cached);
  }
  RefPtr<Dirent> d =
      base::AdoptRef(New(std::move(*looked), name, RefPtr(this)));
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
  // Not a directory: the chain went past a file; the careful walk says so.
  if (!dir_) return nullptr;
  base::MutexLock l(&kids_->mu);
  if (unlinked()) return nullptr;
  if (token && !inode_->mount_source()->NamespaceUnchangedSince(*token)) {
    return nullptr;
  }
  Dirent* cached = FindChildLocked(name);
  if (cached != nullptr &&
      ((token && Trusted(*cached)) || cached->inode() == inode.get())) {
    // Where the cache is the record (kKeep), what it holds wins.
    return RefPtr<Dirent>(cached);
  }
  RefPtr<Dirent> d = base::AdoptRef(New(std::move(inode), name, RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  if (old) MarkUnlinked(old.get());
  TrimLocked(&evicted);
  return d;
}

RefPtr<Dirent> Dirent::CachedChild(std::string_view name) {
  if (!dir_) return nullptr;
  base::ReaderMutexLock l(&kids_->mu);
  Dirent* c = FindChildLocked(name);
  if (c == nullptr || !Trusted(*c)) return nullptr;
  return RefPtr<Dirent>(c);
}

bool Dirent::Trusted(const Dirent& child) const {
  return !child.negative() || inode_->mount_source()->TrustsNegativeEntries();
}

ErrnoOr<RefPtr<Dirent>> Dirent::Create(const Context& ctx,
                                       std::string_view name,
                                       const CreateSpec& spec) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&kids_->mu);
  if (unlinked()) return Errno(ENOENT);  // nothing is made in a dead dir
  NamespaceChange change(inode_->mount_source());
  Dirent* cached = FindChildLocked(name);
  if (cached != nullptr && !cached->negative() && keep_) {
    return Errno(EEXIST);
  }
  ASSIGN_OR_RETURN(RefPtr<Inode> inode, inode_->CreateChild(ctx, name, spec));
  RefPtr<Dirent> d = base::AdoptRef(New(std::move(inode), name, RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  return d;
}

ErrnoOr<RefPtr<Dirent>> Dirent::Link(const Context& ctx, std::string_view name,
                                     Inode* target) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&kids_->mu);
  if (unlinked()) return Errno(ENOENT);
  NamespaceChange change(inode_->mount_source());
  Dirent* cached = FindChildLocked(name);
  if (cached != nullptr && !cached->negative() && keep_) {
    return Errno(EEXIST);
  }
  RETURN_IF_ERRNO(inode_->Link(ctx, name, target));
  RefPtr<Dirent> d =
      base::AdoptRef(New(RefPtr<Inode>(target), name, RefPtr(this)));
  old = ReplaceChildLocked(name, d);
  return d;
}

Errno Dirent::Remove(const Context& ctx, std::string_view name, bool dir) {
  if (!inode_ || !inode_->IsDir()) return Errno(ENOTDIR);
  RefPtr<Dirent> old;
  base::MutexLock l(&kids_->mu);
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
  first->kids_->mu.Lock();
  if (second != first) second->kids_->mu.Lock();
  auto unlock = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (second != first) second->kids_->mu.Unlock();
    first->kids_->mu.Unlock();
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
  // Each moved dirent leaves its directory's index before its name
  // changes and joins the other after (ChildIndex keys by the Dirent's
  // own name); meanwhile lock-free walks miss and wait on our locks.
  if (exchange) {
    replaced1 = old_parent->ReplaceChildLocked(old_name, nullptr);  // src
    replaced2 = new_parent->ReplaceChildLocked(new_name, nullptr);  // dst
    const std::string src_name(old_name), dst_name(new_name);
    src->SetNameLocked(dst_name);
    dst->SetNameLocked(src_name);
    std::swap(src->parent_, dst->parent_);
    old_parent->ReplaceChildLocked(src_name, dst);
    new_parent->ReplaceChildLocked(dst_name, src);
  } else if (src->inode() == (dst->negative() ? nullptr : dst->inode())) {
    // Hard links to one inode: Linux leaves both names in place.
  } else {
    replaced1 = old_parent->ReplaceChildLocked(old_name, nullptr);
    src->SetNameLocked(new_name);
    src->parent_ = RefPtr(new_parent);
    replaced2 = new_parent->ReplaceChildLocked(new_name, src);
    if (replaced2 && !replaced2->negative()) MarkUnlinked(replaced2.get());
  }
  unlock();
  return Errno();
}

void Dirent::DetachTree() {
  if (!dir_) return;
  std::vector<RefPtr<Dirent>> kids;
  {
    base::MutexLock l(&kids_->mu);
    kids = TakeChildrenLocked();
  }
  for (RefPtr<Dirent>& child : kids) child->DetachTree();
}

void Dirent::PruneUnused() {
  if (!dir_) return;
  std::vector<RefPtr<Dirent>> keep, drop;
  {
    base::MutexLock l(&kids_->mu);
    kids_->index.ForEach(
        [&keep](Dirent* c) { keep.push_back(RefPtr<Dirent>(c)); });
  }
  for (auto& c : keep) c->PruneUnused();
  std::vector<Dirent*> gone;
  base::MutexLock l(&kids_->mu);
  kids_->index.EraseIf(
      [](Dirent* c) {
        // Ours and the `keep` vector's are the only references.
        if (c->ReadRefs() != 2) return false;
        if (c->kids_ == nullptr) return true;  // no children: a file's
        base::ReaderMutexLock cl(&c->kids_->mu);
        return !c->HasChildrenLocked();
      },
      &gone);
  for (Dirent* c : gone) drop.push_back(base::AdoptRef(c));
}

size_t Dirent::CachedChildrenForTest() const {
  if (!dir_) return 0;
  base::ReaderMutexLock l(&kids_->mu);
  return kids_->index.size();
}

bool Dirent::HasChildrenLocked() const {
  return kids_ != nullptr && kids_->index.size() != 0;
}

}  // namespace sentry::fs
