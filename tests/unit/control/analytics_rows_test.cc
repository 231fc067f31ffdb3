// The fleet merge of events/summary and events/bytime (analytics_rows.h): each edge's rows, sent
// as a peer sends them (collapse_rows -> rows_to_json) and read back (rows_from_json), give the
// same answer as one edge holding every row: counts and bytes summed, durationAvg weighted by
// count, percentiles from the summed histograms, sort and limit after the merge. Also the
// checks of a peer's answer.
#include "control/analytics_rows.h"

#include <gtest/gtest.h>

#include "analytics_test_util.h"
#include "telemetry/app_stats.h"

namespace rampart::control {
namespace {

using nlohmann::json;

// A row with `n` closed connections of `ms` each (its histogram filled when `hist`).
AnalyticsRow edge_row(std::vector<std::string> dims, int64_t minute, uint64_t count, uint64_t bytes,
                      uint64_t n = 0, uint64_t ms = 0, bool hist = false) {
  AnalyticsRow r;
  r.dims = std::move(dims);
  r.minute = minute;
  r.count = count;
  r.bytes_ingress = bytes;
  r.bytes_egress = 2 * bytes;
  r.duration_sum_ms = n * ms;
  r.durations_count = n;
  if (hist) {
    r.durations.assign(telemetry::kDurationBuckets, 0);
    r.durations[telemetry::duration_bucket(ms)] += n;
  }
  return r;
}

// What the asking edge builds from the edges' rows, each through the peer's wire form.
json merged(const AnalyticsQuery& q, const std::vector<std::vector<AnalyticsRow>>& edges,
            bool bytime) {
  std::vector<AnalyticsRow> rows;
  int64_t lag = 0;
  for (const auto& e : edges) {
    json wire = json::parse(rows_to_json(collapse_rows(q, e, bytime), 1).dump());
    std::string error;
    EXPECT_TRUE(rows_from_json(wire, q.dimensions.size(), &rows, &lag, &error)) << error;
  }
  EXPECT_EQ(lag, 1);
  return analytics_result(q, rows, bytime, lag);
}

// One edge holding every row (the reference).
json together(const AnalyticsQuery& q, const std::vector<std::vector<AnalyticsRow>>& edges,
              bool bytime) {
  std::vector<AnalyticsRow> all;
  for (const auto& e : edges) all.insert(all.end(), e.begin(), e.end());
  return analytics_result(q, all, bytime, 1);
}

TEST(AnalyticsRowsMerge, SummarySumsCountsWeightsAveragesAndMergesHistograms) {
  AnalyticsQuery q =
      query({{"metrics", "count,bytesIngress,durationAvg,durationMedian,duration90th"},
             {"dimensions", "appID"},
             {"since", "-30"}},
            false);
  // Edge A: 9 connections of 100 ms; edge B: 1 connection of 10 s. Averaging the two edges'
  // averages would say 5050 ms; weighted by count it is (900 + 10000) / 10 = 1090 ms.
  std::vector<AnalyticsRow> a = {edge_row({"x"}, kMin - 20, 9, 100, 9, 100, true),
                                 edge_row({"x"}, kMin - 3, 0, 50)};
  std::vector<AnalyticsRow> b = {edge_row({"x"}, kMin - 10, 1, 7, 1, 10000, true),
                                 edge_row({"y"}, kMin - 10, 4, 1)};
  json r = merged(q, {a, b}, false);
  EXPECT_EQ(r, together(q, {a, b}, false));
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"x"}));
  const json& m = r["data"][0]["metrics"];
  EXPECT_EQ(m[0], 10);
  EXPECT_EQ(m[1], 157);
  EXPECT_DOUBLE_EQ(m[2].get<double>(), 1090.0);
  // The median is among the 100 ms connections, the 90th percentile at the 10 s one's bucket
  // edge: both from the summed histogram (a median of medians would be meaningless).
  EXPECT_LT(m[3].get<double>(), 150.0);
  EXPECT_GT(m[4].get<double>(), 100.0);
  EXPECT_EQ(r["totals"]["count"], 14);
}

