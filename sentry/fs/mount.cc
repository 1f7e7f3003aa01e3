#include "sentry/fs/mount.h"

#include <algorithm>
#include <atomic>

#include "abi/linux/linux.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/permissions.h"

namespace sentry::fs {

int NextMountId() {
  static std::atomic<int> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// ---- Mount.

Mount::Mount(int id, RefPtr<Dirent> root, MountFlags flags)
    : id_(id),
      root_(std::move(root)),
      flags_(flags),
      read_only_(flags.read_only),
      no_atime_(flags.no_atime) {
  source()->IncMountRefs();
}

Mount::~Mount() {
  MountSource* src = source();
  if (src->DecMountRefs() == 0) {
    // The last appearance of this tree: break its dirent cycles.
    RefPtr<Dirent> top = root_;
    for (RefPtr<Dirent> p = top->parent(); p; p = p->parent()) top = p;
    top->DetachTree();
  }
}

MountFlags Mount::flags() const {
  base::MutexLock l(&mu_);
  return flags_;
}

void Mount::set_flags(MountFlags f) {
  base::MutexLock l(&mu_);
  flags_ = f;
  read_only_.store(f.read_only, std::memory_order_relaxed);
  no_atime_.store(f.no_atime, std::memory_order_relaxed);
}

bool Mount::ReadOnly() const {
  return read_only_.load(std::memory_order_relaxed) || source()->read_only();
}

// ---- MountNamespace.

MountNamespace::MountNamespace(RefPtr<Dirent> root, MountFlags flags) {
  base::MutexLock l(&mu_);
  root_ = base::AdoptRef(new Mount(NextMountId(), std::move(root), flags));
  mounts_.push_back(root_);
}

RefPtr<MountNamespace> MountNamespace::New(RefPtr<Dirent> root,
                                           MountFlags flags) {
  return base::AdoptRef(new MountNamespace(std::move(root), flags));
}

MountNamespace::~MountNamespace() {
  std::vector<RefPtr<Mount>> released;
  std::vector<RefPtr<Dirent>> mount_points;
  {
    base::MutexLock l(&mu_);
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
      Mount* m = it->get();
      if (m->detached()) continue;
      m->detached_.store(true, std::memory_order_release);
      if (m->mount_point_) m->mount_point_->DecMountCount();
    }
    table_.clear();
    for (auto& m : mounts_) {
      m->children_.clear();
      m->parent_ = nullptr;
      released.push_back(std::move(m->parent_ref_));
      mount_points.push_back(std::move(m->mount_point_));
    }
    for (auto& m : mounts_) released.push_back(std::move(m));
    mounts_.clear();
    released.push_back(std::move(root_));
  }
  // Children first, so each Mount's parent outlives it.
  std::reverse(released.begin(), released.end());
  for (auto& r : released) r.reset();
}

Path MountNamespace::Root() const {
  base::ReaderMutexLock l(&mu_);
  return Path{root_, root_->root()};
}

Mount* MountNamespace::MountedAtLocked(const Mount* m, const Dirent* d) const {
  auto it = table_.find(Key{m, d});
  if (it == table_.end() || it->second.empty()) return nullptr;
  return it->second.back();
}

Path MountNamespace::CrossMountsDown(Path p) const {
  if (p.dirent->mount_count() == 0) return p;
  base::ReaderMutexLock l(&mu_);
  while (Mount* m = MountedAtLocked(p.mount.get(), p.dirent.get())) {
    p.mount = RefPtr(m);
    p.dirent = m->root();
  }
  return p;
}

Path MountNamespace::Parent(const Path& p, const Path& root) const {
  Path cur = p;
  if (cur == root) return cur;
  {
    base::ReaderMutexLock l(&mu_);
    while (cur.dirent.get() == cur.mount->root().get()) {
      Mount* parent = cur.mount->parent_;
      if (parent == nullptr) return cur;  // namespace root or detached
      cur = Path{RefPtr(parent), cur.mount->mount_point_};
      if (cur == root) return cur;
    }
  }
  RefPtr<Dirent> up = cur.dirent->parent();
  if (!up) return cur;
  return CrossMountsDown(Path{cur.mount, std::move(up)});
}

namespace {

Errno CheckSearch(const Context& ctx, Inode* dir) {
  ASSIGN_OR_RETURN(AccessAttr a, dir->GetAccessAttr(ctx));
  return GenericPermission(ctx.creds(), InodeType::kDirectory, a,
                           linux_abi::MAY_EXEC);
}

// Splits a path into components, one at a time.
class Components {
 public:
  explicit Components(std::string_view p) : p_(p) { SkipSlashes(); }
  bool Done() const { return pos_ >= p_.size(); }
  // Appends up to max of the components still to come, stopping before
  // a "." or ".." (which the walk handles itself) or an over-long name.
  void Peek(size_t max, std::vector<std::string_view>* out) const {
    Components c = *this;
    max += out->size();
    while (!c.Done() && out->size() < max) {
      std::string_view n = c.Next();
      if (n == "." || n == ".." ||
          n.size() > static_cast<size_t>(linux_abi::kNameMax)) {
        break;
      }
      out->push_back(n);
    }
  }
  std::string_view Next() {
    // A loop, not find(): components are a few bytes, and memchr's call
    // cost more than the scan (per component of every walk).
    size_t end = pos_;
    while (end < p_.size() && p_[end] != '/') ++end;
    std::string_view c = p_.substr(pos_, end - pos_);
    pos_ = end;
    SkipSlashes();
    return c;
  }

