#include "sentry/fs/filesystem.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/mutex.h"

namespace sentry::fs {
namespace {

struct Registry {
  base::Mutex mu;
  std::map<std::string, std::unique_ptr<Filesystem>, std::less<>> by_name
      ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void RegisterFilesystem(std::unique_ptr<Filesystem> fs) {
  Registry& r = GetRegistry();
  base::MutexLock l(&r.mu);
  std::string name(fs->Name());
  if (!r.by_name.emplace(name, std::move(fs)).second) {
    std::fprintf(stderr, "filesystem %s registered twice\n", name.c_str());
    std::abort();
  }
}

ErrnoOr<const Filesystem*> FindFilesystem(std::string_view name) {
  Registry& r = GetRegistry();
  base::MutexLock l(&r.mu);
  auto it = r.by_name.find(name);
  if (it == r.by_name.end()) return Errno(ENODEV);
  return static_cast<const Filesystem*>(it->second.get());
}

std::vector<const Filesystem*> GetFilesystems() {
  Registry& r = GetRegistry();
  base::MutexLock l(&r.mu);
  std::vector<const Filesystem*> out;
  for (const auto& [name, fs] : r.by_name) out.push_back(fs.get());
  return out;  // std::map keeps them sorted by name
}

}  // namespace sentry::fs
