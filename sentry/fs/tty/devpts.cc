#include "sentry/fs/tty/devpts.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sentry/fs/device.h"
#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/fsutil/options.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"
#include "sentry/fs/tty/terminal.h"

namespace sentry::fs::tty {

namespace {}  // namespace

base::ErrnoOr<DevptsOptions> ParseDevptsOptions(std::string_view data) {
  DevptsOptions o;
  for (const fsutil::MountOption& opt : fsutil::SplitMountOptions(data)) {
    const std::string_view key = opt.key, val = opt.value;
    if (!opt.has_value) {
      if (key == "newinstance") {
        o.newinstance = true;
        continue;
      }
      return base::Errno(EINVAL);
    }
    if (key == "uid") {
      ASSIGN_OR_RETURN(o.uid, fsutil::ParseUint32(val, 10));
      o.uid_set = true;
    } else if (key == "gid") {
      ASSIGN_OR_RETURN(o.gid, fsutil::ParseUint32(val, 10));
      o.gid_set = true;
    } else if (key == "mode") {
      ASSIGN_OR_RETURN(uint32_t m, fsutil::ParseUint32(val, 8));
      o.mode = m & 07777;
    } else if (key == "ptmxmode") {
      ASSIGN_OR_RETURN(uint32_t m, fsutil::ParseUint32(val, 8));
      o.ptmxmode = m & 07777;
    } else if (key == "max") {
      ASSIGN_OR_RETURN(uint32_t m, fsutil::ParseUint32(val, 10));
      o.max = std::min(m, kMaxPtys);
    } else {
      return base::Errno(EINVAL);
    }
  }
  return o;
}

namespace {

class DevptsInstance;

// ---- Controlling terminals, by pid, for /dev/tty.
std::mutex g_ctty_mu;
std::map<int32_t, std::weak_ptr<Terminal>>& Ctty() {
  static auto* m = new std::map<int32_t, std::weak_ptr<Terminal>>();
  return *m;
}

// ---- The open ends.

class MasterFile : public FileOperations {
 public:
  explicit MasterFile(std::shared_ptr<Terminal> t) : t_(std::move(t)) {}
  ~MasterFile() override { t_->ReleaseMaster(); }
  bool Seekable() const override { return false; }
  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t) override {
    return t_->MasterRead(ctx, f.flags() & O_NONBLOCK, dst);
  }
  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t, bool, uint64_t*) override {
    return t_->MasterWrite(ctx, f.flags() & O_NONBLOCK, src);
  }
  ErrnoOr<int64_t> Ioctl(const Context& ctx, File&, uint64_t cmd,
                         uintptr_t arg) override {
    return t_->Ioctl(ctx, /*master=*/true, cmd, arg);
  }

 private:
  std::shared_ptr<Terminal> t_;
};

class ReplicaFile : public FileOperations {
 public:
  // t has already counted this open (Terminal::OpenReplica).
  explicit ReplicaFile(std::shared_ptr<Terminal> t) : t_(std::move(t)) {}
  ~ReplicaFile() override { t_->ReleaseReplica(); }
  bool Seekable() const override { return false; }
  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t) override {
    return t_->ReplicaRead(ctx, f.flags() & O_NONBLOCK, dst);
  }
  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t, bool, uint64_t*) override {
    return t_->ReplicaWrite(ctx, f.flags() & O_NONBLOCK, src);
  }
  ErrnoOr<int64_t> Ioctl(const Context& ctx, File&, uint64_t cmd,
                         uintptr_t arg) override {
    ASSIGN_OR_RETURN(int64_t r, t_->Ioctl(ctx, /*master=*/false, cmd, arg));
    if (cmd == TIOCSCTTY) {
      std::lock_guard<std::mutex> l(g_ctty_mu);
      Ctty()[ctx.pid()] = t_;
    } else if (cmd == TIOCNOTTY) {
      std::lock_guard<std::mutex> l(g_ctty_mu);
      auto it = Ctty().find(ctx.pid());
      if (it != Ctty().end() && it->second.lock() == t_) Ctty().erase(it);
    }
    return r;
  }

 private:
  std::shared_ptr<Terminal> t_;
};

ErrnoOr<FileOpsPtr> OpenReplicaOf(std::shared_ptr<Terminal> t) {
  RETURN_IF_ERRNO(t->OpenReplica());
  return FileOpsPtr(new ReplicaFile(std::move(t)));
}