 private:
  void SkipSlashes() {
    while (pos_ < p_.size() && p_[pos_] == '/') ++pos_;
  }
  std::string_view p_;
  size_t pos_ = 0;
};

// Walks as many components as it can without a lock or a reference, as
// Linux's RCU walk does: cached children of kKeep directories, found
// through Dirent::FindCachedLockFree, that are positive, no symlinks and
// no mount points, after the same search permission check as the locked
// walk. Stops at anything else ("." and "..", a miss, a negative entry, a
// failed check), leaving that component to the locked walk, which then
// does it (or reports its error) as before. A final symlink is walked onto
// only if accept_final_symlink. Returns the dirent where it stopped and
// leaves *comps at the first component not walked.
// Precondition: inside an epoch::ReadGuard; the result is valid only
// until the guard ends (no reference is taken).
// Analogous to fs/namei.c:lookup_fast in RCU mode.
Dirent* WalkInGuard(const Context& ctx, Dirent* at, Components* comps,
                    bool accept_final_symlink) {
  for (Components c = *comps; !c.Done();) {
    Inode* dir = at->inode();
    if (dir == nullptr || !dir->IsDir() ||
        dir->mount_source()->cache_policy() != CachePolicy::kKeep) {
      break;
    }
    std::string_view name = c.Next();
    if (name == "." || name == ".." ||
        name.size() > static_cast<size_t>(linux_abi::kNameMax)) {
      break;
    }
    auto a = dir->GetAccessAttr(ctx);
    // With x for owner, group and others, every caller may search.
    if (!a.ok() || ((a->perms & 0111) != 0111 &&
                    !GenericPermission(ctx.creds(), InodeType::kDirectory, *a,
                                       linux_abi::MAY_EXEC)
                         .ok())) {
      break;
    }
    Dirent* child = at->FindCachedLockFree(name);
    if (child == nullptr || child->negative() || child->mount_count() != 0 ||
        (child->inode()->IsSymlink() && !(accept_final_symlink && c.Done()))) {
      break;
    }
    at = child;
    *comps = c;
  }
  return at;
}

// WalkInGuard from cur, in a guard of its own, taking one reference: on
// the dirent where it stops.
void WalkLockFree(const Context& ctx, Path* cur, Components* comps) {
  epoch::ReadGuard guard;
  Components rest = *comps;
  Dirent* at = WalkInGuard(ctx, cur->dirent.get(), &rest,
                           /*accept_final_symlink=*/false);
  if (at == cur->dirent.get()) return;
  // A dirent whose last reference is going can no longer be taken: the
  // locked walk redoes these components.
  if (!at->TryIncRef()) return;
  cur->dirent = base::AdoptRef(at);
  *comps = rest;
}

}  // namespace

// The walk itself, shared by Resolve and symlink following: one budget
// of symlink traversals for the whole resolution.
ErrnoOr<Path> ResolveWithBudget(MountNamespace* ns, const Context& ctx,
                                const Path& root, const Path& start,
                                std::string_view path,
                                const ResolveOptions& opts, int* budget);

ErrnoOr<Path> MountNamespace::FollowSymlink(const Context& ctx,
                                            const Path& root, const Path& link,
                                            int* budget,
                                            const ResolveOptions& opts) {
  if (--*budget < 0) return Errno(ELOOP);
  ASSIGN_OR_RETURN(std::string target, link.inode()->Readlink(ctx));
  if (target.empty()) return Errno(ENOENT);
  // Relative targets resolve from the link's directory.
  RefPtr<Dirent> dir = link.dirent->parent();
  Path start = dir ? Path{link.mount, dir} : link;
  return ResolveWithBudget(this, ctx, root, start, target, opts, budget);
}

ErrnoOr<Path> ResolveWithBudget(MountNamespace* ns, const Context& ctx,
                                const Path& root, const Path& start,
                                std::string_view path,
                                const ResolveOptions& opts, int* budget) {
  if (path.empty()) return Errno(ENOENT);
  if (path.size() >= static_cast<size_t>(linux_abi::kPathMax)) {
    return Errno(ENAMETOOLONG);
  }
  const bool trailing_slash = path.back() == '/';
  Path cur = path[0] == '/' ? root : start;
  Components comps(path);
  // Dirents a chain walk fetched for the components ahead (remote
  // filesystems: one round trip for up to kMaxChain names).
  constexpr size_t kMaxChain = 16;  // 9P's Twalk limit
  std::vector<RefPtr<Dirent>> ahead;
  size_t ahead_pos = 0;
  while (!comps.Done()) {
    if (ahead_pos >= ahead.size()) {
      WalkLockFree(ctx, &cur, &comps);
      if (comps.Done()) break;
    }
    std::string_view c = comps.Next();
    const bool last = comps.Done();
    if (c.size() > static_cast<size_t>(linux_abi::kNameMax)) {
      return Errno(ENAMETOOLONG);
    }
    Inode* dir = cur.inode();
    if (dir == nullptr || !dir->IsDir()) return Errno(ENOTDIR);
    if (last && trailing_slash && opts.create) {
      RETURN_IF_ERRNO(CheckSearch(ctx, dir));
      return Errno(EISDIR);
    }
    RefPtr<Dirent> child;
    bool searched = false;
    if (c != "." && c != "..") {
      const bool keep =
          dir->mount_source()->cache_policy() == CachePolicy::kKeep;
      if (ahead_pos < ahead.size()) {
        child = std::move(ahead[ahead_pos++]);
      } else if (keep) {
        child = cur.dirent->CachedChild(c);
      }
      // Nothing at hand: fetch this name and the ones after it in one
      // chain walk (one round trip on a remote filesystem). Where the
      // cache is kept, only for more than one name (one is a Walk).
      std::vector<std::string_view> chain;
      if (!child) {
        chain.push_back(c);
        comps.Peek(kMaxChain - 1, &chain);
      }
      if (chain.size() > (keep ? 1u : 0u)) {
        // The walk goes before the search check: a remote filesystem
        // returns this directory's attributes with it, which the check
        // then uses. The walk changes nothing, and its outcome counts
        // only once the check has passed (EACCES comes before its errors).
        ErrnoOr<std::vector<RefPtr<Dirent>>> got =
            cur.dirent->WalkChain(ctx, chain);
        RETURN_IF_ERRNO(CheckSearch(ctx, dir));
        searched = true;
        if (!got.ok()) return got.error();
        ahead = std::move(*got);
        child = std::move(ahead[0]);
        ahead_pos = 1;
      }
    }
    if (!searched) RETURN_IF_ERRNO(CheckSearch(ctx, dir));
    if (c == ".") continue;
    if (c == "..") {
      cur = ns->Parent(cur, root);
      continue;
    }
    if (!child) {
      ASSIGN_OR_RETURN(child, cur.dirent->Walk(ctx, c));
    }
    if (child->negative()) {
      if (last && opts.allow_negative_final) {
        cur.dirent = std::move(child);
        return cur;
      }
      return Errno(ENOENT);
    }
    Dirent* walked = child.get();
    // cur is replaced below, so its mount reference moves on rather than
    // being copied (two atomic operations per component saved).
    Path next =
        ns->CrossMountsDown(Path{std::move(cur.mount), std::move(child)});
    if (next.dirent.get() != walked || next.inode()->IsSymlink()) {
      // Crossed into a mount or leaving through a symlink: what was
      // fetched ahead belongs to the tree underneath.
      ahead.clear();
      ahead_pos = 0;
    }
    if (next.inode()->IsSymlink() &&
        (!last || opts.follow_final_symlink || trailing_slash)) {
      ResolveOptions sub;
      if (last) {
        sub = opts;
        sub.must_be_dir = opts.must_be_dir || trailing_slash;
        // A trailing slash follows the link all the way, as if the last
        // component were not last ("l/" with l -> l is ELOOP).
        if (trailing_slash) sub.follow_final_symlink = true;
      }
      ASSIGN_OR_RETURN(next, ns->FollowSymlink(ctx, root, next, budget, sub));
      if (last) return next;
    }
    cur = std::move(next);
  }
  // The lock-free walk may have taken the last component too (or it was
  // a dot): what it names does not matter to O_CREAT's rule (above).
  if (trailing_slash && opts.create) return Errno(EISDIR);
  if ((trailing_slash || opts.must_be_dir) && cur.inode() &&
      !cur.inode()->IsDir()) {
    return Errno(ENOTDIR);
  }
  return cur;
}

ErrnoOr<Path> MountNamespace::Resolve(const Context& ctx, const Path& root,
                                      const Path& start, std::string_view path,
                                      const ResolveOptions& opts) {
  int budget = linux_abi::kMaxSymlinkTraversals;
  return ResolveWithBudget(this, ctx, root, start, path, opts, &budget);
}

Dirent* ResolveInGuard(const Context& ctx, Dirent* start, std::string_view path,
                       bool follow_final_symlink) {
  if (path.empty() || path.size() >= static_cast<size_t>(linux_abi::kPathMax)) {
    return nullptr;
  }
  const bool trailing_slash = path.back() == '/';
  Components comps(path);
  Dirent* d =
      WalkInGuard(ctx, start, &comps, !follow_final_symlink && !trailing_slash);
  if (!comps.Done()) return nullptr;
  // "/" (or a start that is itself mounted on) is left to the locked walk,
  // which crosses the mount.
  if (d == start && d->mount_count() != 0) return nullptr;
  if (trailing_slash && !d->inode()->IsDir()) return nullptr;
  return d;
}

ErrnoOr<ParentAndName> MountNamespace::ResolveParent(const Context& ctx,
                                                     const Path& root,
                                                     const Path& start,
                                                     std::string_view path) {
  if (path.empty()) return Errno(ENOENT);
  if (path.size() >= static_cast<size_t>(linux_abi::kPathMax)) {
    return Errno(ENAMETOOLONG);
  }
  ParentAndName out;
  size_t end = path.size();
  while (end > 0 && path[end - 1] == '/') --end;
  out.trailing_slash = end < path.size();
  if (end == 0) {  // "/" or "///"
    out.parent = root;
    return out;
  }
  size_t slash = path.rfind('/', end - 1);
  std::string_view name = slash == std::string_view::npos
                              ? path.substr(0, end)
                              : path.substr(slash + 1, end - slash - 1);
  if (name.size() > static_cast<size_t>(linux_abi::kNameMax)) {
    return Errno(ENAMETOOLONG);
  }
  if (slash == std::string_view::npos) {
    out.parent = start;
  } else {
    std::string_view dir = path.substr(0, slash + 1);
    ResolveOptions o;
    o.must_be_dir = true;
    ASSIGN_OR_RETURN(out.parent, Resolve(ctx, root, start, dir, o));
  }
  if (!out.parent.inode()->IsDir()) return Errno(ENOTDIR);
  out.name = std::string(name);
  return out;
}

RefPtr<Mount> MountNamespace::AttachLocked(Mount* parent,
                                           RefPtr<Dirent> mount_point,
                                           RefPtr<Dirent> root,
                                           MountFlags flags) {
  RefPtr<Mount> m =
      base::AdoptRef(new Mount(NextMountId(), std::move(root), flags));
  m->parent_ = parent;
  m->parent_ref_ = RefPtr(parent);
  mount_point->IncMountCount();
  m->mount_point_ = std::move(mount_point);
  parent->children_.push_back(m.get());
  table_[Key{parent, m->mount_point_.get()}].push_back(m.get());
  mounts_.push_back(m);
  return m;
}

ErrnoOr<RefPtr<Mount>> MountNamespace::MountAt(const Path& target,
                                               RefPtr<Dirent> root,
                                               MountFlags flags) {
  if (!target.inode() || !target.inode()->IsDir()) return Errno(ENOTDIR);
  if (target.dirent->unlinked()) return Errno(ENOENT);
  base::MutexLock l(&mu_);
  if (target.mount->detached()) return Errno(EINVAL);
  return AttachLocked(target.mount.get(), target.dirent, std::move(root),
                      flags);
}

ErrnoOr<RefPtr<Mount>> MountNamespace::BindMount(const Path& source,
                                                 const Path& target,
                                                 bool recursive,
                                                 MountFlags flags) {
  if (!target.inode()) return Errno(ENOENT);
  // A directory binds onto a directory, a file onto a file.
  if (source.inode()->IsDir() != target.inode()->IsDir()) {
    return Errno(source.inode()->IsDir() ? ENOTDIR : EISDIR);
  }
  base::MutexLock l(&mu_);
  if (target.mount->detached()) return Errno(EINVAL);
  RefPtr<Mount> top =
      AttachLocked(target.mount.get(), target.dirent, source.dirent, flags);
  if (!recursive) return top;
  // Copy the submounts below source onto the new mount, breadth first.
  base::ReaderMutexLock rl(&RenameMutex());
  std::vector<std::pair<Mount*, Mount*>> work{{source.mount.get(), top.get()}};
  while (!work.empty()) {
    auto [from, to] = work.back();
    work.pop_back();
    std::vector<Mount*> kids = from->children_;
    for (Mount* c : kids) {
      if (c == to || c == top.get()) continue;
      if (!to->root()->IsAncestorOfLocked(c->mount_point())) continue;
      RefPtr<Mount> copy =
          AttachLocked(to, c->mount_point_, c->root(), c->flags());
      work.push_back({c, copy.get()});
    }
  }
  return top;
}

Errno MountNamespace::Remount(const Path& mount_root, MountFlags flags,
                              bool bind_only,
                              const MountSourceFlags* source_flags) {
  if (mount_root.dirent.get() != mount_root.mount->root().get()) {
    return Errno(EINVAL);
  }
  mount_root.mount->set_flags(flags);
  if (!bind_only && source_flags) {
    mount_root.mount->source()->set_flags(*source_flags);
  }
  return Errno();
}

void MountNamespace::DetachLocked(Mount* m,
                                  std::vector<RefPtr<Mount>>* released) {
  for (Mount* c : std::vector<Mount*>(m->children_)) DetachLocked(c, released);
  if (Mount* p = m->parent_) {
    auto it = table_.find(Key{p, m->mount_point_.get()});
    if (it != table_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), m), v.end());
      if (v.empty()) table_.erase(it);
    }
    p->children_.erase(std::remove(p->children_.begin(), p->children_.end(), m),
                       p->children_.end());
    m->mount_point_->DecMountCount();
    m->parent_ = nullptr;
  }
  m->detached_.store(true, std::memory_order_release);
  for (auto it = mounts_.begin(); it != mounts_.end(); ++it) {
    if (it->get() == m) {
      released->push_back(std::move(*it));
      mounts_.erase(it);
      break;
    }
  }
  // Dropped after the namespace lock, children before parents.
  released->push_back(std::move(m->parent_ref_));
}

