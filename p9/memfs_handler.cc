#include "p9/memfs_handler.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "p9/await.h"

namespace p9::testing {
namespace {

using base::Errno;
using base::ErrnoOr;

bool ValidName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

bool MemFsHandler::Node::is_dir() const { return S_ISDIR(mode); }

MemFsHandler::MemFsHandler() {
  base::MutexLock l(&mu_);
  root_ = NewNode(S_IFDIR | 0755, 0, 0);
}

std::shared_ptr<MemFsHandler::Node> MemFsHandler::NewNode(uint32_t mode,
                                                          uint32_t uid,
                                                          uint32_t gid) {
  auto n = std::make_shared<Node>();
  n->ino = next_ino_++;
  n->mode = mode;
  n->uid = uid;
  n->gid = gid;
  return n;
}

Qid MemFsHandler::QidOf(const Node& n) const {
  Qid q;
  q.path = n.ino;
  if (S_ISDIR(n.mode)) q.type = kQidTypeDir;
  if (S_ISLNK(n.mode)) q.type = kQidTypeSymlink;
  return q;
}

ErrnoOr<std::shared_ptr<MemFsHandler::Node>> MemFsHandler::DirOf(
    Fid fid) const {
  ASSIGN_OR_RETURN(auto st, fids_.Get(fid));
  if (!S_ISDIR(st->node->mode)) return Errno(ENOTDIR);
  return st->node;
}

ErrnoOr<Rattach> MemFsHandler::Attach(const Tattach& t) {
  std::shared_ptr<Node> root;
  {
    base::MutexLock l(&mu_);
    root = root_;
  }
  auto st = std::make_shared<FidState>();
  st->node = root;
  RETURN_IF_ERRNO(fids_.Insert(t.fid, st));
  return Rattach{QidOf(*root)};
}

ErrnoOr<Rwalk> MemFsHandler::Walk(const Twalk& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (st->open) return Errno(EBADF);
  Rwalk r;
  std::shared_ptr<Node> cur = st->node;
  {
    base::MutexLock l(&mu_);
    for (const auto& name : t.names) {
      if (!cur->is_dir()) {
        if (r.qids.empty()) return Errno(ENOTDIR);
        return r;
      }
      auto it = cur->children.find(name);
      if (it == cur->children.end()) {
        if (r.qids.empty()) return Errno(ENOENT);
        return r;  // Partial walk: newfid is not bound.
      }
      cur = it->second;
      r.qids.push_back(QidOf(*cur));
    }
  }
  auto ns = std::make_shared<FidState>();
  ns->node = cur;
  if (t.newfid == t.fid) {
    fids_.Replace(t.newfid, ns);
  } else {
    RETURN_IF_ERRNO(fids_.Insert(t.newfid, ns));
  }
  return r;
}

ErrnoOr<Rgetattr> MemFsHandler::GetAttr(const Tgetattr& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  base::MutexLock l(&mu_);
  const Node& n = *st->node;
  Rgetattr r;
  r.attr.valid = kGetAttrBasic;
  r.attr.qid = QidOf(n);
  r.attr.mode = n.mode;
  r.attr.uid = n.uid;
  r.attr.gid = n.gid;
  r.attr.nlink = n.is_dir() ? 2 : 1;
  r.attr.size = n.data.size();
  r.attr.blksize = 4096;
  r.attr.blocks = (n.data.size() + 511) / 512;
  return r;
}

ErrnoOr<Rsetattr> MemFsHandler::SetAttr(const Tsetattr& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  base::MutexLock l(&mu_);
  Node& n = *st->node;
  if (t.attr.valid & kSetAttrSize) {
    if (n.is_dir()) return Errno(EISDIR);
    n.data.resize(t.attr.size);
  }
  if (t.attr.valid & kSetAttrMode) {
    n.mode = (n.mode & S_IFMT) | (t.attr.mode & 07777);
  }
  if (t.attr.valid & kSetAttrUid) n.uid = t.attr.uid;
  if (t.attr.valid & kSetAttrGid) n.gid = t.attr.gid;
  return Rsetattr{};
}

ErrnoOr<Rlopen> MemFsHandler::Lopen(const Tlopen& t,
                                    FileDescriptor* donate_fd) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (st->open) return Errno(EBADF);
  st->open = true;
  base::MutexLock l(&mu_);
  if (donate_fd != nullptr && !st->node->is_dir()) {
    int fd = ::memfd_create("p9-donated", MFD_CLOEXEC);
    if (fd >= 0) {
      donate_fd->reset(fd);
      const std::string& d = st->node->data;
      if (::pwrite(fd, d.data(), d.size(), 0) !=
          static_cast<ssize_t>(d.size())) {
        donate_fd->reset();
      }
    }
  }
  return Rlopen{QidOf(*st->node), 0};
}

ErrnoOr<Rlcreate> MemFsHandler::Lcreate(const Tlcreate& t) {
  ASSIGN_OR_RETURN(auto dir, DirOf(t.fid));
  if (!ValidName(t.name)) return Errno(EINVAL);
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  base::MutexLock l(&mu_);
  if (dir->children.contains(t.name)) return Errno(EEXIST);
  auto n = NewNode(S_IFREG | (t.mode & 07777), 0, t.gid);
  dir->children[t.name] = n;
  st->node = n;
  st->open = true;
  return Rlcreate{QidOf(*n), 0};
}

ErrnoOr<uint32_t> MemFsHandler::Read(const Tread& t, std::span<uint8_t> out) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (!st->open) return Errno(EBADF);
  base::MutexLock l(&mu_);
  const Node& n = *st->node;
  if (n.is_dir()) return Errno(EISDIR);
  if (t.count == 0xDEADu) return Errno(EDOM);  // Hook: a handler error.
  // "slow" files block until the gate opens.
  bool slow = false;
  for (const auto& [name, child] : root_->children) {
    if (child.get() == &n && name == "slow") slow = true;
  }
  if (slow && !gate_open_) {
    ++blocked_;
    auto open = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return gate_open_; };
    Await(&mu_, open);
    --blocked_;
  }
  if (t.offset >= n.data.size()) return 0u;
  size_t len = std::min<size_t>(out.size(), n.data.size() - t.offset);
  std::memcpy(out.data(), n.data.data() + t.offset, len);
  return static_cast<uint32_t>(len);
}

