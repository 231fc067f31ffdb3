#include "server/service_notifier.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"

namespace rampart::server {

namespace {

constexpr auto kStatusPeriod = std::chrono::seconds(2);

}  // namespace

ServiceNotifier::ServiceNotifier(core::SdNotify notify, const edge::Edge* edge)
    : notify_(std::move(notify)), edge_(edge) {}

ServiceNotifier::~ServiceNotifier() {
  stop_thread();
}

std::string ServiceNotifier::status_text(size_t apps, size_t connections) {
  return std::to_string(apps) + (apps == 1 ? " app, " : " apps, ") + std::to_string(connections) +
         (connections == 1 ? " connection" : " connections");
}

std::string ServiceNotifier::current_status() const {
  const auto snap = edge_->snapshot();
  std::string s = status_text(snap ? snap->apps.size() : 0, edge_->sessions());
  if (!edge_->listeners_up()) s += "; some listeners are not open (see the log)";
  std::lock_guard lock(mu_);
  if (!outcome_.empty()) s += "; " + outcome_;
  return s;
}

void ServiceNotifier::send(const std::string& message) {
  std::string error;
  if (!notify_.send(message, &error) && !send_failed_.exchange(true))
    RLOG_WARN("systemd notification failed (logged once): ", error);
}

void ServiceNotifier::ready(int wait_ms) {
  if (!enabled()) return;
  // The workers open their listeners on their own loops once they run the snapshot: READY=1
  // only when every one of them listens (the API listened before open() returned).
  if (!edge_->wait_applied(std::chrono::milliseconds(wait_ms), /*listening=*/true))
    RLOG_WARN("systemd: not every listener is open after ", wait_ms, " ms; READY=1 anyway");
  std::string status = current_status();
  send("READY=1\n" + core::SdNotify::status_message(status));
  {
    std::lock_guard lock(mu_);
    last_status_ = std::move(status);
    stop_ = false;
  }
  if (notify_.watchdog_usec() > 0)
    RLOG_INFO("systemd watchdog: WATCHDOG=1 every ", notify_.watchdog_usec() / 2000,
              " ms while every worker answers");
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void ServiceNotifier::reloading() {
  if (!enabled()) return;
  send(core::SdNotify::reloading_message() + "\n" +
       core::SdNotify::status_message("reloading the configuration"));
}

void ServiceNotifier::reloaded(const std::string& outcome, int wait_ms) {
  if (!enabled()) return;
  {
    std::lock_guard lock(mu_);
    outcome_ = outcome;
  }
  if (!edge_->wait_applied(std::chrono::milliseconds(wait_ms), /*listening=*/false))
    RLOG_WARN("systemd: the workers do not all run the reloaded config after ", wait_ms,
              " ms; READY=1 anyway");
  std::string status = current_status();
  send("READY=1\n" + core::SdNotify::status_message(status));
  std::lock_guard lock(mu_);
  last_status_ = std::move(status);
}

void ServiceNotifier::stopping() {
  if (!enabled()) return;
  stop_thread();
  send("STOPPING=1\n" + core::SdNotify::status_message(
                            "draining " + std::to_string(edge_->sessions()) + " connections"));
}

void ServiceNotifier::stop_thread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ServiceNotifier::run() {
  pthread_setname_np(pthread_self(), "rampart-notify");
  const uint64_t watchdog_usec = notify_.watchdog_usec();
  // sd_watchdog_enabled(3): ping at half the period. The STATUS= line is refreshed as often,
  // or every kStatusPeriod without a watchdog.
  auto tick = std::chrono::duration_cast<std::chrono::milliseconds>(kStatusPeriod);
  if (watchdog_usec > 0)
    tick = std::min(tick, std::max(std::chrono::milliseconds(1),
                                   std::chrono::milliseconds(watchdog_usec / 2000)));
  answered_.reset(new std::atomic<uint64_t>[edge_->workers()]());
  // One round: every worker stores the round's number in its slot when it runs the probe.
  auto post_round = [this] {
    ++round_;
    const uint64_t round = round_;
    auto slots = answered_;
    probed_ = edge_->probe_workers(
        [slots, round](size_t i) { slots[i].store(round, std::memory_order_release); });
  };
  auto all_answered = [this] {
    for (size_t i = 0; i < probed_; ++i)
      if (answered_[i].load(std::memory_order_acquire) != round_) return false;
    return true;
  };
  bool wedged_logged = false;
  if (watchdog_usec > 0) post_round();
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, tick, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    std::string message;
    if (watchdog_usec > 0) {
      if (all_answered()) {
        message = "WATCHDOG=1";
        wedged_logged = false;
        post_round();
      } else if (!wedged_logged) {
        wedged_logged = true;
        RLOG_ERROR("systemd watchdog: a worker has not answered for ", tick.count(),
                   " ms; WATCHDOG=1 withheld until every worker answers");
      }
    }
    std::string status = current_status();
    lock.lock();
    if (status != last_status_) {
      if (!message.empty()) message += "\n";
      message += core::SdNotify::status_message(status);
      last_status_ = std::move(status);
    }
    lock.unlock();
    if (!message.empty()) send(message);
    lock.lock();
  }
}

}  // namespace rampart::server
