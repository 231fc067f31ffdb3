#include "control/analytics_query.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>

namespace rampart::control {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<const char*, Metric>, 7> kMetrics{{
    {"count", Metric::kCount},
    {"bytesIngress", Metric::kBytesIngress},
    {"bytesEgress", Metric::kBytesEgress},
    {"durationAvg", Metric::kDurationAvg},
    {"durationMedian", Metric::kDurationMedian},
    {"duration90th", Metric::kDuration90th},
    {"duration99th", Metric::kDuration99th},
}};
constexpr std::array<std::pair<const char*, Dimension>, 5> kDimensions{{
    {"event", Dimension::kEvent},
    {"appID", Dimension::kAppId},
    {"coloName", Dimension::kColoName},
    {"ipVersion", Dimension::kIpVersion},
    {"status", Dimension::kStatus},  // Rampart's
}};
constexpr std::array<std::pair<const char*, TimeDelta>, 8> kDeltas{{
    {"minute", TimeDelta::kMinute},
    {"dekaminute", TimeDelta::kDekaminute},
    {"hour", TimeDelta::kHour},
    {"day", TimeDelta::kDay},
    {"week", TimeDelta::kWeek},
    {"month", TimeDelta::kMonth},
    {"quarter", TimeDelta::kQuarter},
    {"year", TimeDelta::kYear},
}};
template <typename T, size_t N>
std::string names_of(const std::array<std::pair<const char*, T>, N>& table) {
  std::string out;
  for (const auto& [name, v] : table) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

template <typename T, size_t N>
std::optional<T> lookup(const std::array<std::pair<const char*, T>, N>& table,
                        std::string_view name) {
  for (const auto& [n, v] : table)
    if (name == n) return v;
  return std::nullopt;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// One value of a repeated or comma-separated list parameter ("metrics=count,bytesIngress" or
// "metrics=count&metrics=bytesIngress").
std::vector<std::string> list_param(const std::multimap<std::string, std::string>& params,
                                    const std::string& key) {
  std::vector<std::string> out;
  auto [lo, hi] = params.equal_range(key);
  for (auto it = lo; it != hi; ++it)
    for (auto& part : split(it->second, ','))
      if (auto t = trim(part); !t.empty()) out.push_back(t);
  return out;
}

const std::string* single_param(const std::multimap<std::string, std::string>& params,
                                const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? nullptr : &it->second;
}

bool parse_time(const std::string& key, const std::string& text, int64_t now_s, int64_t* out,
                std::string* error) {
  // Times are kept within 1970 .. 9999: every later sum, bucket and format stays far from
  // int64's ends whatever the client sends (since=-9223372036854775808 is a 400, not overflow).
  auto in_range = [&](int64_t t) {
    if (t >= kMinQueryTime && t <= kMaxQueryTime) return true;
    *error = key + ": \"" + text + "\" is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z";
    return false;
  };
  if (auto t = parse_rfc3339(text)) {
    if (!in_range(*t)) return false;
    *out = *t;
    return true;
  }
  // Also accepted: a number of minutes relative to now ("-60": an hour ago).
  int64_t minutes = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), minutes);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && p == text.data() + text.size() && minutes <= 0 &&
       minutes < -(now_s - kMinQueryTime) / 60)) {
    *error = key + ": \"" + text + "\" minutes from now is before 1970-01-01T00:00:00Z";
    return false;
  }
  if (ec == std::errc() && p == text.data() + text.size() && minutes <= 0) {
    *out = now_s + minutes * 60;
    return in_range(*out);
  }
  *error = key + ": \"" + text +
           "\" is not an RFC 3339 time (2026-11-27T02:00:00Z) or a number of minutes <= 0 "
           "relative to now";
  return false;
}

bool compare(const std::string& have, FilterOp op, const std::string& want, bool numeric) {
  int c = 0;
  if (numeric) {
    long a = std::strtol(have.c_str(), nullptr, 10), b = std::strtol(want.c_str(), nullptr, 10);
    c = a < b ? -1 : (a > b ? 1 : 0);
  } else {
    c = have.compare(want);
  }
  switch (op) {
    case FilterOp::kEq:
      return c == 0;
    case FilterOp::kNe:
      return c != 0;
    case FilterOp::kGt:
      return c > 0;
    case FilterOp::kLt:
      return c < 0;
    case FilterOp::kGe:
      return c >= 0;
    case FilterOp::kLe:
      return c <= 0;
  }
  return false;
}

// The summed metrics of a group of rows.
struct Sums {
  uint64_t count = 0, bytes_ingress = 0, bytes_egress = 0, duration_sum_ms = 0, durations_count = 0;
  std::vector<uint64_t> durations;

