#include "control/analytics_drops.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "config/api_errors.h"
#include "config/app_json.h"
#include "control/analytics_query.h"

namespace rampart::control {

using nlohmann::json;

std::vector<DropDelta> DropDeltas::take(const std::vector<DropDelta>& totals) {
  std::vector<DropDelta> out;
  for (const DropDelta& t : totals) {
    uint64_t& last = last_[{t.app, t.reason}];
    const uint64_t delta = t.count >= last ? t.count - last : t.count;
    last = t.count;
    if (delta > 0) out.push_back(DropDelta{t.app, t.reason, delta});
  }
  return out;
}

Outcome drops_bytime(RollupStore* store, const std::multimap<std::string, std::string>& params,
                     int64_t now_s) {
  std::multimap<std::string, std::string> time;
  std::string app;
  for (const auto& [k, v] : params) {
    if (k == "since" || k == "until" || k == "time_delta")
      time.emplace(k, v);
    else if (k == "app")
      app = v;
    else
      return Outcome::failure(
          400, config::kErrInvalidValue,
          "unknown query parameter \"" + k + "\" (since, until, time_delta, app)");
  }
  AnalyticsQuery q;
  std::string error;
  if (!parse_analytics_query(time, now_s, true, &q, &error))
    return Outcome::failure(400, config::kErrInvalidValue, error);
  std::vector<DropRow> rows;
  if (store != nullptr &&
      !store->query_drops(q.since / 60, (q.until + 59) / 60, app, &rows, &error))
    return Outcome::failure(500, kErrInternal, error);

  std::vector<int64_t> starts;
  for (int64_t t = bucket_start(*q.time_delta, q.since); t < q.until;
       t = bucket_next(*q.time_delta, t))
    starts.push_back(t);
  std::map<std::string, std::vector<uint64_t>> series;  // reason -> counts
  std::map<std::string, uint64_t> by_reason;
  std::set<std::string> apps;
  uint64_t total = 0;
  for (const DropRow& r : rows) {
    auto it = std::upper_bound(starts.begin(), starts.end(), r.minute * 60);
    if (it == starts.begin()) continue;
    auto& s = series[r.reason];
    if (s.empty()) s.assign(starts.size(), 0);
    s[static_cast<size_t>(it - starts.begin() - 1)] += r.count;
    by_reason[r.reason] += r.count;
    total += r.count;
    apps.insert(r.app);
  }
  json data = json::array();
  for (const auto& [reason, points] : series)
    data.push_back({{"reason", reason}, {"series", points}, {"total", by_reason[reason]}});
  json intervals = json::array();
  for (int64_t s : starts)
    intervals.push_back({rfc3339(s), rfc3339(bucket_next(*q.time_delta, s))});
  json result = {{"data", data},
                 {"apps", apps},
                 {"total", total},
                 {"query",
                  {{"since", rfc3339(q.since)},
                   {"until", rfc3339(q.until)},
                   {"time_delta", analytics_result(q, {}, true, 0)["query"]["time_delta"]},
                   {"app", app}}},
                 {"time_intervals", intervals}};
  return Outcome{200, {}, {}, result, {}};
}

}  // namespace rampart::control