// ---- Inodes.

// Attributes kept in memory (chmod/chown/utimes work, as on devpts).
class AttrInode : public Inode {
 public:
  AttrInode(RefPtr<MountSource> msrc, const StableAttr& sa,
            const UnstableAttr& ua)
      : Inode(std::move(msrc), sa), attr_(ua) {}
  ErrnoOr<UnstableAttr> GetAttr(const Context&) override {
    std::lock_guard<std::mutex> l(mu_);
    return attr_;
  }
  Errno SetAttr(const Context& ctx, const AttrChange& ch) override {
    if (ch.size) return Errno(IsDir() ? EISDIR : EINVAL);
    std::lock_guard<std::mutex> l(mu_);
    if (ch.perms) attr_.perms = *ch.perms & 07777;
    if (ch.uid) attr_.uid = *ch.uid;
    if (ch.gid) attr_.gid = *ch.gid;
    if (ch.atime) attr_.atime = *ch.atime;
    if (ch.mtime) attr_.mtime = *ch.mtime;
    attr_.ctime = ch.ctime ? *ch.ctime : ctx.Now();
    return Errno();
  }
  ErrnoOr<linux_abi::Statfs> StatFS(const Context&) override {
    linux_abi::Statfs s{};
    s.f_type = linux_abi::kDevptsMagic;
    s.f_bsize = 4096;
    s.f_frsize = 4096;
    s.f_namelen = linux_abi::kNameMax;
    return s;
  }

 private:
  std::mutex mu_;
  UnstableAttr attr_;
};

UnstableAttr NewAttr(const Context& ctx, uint32_t perms, uint32_t uid,
                     uint32_t gid, uint64_t nlink = 1) {
  UnstableAttr a;
  a.perms = perms;
  a.uid = uid;
  a.gid = gid;
  a.nlink = nlink;
  a.atime = a.mtime = a.ctime = ctx.Now();
  return a;
}

class DevptsMountSource : public MountSource {
 public:
  DevptsMountSource(const Filesystem* fs, MountSourceFlags flags,
                    std::string device, std::string options)
      : MountSource(fs, flags, CachePolicy::kRevalidate, std::move(device)),
        options_(std::move(options)) {}
  std::string OptionsString() const override { return options_; }

 private:
  const std::string options_;
};

class DevptsInstance : public std::enable_shared_from_this<DevptsInstance> {
 public:
  DevptsInstance(RefPtr<MountSource> msrc, DevptsOptions o)
      : msrc_(std::move(msrc)), opts_(o) {}

  void Init(const Context& ctx);

  ErrnoOr<RefPtr<Inode>> Lookup(std::string_view name) {
    std::lock_guard<std::mutex> l(mu_);
    if (name == "ptmx") return ptmx_;
    if (name.empty() || (name.size() > 1 && name[0] == '0')) {
      return Errno(ENOENT);
    }
    auto n = fsutil::ParseUint32(name, 10);
    if (!n.ok()) return Errno(ENOENT);
    auto it = entries_.find(*n);
    if (it == entries_.end()) return Errno(ENOENT);
    return it->second;
  }

  Errno Iterate(uint64_t offset, DirSink& sink) {
    struct Ent {
      std::string name;
      uint64_t ino;
      uint8_t type;
      uint64_t next;
    };
    std::vector<Ent> ents;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (offset <= 0) ents.push_back({".", 1, DT_DIR, 1});
      if (offset <= 1) ents.push_back({"..", 1, DT_DIR, 2});
      if (offset <= 2) ents.push_back({"ptmx", 2, DT_CHR, 3});
      uint64_t from = offset > 3 ? offset - 3 : 0;
      for (auto it = entries_.lower_bound(from); it != entries_.end(); ++it) {
        ents.push_back({std::to_string(it->first), it->first + 3ull, DT_CHR,
                        it->first + 4ull});
      }
    }
    for (const Ent& e : ents) {
      if (!sink.Add({e.name, e.ino, e.type, e.next})) break;
    }
    return Errno();
  }

  ErrnoOr<FileOpsPtr> OpenMaster(const Context& ctx);
  ErrnoOr<FileOpsPtr> OpenReplica(uint32_t idx) {
    std::shared_ptr<Terminal> t;  // dies outside the lock
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = terms_.find(idx);
      if (it != terms_.end()) t = it->second.lock();
    }
    if (!t) return Errno(EIO);
    return OpenReplicaOf(std::move(t));
  }

  bool newinstance() const { return opts_.newinstance; }

 private:
  void RemoveEntry(uint32_t idx) {
    RefPtr<Inode> gone;  // dropped outside the lock
    std::lock_guard<std::mutex> l(mu_);
    auto it = entries_.find(idx);
    if (it == entries_.end()) return;
    gone = std::move(it->second);
    entries_.erase(it);
  }
  void FreeIndex(uint32_t idx) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = terms_.find(idx);
    if (it != terms_.end() && it->second.expired()) terms_.erase(it);
  }

  RefPtr<MountSource> msrc_;
  const DevptsOptions opts_;
  std::mutex mu_;
  RefPtr<Inode> ptmx_;
  std::map<uint32_t, RefPtr<Inode>> entries_;
  std::map<uint32_t, std::weak_ptr<Terminal>> terms_;
};

