// Anycast announcement (docs/anycast.md, docs/adr/0006-anycast.md): while this edge is healthy a
// local BIRD announces the edge.anycast addresses; when it turns unhealthy, or on SIGTERM before
// the edge drains, BIRD withdraws them. Rampart never writes routes itself: it enables or
// disables one BIRD static protocol (edge.anycast.protocol) whose routes are those addresses.
//
// What it announces and which apps gate it is the edge's compiled anycast plan
// (edge::CompiledConfig::anycast): server::Server hands it the plan of the config the edge started
// with, and edge_health() reads the serving apps of the plan in force.
//
// AnycastMonitor owns one thread that evaluates the health probe every check_interval, with
// hysteresis (`rise` healthy evaluations in a row to announce, `fall` unhealthy ones to
// withdraw), re-asserts the desired state now and then (BIRD may have been restarted with the
// protocol disabled) and logs every transition. start() and shutdown() are called by the thread
// that owns it (main); announced() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "anycast/bird_client.h"
#include "config/model.h"
#include "edge/compiled_config.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::anycast {

// What the monitor asks of the router daemon. Both calls are idempotent and blocking.
class RouteSpeaker {
 public:
  virtual ~RouteSpeaker() = default;
  virtual bool announce(std::string* error) = 0;
  virtual bool withdraw(std::string* error) = 0;
};

// BIRD: `enable <protocol>` / `disable <protocol>` on its control socket.
class BirdSpeaker : public RouteSpeaker {
 public:
  BirdSpeaker(std::string socket_path, std::string protocol);
  bool announce(std::string* error) override;
  bool withdraw(std::string* error) override;

 private:
  bool run(const std::string& verb, std::string* error);
  BirdClient client_;
  std::string protocol_;
};

struct Health {
  bool healthy = false;
  std::string detail;  // why not, or what was checked ("2 apps, every listener up")
};

// The edge's health for anycast: every listener open, at least one serving app, and in every
// serving app (the compiled anycast plan's) at least one origin usable (up by the health
// checks). `now_ms` is core::coarse_ms().
Health edge_health(const edge::Edge& edge, int64_t now_ms);

class AnycastMonitor {
 public:
  static constexpr int kRise = 2;  // healthy evaluations in a row before announcing
  static constexpr int kFall = 2;  // unhealthy evaluations in a row before withdrawing
  // How often the desired state is sent again although it did not change.
  static constexpr std::chrono::seconds kResync{10};

  // `plan`: what to announce (its config and prefixes; edge::plan_anycast()).
  AnycastMonitor(edge::AnycastPlan plan, std::function<Health()> probe,
                 std::unique_ptr<RouteSpeaker> speaker);
  ~AnycastMonitor();
  AnycastMonitor(const AnycastMonitor&) = delete;
  AnycastMonitor& operator=(const AnycastMonitor&) = delete;

  // Withdraws (a previous run may have left the route announced), then starts the thread.
  void start();
  // Stops the thread and withdraws. Returns true when BIRD confirmed the withdraw. Idempotent.
  bool shutdown();
  // One evaluation; the thread calls it every check_interval (tests call it directly).
  void step(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  bool announced() const { return announced_.load(std::memory_order_relaxed); }
  // The Prometheus lines of rampart_anycast_announced (1 or 0) and rampart_anycast_healthy.
  std::string metrics() const;
  // "10.77.9.1/32, 2001:db8::9/128"
  std::string prefixes() const;

 private:
  void run();
  bool apply(bool announce, const std::string& why);

  edge::AnycastPlan plan_;
  std::function<Health()> probe_;
  std::unique_ptr<RouteSpeaker> speaker_;

  // step() state (the monitor thread, or the caller when no thread runs)
  int good_ = 0;
  int bad_ = 0;
  bool want_ = false;
  bool applied_known_ = false;  // the speaker confirmed `want_` since it last changed
  std::chrono::steady_clock::time_point last_sent_{};
  std::string last_detail_;
  std::string last_error_;
  bool logged_ = false;  // the announced/withdrawn state was logged once

  std::atomic<bool> announced_{false};
  std::atomic<bool> healthy_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool shut_ = false;
  std::thread thread_;
};

}  // namespace rampart::anycast
