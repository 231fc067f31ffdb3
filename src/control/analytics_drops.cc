#include "control/analytics_drops.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "config/api_errors.h"
#include "config/app_json.h"

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

bool parse_drops_query(const std::multimap<std::string, std::string>& params, int64_t now_s,
                       DropsQuery* out, std::string* error) {
  std::multimap<std::string, std::string> time;
  for (const auto& [k, v] : params) {
    if (k == "since" || k == "until" || k == "time_delta") {
      time.emplace(k, v);
    } else if (k == "app") {
      out->app = v;
    } else {
      *error = "unknown query parameter \"" + k +
               "\" (since, until, time_delta, app; scope, edge as events/bytime)";
      return false;
    }
  }
  return parse_analytics_query(time, now_s, true, &out->q, error);
}

namespace {

// The query's bucket starts (seconds), in order.
std::vector<int64_t> bucket_starts(const AnalyticsQuery& q) {
  std::vector<int64_t> starts;
  for (int64_t t = bucket_start(*q.time_delta, q.since); t < q.until;
       t = bucket_next(*q.time_delta, t))
    starts.push_back(t);
  return starts;
}

// Minutes since the epoch up to the year 10000 (a peer's row beyond is refused).
constexpr int64_t kMaxMinute = 253402300800 / 60;

// The index of the bucket holding `minute`, or -1 (before the first bucket or from `until` on).
long bucket_of(const std::vector<int64_t>& starts, int64_t until, int64_t minute) {
  if (minute * 60 >= until) return -1;
  auto it = std::upper_bound(starts.begin(), starts.end(), minute * 60);
  return it == starts.begin() ? -1 : static_cast<long>(it - starts.begin() - 1);
}

}  // namespace

bool local_drops(RollupStore* store, const DropsQuery& dq, std::vector<DropRow>* rows,
                 std::string* error) {
  std::vector<DropRow> minutes;
  if (store != nullptr &&
      !store->query_drops(dq.q.since / 60, (dq.q.until + 59) / 60, dq.app, &minutes, error))
    return false;
  const std::vector<int64_t> starts = bucket_starts(dq.q);
  std::map<std::tuple<int64_t, std::string, std::string>, uint64_t> sums;
  for (const DropRow& r : minutes) {
    const long b = bucket_of(starts, dq.q.until, r.minute);
    if (b < 0) continue;
    sums[{starts[static_cast<size_t>(b)] / 60, r.app, r.reason}] += r.count;
  }
  for (const auto& [key, count] : sums)
    rows->push_back(DropRow{std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  return true;
}

json drop_rows_to_json(const std::vector<DropRow>& rows) {
  json out = json::array();
  for (const DropRow& r : rows) out.push_back(json::array({r.minute, r.app, r.reason, r.count}));
  return json{{"rows", out}};
}

bool drop_rows_from_json(const json& j, std::vector<DropRow>* rows, std::string* error) {
  if (!j.is_object() || !j.contains("rows") || !j["rows"].is_array()) {
    *error = "no rows array";
    return false;
  }
  std::vector<DropRow> got;
  for (const json& r : j["rows"]) {
    if (!r.is_array() || r.size() != 4 || !r[0].is_number_integer() || !r[1].is_string() ||
        !r[2].is_string() || !r[3].is_number_unsigned()) {
      *error = "a row is not [minute, app, reason, count]";
      return false;
    }
    const int64_t minute = r[0].get<int64_t>();
    if (minute < 0 || minute > kMaxMinute) {
      *error = "a row's minute is out of range";
      return false;
    }
    got.push_back(
        DropRow{minute, r[1].get<std::string>(), r[2].get<std::string>(), r[3].get<uint64_t>()});
  }
  rows->insert(rows->end(), got.begin(), got.end());
  return true;
}

json drops_result(const DropsQuery& dq, const std::vector<DropRow>& rows) {
  const AnalyticsQuery& q = dq.q;
  const std::vector<int64_t> starts = bucket_starts(q);
  std::map<std::string, std::vector<uint64_t>> series;  // reason -> counts
  std::map<std::string, uint64_t> by_reason;
  std::set<std::string> apps;
  uint64_t total = 0;
  for (const DropRow& r : rows) {
    const long b = bucket_of(starts, q.until, r.minute);
    if (b < 0) continue;
    auto& s = series[r.reason];
    if (s.empty()) s.assign(starts.size(), 0);
    s[static_cast<size_t>(b)] += r.count;
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
  return json{{"data", data},
              {"apps", apps},
              {"total", total},
              {"query",
               {{"since", rfc3339(q.since)},
                {"until", rfc3339(q.until)},
                {"time_delta", analytics_result(q, {}, true, 0)["query"]["time_delta"]},
                {"app", dq.app}}},
              {"time_intervals", intervals}};
}

Outcome drops_bytime(RollupStore* store, const std::multimap<std::string, std::string>& params,
                     int64_t now_s) {
  DropsQuery dq;
  std::string error;
  if (!parse_drops_query(params, now_s, &dq, &error))
    return Outcome::failure(400, config::kErrInvalidValue, error);
  std::vector<DropRow> rows;
  if (!local_drops(store, dq, &rows, &error)) return Outcome::failure(500, kErrInternal, error);
  return Outcome{200, {}, {}, drops_result(dq, rows), {}};
}

}  // namespace rampart::control
