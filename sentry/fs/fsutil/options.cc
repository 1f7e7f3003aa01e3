#include "sentry/fs/fsutil/options.h"

#include <charconv>

namespace sentry::fs::fsutil {

std::vector<MountOption> SplitMountOptions(std::string_view data) {
  std::vector<MountOption> out;
  while (!data.empty()) {
    size_t comma = data.find(',');
    std::string_view opt = data.substr(0, comma);
    data = comma == std::string_view::npos ? std::string_view()
                                           : data.substr(comma + 1);
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    MountOption o;
    o.key = opt.substr(0, eq);
    if (eq != std::string_view::npos) {
      o.value = opt.substr(eq + 1);
      o.has_value = true;
    }
    out.push_back(o);
  }
  return out;
}

base::ErrnoOr<uint32_t> ParseUint32(std::string_view v, int base) {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return base::Errno(EINVAL);
  }
  return n;
}

}  // namespace sentry::fs::fsutil
