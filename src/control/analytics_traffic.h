// Spectrum's analytics queries: aggregate/current (the last minute of the live series) and
// events/summary, events/bytime (the per-minute rollups in the analytics store), each over the
// fleet's live edges when the fan-out is on, unless scope=local. Also the store's writer: flush()
// moves the event log's rollups into it and prunes rows past the retention. Owned by Analytics;
// flush() runs on its ticker thread (and at stop), the queries on the API's handler threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "control/analytics_drops.h"
#include "control/analytics_fleet.h"
#include "control/api_outcome.h"
#include "control/rollup_store.h"
#include "telemetry/rollup.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

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

  // Rampart's GET .../rampart/analytics/drops/bytime (analytics_drops.h), over the fleet as
  // events/bytime (scope, edge; format=rows with scope=local).
  Outcome drops(const std::multimap<std::string, std::string>& params) const;

  // Ticker thread: the rollups handed over so far into the store; at each new minute, the guard
  // drop counters' deltas (into the minute that just ended); every 10 minutes, rows older than
  // the retention pruned.
  void flush(int64_t now_ms);
  void flush_rollups();
  // Ticker thread (and at stop): the drop counters' deltas since the last call, into `minute`.
  void flush_drops(int64_t minute);

 private:
  // Rampart's scope (fleet|local), format (rows, only with scope=local) and edge (one fleet edge)
  // parameters, split from the query's own and checked; whether the fleet is asked.
  struct Scope {
    std::string scope, format, edge;
    std::multimap<std::string, std::string> query;  // the rest, passed on to the peers
    bool fanout = false;   // ask the fleet's live edges (or the one named by edge)
    std::string off_note;  // a fleet edge whose fan-out is off: what the local answer says
  };
  std::optional<Outcome> split_scope(const std::multimap<std::string, std::string>& params,
                                     Scope* s) const;
  // The fleet's answers to `path` (asked with scope=local&format=rows and s.query), this edge's
  // from `local` (null with *error when it fails: a 500), each handed to `merge` (false with
  // why: that edge is left out, named in *used). An error answer for edge= naming no live edge
  // (404) or one that did not answer (502).
  std::optional<Outcome> gather_rows(
      const Scope& s, std::string path, const char* what,
      const std::function<nlohmann::json(std::string*)>& local,
      const std::function<bool(const nlohmann::json&, std::string*)>& merge,
      AnalyticsFleet::Gathered* used) const;

  edge::Edge* edge_;
  const LiveSeries* live_;
  const AnalyticsFleet* fleet_;
  telemetry::Rollup* rollup_;
  std::unique_ptr<RollupStore> store_;
  int64_t retention_s_;
  int64_t last_prune_s_ = 0;                 // ticker thread only
  int64_t drops_minute_ = -1;                // ticker thread only: minute of the last drop flush
  DropDeltas drop_deltas_;                   // ticker thread only
  std::atomic<int64_t> flushed_event_s_{0};  // newest event time moved into the store
};

}  // namespace rampart::control
