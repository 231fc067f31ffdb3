// Rampart's drops history: the guard's drop counters (rampart_guard_drops_total{app,reason})
// turned into per-minute deltas for the analytics store's guard_drops table, and the read of
// GET /client/v4/zones/{zone}/rampart/analytics/drops/bytime. DropDeltas is owned by
// TrafficQuery and used on the ticker thread only; drops_bytime() runs on the API's threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "control/api_outcome.h"
#include "control/rollup_store.h"

namespace rampart::control {

// What changed in each counter since the previous call. A counter seen for the first time counts
// from 0 (the counters start at 0 with the process); a counter that went down (its app was
// removed and added again) counts from 0 again. Zero deltas are left out.
class DropDeltas {
 public:
  std::vector<DropDelta> take(const std::vector<DropDelta>& totals);

 private:
  std::map<std::pair<std::string, std::string>, uint64_t> last_;
};

// The drops of [since, until) in time_delta buckets, by reason, of one app (`app`) or all; local
// to this edge. Parameters: since, until, time_delta (as events/bytime), app.
Outcome drops_bytime(RollupStore* store, const std::multimap<std::string, std::string>& params,
                     int64_t now_s);

}  // namespace rampart::control