  void add(const AnalyticsRow& r) {
    count += r.count;
    bytes_ingress += r.bytes_ingress;
    bytes_egress += r.bytes_egress;
    duration_sum_ms += r.duration_sum_ms;
    durations_count += r.durations_count;
    if (!r.durations.empty()) {
      if (durations.empty()) durations.assign(r.durations.size(), 0);
      for (size_t i = 0; i < r.durations.size(); ++i) durations[i] += r.durations[i];
    }
  }
  double value(Metric m) const {
    auto pct = [&](double q) {
      return durations.empty() ? 0.0
                               : std::round(telemetry::duration_percentile(durations.data(),
                                                                           durations.size(), q));
    };
    switch (m) {
      case Metric::kCount:
        return static_cast<double>(count);
      case Metric::kBytesIngress:
        return static_cast<double>(bytes_ingress);
      case Metric::kBytesEgress:
        return static_cast<double>(bytes_egress);
      case Metric::kDurationAvg:
        return durations_count == 0
                   ? 0.0
                   : static_cast<double>(duration_sum_ms) / static_cast<double>(durations_count);
      case Metric::kDurationMedian:
        return pct(0.5);
      case Metric::kDuration90th:
        return pct(0.9);
      case Metric::kDuration99th:
        return pct(0.99);
    }
    return 0.0;
  }
};

json number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

json query_echo(const AnalyticsQuery& q, bool bytime) {
  json metrics = json::array(), dims = json::array(), sort = json::array();
  for (Metric m : q.metrics) metrics.push_back(metric_name(m));
  for (Dimension d : q.dimensions) dims.push_back(dimension_name(d));
  for (const auto& [k, desc] : q.sort) sort.push_back((desc ? "-" : "+") + k);
  json out = {{"dimensions", dims}, {"filters", q.filters_text}, {"limit", q.limit},
              {"metrics", metrics}, {"since", rfc3339(q.since)}, {"until", rfc3339(q.until)},
              {"sort", sort}};
  if (bytime && q.time_delta) {
    for (const auto& [name, d] : kDeltas)
      if (d == *q.time_delta) out["time_delta"] = name;
  }
  return out;
}

}  // namespace

const char* metric_name(Metric m) {
  for (const auto& [n, v] : kMetrics)
    if (v == m) return n;
  return "?";
}

std::optional<Dimension> dimension_of(std::string_view name) {
  return lookup(kDimensions, name);
}

std::string dimension_names() {
  return names_of(kDimensions);
}

const char* dimension_name(Dimension d) {
  for (const auto& [n, v] : kDimensions)
    if (v == d) return n;
  return "?";
}

