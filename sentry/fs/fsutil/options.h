// Mount option strings, as filesystems parse the data of mount(2).
#ifndef SENTRY_FS_FSUTIL_OPTIONS_H_
#define SENTRY_FS_FSUTIL_OPTIONS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/errno.h"

namespace sentry::fs::fsutil {

struct MountOption {
  std::string_view key;
  std::string_view value;  // empty when there is no '='
  bool has_value = false;
};

// Splits "a=1,b,,c=2" at commas into key/value pairs (views into data);
// empty items are skipped, as Linux's option parsers do.
std::vector<MountOption> SplitMountOptions(std::string_view data);

// The whole of v as an unsigned number in base (8 for modes, 10 for ids);
// EINVAL for an empty, partial or out-of-range value.
base::ErrnoOr<uint32_t> ParseUint32(std::string_view v, int base);

}  // namespace sentry::fs::fsutil

#endif  // SENTRY_FS_FSUTIL_OPTIONS_H_
