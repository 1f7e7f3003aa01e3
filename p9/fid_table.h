// p9::FidTable<T>: a per-connection fid -> state map for Handler authors.
//
// A 9P server must track what each fid names; this helper holds
// std::shared_ptr<T> per fid so a request can keep using its state while a
// concurrent Tclunk removes the fid. Unknown fids are EBADF, as are attempts
// to bind a fid that is already in use (a Twalk/Tattach newfid clash).
//
// Thread-safety: thread-safe.
#ifndef P9_FID_TABLE_H_
#define P9_FID_TABLE_H_

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "p9/messages.h"

namespace p9 {

template <typename T>
class FidTable {
 public:
  // EBADF if fid is kNoFid or already bound.
  base::Errno Insert(Fid fid, std::shared_ptr<T> state) {
    if (fid == kNoFid) return base::Errno(EBADF);
    base::MutexLock l(&mu_);
    if (!fids_.emplace(fid, std::move(state)).second) {
      return base::Errno(EBADF);
    }
    return base::Errno::Ok();
  }

  // Binds fid, replacing what it named (Twalk with fid == newfid).
  void Replace(Fid fid, std::shared_ptr<T> state) {
    base::MutexLock l(&mu_);
    fids_[fid] = std::move(state);
  }

  base::ErrnoOr<std::shared_ptr<T>> Get(Fid fid) const {
    base::MutexLock l(&mu_);
    auto it = fids_.find(fid);
    if (it == fids_.end()) return base::Errno(EBADF);
    return it->second;
  }

  // Unbinds fid and returns what it named.
  base::ErrnoOr<std::shared_ptr<T>> Remove(Fid fid) {
    base::MutexLock l(&mu_);
    auto it = fids_.find(fid);
    if (it == fids_.end()) return base::Errno(EBADF);
    std::shared_ptr<T> s = std::move(it->second);
    fids_.erase(it);
    return s;
  }

  void Clear() {
    base::MutexLock l(&mu_);
    fids_.clear();
  }

  size_t size() const {
    base::MutexLock l(&mu_);
    return fids_.size();
  }

 private:
  mutable base::Mutex mu_;
  absl::flat_hash_map<Fid, std::shared_ptr<T>> fids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p9

#endif  // P9_FID_TABLE_H_
