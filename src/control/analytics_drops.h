// Rampart's drops history: the guard's drop counters (rampart_guard_drops_total{app,reason})
// turned into per-minute deltas for the analytics store's guard_drops table, and the read of
// GET /client/v4/zones/{zone}/rampart/analytics/drops/bytime. DropDeltas is owned by
// TrafficQuery and used on the ticker thread only; the rest are pure functions (any thread).
//
// On a fleet edge the read sums every live edge's drops (or one edge's, with edge=NAME), as
// events/bytime does: each peer is asked with scope=local&format=rows and answers with its rows
// collapsed into the query's buckets; the asking edge adds them up (TrafficQuery::drops).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "control/analytics_query.h"
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

// The query of drops/bytime: since, until, time_delta (as events/bytime) and app ("" = all).
struct DropsQuery {
  AnalyticsQuery q;
  std::string app;
};
// `params` without Rampart's scope, format and edge (the caller takes those).
bool parse_drops_query(const std::multimap<std::string, std::string>& params, int64_t now_s,
                       DropsQuery* out, std::string* error);

// This edge's drops of the query, collapsed into its buckets (minute = the bucket's first
// minute): what a fleet peer sends, one row per bucket, app and reason.
bool local_drops(RollupStore* store, const DropsQuery& dq, std::vector<DropRow>* rows,
                 std::string* error);

// {"rows": [[minute, app, reason, count], ...]} and its checked inverse (appends to *rows;
// false with *error, *rows untouched, when `j` is not that shape).
nlohmann::json drop_rows_to_json(const std::vector<DropRow>& rows);
bool drop_rows_from_json(const nlohmann::json& j, std::vector<DropRow>* rows, std::string* error);

// The answer: {data: [{reason, series, total}], apps, total, query, time_intervals}.
nlohmann::json drops_result(const DropsQuery& dq, const std::vector<DropRow>& rows);

// This edge's answer to drops/bytime with `params` (no scope, format or edge): 400 on a bad
// parameter, 500 when the store fails.
Outcome drops_bytime(RollupStore* store, const std::multimap<std::string, std::string>& params,
                     int64_t now_s);

}  // namespace rampart::control
