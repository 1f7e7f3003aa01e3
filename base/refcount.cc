#include "base/refcount.h"

namespace base::internal {

void LiveTally::Attach(LiveSlot* s) {
  std::lock_guard<std::mutex> l(mu_);
  s->next = head_;
  s->prev = nullptr;
  if (head_ != nullptr) head_->prev = s;
  head_ = s;
}

void LiveTally::Detach(LiveSlot* s) {
  std::lock_guard<std::mutex> l(mu_);
  shared_.fetch_add(s->n.load(std::memory_order_relaxed),
                    std::memory_order_relaxed);
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    head_ = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
}

int64_t LiveTally::Sum() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = shared_.load(std::memory_order_relaxed);
  for (const LiveSlot* s = head_; s != nullptr; s = s->next) {
    n += s->n.load(std::memory_order_relaxed);
  }
  return n;
}

}  // namespace base::internal
