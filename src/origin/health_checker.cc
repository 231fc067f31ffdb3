#include "origin/health_checker.h"

#include <sys/socket.h>

#include <cerrno>

#include "core/socket_util.h"

namespace rampart::origin {

// One origin's check cycle: wait `interval`, connect, wait for the result or `timeout`.
class HealthChecker::Probe : public core::Timer, public core::EventHandler, public core::Retirable {
 public:
  Probe(core::EventLoop* loop, std::shared_ptr<OriginSet> set, size_t index)
      : loop_(loop), set_(std::move(set)), index_(index) {
    // Spread the first checks so that many origins don't fire in the same tick.
    loop_->timers().schedule(this, loop_->now_ms() + 100 + static_cast<int64_t>(index_ * 37));
  }
  ~Probe() override { finish_fd(); }

  const OriginSet* set() const { return set_.get(); }
  size_t index() const { return index_; }

  void on_timer() override {
    if (fd_.valid()) {  // the connect did not finish within the timeout
      conclude(false);
      return;
    }
    start_connect();
  }

  void on_events(uint32_t events) override {
    if (!fd_.valid()) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && (events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) {
      conclude(true);
    } else if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      conclude(false);
    }
  }

 private:
  void start_connect() {
    const Origin& o = set_->at(index_);
    net::SockAddr addr(o.cfg.ip, o.cfg.ports.first);
    fd_.reset(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) {
      schedule_next();
      return;
    }
    int rc = ::connect(fd_.get(), addr.get(), addr.len());
    if (rc != 0 && errno != EINPROGRESS) {
      conclude(false);
      return;
    }
    loop_->add(fd_.get(), EPOLLOUT | EPOLLET, this);
    loop_->timers().schedule(this,
                             loop_->now_ms() + set_->load_balancing().health_check.timeout.count());
  }

  void conclude(bool ok) {
    finish_fd();
    set_->report_check(index_, ok);
    schedule_next();
  }

  void finish_fd() {
    if (!fd_.valid()) return;
    loop_->remove(fd_.get());
    core::set_linger_zero(fd_.get());  // no TIME_WAIT per check, as HAProxy does
    fd_.reset();
  }

  void schedule_next() {
    loop_->timers().schedule(
        this, loop_->now_ms() + set_->load_balancing().health_check.interval.count());
  }

  core::EventLoop* loop_;
  std::shared_ptr<OriginSet> set_;
  size_t index_;
  core::UniqueFd fd_;
};

HealthChecker::HealthChecker() = default;

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::start() {
  thread_ = std::thread([this] {
    loop_.run();
    probes_.clear();
  });
}

void HealthChecker::stop() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
}

void HealthChecker::set_targets(std::vector<std::shared_ptr<OriginSet>> sets) {
  loop_.post([this, sets = std::move(sets)]() mutable { apply_targets(std::move(sets)); });
}

void HealthChecker::apply_targets(std::vector<std::shared_ptr<OriginSet>> sets) {
  std::vector<std::unique_ptr<Probe>> next;
  for (auto& set : sets) {
    if (!set->load_balancing().health_check.enabled) continue;
    for (size_t i = 0; i < set->size(); ++i) {
      std::unique_ptr<Probe> kept;
      for (auto& p : probes_) {
        if (p && p->set() == set.get() && p->index() == i) {
          kept = std::move(p);
          break;
        }
      }
      next.push_back(kept ? std::move(kept) : std::make_unique<Probe>(&loop_, set, i));
    }
  }
  for (auto& p : probes_) {
    if (!p) continue;
    loop_.timers().cancel(p.get());
    loop_.retire(std::move(p));  // events for it may still be in this batch
  }
  probes_ = std::move(next);
}

}  // namespace rampart::origin
