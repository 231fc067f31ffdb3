// One epoll event loop with a timer wheel, a cross-thread task queue and deferred destruction.
// Owned by one thread (a worker or a control-plane thread), the first to call run() or
// run_once() (or bind_to_current_thread()); only post(), stop() and in_loop_thread() may be
// called from other threads. assert_in_loop_thread() checks that rule in debug builds (muduo's
// assertInLoopThread). The loop's time comes from a Clock: the coarse monotonic clock, or a
// ManualClock that a unit test advances by hand to fire timers without sleeping.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/timer_wheel.h"
#include "core/unique_fd.h"

namespace rampart::core {

// Receives the epoll events of the fds it registered.
class EventHandler {
 public:
  virtual void on_events(uint32_t events) = 0;

 protected:
  ~EventHandler() = default;
};

// Something whose destruction must wait until the current batch of events is dispatched,
// because later events of the same batch may still point at it.
class Retirable {
 public:
  virtual ~Retirable() = default;
};

// Where a loop reads the time. Must outlive the loop.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() = 0;
};

// The data path's clock: CLOCK_MONOTONIC_COARSE (vDSO, no syscall).
class CoarseClock final : public Clock {
 public:
  int64_t now_ms() override;
  static CoarseClock& instance();
};

// A clock that moves only when told to: for unit tests of timeouts (Envoy's MockTimer idea).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'000'000) : now_ms_(start_ms) {}
  int64_t now_ms() override { return now_ms_; }
  void advance(int64_t ms) { now_ms_ += ms; }
  void set(int64_t ms) { now_ms_ = ms; }

 private:
  int64_t now_ms_;
};

class EventLoop {
 public:
  // `clock` null = CoarseClock. Not owned.
  explicit EventLoop(Clock* clock = nullptr);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  bool add(int fd, uint32_t events, EventHandler* handler);
  bool modify(int fd, uint32_t events, EventHandler* handler);
  void remove(int fd);

  // Runs until stop() is called.
  void run();
  // One iteration: waits at most `max_wait_ms` (-1 = until the next timer tick or event), then
  // reads the clock, dispatches the events, fires the timers that are due and destroys what was
  // retired. With a ManualClock and max_wait_ms = 0 a test drives the loop step by step.
  void run_once(int max_wait_ms = -1);
  void stop();
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  // Thread-safe: `fn` runs on the loop's thread, soon.
  void post(std::function<void()> fn);
  // Destroys `r` after the current batch of events.
  void retire(std::unique_ptr<Retirable> r) { retired_.push_back(std::move(r)); }

  // The calling thread becomes the loop's owner (run() and run_once() do this on first call).
  void bind_to_current_thread() {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  // True on the owner thread, and before any thread owns the loop (set-up before start).
  bool in_loop_thread() const {
    const std::thread::id o = owner_.load(std::memory_order_relaxed);
    return o == std::thread::id() || o == std::this_thread::get_id();
  }
  // Aborts with a message when called off the owner thread (debug builds; nothing in release).
  void assert_in_loop_thread(const char* what = "") const {
#ifndef NDEBUG
    if (!in_loop_thread()) abort_not_in_loop(what);
#else
    (void)what;
#endif
  }

  TimerWheel& timers() {
    return timers_;
  }
  // Cached coarse clock, refreshed once per loop iteration.
  int64_t now_ms() const {
    return now_ms_;
  }

 private:
  class Waker;
  void drain_posted();
  void bind_if_unowned();
  [[noreturn]] void abort_not_in_loop(const char* what) const;

  UniqueFd epfd_;
  UniqueFd wakefd_;
  std::unique_ptr<Waker> waker_;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> owner_{};
  Clock* clock_;
  int64_t now_ms_;
  TimerWheel timers_;
  std::vector<std::unique_ptr<Retirable>> retired_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace rampart::core