TEST(AnalyticsRowsMerge, SortAndLimitApplyAfterTheMerge) {
  AnalyticsQuery q =
      query({{"dimensions", "appID"}, {"sort", "-count"}, {"limit", "1"}, {"since", "-30"}}, false);
  // Each edge's own top is "x" (10 and 10) ... but "y" has 6 + 6 + 9 = 21 > 20 on the fleet.
  std::vector<AnalyticsRow> a = {edge_row({"x"}, kMin - 5, 10, 0), edge_row({"y"}, kMin - 5, 6, 0)};
  std::vector<AnalyticsRow> b = {edge_row({"x"}, kMin - 5, 10, 0), edge_row({"y"}, kMin - 4, 6, 0),
                                 edge_row({"y"}, kMin - 2, 9, 0)};
  json r = merged(q, {a, b}, false);
  ASSERT_EQ(r["data"].size(), 1u);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"y"}));
  EXPECT_EQ(r["data"][0]["metrics"][0], 21);
  EXPECT_EQ(r["totals"]["count"], 41);  // the totals count every group, as on one edge
  EXPECT_EQ(r, together(q, {a, b}, false));
}

TEST(AnalyticsRowsMerge, BytimeBucketsMatchOneEdgeHoldingEveryRow) {
  AnalyticsQuery q = query({{"metrics", "count,durationAvg,duration99th"},
                            {"dimensions", "coloName"},
                            {"since", "-60"},
                            {"time_delta", "dekaminute"}},
                           true);
  std::vector<AnalyticsRow> a = {edge_row({"E1"}, kMin - 59, 2, 0, 2, 30, true),
                                 edge_row({"E1"}, kMin - 55, 3, 0, 3, 40, true),
                                 edge_row({"E1"}, kMin - 1, 1, 0, 1, 5000, true)};
  std::vector<AnalyticsRow> b = {edge_row({"E2"}, kMin - 58, 5, 0, 5, 20, true),
                                 edge_row({"E1"}, kMin - 51, 1, 0, 1, 700, true)};
  // A peer sends one row per group and bucket, not one per minute.
  EXPECT_EQ(collapse_rows(q, a, true).size(), 2u);
  json r = merged(q, {a, b}, true);
  EXPECT_EQ(r, together(q, {a, b}, true));
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"E1"}));
  EXPECT_EQ(r["data"][0]["metrics"][0], json({6, 0, 0, 0, 0, 1}));
  EXPECT_EQ(r["time_intervals"].size(), 6u);
}

TEST(AnalyticsRowsMerge, APeersAnswerIsChecked) {
  std::vector<AnalyticsRow> rows;
  int64_t lag = 0;
  std::string error;
  auto bad = [&](const json& j, size_t dims = 1) {
    error.clear();
    return !rows_from_json(j, dims, &rows, &lag, &error) && !error.empty();
  };
  auto j = [](const char* text) { return json::parse(text); };
  EXPECT_TRUE(bad(j("[]")));
  EXPECT_TRUE(bad(j(R"({"rows": 3})")));
  EXPECT_TRUE(bad(j(R"({"rows": [[["x"], 1, 2, 3, 4, 5]]})")));                 // too short
  EXPECT_TRUE(bad(j(R"({"rows": [[["x", "y"], 1, 2, 3, 4, 5, 6, []]]})")));     // dims
  EXPECT_TRUE(bad(j(R"({"rows": [[[7], 1, 2, 3, 4, 5, 6, []]]})")));            // not a string
  EXPECT_TRUE(bad(j(R"({"rows": [[["x"], 1, -2, 3, 4, 5, 6, []]]})")));         // negative
  EXPECT_TRUE(bad(j(R"({"rows": [[["x"], 1, 2, 3, 4, 5, 6, [[160, 1]]]]})")));  // bucket
  EXPECT_TRUE(bad(j(R"({"rows": [], "data_lag": "1"})")));
  // A bad row anywhere refuses the whole answer: nothing of it is kept.
  EXPECT_TRUE(
      bad(j(R"({"rows": [[["x"], 1, 2, 3, 4, 5, 6, []], [["x"], 1, 2.5, 3, 4, 5, 6, []]]})")));
  EXPECT_TRUE(rows.empty());
  EXPECT_TRUE(
      rows_from_json(j(R"({"rows": [[["x"], 1, 2, 3, 4, 5, 6, [[159, 6]]]], "data_lag": 2})"), 1,
                     &rows, &lag, &error))
      << error;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].durations.size(), telemetry::kDurationBuckets);
  EXPECT_EQ(rows[0].durations[159], 6u);
  EXPECT_EQ(lag, 2);
}

}  // namespace
}  // namespace rampart::control
