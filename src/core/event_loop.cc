#include "core/event_loop.h"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/clock.h"

namespace rampart::core {

int64_t CoarseClock::now_ms() {
  return coarse_ms();
}

CoarseClock& CoarseClock::instance() {
  static CoarseClock c;
  return c;
}

class EventLoop::Waker final : public EventHandler {
 public:
  explicit Waker(EventLoop* loop) : loop_(loop) {}
  void on_events(uint32_t) override {
    uint64_t v;
    while (::read(loop_->wakefd_.get(), &v, sizeof v) > 0) {
    }
    loop_->drain_posted();
  }

 private:
  EventLoop* loop_;
};

EventLoop::EventLoop(Clock* clock)
    : epfd_(epoll_create1(EPOLL_CLOEXEC)),
      wakefd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      waker_(std::make_unique<Waker>(this)),
      clock_(clock != nullptr ? clock : &CoarseClock::instance()),
      now_ms_(clock_->now_ms()),
      timers_(now_ms_) {
  add(wakefd_.get(), EPOLLIN, waker_.get());
}

EventLoop::~EventLoop() {
  retired_.clear();
}

bool EventLoop::add(int fd, uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, EventHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::bind_if_unowned() {
  std::thread::id none;
  owner_.compare_exchange_strong(none, std::this_thread::get_id(), std::memory_order_relaxed);
}

void EventLoop::abort_not_in_loop(const char* what) const {
  std::ostringstream os;
  os << "EventLoop " << static_cast<const void*>(this) << " owned by thread "
     << owner_.load(std::memory_order_relaxed) << " used from thread " << std::this_thread::get_id()
     << (*what != 0 ? ": " : "") << what;
  std::fprintf(stderr, "FATAL: %s\n", os.str().c_str());
  std::abort();
}

void EventLoop::run() {
  bind_if_unowned();
  assert_in_loop_thread("run");
  while (!stopping()) run_once();
  drain_posted();
}

void EventLoop::run_once(int max_wait_ms) {
  bind_if_unowned();
  assert_in_loop_thread("run_once");
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  int timeout = timers_.size() > 0 ? static_cast<int>(TimerWheel::kTickMs) : 1000;
  if (max_wait_ms >= 0 && max_wait_ms < timeout) timeout = max_wait_ms;
  int n = epoll_wait(epfd_.get(), events, kMaxEvents, timeout);
  now_ms_ = clock_->now_ms();
  for (int i = 0; i < n; ++i) {
    static_cast<EventHandler*>(events[i].data.ptr)->on_events(events[i].events);
  }
  timers_.advance(now_ms_);
  retired_.clear();
}

void EventLoop::stop() {
  stop_.store(true);
  uint64_t one = 1;
  ssize_t rc = ::write(wakefd_.get(), &one, sizeof one);
  (void)rc;
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t rc = ::write(wakefd_.get(), &one, sizeof one);
  (void)rc;
}

void EventLoop::drain_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

}  // namespace rampart::core
