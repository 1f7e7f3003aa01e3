// `runsc do` and `runsc spec`: compose a sandbox's filesystem and work in
// it.
//
// `runsc do` builds (or reads) an OCI spec, starts one `runsc gofer` child
// per rootfs and bind mount on socketpairs (as runsc does), boots the mount
// namespace with runsc/boot, and runs a script (runsc/shell) as the spec's
// process user inside it. The gofers are stopped on exit, on error and on
// SIGINT/SIGTERM. `runsc spec` prints a default config.json.
#ifndef RUNSC_SANDBOX_SANDBOX_H_
#define RUNSC_SANDBOX_SANDBOX_H_

namespace runsc::sandbox {

int DoMain(int argc, char** argv);
const char* DoUsage();
int SpecMain(int argc, char** argv);
const char* SpecUsage();

}  // namespace runsc::sandbox

#endif  // RUNSC_SANDBOX_SANDBOX_H_
