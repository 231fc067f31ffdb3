// RollupStore on a real SQLite file in a temp dir: upserts that sum, queries with filters and
// dimensions, minute bounds, duration histograms for percentiles, pruning, reopening.
#include "control/rollup_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "analytics_test_util.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using nlohmann::json;
using telemetry::EventType;
using telemetry::RollupKey;
using telemetry::RollupValue;
using Rows = std::vector<std::pair<RollupKey, RollupValue>>;

using rampart::testing::TempDir;

std::pair<RollupKey, RollupValue> entry(int64_t minute, const std::string& app, EventType ev,
                                        uint8_t ipv, uint64_t count, uint64_t in = 0,
                                        uint64_t out = 0) {
  RollupKey k;
  k.minute = minute;
  k.app = app;
  k.event = ev;
  k.ip_version = ipv;
  RollupValue v;
  v.count = count;
  v.bytes_ingress = in;
  v.bytes_egress = out;
  return {k, v};
}

// A disconnect row with `n` connections of `ms` milliseconds each.
std::pair<RollupKey, RollupValue> closed(int64_t minute, const std::string& app, uint64_t n,
                                         uint64_t ms, uint64_t in, uint64_t out) {
  auto e = entry(minute, app, EventType::kDisconnect, 4, n, in, out);
  e.second.duration_sum_ms = n * ms;
  e.second.durations_count = n;
  e.second.durations[telemetry::duration_bucket(ms)] = static_cast<uint32_t>(n);
  return e;
}

std::vector<AnalyticsRow> run(RollupStore& s, const AnalyticsQuery& q) {
  std::vector<AnalyticsRow> rows;
  std::string error;
  EXPECT_TRUE(s.query(q, &rows, &error)) << error;
  return rows;
}

std::unique_ptr<RollupStore> open_store(const TempDir& dir) {
  std::string error;
  auto s = RollupStore::open(dir.file("analytics.db"), &error);
  EXPECT_TRUE(s) << error;
  return s;
}

TEST(RollupStore, AddTwiceSumsEveryColumn) {
  TempDir dir;
  auto s = open_store(dir);
  ASSERT_TRUE(s);
  std::string error;
  ASSERT_TRUE(s->add({closed(kMin - 2, "a", 3, 100, 300, 600)}, "LAB1", &error)) << error;
  ASSERT_TRUE(s->add({closed(kMin - 2, "a", 2, 100, 40, 50), closed(kMin - 2, "b", 1, 5, 1, 2)},
                     "LAB1", &error))
      << error;
  auto rows = run(*s, query({{"dimensions", "appID"},
                             {"since", "-10"},
                             {"metrics", "count,bytesIngress,bytesEgress,duration90th"}}));
  ASSERT_EQ(rows.size(), 2u);
  const AnalyticsRow& a = rows[0];
  EXPECT_EQ(a.dims, (std::vector<std::string>{"a"}));
  EXPECT_EQ(a.minute, kMin - 2);
  EXPECT_EQ(a.count, 5u);
  EXPECT_EQ(a.bytes_ingress, 340u);
  EXPECT_EQ(a.bytes_egress, 650u);
  EXPECT_EQ(a.duration_sum_ms, 500u);
  EXPECT_EQ(a.durations_count, 5u);
  ASSERT_EQ(a.durations.size(), telemetry::kDurationBuckets);
  EXPECT_EQ(a.durations[telemetry::duration_bucket(100)], 5u);  // histogram buckets sum too
  EXPECT_EQ(rows[1].dims, (std::vector<std::string>{"b"}));
  EXPECT_EQ(rows[1].count, 1u);
}

TEST(RollupStore, EmptyAddIsANoOp) {
  TempDir dir;
  auto s = open_store(dir);
  ASSERT_TRUE(s);
  std::string error;
  EXPECT_TRUE(s->add({}, "LAB1", &error)) << error;
  EXPECT_TRUE(run(*s, query({})).empty());
}

class RollupStoreQuery : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = open_store(dir_);
    ASSERT_TRUE(s_);
    std::string error;
    Rows rows = {
        entry(kMin - 3, "tcp", EventType::kConnect, 4, 10),
        entry(kMin - 3, "tcp", EventType::kDisconnect, 4, 10, 1000, 2000),
        entry(kMin - 2, "tcp", EventType::kConnect, 6, 1),
        entry(kMin - 1, "tcp", EventType::kDisconnect, 6, 1, 7, 9),
        entry(kMin - 2, "udp", EventType::kConnect, 4, 4),
        entry(kMin - 1, "udp", EventType::kDisconnect, 4, 4, 400, 800),
        entry(kMin - 1, "tcp", EventType::kClientFiltered, 4, 7),
    };
    ASSERT_TRUE(s_->add(rows, "LAB1", &error)) << error;
    // The same key under another colo is another row.
    ASSERT_TRUE(s_->add({entry(kMin - 1, "udp", EventType::kConnect, 4, 2)}, "LAB2", &error))
        << error;
  }
  // count by the given dimension values, summed over minutes.
  std::map<std::vector<std::string>, uint64_t> counts(
      const std::multimap<std::string, std::string>& p) {
    std::map<std::vector<std::string>, uint64_t> out;
    for (const auto& r : run(*s_, query(p))) out[r.dims] += r.count;
    return out;
  }

  TempDir dir_;
  std::unique_ptr<RollupStore> s_;
};

