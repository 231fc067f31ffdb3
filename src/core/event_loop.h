// One epoll event loop with a timer wheel, a cross-thread task queue and deferred destruction.
// Owned by one thread (a worker or a control-plane thread); only post() and stop() may be
// called from other threads.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
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

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  bool add(int fd, uint32_t events, EventHandler* handler);
  bool modify(int fd, uint32_t events, EventHandler* handler);
  void remove(int fd);

  // Runs until stop() is called.
  void run();
  // One iteration: waits at most `max_wait_ms` (-1 = until the next timer tick or event).
  void run_once(int max_wait_ms = -1);
  void stop();
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  // Thread-safe: `fn` runs on the loop's thread, soon.
  void post(std::function<void()> fn);
  // Destroys `r` after the current batch of events.
  void retire(std::unique_ptr<Retirable> r) { retired_.push_back(std::move(r)); }

  TimerWheel& timers() { return timers_; }
  // Cached coarse clock, refreshed once per loop iteration.
  int64_t now_ms() const { return now_ms_; }

 private:
  class Waker;
  void drain_posted();

  UniqueFd epfd_;
  UniqueFd wakefd_;
  std::unique_ptr<Waker> waker_;
  std::atomic<bool> stop_{false};
  int64_t now_ms_;
  TimerWheel timers_;
  std::vector<std::unique_ptr<Retirable>> retired_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace rampart::core
