// Per-minute rollups of connection events, the source of the analytics API (Spectrum's
// events/summary and events/bytime): for each (minute, app, event, IP version, status) the number
// of events, the bytes they carried and, for disconnects, a histogram of connection durations.
// Events are added by the event-log writer thread; a flusher thread takes what changed since
// its last call (deltas) and adds it to the store. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "telemetry/app_stats.h"
#include "telemetry/conn_event.h"

namespace rampart::telemetry {

struct RollupKey {
  int64_t minute = 0;  // unix time / 60
  std::string app;
  EventType event = EventType::kConnect;
  uint8_t ip_version = 4;
  uint16_t status = 0;  // the event's Spectrum status (0 for a connect)
  bool operator<(const RollupKey& o) const {
    return std::tie(minute, app, event, ip_version, status) <
           std::tie(o.minute, o.app, o.event, o.ip_version, o.status);
  }
  bool operator==(const RollupKey&) const = default;
};

struct RollupValue {
  uint64_t count = 0;
  uint64_t bytes_ingress = 0;  // client -> edge (ClientBytes of disconnect events)
  uint64_t bytes_egress = 0;   // edge -> client (OriginBytes of disconnect events)
  uint64_t duration_sum_ms = 0;
  uint64_t durations_count = 0;
  std::array<uint32_t, kDurationBuckets> durations{};
};

class Rollup {
 public:
  // Event-log writer thread.
  void add(const ConnEvent& e);
  // Everything added since the last call, then forgotten here.
  std::vector<std::pair<RollupKey, RollupValue>> take();
  // Unix time (s) of the newest event added; 0 before the first.
  int64_t last_event_s() const;

 private:
  mutable std::mutex mu_;
  std::map<RollupKey, RollupValue> pending_;
  int64_t last_event_s_ = 0;
};

}  // namespace rampart::telemetry
