// `runsc gofer`: serves one host directory over 9P2000.L (see README.md).
//
//   runsc gofer --root=DIR (--io-fds=N[,N...] | --listen=ADDR) [--ro]
//
// ADDR is unix:PATH or tcp:127.0.0.1:PORT (loopback only; port 0 picks one
// and prints "tcp:127.0.0.1:<port>" on stdout). Usage errors print one line
// on stderr and return 2; failures to set up return 1; a clean stop (all
// io-fd peers gone, or SIGTERM/SIGINT) returns 0.
#ifndef RUNSC_FSGOFER_GOFER_MAIN_H_
#define RUNSC_FSGOFER_GOFER_MAIN_H_

namespace fsgofer {

// argv[0] is "gofer"; the flags follow.
int GoferMain(int argc, char** argv);

// The one-paragraph usage, for `runsc help gofer`.
const char* GoferUsage();

}  // namespace fsgofer

#endif  // RUNSC_FSGOFER_GOFER_MAIN_H_
