// Spectrum's analytics query (events/summary and events/bytime): parsing and validation of the
// query parameters, and the shape of the answer. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/analytics_filter.h"
#include "telemetry/app_stats.h"

namespace rampart::control {

enum class Metric {
  kCount,
  kBytesIngress,
  kBytesEgress,
  kDurationAvg,
  kDurationMedian,
  kDuration90th,
  kDuration99th
};

const char* metric_name(Metric m);
const char* dimension_name(Dimension d);

// Analytics time buckets of events/bytime.
enum class TimeDelta { kMinute, kDekaminute, kHour, kDay, kWeek, kMonth, kQuarter, kYear };

struct AnalyticsQuery {
  std::vector<Metric> metrics;
  std::vector<Dimension> dimensions;
  std::string filters_text;             // as given
  FilterExpr filters;                   // OR of ANDs (`,`/` OR `, `;`/` AND `): analytics_filter.h
  int64_t since = 0;                    // unix seconds, inclusive
  int64_t until = 0;                    // unix seconds, exclusive
  std::optional<TimeDelta> time_delta;  // bytime only
  std::vector<std::pair<std::string, bool>> sort;  // (metric or dimension name, descending)
  size_t limit = 10000;
};

inline constexpr size_t kMaxLimit = 10000;
// since/until outside these (unix seconds: 1970-01-01 .. 9999-12-31) are refused with a 400.
inline constexpr int64_t kMinQueryTime = 0;
inline constexpr int64_t kMaxQueryTime = 253402300799;
inline constexpr size_t kMaxIntervals = 2000;

// Parses the query string parameters; false with *error (a sentence naming the parameter).
bool parse_analytics_query(const std::multimap<std::string, std::string>& params, int64_t now_s,
                           bool bytime, AnalyticsQuery* q, std::string* error);

// Start of the bucket holding unix time `t`, and the start of the next one (UTC calendar for
// month, quarter and year).
int64_t bucket_start(TimeDelta d, int64_t t);
int64_t bucket_next(TimeDelta d, int64_t start);

// One group of rollup rows: its dimension values and summed metrics.
struct AnalyticsRow {
  std::vector<std::string> dims;  // in the query's dimension order
  int64_t minute = 0;             // unix minute of the rollup row
  uint64_t count = 0, bytes_ingress = 0, bytes_egress = 0, duration_sum_ms = 0, durations_count = 0;
  std::vector<uint64_t> durations;  // histogram; empty unless a percentile metric is asked
};

// Whether a rollup row with these dimension values passes the query's filters.
bool row_matches(const AnalyticsQuery& q, const std::map<Dimension, std::string>& values);

// Builds Spectrum's `result` object from rollup rows (one per minute and dimension group).
nlohmann::json analytics_result(const AnalyticsQuery& q, const std::vector<AnalyticsRow>& rows,
                                bool bytime, int64_t data_lag_s);

std::string rfc3339(int64_t unix_s);
// RFC 3339 ("2026-11-27T02:00:00Z", offsets and fractions accepted) to unix seconds.
std::optional<int64_t> parse_rfc3339(const std::string& text);

}  // namespace rampart::control
