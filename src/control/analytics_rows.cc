#include "control/analytics_rows.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

#include "telemetry/app_stats.h"

namespace rampart::control {

using nlohmann::json;

std::vector<AnalyticsRow> collapse_rows(const AnalyticsQuery& q,
                                        const std::vector<AnalyticsRow>& rows, bool bytime) {
  std::map<std::pair<int64_t, std::vector<std::string>>, AnalyticsRow> grouped;
  for (const AnalyticsRow& r : rows) {
    const int64_t minute =
        bytime && q.time_delta ? bucket_start(*q.time_delta, r.minute * 60) / 60 : 0;
    AnalyticsRow& s = grouped[{minute, r.dims}];
    s.dims = r.dims;
    s.minute = minute;
    s.count += r.count;
    s.bytes_ingress += r.bytes_ingress;
    s.bytes_egress += r.bytes_egress;
    s.duration_sum_ms += r.duration_sum_ms;
    s.durations_count += r.durations_count;
    if (!r.durations.empty()) {
      if (s.durations.size() < r.durations.size()) s.durations.resize(r.durations.size(), 0);
      for (size_t i = 0; i < r.durations.size(); ++i) s.durations[i] += r.durations[i];
    }
  }
  std::vector<AnalyticsRow> out;
  out.reserve(grouped.size());
  for (auto& [key, row] : grouped) out.push_back(std::move(row));
  return out;
}

json rows_to_json(const std::vector<AnalyticsRow>& rows, int64_t data_lag_s) {
  json out = json::array();
  for (const AnalyticsRow& r : rows) {
    json hist = json::array();
    for (size_t b = 0; b < r.durations.size(); ++b)
      if (r.durations[b] != 0) hist.push_back(json::array({b, r.durations[b]}));
    out.push_back(json::array({r.dims, r.minute, r.count, r.bytes_ingress, r.bytes_egress,
                               r.duration_sum_ms, r.durations_count, hist}));
  }
  return {{"rows", out}, {"data_lag", data_lag_s}};
}

namespace {
// A non-negative integer (parsed JSON has it unsigned; a literal may be signed).
bool get_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}
}  // namespace

bool rows_from_json(const json& j, size_t dimensions, std::vector<AnalyticsRow>* rows,
                    int64_t* data_lag_s, std::string* error) {
  auto fail = [error](const std::string& why) {
    *error = "rows answer: " + why;
    return false;
  };
  if (!j.is_object() || !j.contains("rows") || !j["rows"].is_array())
    return fail("not an object with a \"rows\" array");
  int64_t lag = 0;
  if (j.contains("data_lag")) {
    if (!j["data_lag"].is_number_integer()) return fail("data_lag is not an integer");
    lag = j["data_lag"].get<int64_t>();
  }
  std::vector<AnalyticsRow> got;  // appended only when the whole answer is good
  for (const json& e : j["rows"]) {
    if (!e.is_array() || e.size() != 8) return fail("a row is not an array of 8");
    AnalyticsRow r;
    if (!e[0].is_array() || e[0].size() != dimensions) return fail("a row's dimensions");
    for (const json& d : e[0]) {
      if (!d.is_string()) return fail("a dimension value is not a string");
      r.dims.push_back(d.get<std::string>());
    }
    if (!e[1].is_number_integer()) return fail("a row's minute");
    r.minute = e[1].get<int64_t>();
    uint64_t* fields[] = {&r.count, &r.bytes_ingress, &r.bytes_egress, &r.duration_sum_ms,
                          &r.durations_count};
    for (size_t i = 0; i < 5; ++i) {
      if (!get_u64(e[2 + i], fields[i])) return fail("a row's counters");
    }
    if (!e[7].is_array()) return fail("a row's histogram");
    if (!e[7].empty()) r.durations.assign(telemetry::kDurationBuckets, 0);
    for (const json& b : e[7]) {
      uint64_t bucket = 0, n = 0;
      if (!b.is_array() || b.size() != 2 || !get_u64(b[0], &bucket) || !get_u64(b[1], &n) ||
          bucket >= telemetry::kDurationBuckets)
        return fail("a histogram bucket");
      r.durations[bucket] += n;
    }
    got.push_back(std::move(r));
  }
  rows->insert(rows->end(), std::make_move_iterator(got.begin()),
               std::make_move_iterator(got.end()));
  *data_lag_s = std::max(*data_lag_s, lag);
  return true;
}

}  // namespace rampart::control