ErrnoOr<Rwrite> MemFsHandler::Write(const Twrite& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  if (!st->open) return Errno(EBADF);
  base::MutexLock l(&mu_);
  Node& n = *st->node;
  if (n.is_dir()) return Errno(EISDIR);
  const auto& d = t.data.data;
  if (t.offset + d.size() > n.data.size()) n.data.resize(t.offset + d.size());
  if (!d.empty()) std::memcpy(n.data.data() + t.offset, d.data(), d.size());
  return Rwrite{static_cast<uint32_t>(d.size())};
}

ErrnoOr<Rreaddir> MemFsHandler::Readdir(const Treaddir& t) {
  ASSIGN_OR_RETURN(auto dir, DirOf(t.fid));
  base::MutexLock l(&mu_);
  Rreaddir r;
  uint64_t i = 0;
  for (const auto& [name, child] : dir->children) {
    ++i;
    if (i <= t.offset) continue;
    Dirent d;
    d.qid = QidOf(*child);
    d.offset = i;
    d.type = child->is_dir() ? 4 /*DT_DIR*/ : 8 /*DT_REG*/;
    d.name = name;
    r.entries.push_back(std::move(d));
  }
  return r;
}

ErrnoOr<Rmkdir> MemFsHandler::Mkdir(const Tmkdir& t) {
  ASSIGN_OR_RETURN(auto dir, DirOf(t.dfid));
  if (!ValidName(t.name)) return Errno(EINVAL);
  base::MutexLock l(&mu_);
  if (dir->children.contains(t.name)) return Errno(EEXIST);
  auto n = NewNode(S_IFDIR | (t.mode & 07777), 0, t.gid);
  dir->children[t.name] = n;
  return Rmkdir{QidOf(*n)};
}

