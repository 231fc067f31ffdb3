// The fleet form of events/summary and events/bytime (docs/fleet.md "Analytics across the
// fleet"): a peer asked with `scope=local&format=rows` answers with its store's rollup rows for
// the query (after its filters, projected on the query's dimensions), each with its duration
// histogram when a percentile is asked, instead of the finished result. The asking edge puts every
// edge's rows together and builds the answer once (analytics_result): counts and bytes sum,
// durationAvg is the summed durations over the summed closed connections (an average weighted by
// count), the percentiles come from the summed histograms (exact to the histogram's buckets, as on
// one edge), and sort and limit apply to the merged groups. Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/analytics_query.h"

namespace rampart::control {

// Rows with the same dimensions and bucket summed into one: for a summary every minute of a group
// (minute 0), for bytime every minute of one time_delta bucket (the bucket's first minute). What
// a peer sends: as many rows as the answer has groups (times buckets), not one per minute.
std::vector<AnalyticsRow> collapse_rows(const AnalyticsQuery& q,
                                        const std::vector<AnalyticsRow>& rows, bool bytime);

// {"rows": [[dims, minute, count, bytesIngress, bytesEgress, durationSumMs, durationsCount,
// [[bucket, n], ...]], ...], "data_lag": N}: the histogram sparse (only non-zero buckets).
nlohmann::json rows_to_json(const std::vector<AnalyticsRow>& rows, int64_t data_lag_s);

// The inverse, checked: false with *error when `j` is not that shape, a row's dimensions are not
// `dimensions` strings, or a bucket is out of range (and *rows untouched). Appends to *rows;
// *data_lag_s is the larger of its value and the answer's.
bool rows_from_json(const nlohmann::json& j, size_t dimensions, std::vector<AnalyticsRow>* rows,
                    int64_t* data_lag_s, std::string* error);

}  // namespace rampart::control
