// CountingTransport: a p9::Transport that counts the messages it sends, by
// type, so tests and benchmarks can assert (or report) how many round trips
// an operation costs.
//
// Each Send of a T-message adds one to counts[type]; a client sends one
// T-message per round trip, so the counts are round trips. Thread-safe as
// the wrapped transport is; the counters are atomics shared with the caller.
#ifndef SENTRY_FS_TESTUTIL_COUNTING_TRANSPORT_H_
#define SENTRY_FS_TESTUTIL_COUNTING_TRANSPORT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "p9/messages.h"
#include "p9/transport.h"

namespace sentry::fs::testutil {

// Messages sent, indexed by 9P message type. Not owned by the transport.
class MessageCounts {
 public:
  MessageCounts() { Reset(); }
  void Reset() {
    for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
  }
  void Add(uint8_t type) {
    counts_[type].fetch_add(1, std::memory_order_relaxed);
  }
  int Count(p9::MsgType t) const {
    return counts_[static_cast<uint8_t>(t)].load(std::memory_order_relaxed);
  }
  // Every message but Tclunk: clunks are fire-and-forget cleanup (the
  // gofer client batches them in the background), not part of the
  // operation's latency.
  int RoundTrips() const {
    int n = 0;
    for (const auto& c : counts_) n += c.load(std::memory_order_relaxed);
    return n - Count(p9::MsgType::kTclunk);
  }

 private:
  std::array<std::atomic<int>, 256> counts_;
};

class CountingTransport final : public p9::Transport {
 public:
  CountingTransport(std::unique_ptr<p9::Transport> t, MessageCounts* counts)
      : t_(std::move(t)), counts_(counts) {}
  base::Errno Send(std::span<const uint8_t> head, std::span<const uint8_t> tail,
                   int fd) override {
    // size[4] type[1] tag[2] ...
    if (head.size() > 4) counts_->Add(head[4]);
    return t_->Send(head, tail, fd);
  }
  base::Errno Recv(uint32_t max, std::vector<uint8_t>* msg,
                   p9::FileDescriptor* fd) override {
    return t_->Recv(max, msg, fd);
  }
  void Shutdown() override { t_->Shutdown(); }
  bool CanPassFds() const override { return t_->CanPassFds(); }

 private:
  std::unique_ptr<p9::Transport> t_;
  MessageCounts* counts_;
};

}  // namespace sentry::fs::testutil

#endif  // SENTRY_FS_TESTUTIL_COUNTING_TRANSPORT_H_