ErrnoOr<Rsymlink> MemFsHandler::Symlink(const Tsymlink& t) {
  ASSIGN_OR_RETURN(auto dir, DirOf(t.fid));
  if (!ValidName(t.name)) return Errno(EINVAL);
  base::MutexLock l(&mu_);
  if (dir->children.contains(t.name)) return Errno(EEXIST);
  auto n = NewNode(S_IFLNK | 0777, 0, t.gid);
  n->data = t.target;
  dir->children[t.name] = n;
  return Rsymlink{QidOf(*n)};
}

ErrnoOr<Rreadlink> MemFsHandler::Readlink(const Treadlink& t) {
  ASSIGN_OR_RETURN(auto st, fids_.Get(t.fid));
  base::MutexLock l(&mu_);
  if (!S_ISLNK(st->node->mode)) return Errno(EINVAL);
  return Rreadlink{st->node->data};
}

ErrnoOr<Runlinkat> MemFsHandler::Unlinkat(const Tunlinkat& t) {
  ASSIGN_OR_RETURN(auto dir, DirOf(t.dirfid));
  base::MutexLock l(&mu_);
  auto it = dir->children.find(t.name);
  if (it == dir->children.end()) return Errno(ENOENT);
  const bool rmdir = (t.flags & kUnlinkRemoveDir) != 0;
  if (it->second->is_dir() != rmdir) {
    return Errno(rmdir ? ENOTDIR : EISDIR);
  }
  if (rmdir && !it->second->children.empty()) return Errno(ENOTEMPTY);
  dir->children.erase(it);
  return Runlinkat{};
}

ErrnoOr<Rrenameat> MemFsHandler::Renameat(const Trenameat& t) {
  ASSIGN_OR_RETURN(auto from, DirOf(t.olddirfid));
  ASSIGN_OR_RETURN(auto to, DirOf(t.newdirfid));
  if (!ValidName(t.newname)) return Errno(EINVAL);
  base::MutexLock l(&mu_);
  auto it = from->children.find(t.oldname);
  if (it == from->children.end()) return Errno(ENOENT);
  auto n = it->second;
  from->children.erase(it);
  to->children[t.newname] = n;
  return Rrenameat{};
}

ErrnoOr<Rstatfs> MemFsHandler::Statfs(const Tstatfs& t) {
  RETURN_IF_ERRNO(fids_.Get(t.fid));
  Rstatfs r;
  r.statfs.type = 0x01021997;  // V9FS_MAGIC
  r.statfs.bsize = 4096;
  r.statfs.blocks = 1000;
  r.statfs.bfree = 500;
  r.statfs.bavail = 400;
  r.statfs.namelen = 255;
  return r;
}

ErrnoOr<Rfsync> MemFsHandler::Fsync(const Tfsync& t) {
  RETURN_IF_ERRNO(fids_.Get(t.fid));
  base::MutexLock l(&mu_);
  ++fsyncs_;
  return Rfsync{};
}

ErrnoOr<Rlock> MemFsHandler::Lock(const Tlock& t) {
  RETURN_IF_ERRNO(fids_.Get(t.fid));
  return Rlock{kLockStatusSuccess};
}

ErrnoOr<Rclunk> MemFsHandler::Clunk(const Tclunk& t) {
  RETURN_IF_ERRNO(fids_.Remove(t.fid));
  return Rclunk{};
}

void MemFsHandler::OpenGate() {
  base::MutexLock l(&mu_);
  gate_open_ = true;
}

void MemFsHandler::AwaitBlockedReaders(int n) {
  base::MutexLock l(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return blocked_ >= n;
  };
  Await(&mu_, enough);
}

int MemFsHandler::fsyncs() const {
  base::MutexLock l(&mu_);
  return fsyncs_;
}

}  // namespace p9::testing