class PtmxInode : public AttrInode {
 public:
  PtmxInode(RefPtr<MountSource> msrc, const UnstableAttr& ua,
            std::weak_ptr<DevptsInstance> inst)
      : AttrInode(
            msrc,
            StableAttr{InodeType::kCharDevice, msrc->device(), 2,
                       linux_abi::MakeDev(kTtyAuxMajor, kPtmxMinor), 1024},
            ua),
        inst_(std::move(inst)) {}
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int) override {
    auto inst = inst_.lock();
    if (!inst) return Errno(ENODEV);
    return inst->OpenMaster(ctx);
  }

 private:
  std::weak_ptr<DevptsInstance> inst_;
};

class ReplicaInode : public AttrInode {
 public:
  ReplicaInode(RefPtr<MountSource> msrc, uint32_t idx, const UnstableAttr& ua,
               std::weak_ptr<DevptsInstance> inst)
      : AttrInode(msrc,
                  StableAttr{
                      InodeType::kCharDevice, msrc->device(), idx + 3ull,
                      // below 2^32: minors stay under 2^20
                      static_cast<uint32_t>(linux_abi::MakeDev(kPtsMajor, idx)),
                      1024},
                  ua),
        idx_(idx),
        inst_(std::move(inst)) {}
  ErrnoOr<FileOpsPtr> Open(const Context&, int) override {
    auto inst = inst_.lock();
    if (!inst) return Errno(EIO);
    return inst->OpenReplica(idx_);
  }

 private:
  const uint32_t idx_;
  std::weak_ptr<DevptsInstance> inst_;
};

class DevptsRoot : public AttrInode {
 public:
  DevptsRoot(RefPtr<MountSource> msrc, const UnstableAttr& ua,
             std::shared_ptr<DevptsInstance> inst)
      : AttrInode(msrc,
                  StableAttr{InodeType::kDirectory, msrc->device(), 1, 0, 4096},
                  ua),
        inst_(std::move(inst)) {}
  ErrnoOr<RefPtr<Inode>> Lookup(const Context&,
                                std::string_view name) override {
    return inst_->Lookup(name);
  }
  Errno IterateDir(const Context&, uint64_t offset, DirSink& sink) override {
    return inst_->Iterate(offset, sink);
  }
  ErrnoOr<bool> HasChildren(const Context&) override { return true; }
  // devpts makes no files of its own accord: mkdir/mknod/unlink are EPERM.
  ErrnoOr<RefPtr<Inode>> CreateChild(const Context&, std::string_view,
                                     const CreateSpec&) override {
    return Errno(EPERM);
  }
  Errno RemoveChild(const Context&, std::string_view, bool) override {
    return Errno(EPERM);
  }

 private:
  std::shared_ptr<DevptsInstance> inst_;
};

void DevptsInstance::Init(const Context& ctx) {
  ptmx_ = base::AdoptRef<Inode>(new PtmxInode(
      msrc_, NewAttr(ctx, opts_.ptmxmode, 0, 0), weak_from_this()));
}

