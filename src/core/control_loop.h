// A control-plane thread: one core::EventLoop run by a thread of its own (the pattern of
// origin::HealthChecker), with post() for fire-and-forget work and call() for work whose
// result the caller waits for (a std::packaged_task: the value, or the exception it threw).
// Owned by whoever serialises a kind of work on it (edge::Edge owns the config applier's).
// Any thread may post() or call(); call() from the loop's own thread runs inline (no
// self-deadlock). Every caller must be done before the owner destroys it: the destructor stops
// the loop and joins the thread, and a call() still queued then never completes.
#pragma once

#include <functional>
#include <future>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/event_loop.h"

namespace rampart::core {

class ControlLoop {
 public:
  // Starts the thread and returns once it owns the loop (so in_loop_thread() is false on
  // every other thread from now on). `name`: the thread's name (15 characters at most).
  explicit ControlLoop(const char* name = "rampart-ctl");
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  void post(std::function<void()> fn) { loop_.post(std::move(fn)); }

  // Runs `fn` on the loop thread and returns what it returns (or rethrows what it threw);
  // the caller blocks until then. On the loop thread itself, `fn` runs at once.
  template <typename F>
  std::invoke_result_t<F&> call(F&& fn) {
    using R = std::invoke_result_t<F&>;
    if (loop_.in_loop_thread()) return fn();
    std::packaged_task<R()> task([&fn]() -> R { return fn(); });
    std::future<R> done = task.get_future();
    loop_.post([&task] { task(); });
    return done.get();
  }

  bool in_loop_thread() const { return loop_.in_loop_thread(); }
  // Aborts (debug builds) when called off the loop thread; `what` names the caller.
  void assert_in_loop_thread(const char* what) const { loop_.assert_in_loop_thread(what); }

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace rampart::core
