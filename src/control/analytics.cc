#include "control/analytics.h"

#include <chrono>

namespace rampart::control {

Analytics::Analytics(edge::Edge* edge, telemetry::Rollup* rollup,
                     std::unique_ptr<RollupStore> store, int64_t retention_s)
    : live_(edge),
      query_(edge, &live_, &fleet_, rollup, std::move(store), retention_s),
      protection_(edge),
      exporter_(edge) {}

Analytics::~Analytics() {
  stop();
}

void Analytics::start() {
  thread_ = std::thread([this] { run(); });
}

void Analytics::stop() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Analytics::run() {
  std::unique_lock lock(run_mu_);
  while (!stop_) {
    // On the second boundary, so that samples line up with wall-clock seconds.
    const int64_t now = wall_ms();
    cv_.wait_for(lock, std::chrono::milliseconds(1000 - now % 1000), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    tick();
    lock.lock();
  }
  lock.unlock();
  query_.flush_rollups();  // what the event log handed over before shutdown
  query_.flush_drops(wall_ms() / 60000);
}

void Analytics::tick() {
  const int64_t now = wall_ms();
  live_.sample(now);
  query_.flush(now);
}

}  // namespace rampart::control