std::string rfc3339(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> parse_rfc3339(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  if (*end == '.') {  // fraction of a second: ignored
    ++end;
    while (*end >= '0' && *end <= '9') ++end;
  }
  int64_t offset = 0;
  if (*end == 'Z' || *end == 'z') {
    ++end;
  } else if (*end == '+' || *end == '-') {
    // Exactly "+HH:MM" (RFC 3339's time-offset).
    auto digit = [&](int i) { return end[i] >= '0' && end[i] <= '9'; };
    if (!digit(1) || !digit(2) || end[3] != ':' || !digit(4) || !digit(5)) return std::nullopt;
    const int sign = *end == '-' ? -1 : 1;
    const int hh = (end[1] - '0') * 10 + (end[2] - '0');
    const int mm = (end[4] - '0') * 10 + (end[5] - '0');
    offset = sign * (hh * 3600 + mm * 60);
    end += 6;
  } else {
    return std::nullopt;
  }
  if (*end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

int64_t bucket_start(TimeDelta d, int64_t t) {
  auto floor_to = [t](int64_t n) { return t - ((t % n) + n) % n; };
  switch (d) {
    case TimeDelta::kMinute:
      return floor_to(60);
    case TimeDelta::kDekaminute:
      return floor_to(600);
    case TimeDelta::kHour:
      return floor_to(3600);
    case TimeDelta::kDay:
      return floor_to(86400);
    case TimeDelta::kWeek: {
      // Weeks start on Monday; 1970-01-01 was a Thursday. The day number is floored, so the
      // remainder must be too (before 1970 too: since may be any RFC 3339 time).
      const int64_t day = floor_to(86400) / 86400;
      return (day - (((day + 3) % 7) + 7) % 7) * 86400;
    }
    case TimeDelta::kMonth:
    case TimeDelta::kQuarter:
    case TimeDelta::kYear: {
      time_t tt = static_cast<time_t>(t);
      struct tm tm {};
      gmtime_r(&tt, &tm);
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      if (d == TimeDelta::kQuarter) tm.tm_mon -= tm.tm_mon % 3;
      if (d == TimeDelta::kYear) tm.tm_mon = 0;
      return static_cast<int64_t>(timegm(&tm));
    }
  }
  return t;
}

int64_t bucket_next(TimeDelta d, int64_t start) {
  switch (d) {
    case TimeDelta::kMinute:
      return start + 60;
    case TimeDelta::kDekaminute:
      return start + 600;
    case TimeDelta::kHour:
      return start + 3600;
    case TimeDelta::kDay:
      return start + 86400;
    case TimeDelta::kWeek:
      return start + 7 * 86400;
    case TimeDelta::kMonth:
    case TimeDelta::kQuarter:
    case TimeDelta::kYear: {
      time_t tt = static_cast<time_t>(start);
      struct tm tm {};
      gmtime_r(&tt, &tm);
      tm.tm_mon += d == TimeDelta::kMonth ? 1 : (d == TimeDelta::kQuarter ? 3 : 12);
      return static_cast<int64_t>(timegm(&tm));
    }
  }
  return start + 60;
}

bool parse_analytics_query(const std::multimap<std::string, std::string>& params, int64_t now_s,
                           bool bytime, AnalyticsQuery* q, std::string* error) {
  static const char* kKnown[] = {"metrics", "dimensions", "filters", "since",
                                 "until",   "time_delta", "sort",    "limit"};
  for (const auto& param : params) {
    const std::string& key = param.first;  // not a structured binding: clang 14 cannot capture one
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return key == k; }) == std::end(kKnown)) {
      *error = "unknown query parameter \"" + key +
               "\" (metrics, dimensions, filters, since, until, time_delta, sort, limit)";
      return false;
    }
  }
  for (const auto& name : list_param(params, "metrics")) {
    auto m = lookup(kMetrics, name);
    if (!m) {
      *error = "metrics: unknown metric \"" + name + "\" (one of " + names_of(kMetrics) + ")";
      return false;
    }
    if (std::find(q->metrics.begin(), q->metrics.end(), *m) == q->metrics.end())
      q->metrics.push_back(*m);
  }
  if (q->metrics.empty())
    q->metrics = {Metric::kCount, Metric::kBytesIngress, Metric::kBytesEgress};
  for (const auto& name : list_param(params, "dimensions")) {
    auto d = lookup(kDimensions, name);
    if (!d) {
      *error =
          "dimensions: unknown dimension \"" + name + "\" (one of " + names_of(kDimensions) + ")";
      return false;
    }
    if (std::find(q->dimensions.begin(), q->dimensions.end(), *d) == q->dimensions.end())
      q->dimensions.push_back(*d);
  }
  if (const std::string* f = single_param(params, "filters"); f && !trim(*f).empty()) {
    q->filters_text = *f;
    if (!parse_filter_expr(*f, &q->filters, error)) return false;
  }
  q->until = now_s;
  if (const std::string* u = single_param(params, "until"))
    if (!parse_time("until", *u, now_s, &q->until, error)) return false;
  // The default window is the 6 hours before until, never reaching before the first valid time
  // (until=1970-01-01T00:00:00Z leaves no window at all: a 400 below, not a since before 1970).
  q->since = std::max(kMinQueryTime, q->until - 6 * 3600);
  if (const std::string* s = single_param(params, "since"))
    if (!parse_time("since", *s, now_s, &q->since, error)) return false;
  if (q->since >= q->until) {
    *error = "since (" + rfc3339(q->since) + ") must be before until (" + rfc3339(q->until) + ")";
    return false;
  }
  if (const std::string* d = single_param(params, "time_delta")) {
    auto td = lookup(kDeltas, *d);
    if (!td) {
      *error = "time_delta: \"" + *d + "\" is not one of " + names_of(kDeltas);
      return false;
    }
    q->time_delta = *td;
  }
  if (bytime && !q->time_delta) {
    const int64_t span = q->until - q->since;
    q->time_delta = span <= 6 * 3600 ? TimeDelta::kMinute
                                     : (span <= 3 * 86400 ? TimeDelta::kHour : TimeDelta::kDay);
  }
  if (bytime) {
    size_t n = 0;
    for (int64_t t = bucket_start(*q->time_delta, q->since); t < q->until;
         t = bucket_next(*q->time_delta, t)) {
      if (++n > kMaxIntervals) {
        *error = "time_delta: more than " + std::to_string(kMaxIntervals) +
                 " intervals between since and until; pick a larger time_delta";
        return false;
      }
    }
  }
  for (const auto& key : list_param(params, "sort")) {
    bool desc = key[0] == '-';
    std::string name = (key[0] == '-' || key[0] == '+') ? key.substr(1) : key;
    auto m = lookup(kMetrics, name);
    auto d = lookup(kDimensions, name);
    bool selected =
        (m && std::find(q->metrics.begin(), q->metrics.end(), *m) != q->metrics.end()) ||
        (d && std::find(q->dimensions.begin(), q->dimensions.end(), *d) != q->dimensions.end());
    if (!selected) {
      *error = "sort: \"" + name + "\" is not one of the selected metrics or dimensions";
      return false;
    }
    q->sort.emplace_back(name, desc);
  }
  if (const std::string* l = single_param(params, "limit")) {
    size_t v = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || p != l->data() + l->size() || v == 0 || v > kMaxLimit) {
      *error = "limit: \"" + *l + "\" is not a number from 1 to " + std::to_string(kMaxLimit);
      return false;
    }
    q->limit = v;
  }
  return true;
}