Errno MountNamespace::Unmount(const Path& p, bool detach) {
  std::vector<RefPtr<Mount>> released;
  {
    base::MutexLock l(&mu_);
    Mount* m = p.mount.get();
    if (m->detached() || p.dirent.get() != m->root().get()) {
      return Errno(EINVAL);
    }
    if (m == root_.get()) return Errno(EBUSY);
    if (!detach) {
      // References: the namespace's, one per child's parent link, and
      // the caller's Path.
      if (!m->children_.empty()) return Errno(EBUSY);
      if (m->ReadRefs() > 2) return Errno(EBUSY);
    }
    DetachLocked(m, &released);
  }
  for (auto& r : released) r.reset();
  return Errno();
}

std::string MountNamespace::PathOfLocked(const Path& p,
                                         const Path& root) const {
  std::vector<std::string_view> parts;
  const Mount* m = p.mount.get();
  const Dirent* d = p.dirent.get();
  bool reachable = true;
  while (!(m == root.mount.get() && d == root.dirent.get())) {
    if (d == m->root().get()) {
      if (m->parent_ == nullptr) {
        reachable = false;
        break;
      }
      d = m->mount_point_.get();
      m = m->parent_;
      continue;
    }
    const Dirent* up = d->parent_locked();
    if (up == nullptr) {
      reachable = false;
      break;
    }
    parts.push_back(d->name_locked());
    d = up;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += '/';
    out += *it;
  }
  if (out.empty()) out = "/";
  (void)reachable;
  if (p.dirent->unlinked()) out += " (deleted)";
  return out;
}

