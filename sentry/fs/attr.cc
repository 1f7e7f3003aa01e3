#include "sentry/fs/attr.h"

namespace sentry::fs {

uint32_t FileTypeBits(InodeType t) {
  switch (t) {
    case InodeType::kRegular:
      return S_IFREG;
    case InodeType::kDirectory:
      return S_IFDIR;
    case InodeType::kSymlink:
      return S_IFLNK;
    case InodeType::kCharDevice:
      return S_IFCHR;
    case InodeType::kBlockDevice:
      return S_IFBLK;
    case InodeType::kFifo:
      return S_IFIFO;
    case InodeType::kSocket:
      return S_IFSOCK;
  }
  return 0;
}

std::optional<InodeType> TypeFromMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return InodeType::kRegular;
    case S_IFDIR:
      return InodeType::kDirectory;
    case S_IFLNK:
      return InodeType::kSymlink;
    case S_IFCHR:
      return InodeType::kCharDevice;
    case S_IFBLK:
      return InodeType::kBlockDevice;
    case S_IFIFO:
      return InodeType::kFifo;
    case S_IFSOCK:
      return InodeType::kSocket;
  }
  return std::nullopt;
}

}  // namespace sentry::fs
