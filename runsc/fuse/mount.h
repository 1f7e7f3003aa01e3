// `runsc mount`: compose a sandbox's filesystem as `runsc do` does and
// serve it at a host mount point through FUSE (runsc/fuse/server.h).
#ifndef RUNSC_FUSE_MOUNT_H_
#define RUNSC_FUSE_MOUNT_H_

namespace runsc::fuse {

int MountMain(int argc, char** argv);
const char* MountUsage();

}  // namespace runsc::fuse

#endif  // RUNSC_FUSE_MOUNT_H_