TEST_F(RollupStoreQuery, OneRowPerMinuteAndGroup) {
  auto rows = run(*s_, query({{"dimensions", "event"}, {"since", "-10"}}));
  // minute -3: connect, disconnect; -2: connect (tcp v6 + udp merged); -1: disconnect,
  // clientFiltered, connect (LAB2).
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& r : rows) {
    if (r.minute == kMin - 2) {
      EXPECT_EQ(r.dims, (std::vector<std::string>{"connect"}));
      EXPECT_EQ(r.count, 5u);
    }
    if (r.minute == kMin - 1 && r.dims[0] == "disconnect") {
      EXPECT_EQ(r.count, 5u);
      EXPECT_EQ(r.bytes_ingress, 407u);
      EXPECT_EQ(r.bytes_egress, 809u);
    }
  }
}

TEST_F(RollupStoreQuery, Dimensions) {
  EXPECT_EQ(counts({{"dimensions", "appID,event"}}),
            (std::map<std::vector<std::string>, uint64_t>{{{"tcp", "clientFiltered"}, 7},
                                                          {{"tcp", "connect"}, 11},
                                                          {{"tcp", "disconnect"}, 11},
                                                          {{"udp", "connect"}, 6},
                                                          {{"udp", "disconnect"}, 4}}));
  EXPECT_EQ(counts({{"dimensions", "ipVersion"}}),
            (std::map<std::vector<std::string>, uint64_t>{{{"4"}, 37}, {{"6"}, 2}}));
  EXPECT_EQ(counts({{"dimensions", "coloName"}}),
            (std::map<std::vector<std::string>, uint64_t>{{{"LAB1"}, 37}, {{"LAB2"}, 2}}));
  EXPECT_EQ(counts({}), (std::map<std::vector<std::string>, uint64_t>{{{}, 39}}));
}

TEST_F(RollupStoreQuery, Filters) {
  using Counts = std::map<std::vector<std::string>, uint64_t>;
  EXPECT_EQ(counts({{"dimensions", "appID"}, {"filters", "event==disconnect;appID==tcp"}}),
            (Counts{{{"tcp"}, 11}}));
  EXPECT_EQ(counts({{"dimensions", "appID"}, {"filters", "event==clientFiltered,appID==udp"}}),
            (Counts{{{"tcp"}, 7}, {{"udp"}, 10}}));
  EXPECT_EQ(counts({{"dimensions", "appID"}, {"filters", "ipVersion==6"}}), (Counts{{{"tcp"}, 2}}));
  EXPECT_EQ(counts({{"filters", "ipVersion!=6;coloName==LAB1"}}), (Counts{{{}, 35}}));
  EXPECT_EQ(counts({{"filters", "appID==nope"}}), Counts{});
}

TEST_F(RollupStoreQuery, MinuteBounds) {
  // [since, until) in whole minutes: until at the start of minute -1 leaves it out.
  auto q = query({{"since", "-3"}, {"until", "-1"}});
  uint64_t n = 0;
  for (const auto& r : run(*s_, q)) {
    EXPECT_GE(r.minute, kMin - 3);
    EXPECT_LT(r.minute, kMin - 1);
    n += r.count;
  }
  EXPECT_EQ(n, 25u);
  // A `since` inside a minute keeps that minute; an `until` inside a minute keeps it too.
  AnalyticsQuery inside = query({});
  inside.since = (kMin - 3) * 60 + 30;
  inside.until = (kMin - 2) * 60 + 1;
  n = 0;
  for (const auto& r : run(*s_, inside)) n += r.count;
  EXPECT_EQ(n, 25u);
  // Before all rows.
  EXPECT_TRUE(run(*s_, query({{"since", "-100"}, {"until", "-50"}})).empty());
}

TEST_F(RollupStoreQuery, NoHistogramsUnlessAPercentileIsAsked) {
  for (const auto& r : run(*s_, query({{"metrics", "count,durationAvg"}})))
    EXPECT_TRUE(r.durations.empty());
}

