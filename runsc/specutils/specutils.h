// specutils: reading an OCI runtime spec, and the helpers runsc/boot uses.
//
// ReadSpec parses config.json into the Spec message (spec.proto) with
// protobuf's JSON parser, ignoring fields runsc does not use, and checks
// what the boot code relies on. Errors say what is wrong and where (the
// field path, and the line and column for JSON syntax errors).
#ifndef RUNSC_SPECUTILS_SPECUTILS_H_
#define RUNSC_SPECUTILS_SPECUTILS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runsc/specutils/spec.pb.h"

namespace runsc::specutils {

// Parses and validates a spec from JSON text. `source` names it in errors.
absl::StatusOr<Spec> ParseSpec(std::string_view json,
                               std::string_view source = "config.json");
// Reads DIR/config.json (a bundle).
absl::StatusOr<Spec> ReadSpecFromBundle(const std::string& bundle_dir);

// Whether a mount in the spec may be honoured under /dev: the sandbox
// provides /dev itself (null, zero, full, random, urandom, ptmx, pts, shm,
// fd, stdin/out/err), so a mount of /dev or over one of those is ignored
// (with a warning, as runsc does); other /dev paths are allowed.
bool IsSupportedDevMount(const Mount& m);

// The directories of PATH in an environment ("PATH=/usr/bin:/bin"), in
// order; empty if the environment has no PATH.
std::vector<std::string> GetPath(const std::vector<std::string>& env);

// A path cleaned as Go's filepath.Clean: no repeated or trailing slashes,
// no "." components, ".." resolved lexically ("/.." is "/").
std::string CleanPath(std::string_view path);

// The default spec `runsc spec` writes: a shell in a read-only rootfs, the
// standard mounts, as `runc spec` does.
Spec DefaultSpec(const std::string& rootfs);

// The RLIMIT_* number of a process.rlimits type ("RLIMIT_NOFILE": 7), or
// -1 if it names none.
int RlimitResource(std::string_view type);
// JSON text of a spec, indented, with field names as the OCI spec names
// them.
std::string SpecToJson(const Spec& spec);

}  // namespace runsc::specutils

#endif  // RUNSC_SPECUTILS_SPECUTILS_H_