ErrnoOr<FileOpsPtr> DevptsInstance::OpenMaster(const Context& ctx) {
  std::weak_ptr<DevptsInstance> self = weak_from_this();
  std::shared_ptr<Terminal> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    // ida_alloc: the lowest free index.
    uint32_t idx = 0;
    for (const auto& [i, w] : terms_) {
      if (i != idx) break;
      ++idx;
    }
    if (idx >= opts_.max) return Errno(ENOSPC);
    t = std::make_shared<Terminal>(
        idx,
        [self, idx] {
          if (auto inst = self.lock()) inst->RemoveEntry(idx);
        },
        [self, idx] {
          if (auto inst = self.lock()) inst->FreeIndex(idx);
        });
    terms_[idx] = t;
    const auto& c = ctx.creds();
    entries_[idx] = base::AdoptRef<Inode>(new ReplicaInode(
        msrc_, idx,
        NewAttr(ctx, opts_.mode, opts_.uid_set ? opts_.uid : c.fsuid,
                opts_.gid_set ? opts_.gid : c.fsgid),
        self));
  }
  return FileOpsPtr(new MasterFile(std::move(t)));
}

// ---- The default instance, for device nodes outside devpts.
std::mutex g_default_mu;
std::vector<std::weak_ptr<DevptsInstance>>& Defaults() {
  static auto* v = new std::vector<std::weak_ptr<DevptsInstance>>();
  return *v;
}

std::shared_ptr<DevptsInstance> DefaultInstance() {
  std::lock_guard<std::mutex> l(g_default_mu);
  auto& v = Defaults();
  while (!v.empty()) {
    if (auto p = v.back().lock()) return p;
    v.pop_back();
  }
  return nullptr;
}

class DevptsFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "devpts"; }
  bool AllowUserMount() const override { return true; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    ASSIGN_OR_RETURN(DevptsOptions o, ParseDevptsOptions(data));
    // devpts_show_options.
    std::string opts;
    if (o.uid_set) absl::StrAppend(&opts, "uid=", o.uid, ",");
    if (o.gid_set) absl::StrAppend(&opts, "gid=", o.gid, ",");
    absl::StrAppend(
        &opts, absl::StrFormat("mode=%03o,ptmxmode=%03o", o.mode, o.ptmxmode));
    if (o.max < kMaxPtys) absl::StrAppend(&opts, ",max=", o.max);
    RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(
        new DevptsMountSource(this, flags, std::string(device), opts));
    auto inst = std::make_shared<DevptsInstance>(msrc, o);
    inst->Init(ctx);
    auto root = base::AdoptRef<Inode>(
        new DevptsRoot(msrc, NewAttr(ctx, 0755, 0, 0, 2), inst));
    if (!o.newinstance) {
      std::lock_guard<std::mutex> l(g_default_mu);
      auto& v = Defaults();
      std::erase_if(v, [](const auto& w) { return w.expired(); });
      v.push_back(inst);
    }
    return root;
  }
};

Registrar<DevptsFilesystem> devpts_registrar;

// ---- Device numbers.

ErrnoOr<FileOpsPtr> OpenPtmxDevice(const Context& ctx, uint32_t, uint32_t,
                                   int) {
  auto inst = DefaultInstance();
  if (!inst) return Errno(ENODEV);
  return inst->OpenMaster(ctx);
}

ErrnoOr<FileOpsPtr> OpenPtsDevice(const Context&, uint32_t, uint32_t minor,
                                  int) {
  auto inst = DefaultInstance();
  if (!inst) return Errno(EIO);
  return inst->OpenReplica(minor);
}

ErrnoOr<FileOpsPtr> OpenTtyDevice(const Context& ctx, uint32_t, uint32_t, int) {
  std::shared_ptr<Terminal> t;
  {
    std::lock_guard<std::mutex> l(g_ctty_mu);
    auto it = Ctty().find(ctx.pid());
    if (it != Ctty().end()) {
      t = it->second.lock();
      if (!t) Ctty().erase(it);
    }
  }
  if (!t || t->hung_up()) return Errno(ENXIO);
  return OpenReplicaOf(std::move(t));
}

CharDeviceRegistrar ptmx_registrar(kTtyAuxMajor, kPtmxMinor, kPtmxMinor,
                                   OpenPtmxDevice);
CharDeviceRegistrar tty_registrar(kTtyAuxMajor, 0, 0, OpenTtyDevice);
CharDeviceRegistrar pts_registrar(kPtsMajor, 0, kMaxPtys - 1, OpenPtsDevice);

}  // namespace

}  // namespace sentry::fs::tty
