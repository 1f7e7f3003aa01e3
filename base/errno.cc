#include "base/errno.h"

#include <cstring>

namespace base {

std::string_view ErrnoName(int e) {
  switch (e) {
#define BASE_ERRNO_CASE(x) \
  case x:                  \
    return #x;
    BASE_ERRNO_CASE(EPERM)
    BASE_ERRNO_CASE(ENOENT)
    BASE_ERRNO_CASE(ESRCH)
    BASE_ERRNO_CASE(EINTR)
    BASE_ERRNO_CASE(EIO)
    BASE_ERRNO_CASE(ENXIO) BASE_ERRNO_CASE(E2BIG) BASE_ERRNO_CASE(
        ENOEXEC) BASE_ERRNO_CASE(EBADF) BASE_ERRNO_CASE(ECHILD) BASE_ERRNO_CASE(EAGAIN)
        BASE_ERRNO_CASE(ENOMEM) BASE_ERRNO_CASE(EACCES) BASE_ERRNO_CASE(
            EFAULT) BASE_ERRNO_CASE(ENOTBLK) BASE_ERRNO_CASE(EBUSY)
            BASE_ERRNO_CASE(EEXIST) BASE_ERRNO_CASE(EXDEV) BASE_ERRNO_CASE(
                ENODEV) BASE_ERRNO_CASE(ENOTDIR) BASE_ERRNO_CASE(EISDIR)
                BASE_ERRNO_CASE(EINVAL) BASE_ERRNO_CASE(ENFILE) BASE_ERRNO_CASE(
                    EMFILE) BASE_ERRNO_CASE(ENOTTY) BASE_ERRNO_CASE(ETXTBSY)
                    BASE_ERRNO_CASE(EFBIG) BASE_ERRNO_CASE(ENOSPC) BASE_ERRNO_CASE(
                        ESPIPE) BASE_ERRNO_CASE(EROFS) BASE_ERRNO_CASE(EMLINK)
                        BASE_ERRNO_CASE(EPIPE) BASE_ERRNO_CASE(
                            EDOM) BASE_ERRNO_CASE(ERANGE) BASE_ERRNO_CASE(EDEADLK)
                            BASE_ERRNO_CASE(ENAMETOOLONG) BASE_ERRNO_CASE(
                                ENOLCK) BASE_ERRNO_CASE(ENOSYS)
                                BASE_ERRNO_CASE(ENOTEMPTY) BASE_ERRNO_CASE(
                                    ELOOP) BASE_ERRNO_CASE(ENOMSG)
                                    BASE_ERRNO_CASE(ENODATA) BASE_ERRNO_CASE(
                                        ENOSTR) BASE_ERRNO_CASE(EPROTO)
                                        BASE_ERRNO_CASE(EBADMSG) BASE_ERRNO_CASE(
                                            EOVERFLOW) BASE_ERRNO_CASE(ENOTSOCK)
                                            BASE_ERRNO_CASE(EMSGSIZE) BASE_ERRNO_CASE(
                                                EOPNOTSUPP) BASE_ERRNO_CASE(EADDRINUSE)
                                                BASE_ERRNO_CASE(ECONNRESET) BASE_ERRNO_CASE(
                                                    ECONNREFUSED)
                                                    BASE_ERRNO_CASE(ENOTCONN)
                                                        BASE_ERRNO_CASE(
                                                            ETIMEDOUT)
                                                            BASE_ERRNO_CASE(
                                                                ESTALE)
                                                                BASE_ERRNO_CASE(
                                                                    EDQUOT)
                                                                    BASE_ERRNO_CASE(
                                                                        ECANCELED)
#undef BASE_ERRNO_CASE
                                                                        case 0
        : return "OK";
    default:
      return "E?";
  }
}

std::string Errno::ToString() const {
  std::string s(name());
  s += " (";
  s += std::strerror(value_);
  s += ")";
  return s;
}

}  // namespace base