TEST_F(RollupStoreQuery, ResultThroughAnalyticsResult) {
  AnalyticsQuery q = query(
      {{"dimensions", "appID,event"}, {"filters", "event==disconnect"}, {"sort", "-bytesIngress"}});
  auto rows = run(*s_, q);
  json r = analytics_result(q, rows, false, 0);
  ASSERT_EQ(r["rows"], 2);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"tcp", "disconnect"}));
  EXPECT_EQ(r["data"][0]["metrics"], json({11, 1007, 2009}));
  EXPECT_EQ(r["data"][1]["dimensions"], json({"udp", "disconnect"}));
  EXPECT_EQ(r["data"][1]["metrics"], json({4, 400, 800}));
  EXPECT_EQ(r["totals"], json({{"count", 15}, {"bytesIngress", 1407}, {"bytesEgress", 2809}}));
}

TEST(RollupStore, PercentilesFromStoredHistograms) {
  TempDir dir;
  auto s = open_store(dir);
  ASSERT_TRUE(s);
  std::string error;
  // 90 connections of 10 ms and 10 of 5000 ms, spread over two minutes and two adds.
  ASSERT_TRUE(s->add({closed(kMin - 2, "a", 50, 10, 0, 0), closed(kMin - 2, "a", 5, 5000, 0, 0)},
                     "LAB1", &error))
      << error;
  ASSERT_TRUE(s->add({closed(kMin - 1, "a", 40, 10, 0, 0), closed(kMin - 1, "a", 5, 5000, 0, 0)},
                     "LAB1", &error))
      << error;
  AnalyticsQuery q =
      query({{"metrics", "count,durationAvg,durationMedian,duration90th,duration99th"}});
  auto rows = run(*s, q);
  ASSERT_EQ(rows.size(), 2u);
  json r = analytics_result(q, rows, false, 0);
  const json& m = r["data"][0]["metrics"];
  EXPECT_EQ(m[0], 100);
  EXPECT_EQ(m[1].get<double>(), (90 * 10 + 10 * 5000) / 100.0);
  auto within = [](double v, uint64_t ms) {
    size_t b = telemetry::duration_bucket(ms);
    return v >= std::floor(telemetry::duration_bucket_low(b)) &&
           v <= std::ceil(telemetry::duration_bucket_high(b));
  };
  EXPECT_TRUE(within(m[2].get<double>(), 10)) << m;
  EXPECT_TRUE(within(m[3].get<double>(), 10)) << m;  // the 90th is the last 10 ms one
  EXPECT_TRUE(within(m[4].get<double>(), 5000)) << m;
}

TEST(RollupStore, PruneBeforeAMinute) {
  TempDir dir;
  auto s = open_store(dir);
  ASSERT_TRUE(s);
  std::string error;
  ASSERT_TRUE(
      s->add({closed(kMin - 100, "a", 1, 10, 1, 1), closed(kMin - 50, "a", 1, 10, 2, 2),
              entry(kMin - 50, "a", EventType::kConnect, 4, 1), closed(kMin - 1, "a", 1, 10, 3, 3)},
             "LAB1", &error))
      << error;
  // Rows and histogram buckets older than minute -50: one rollup row and one bucket row.
  EXPECT_EQ(s->prune_before(kMin - 50), 2);
  EXPECT_EQ(s->prune_before(kMin - 50), 0);
  auto rows = run(*s, query({{"since", "-200"}, {"metrics", "count,bytesIngress,duration99th"}}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].minute, kMin - 50);
  EXPECT_EQ(rows[0].count, 2u);
  EXPECT_EQ(rows[0].bytes_ingress, 2u);
  EXPECT_EQ(rows[1].minute, kMin - 1);
  EXPECT_EQ(s->prune_before(kMin), 5);  // 3 rollup rows + 2 bucket rows
  EXPECT_TRUE(run(*s, query({{"since", "-200"}})).empty());
}

TEST(RollupStore, SurvivesReopen) {
  TempDir dir;
  std::string error;
  {
    auto s = open_store(dir);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->add({closed(kMin - 1, "a", 2, 10, 5, 6)}, "LAB1", &error)) << error;
  }
  auto s = open_store(dir);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->add({closed(kMin - 1, "a", 1, 10, 1, 1)}, "LAB1", &error)) << error;
  auto rows = run(*s, query({}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 3u);
  EXPECT_EQ(rows[0].bytes_ingress, 6u);
  EXPECT_EQ(rows[0].bytes_egress, 7u);
}

TEST(RollupStore, OpenFailsWithAMessage) {
  std::string error;
  auto s = RollupStore::open("/nonexistent-dir/x/analytics.db", &error);
  EXPECT_FALSE(s);
  EXPECT_NE(error.find("/nonexistent-dir/x/analytics.db"), std::string::npos) << error;
}

}  // namespace
}  // namespace rampart::control
