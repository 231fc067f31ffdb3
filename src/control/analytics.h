// What the API serves about traffic, one class per resource, composed here:
//   TrafficQuery    Spectrum's aggregate/current and events/summary, events/bytime
//   LiveSeries      the per-second samples of the live view (dashboard, `rampart top`)
//   Protection      the protection view and the bans, with the one write (unban)
//   MetricsExporter the Prometheus exposition (/metrics)
//   AnalyticsFleet  the fleet fan-out of aggregate/current
// Owns them and one ticker thread that, every second, samples every app's live counters and
// moves the event rollups into the analytics store (pruning it past its retention). Created,
// started and stopped by serve's main thread; the parts' handlers run on the API's threads.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "control/analytics_fleet.h"
#include "control/analytics_live.h"
#include "control/analytics_traffic.h"
#include "control/metrics_exporter.h"
#include "control/protection.h"
#include "control/rollup_store.h"
#include "telemetry/rollup.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

class Fleet;

class Analytics {
 public:
  using FleetFanout = AnalyticsFleet::Settings;

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

  TrafficQuery& query() { return query_; }
  LiveSeries& live() { return live_; }
  Protection& protection() { return protection_; }
  MetricsExporter& exporter() { return exporter_; }
  AnalyticsFleet& fleet() { return fleet_; }

  // Wiring, before the API serves (serve's main thread):
  // Fleet mode: aggregate/current sums every live edge of the registry unless `scope=local` is
  // given, and an unban is written to the fleet store (docs/fleet.md).
  void set_fleet(Fleet* fleet, FleetFanout fanout) {
    fleet_.set_fleet(fleet);
    protection_.set_fleet(fleet);
    fleet_.set_settings(std::move(fanout));
  }
  // New fan-out settings (a SIGHUP reload); any thread.
  void set_fanout(FleetFanout fanout) { fleet_.set_settings(std::move(fanout)); }
  // Why the fan-out is off ("" when it is on).
  std::string fanout_off_reason() const { return fleet_.off_reason(); }
  // More families appended to /metrics by parts that live outside the edge (the anycast
  // monitor's gauges, the API server's).
  void set_extra_metrics(std::function<std::string()> f) { exporter_.set_extra(std::move(f)); }

 private:
  void run();

  LiveSeries live_;
  AnalyticsFleet fleet_;
  TrafficQuery query_;
  Protection protection_;
  MetricsExporter exporter_;

  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rampart::control
