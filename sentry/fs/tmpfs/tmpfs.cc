#include "sentry/fs/tmpfs/tmpfs.h"

#include <unistd.h>

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/fsutil/options.h"

namespace sentry::fs::tmpfs {

namespace {

// memparse: a number with an optional k/m/g/t suffix.
base::ErrnoOr<uint64_t> ParseSize(std::string_view v, bool allow_percent) {
  if (v.empty()) return base::Errno(EINVAL);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 10);
  if (ec != std::errc() || p == v.data()) return base::Errno(EINVAL);
  std::string_view rest(p, v.data() + v.size() - p);
  if (rest.empty()) return n;
  if (rest.size() != 1) return base::Errno(EINVAL);
  int shift = 0;
  switch (rest[0]) {
    case 'k':
    case 'K':
      shift = 10;
      break;
    case 'm':
    case 'M':
      shift = 20;
      break;
    case 'g':
    case 'G':
      shift = 30;
      break;
    case 't':
    case 'T':
      shift = 40;
      break;
    case '%':
      if (!allow_percent || n > 100) return base::Errno(EINVAL);
      return static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
             static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 100 * n;
    default:
      return base::Errno(EINVAL);
  }
  if (n > (~uint64_t{0} >> shift)) return base::Errno(EINVAL);
  return n << shift;
}

}  // namespace

base::ErrnoOr<Options> ParseOptions(std::string_view data) {
  Options o;
  for (const fsutil::MountOption& opt : fsutil::SplitMountOptions(data)) {
    const std::string_view key = opt.key, val = opt.value;
    if (!opt.has_value) return base::Errno(EINVAL);
    if (key == "size") {
      ASSIGN_OR_RETURN(o.max_bytes, ParseSize(val, true));
    } else if (key == "nr_blocks") {
      ASSIGN_OR_RETURN(uint64_t blocks, ParseSize(val, false));
      o.max_bytes = blocks * 4096;
    } else if (key == "nr_inodes") {
      ASSIGN_OR_RETURN(o.max_inodes, ParseSize(val, false));
    } else if (key == "mode") {
      ASSIGN_OR_RETURN(uint32_t m, fsutil::ParseUint32(val, 8));
      o.mode = m & 07777;
    } else if (key == "uid") {
      ASSIGN_OR_RETURN(o.uid, fsutil::ParseUint32(val, 10));
      o.uid_set = true;
    } else if (key == "gid") {
      ASSIGN_OR_RETURN(o.gid, fsutil::ParseUint32(val, 10));
      o.gid_set = true;
    } else {
      return base::Errno(EINVAL);
    }
  }
  return o;
}

namespace {

class TmpfsFilesystem : public Filesystem {
 public:
  std::string_view Name() const override { return "tmpfs"; }
  bool AllowUserMount() const override { return true; }
  ErrnoOr<RefPtr<Inode>> Mount(const Context& ctx, std::string_view device,
                               const MountSourceFlags& flags,
                               std::string_view data) const override {
    ASSIGN_OR_RETURN(Options o, ParseOptions(data));
    uint64_t bytes =
        o.max_bytes ? o.max_bytes : ramfs::RamMountSource::kUnlimited;
    // Linux rounds size= up to whole pages.
    if (o.max_bytes) bytes = (bytes + 4095) / 4096 * 4096;
    uint64_t inodes =
        o.max_inodes ? o.max_inodes : ramfs::RamMountSource::kUnlimited;
    auto* src =
        new TmpfsMountSource(this, flags, std::string(device), bytes, inodes);
    // As shmem_show_options prints them; mode only when not the default.
    std::vector<std::string> shown;
    if (o.max_bytes) shown.push_back(absl::StrCat("size=", bytes / 1024, "k"));
    if (o.max_inodes) shown.push_back(absl::StrCat("nr_inodes=", o.max_inodes));
    if (o.mode != 01777) {
      shown.push_back(absl::StrCat("mode=", absl::StrFormat("%o", o.mode)));
    }
    if (o.uid_set) shown.push_back(absl::StrCat("uid=", o.uid));
    if (o.gid_set) shown.push_back(absl::StrCat("gid=", o.gid));
    std::string opts = absl::StrJoin(shown, ",");
    src->set_options_string(opts);
    RefPtr<MountSource> msrc = base::AdoptRef<MountSource>(src);
    return RefPtr<Inode>(ramfs::NewRoot(ctx, msrc, o.mode,
                                        o.uid_set ? o.uid : ctx.creds().fsuid,
                                        o.gid_set ? o.gid : ctx.creds().fsgid));
  }
};

Registrar<TmpfsFilesystem> tmpfs_registrar;

}  // namespace

}  // namespace sentry::fs::tmpfs
