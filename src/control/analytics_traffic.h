// Spectrum's analytics queries: aggregate/current (the last minute of the live series) and
// events/summary, events/bytime (the per-minute rollups in the analytics store), each over the
// fleet's live edges when the fan-out is on, unless scope=local. Also the store's writer: flush()
// moves the event log's rollups into it and prunes rows past the retention. Owned by Analytics;
// flush() runs on its ticker thread (and at stop), the queries on the API's handler threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "control/api_outcome.h"
#include "control/rollup_store.h"
#include "telemetry/rollup.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

class AnalyticsFleet;
class LiveSeries;

class TrafficQuery {
 public:
  // `rollup` is fed by the event log; `store` may be null (no analytics history).
  TrafficQuery(edge::Edge* edge, const LiveSeries* live, const AnalyticsFleet* fleet,
               telemetry::Rollup* rollup, std::unique_ptr<RollupStore> store, int64_t retention_s);

  // Spectrum's shape plus `connectionsClosed` (the weight of durationAvg when edges are summed).
  Outcome aggregate_current(const std::multimap<std::string, std::string>& params) const;
  // events/summary, events/bytime; with scope=local&format=rows the rows a fleet peer merges
  // (analytics_rows.h).
  Outcome events(const std::multimap<std::string, std::string>& params, bool bytime) const;

  // Ticker thread: the rollups handed over so far into the store; every 10 minutes, rows
  // older than the retention pruned.
  void flush(int64_t now_ms);
  void flush_rollups();

 private:
  edge::Edge* edge_;
  const LiveSeries* live_;
  const AnalyticsFleet* fleet_;
  telemetry::Rollup* rollup_;
  std::unique_ptr<RollupStore> store_;
  int64_t retention_s_;
  int64_t last_prune_s_ = 0;                 // ticker thread only
  std::atomic<int64_t> flushed_event_s_{0};  // newest event time moved into the store
};

}  // namespace rampart::control
