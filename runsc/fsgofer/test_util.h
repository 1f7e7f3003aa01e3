// Test helpers: a temporary host directory, host file helpers, and a gofer
// Handler served over a socketpair to a real p9::Client.
#ifndef RUNSC_FSGOFER_TEST_UTIL_H_
#define RUNSC_FSGOFER_TEST_UTIL_H_

#include <sys/types.h>

#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "p9/client.h"
#include "p9/server.h"
#include "runsc/fsgofer/fsgofer.h"

namespace fsgofer::testing {

// Linux open(2) flags as 9P2000.L carries them.
inline constexpr uint32_t kORdonly = 0;
inline constexpr uint32_t kOWronly = 01;
inline constexpr uint32_t kORdwr = 02;
inline constexpr uint32_t kOTrunc = 01000;

// A directory under $TEST_TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void WriteHostFile(const std::string& path, const std::string& content);
std::string ReadHostFile(const std::string& path);
bool HostExists(const std::string& path);

// A field of /proc/PID/status ("NoNewPrivs", "Seccomp", ...), its value
// without the leading whitespace; "" if absent.
std::string ProcStatusField(pid_t pid, const std::string& field);

std::span<const uint8_t> AsBytes(const std::string& s);

// Serves `dir` with a fresh Handler on one end of a socketpair and connects
// a client to the other.
class Served {
 public:
  Served(const std::string& dir, Config config = {}, bool pass_fds = false,
         p9::Client::Options copts = {});
  ~Served();

  p9::Client& client() { return *client_; }
  Handler& handler() { return *handler_; }
  // The attach fid (attached with aname "").
  p9::Fid root() const { return root_; }

  // Walks names from the root; EXPECTs nothing.
  base::ErrnoOr<p9::Fid> WalkTo(const std::vector<std::string>& names);
  // Reads a whole file by path components; "" on any error, with *err set.
  std::string ReadAll(const std::vector<std::string>& names,
                      base::Errno* err = nullptr);

 private:
  std::shared_ptr<Export> exp_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<p9::Server> server_;
  std::thread thread_;
  std::unique_ptr<p9::Client> client_;
  p9::Fid root_ = p9::kNoFid;
};

}  // namespace fsgofer::testing

#endif  // RUNSC_FSGOFER_TEST_UTIL_H_
