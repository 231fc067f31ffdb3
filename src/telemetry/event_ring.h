// A bounded single-producer single-consumer ring of ConnEvents: the producer is one worker
// thread, the consumer the EventLog thread. Lock-free; a full ring drops (and counts) the event
// rather than block the data path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "telemetry/conn_event.h"

namespace rampart::telemetry {

class EventRing {
 public:
  explicit EventRing(size_t capacity_pow2 = 16384)
      : mask_(capacity_pow2 - 1), slots_(std::make_unique<ConnEvent[]>(capacity_pow2)) {}

  // Producer thread only.
  bool push(const ConnEvent& e) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    }
    slots_[head & mask_] = e;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only: calls fn(const ConnEvent&) for every queued event.
  template <typename Fn>
  size_t drain(Fn&& fn) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i) fn(slots_[i & mask_]);
    tail_.store(head, std::memory_order_release);
    return static_cast<size_t>(head - tail);
  }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Events pushed since the ring was made; any thread.
  uint64_t pushed() const { return head_.load(std::memory_order_acquire); }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t tail_cache_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<uint64_t> dropped_{0};
  const uint64_t mask_;
  std::unique_ptr<ConnEvent[]> slots_;
};

}  // namespace rampart::telemetry
