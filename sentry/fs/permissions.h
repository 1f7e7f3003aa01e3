// DAC permission checks, as Linux's generic_permission and friends.
#ifndef SENTRY_FS_PERMISSIONS_H_
#define SENTRY_FS_PERMISSIONS_H_

#include "base/errno.h"
#include "sentry/fs/attr.h"
#include "sentry/kernel/auth/credentials.h"

namespace sentry::fs {

// may: MAY_READ | MAY_WRITE | MAY_EXEC. EACCES if creds may not. Owner
// class, then group class (fsgid or a supplementary group), then other;
// CAP_DAC_OVERRIDE allows all but exec of a file with no x bit;
// CAP_DAC_READ_SEARCH allows reading anything and searching directories.
// Analogous to fs/namei.c:generic_permission.
base::Errno GenericPermission(const kernel::auth::Credentials& creds,
                              InodeType type, const AccessAttr& attr, int may);
inline base::Errno GenericPermission(const kernel::auth::Credentials& creds,
                                     InodeType type, const UnstableAttr& attr,
                                     int may) {
  return GenericPermission(creds, type,
                           AccessAttr{attr.perms, attr.uid, attr.gid}, may);
}

// Whether creds own the file or have CAP_FOWNER (inode_owner_or_capable).
bool OwnerOrCapable(const kernel::auth::Credentials& creds,
                    const UnstableAttr& attr);

// Sticky-directory rule for unlink/rename of `victim` in `dir`
// (fs/namei.c:check_sticky): EPERM unless the caller owns the file or the
// directory or has CAP_FOWNER.
base::Errno CheckSticky(const kernel::auth::Credentials& creds,
                        const UnstableAttr& dir, const UnstableAttr& victim);

// Owner, group and mode bits for a new inode in dir (inode_init_owner):
// the caller's fsuid, and fsgid unless dir is setgid, in which case the
// dir's gid and, for a directory, the setgid bit too. A non-directory
// keeps S_ISGID only if the caller is in its group or has CAP_FSETID.
CreateSpec OwnerForNew(const kernel::auth::Credentials& creds,
                       const UnstableAttr& dir, uint32_t mode);

// The AttrChange that a write or truncate by creds must also apply
// (file_remove_privs): clear S_ISUID, and S_ISGID when group-exec is set,
// unless the caller has CAP_FSETID. Empty if nothing changes.
std::optional<uint32_t> PermsAfterWrite(const kernel::auth::Credentials& creds,
                                        const UnstableAttr& attr,
                                        InodeType type);
// The same from the permission bits alone (what a write reads, through
// Inode::GetAccessAttr, without copying every attribute).
std::optional<uint32_t> PermsAfterWrite(const kernel::auth::Credentials& creds,
                                        uint32_t perms, InodeType type);

}  // namespace sentry::fs

#endif  // SENTRY_FS_PERMISSIONS_H_
