// A token bucket in integer milli-tokens: `rate` tokens per second, at most `burst` stored.
// A plain value owned by one source-table entry; worker thread only.
#pragma once

#include <cstdint>

namespace rampart::guard {

class TokenBucket {
 public:
  // Takes one token at time `now_ms`; false when the bucket is empty. burst 0 means burst = rate.
  // A new bucket is full.
  bool take(uint32_t rate, uint32_t burst, int64_t now_ms) {
    const int64_t cap = int64_t{burst > 0 ? burst : rate} * 1000;
    if (!started_) {
      started_ = true;
      milli_ = cap;
      last_ms_ = now_ms;
    } else if (now_ms > last_ms_) {
      // rate tokens/s = rate milli-tokens/ms
      const int64_t add = (now_ms - last_ms_) * int64_t{rate};
      milli_ = milli_ + add > cap ? cap : milli_ + add;
      last_ms_ = now_ms;
    }
    if (milli_ < 1000) return false;
    milli_ -= 1000;
    return true;
  }
  // Full again at `now_ms` (nothing to remember): the entry holding it may be dropped.
  bool full(uint32_t rate, uint32_t burst, int64_t now_ms) const {
    if (!started_) return true;
    const int64_t cap = int64_t{burst > 0 ? burst : rate} * 1000;
    return milli_ + (now_ms - last_ms_) * int64_t{rate} >= cap;
  }

 private:
  int64_t milli_ = 0;
  int64_t last_ms_ = 0;
  bool started_ = false;
};

}  // namespace rampart::guard
