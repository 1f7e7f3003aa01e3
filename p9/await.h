// p9::Await / p9::AwaitWithTimeout: base::Mutex::Await with a condition
// that ThreadSanitizer can follow.
//
// absl::Mutex evaluates a Condition inside Await (and inside other threads'
// Unlock) where base::Mutex's TSan annotations cannot see it, so under TSan
// every guarded field a condition reads shows up as a false race. These
// helpers bracket each evaluation with acquire/release on the mutex, the
// same edges base::Mutex announces for Lock/Unlock. Outside TSan they are
// exactly mu->Await(absl::Condition(&pred)).
//
// Thread-safety: call with `mu` held, as for base::Mutex::Await.
#ifndef P9_AWAIT_H_
#define P9_AWAIT_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace p9 {
namespace internal {

template <typename Pred>
class AnnotatedPred {
 public:
  AnnotatedPred(base::Mutex* mu, Pred* pred) : mu_(mu), pred_(pred) {}
  // Runs with mu held (by this or the unlocking thread).
  bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
#ifdef BASE_TSAN
    __tsan_acquire(mu_);
#endif
    bool r = (*pred_)();
#ifdef BASE_TSAN
    __tsan_release(mu_);
#endif
    return r;
  }

 private:
  base::Mutex* mu_;
  Pred* pred_;
};

}  // namespace internal

template <typename Pred>
void Await(base::Mutex* mu, Pred pred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  internal::AnnotatedPred<Pred> p(mu, &pred);
  mu->Await(absl::Condition(&p));
}

// Returns pred's final value.
template <typename Pred>
bool AwaitWithTimeout(base::Mutex* mu, Pred pred, absl::Duration timeout)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  internal::AnnotatedPred<Pred> p(mu, &pred);
  return mu->AwaitWithTimeout(absl::Condition(&p), timeout);
}

}  // namespace p9

#endif  // P9_AWAIT_H_
