// A counter with one writer thread (a worker) and readers anywhere: a relaxed load + store, so
// the writer pays what a plain increment costs and readers never see a torn value.
#pragma once

#include <atomic>
#include <cstdint>

namespace rampart::telemetry {

class Counter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void inc() { add(1); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  Counter& operator++() {
    inc();
    return *this;
  }
  uint64_t operator++(int) {  // the value before, like a plain integer's
    const uint64_t before = get();
    inc();
    return before;
  }
  Counter& operator+=(uint64_t n) {
    add(n);
    return *this;
  }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace rampart::telemetry