std::string MountNamespace::PathOf(const Path& p, const Path& root) const {
  base::ReaderMutexLock l(&mu_);
  base::ReaderMutexLock rl(&RenameMutex());
  return PathOfLocked(p, root);
}

std::vector<MountInfo> MountNamespace::Mounts(const Path& root) const {
  std::vector<MountInfo> out;
  base::ReaderMutexLock l(&mu_);
  base::ReaderMutexLock rl(&RenameMutex());
  for (const RefPtr<Mount>& m : mounts_) {
    MountInfo mi;
    mi.id = m->id();
    mi.parent_id = m->parent_ ? m->parent_->id() : m->id();
    mi.dev = m->source()->device();
    // The mount's root within its filesystem.
    {
      std::vector<std::string_view> parts;
      for (const Dirent* d = m->root().get(); d->parent_locked();
           d = d->parent_locked()) {
        parts.push_back(d->name_locked());
      }
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        mi.root += '/';
        mi.root += *it;
      }
      if (mi.root.empty()) mi.root = "/";
    }
    if (m->parent_) {
      mi.mount_point =
          PathOfLocked(Path{RefPtr(m->parent_), m->mount_point_}, root);
    } else {
      mi.mount_point = "/";
    }
    mi.flags = m->flags();
    mi.source_flags = m->source()->flags();
    const Filesystem* fs = m->source()->filesystem();
    mi.fs_type = fs ? std::string(fs->Name()) : m->source()->TypeName();
    mi.source = m->source()->device_name();
    mi.super_options = mi.source_flags.read_only ? "ro" : "rw";
    std::string extra = m->source()->OptionsString();
    if (!extra.empty()) mi.super_options += "," + extra;
    out.push_back(std::move(mi));
  }
  return out;
}

Path AnonymousPath(RefPtr<Inode> inode, std::string name) {
  // The namespace goes at once; its only mount lives on, detached, for as
  // long as the Path holds it.
  RefPtr<MountNamespace> ns =
      MountNamespace::New(Dirent::NewRoot(std::move(inode), std::move(name)));
  return ns->Root();
}

RefPtr<Mount> MountNamespace::FindMount(int id) const {
  base::ReaderMutexLock l(&mu_);
  for (const RefPtr<Mount>& m : mounts_) {
    if (m->id() == id) return m;
  }
  return nullptr;
}

}  // namespace sentry::fs
