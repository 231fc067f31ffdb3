// What the API serves about traffic: Spectrum's analytics (aggregate/current, events/summary,
// events/bytime), Rampart's live view for the dashboard and `rampart top`, the protection view
// and the Prometheus exposition. Owns one thread that, every second, samples every app's live
// counters (kept for 5 minutes) and moves the event rollups into the analytics store, and
// prunes the store past its retention. Reads the edge's counters, never writes them.
// Handlers may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "control/controller.h"
#include "control/rollup_store.h"
#include "edge/edge.h"
#include "telemetry/rollup.h"

namespace rampart::control {

class Fleet;

class Analytics {
 public:
  static constexpr size_t kSamples = 300;  // live series length (one per second)

  // `rollup` is fed by the event log; `store` may be null (no analytics history).
  Analytics(edge::Edge* edge, telemetry::Rollup* rollup, std::unique_ptr<RollupStore> store,
            int64_t retention_s);
  ~Analytics();
  Analytics(const Analytics&) = delete;
  Analytics& operator=(const Analytics&) = delete;

  void start();
  void stop();
  // Samples and flushes now (tests, shutdown).
  void tick();

  // Spectrum's shape plus `connectionsClosed` (the weight of durationAvg when edges are summed).
  Outcome aggregate_current(const std::multimap<std::string, std::string>& params);
  Outcome events(const std::multimap<std::string, std::string>& params, bool bytime);
  Outcome live();
  Outcome protection();
  // The active bans of this edge; DELETE lifts one here and, in a fleet, on every edge.
  Outcome bans();
  Outcome unban(const std::string& ip);
  // Prometheus text exposition format 0.0.4.
  std::string metrics();
  // Before start(): more families appended to metrics() by parts that live outside the edge
  // (the anycast monitor's gauges). Called on API threads.
  // Fleet mode: aggregate/current sums every live edge of the registry unless `scope=local` is
  // given. Each peer is asked over HTTPS, its certificate verified, with the fleet credential
  // (never the admin token); without a credential or without HTTPS the fan-out is off and the
  // answer is this edge's alone, with a note (docs/fleet.md).
  struct FleetFanout {
    std::string token;    // fleet.token: "" = no credential, fan-out off
    std::string ca_file;  // fleet.ca_file: peers' CA bundle; "" = the system's store
    bool https = false;   // this edge serves its API over HTTPS (api.tls), as peers must
  };
  void set_fleet(Fleet* fleet, FleetFanout fanout) {
    fleet_ = fleet;
    set_fanout(std::move(fanout));
  }
  // New fan-out settings (a SIGHUP reload); any thread.
  void set_fanout(FleetFanout fanout);
  // Why the fan-out is off ("" when it is on).
  std::string fanout_off_reason() const;
  void set_extra_metrics(std::function<std::string()> f) { extra_metrics_ = std::move(f); }

 private:
  Outcome fleet_current(const std::vector<std::string>& wanted, const std::string& colo);
  // One second of one app, as cumulative counters.
  struct Sample {
    int64_t t_ms = 0;
    uint64_t active = 0, opened = 0, bytes_ingress = 0, bytes_egress = 0, errors = 0,
             duration_sum_ms = 0, closed = 0;
    std::array<uint64_t, telemetry::kStatusSlots> statuses{};
  };
  void run();
  void sample(int64_t now_ms);
  void flush_rollups();

  edge::Edge* edge_;
  std::function<std::string()> extra_metrics_;
  Fleet* fleet_ = nullptr;
  mutable std::mutex fanout_mu_;
  FleetFanout fanout_;  // guarded by fanout_mu_
  telemetry::Rollup* rollup_;
  std::unique_ptr<RollupStore> store_;
  int64_t retention_s_;
  int64_t last_prune_s_ = 0;
  std::atomic<int64_t> flushed_event_s_{0};  // newest event time moved into the store

  std::mutex mu_;  // guards series_
  std::map<std::string, std::deque<Sample>> series_;

  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rampart::control
