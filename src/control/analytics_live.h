// The live view (GET .../spectrum/analytics/live, the dashboard and `rampart top`): every app's
// counters sampled once a second, the last kSamples seconds kept, and the totals of now.
// Owned by Analytics, whose ticker thread calls sample(); live() and last_minute() are called
// by the API's handler threads (the series are under a mutex). Reads the edge's counters,
// never writes them.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "control/api_outcome.h"
#include "telemetry/app_stats.h"
#include "telemetry/stats_registry.h"

namespace rampart::edge {
class Edge;
}

namespace rampart::control {

// Wall-clock milliseconds (CLOCK_REALTIME): the time of samples and of the analytics answers.
int64_t wall_ms();

class LiveSeries {
 public:
  static constexpr size_t kSamples = 300;  // series length (one per second)

  // One second of one app, as cumulative counters.
  struct Sample {
    int64_t t_ms = 0;
    uint64_t active = 0, opened = 0, bytes_ingress = 0, bytes_egress = 0, errors = 0,
             duration_sum_ms = 0, closed = 0;
    std::array<uint64_t, telemetry::kStatusSlots> statuses{};
  };
  // The newest sample of an app and the one a minute before it (or the oldest there is).
  struct Window {
    Sample now, then;
  };

  explicit LiveSeries(edge::Edge* edge) : edge_(edge) {}

  // Ticker thread: one sample of every app the edge has counters for.
  void sample(int64_t now_ms);
  // The same from `reg` (tests drive it with a registry of their own). An app seen for the
  // first time starts its series with a zero sample at the previous tick: its counters were
  // created at zero after that tick, so whatever they hold now happened since then and counts
  // in the first second's deltas and in aggregate/current (issue #13: traffic of an app's first
  // second was otherwise part of its baseline and never counted).
  void sample(const telemetry::StatsRegistry* reg, int64_t now_ms);
  // The app's last minute; nullopt before its first sample. Any thread.
  std::optional<Window> last_minute(const std::string& app_id) const;
  // GET .../analytics/live. Any thread.
  Outcome live() const;

 private:
  edge::Edge* edge_;
  mutable std::mutex mu_;  // guards series_
  std::map<std::string, std::deque<Sample>> series_;
  int64_t last_tick_ms_ = 0;  // the previous sample() time; ticker thread only
};

}  // namespace rampart::control