bool row_matches(const AnalyticsQuery& q, const std::map<Dimension, std::string>& values) {
  if (q.filters.empty()) return true;
  for (const auto& all : q.filters) {
    bool ok = true;
    for (const auto& t : all) {
      auto it = values.find(t.dim);
      if (it == values.end() ||
          !compare(it->second, t.op, t.value,
                   t.dim == Dimension::kIpVersion || t.dim == Dimension::kStatus)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

json analytics_result(const AnalyticsQuery& q, const std::vector<AnalyticsRow>& rows, bool bytime,
                      int64_t data_lag_s) {
  // Groups by dimension values, in first-seen order of a stable sort by dimensions.
  std::map<std::vector<std::string>, std::vector<const AnalyticsRow*>> groups;
  for (const auto& r : rows) groups[r.dims].push_back(&r);

  std::vector<int64_t> starts;
  if (bytime) {
    for (int64_t t = bucket_start(*q.time_delta, q.since); t < q.until;
         t = bucket_next(*q.time_delta, t))
      starts.push_back(t);
  }
  struct Group {
    const std::vector<std::string>* dims;
    Sums total;
    std::vector<Sums> series;
  };
  std::vector<Group> out;
  Sums grand;
  for (const auto& [dims, members] : groups) {
    Group g{&dims, {}, std::vector<Sums>(starts.size())};
    for (const AnalyticsRow* r : members) {
      g.total.add(*r);
      grand.add(*r);
      if (bytime) {
        int64_t t = r->minute * 60;
        auto it = std::upper_bound(starts.begin(), starts.end(), t);
        if (it != starts.begin()) g.series[static_cast<size_t>(it - starts.begin() - 1)].add(*r);
      }
    }
    out.push_back(std::move(g));
  }
  // Sort: by the requested keys, else by dimension values (already the map's order).
  auto key_value = [&](const Group& g, const std::string& name) -> std::pair<double, std::string> {
    if (auto m = lookup(kMetrics, name)) return {g.total.value(*m), ""};
    for (size_t i = 0; i < q.dimensions.size(); ++i)
      if (name == dimension_name(q.dimensions[i])) return {0.0, (*g.dims)[i]};
    return {0.0, ""};
  };
  if (!q.sort.empty()) {
    std::stable_sort(out.begin(), out.end(), [&](const Group& a, const Group& b) {
      for (const auto& [name, desc] : q.sort) {
        auto va = key_value(a, name), vb = key_value(b, name);
        if (va == vb) continue;
        return desc ? vb < va : va < vb;
      }
      return false;
    });
  }
  if (out.size() > q.limit) out.resize(q.limit);

  json data = json::array();
  json max = json::object(), min = json::object(), totals = json::object();
  for (Metric m : q.metrics) totals[metric_name(m)] = number(grand.value(m));
  for (const Group& g : out) {
    json metrics = json::array();
    for (Metric m : q.metrics) {
      const char* name = metric_name(m);
      auto note = [&](double v) {
        if (!max.contains(name) || v > max[name].get<double>()) max[name] = number(v);
        if (!min.contains(name) || v < min[name].get<double>()) min[name] = number(v);
      };
      if (bytime) {
        json points = json::array();
        for (const Sums& s : g.series) {
          double v = s.value(m);
          note(v);
          points.push_back(number(v));
        }
        metrics.push_back(points);
      } else {
        double v = g.total.value(m);
        note(v);
        metrics.push_back(number(v));
      }
    }
    data.push_back({{"dimensions", *g.dims}, {"metrics", metrics}});
  }
  json result = {{"data", data},    {"data_lag", data_lag_s},         {"max", max},
                 {"min", min},      {"query", query_echo(q, bytime)}, {"rows", out.size()},
                 {"totals", totals}};
  if (bytime) {
    json intervals = json::array();
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t end = bucket_next(*q.time_delta, starts[i]);
      intervals.push_back({rfc3339(starts[i]), rfc3339(end)});
    }
    result["time_intervals"] = intervals;
  }
  return result;
}

}  // namespace rampart::control
