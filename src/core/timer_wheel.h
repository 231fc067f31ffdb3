// A hashed timing wheel of intrusive timers with a 10 ms tick: O(1) arm, re-arm and cancel.
// Owned by one EventLoop; only that loop's thread may touch it or its timers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rampart::core {

class TimerWheel;

// Embed in an object that needs a deadline; on_timer() runs on the loop thread when it passes.
class Timer {
 public:
  Timer() = default;
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  virtual void on_timer() = 0;
  bool armed() const { return wheel_ != nullptr; }
  int64_t expiry_ms() const { return expiry_ms_; }

 protected:
  ~Timer();

 private:
  friend class TimerWheel;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  int64_t expiry_ms_ = 0;
  size_t slot_ = 0;
};

class TimerWheel {
 public:
  static constexpr int64_t kTickMs = 10;
  static constexpr size_t kSlots = 1024;

  explicit TimerWheel(int64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // Arms (or re-arms) `t` to fire at or shortly after `expiry_ms` (same clock as advance()).
  void schedule(Timer* t, int64_t expiry_ms);
  void cancel(Timer* t);
  // Fires every timer whose expiry is <= now_ms.
  void advance(int64_t now_ms);
  size_t size() const { return count_; }

 private:
  void link(Timer* t, size_t slot);
  void unlink(Timer* t);

  static constexpr size_t kFiring = kSlots;  // the extra slot: due timers about to fire
  std::vector<Timer*> slots_;
  int64_t last_tick_;
  size_t count_ = 0;
};

}  // namespace rampart::core
