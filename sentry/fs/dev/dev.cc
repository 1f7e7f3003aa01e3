// The "devtmpfs" filesystem: a container's /dev on ramfs.
#include "sentry/fs/dev/dev.h"

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "abi/linux/linux.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/tmpfs/tmpfs.h"

namespace sentry::fs::dev {
namespace {

struct NodeSpec {
  const char* name;
  uint32_t major, minor;
};

constexpr NodeSpec kCharNodes[] = {
    {"null", kMemMajor, kNullMinor},       {"zero", kMemMajor, kZeroMinor},
    {"full", kMemMajor, kFullMinor},       {"random", kMemMajor, kRandomMinor},
    {"urandom", kMemMajor, kURandomMinor}, {"tty", kTtyAuxMajor, kTtyMinor},
    {"ptmx", kTtyAuxMajor, kPtmxMinor},
};

struct LinkSpec {
  const char* name;
  const char* target;
};

constexpr LinkSpec kSymlinks[] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
};

struct DirSpec {
  const char* name;
  uint32_t perms;
};

constexpr DirSpec kDirs[] = {
    {"pts", 0755},
    {"shm", 01777},
};

Errno AddNew(const Context& ctx, const RefPtr<MountSource>& msrc,
             ramfs::Dir* root, std::string_view name, const CreateSpec& spec) {
  ASSIGN_OR_RETURN(RefPtr<Inode> in, ramfs::NewInode(ctx, msrc, spec));
  return root->AddChild(name, std::move(in));
}

// devtmpfs is shmem underneath: statfs says TMPFS_MAGIC.
class DevMountSource : public ramfs::RamMountSource {
 public:
  using RamMountSource::RamMountSource;
  int64_t Magic() const override { return linux_abi::kTmpfsMagic; }
};

// Whether the option string sets key (tmpfs's parser has already checked
// the syntax).
bool HasOption(std::string_view data, std::string_view key) {
  while (!data.empty()) {
    size_t comma = data.find(',');
    std::string_view opt = data.substr(0, comma);
    data = comma == std::string_view::npos ? std::string_view()
                                           : data.substr(comma + 1);
    if (opt.substr(0, opt.find('=')) == key) return true;
  }
  return false;
}

class DevtmpfsFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "devtmpfs"; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    ASSIGN_OR_RETURN(tmpfs::Options o, tmpfs::ParseOptions(data));
    const uint32_t mode = HasOption(data, "mode") ? o.mode : 0755;
    const uint32_t uid = o.uid_set ? o.uid : ctx.creds().fsuid;
    const uint32_t gid = o.gid_set ? o.gid : ctx.creds().fsgid;
    uint64_t bytes = ramfs::RamMountSource::kUnlimited;
    if (o.max_bytes) bytes = (o.max_bytes + 4095) / 4096 * 4096;
    const uint64_t inodes =
        o.max_inodes ? o.max_inodes : ramfs::RamMountSource::kUnlimited;
    auto* src =
        new DevMountSource(this, flags, std::string(device), bytes, inodes);
    std::string opts;
    if (o.max_bytes) absl::StrAppend(&opts, "size=", bytes / 1024, "k,");
    if (o.max_inodes) absl::StrAppend(&opts, "nr_inodes=", o.max_inodes, ",");
    absl::StrAppend(&opts, "mode=", absl::StrFormat("%o", mode));
    if (o.uid_set) absl::StrAppend(&opts, ",uid=", o.uid);
    if (o.gid_set) absl::StrAppend(&opts, ",gid=", o.gid);
    src->set_options_string(opts);
    RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(src);
    RefPtr<ramfs::Dir> root = ramfs::NewRoot(ctx, msrc, mode, uid, gid);
    RETURN_IF_ERRNO(PopulateDevTree(ctx, msrc, root.get(), uid, gid));
    return RefPtr<Inode>(std::move(root));
  }
};

// The same filesystem under the name gVisor gives it.
class DevFilesystem : public DevtmpfsFilesystem {
 public:
  std::string_view Name() const override { return "dev"; }
};

Registrar<DevtmpfsFilesystem> devtmpfs_registrar;
Registrar<DevFilesystem> dev_registrar;

}  // namespace

Errno PopulateDevTree(const Context& ctx, RefPtr<MountSource> msrc,
                      ramfs::Dir* root, uint32_t uid, uint32_t gid) {
  for (const NodeSpec& n : kCharNodes) {
    CreateSpec spec;
    spec.mode = S_IFCHR | 0666;
    spec.uid = uid;
    spec.gid = gid;
    spec.rdev = linux_abi::MakeDev(n.major, n.minor);
    RETURN_IF_ERRNO(AddNew(ctx, msrc, root, n.name, spec));
  }
  for (const DirSpec& d : kDirs) {
    CreateSpec spec;
    spec.mode = S_IFDIR | d.perms;
    spec.uid = uid;
    spec.gid = gid;
    RETURN_IF_ERRNO(AddNew(ctx, msrc, root, d.name, spec));
  }
  for (const LinkSpec& l : kSymlinks) {
    CreateSpec spec;
    spec.mode = S_IFLNK | 0777;
    spec.uid = uid;
    spec.gid = gid;
    spec.symlink_target = l.target;
    RETURN_IF_ERRNO(AddNew(ctx, msrc, root, l.name, spec));
  }
  return Errno();
}

}  // namespace sentry::fs::dev
