// Rampart's additions to the analytics history, on a real SQLite file in a temp dir: the status
// of each disconnect (Rollup -> RollupStore -> the `status` dimension), the migration of a
// database written before the status column, and the guard drops per minute (DropDeltas ->
// guard_drops -> drops_bytime) driven by explicit minutes (a manual clock).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <tuple>

#include "analytics_test_util.h"
#include "control/analytics_drops.h"
#include "control/rollup_store.h"
#include "net/ip_addr.h"
#include "telemetry/rollup.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;
using telemetry::EventType;

telemetry::ConnEvent event(EventType type, const char* app, uint16_t status, int64_t minute,
                           uint64_t in = 0, uint64_t out = 0) {
  telemetry::ConnEvent e;
  e.type = type;
  e.status = status;
  telemetry::ConnEvent::copy_text(e.app, sizeof(e.app), app);
  e.client_ip = *net::IpAddr::parse("10.77.1.2");
  e.timestamp_ns = minute * 60 * 1'000'000'000LL;
  e.connect_ns = e.timestamp_ns - 5'000'000;
  e.disconnect_ns = e.timestamp_ns;
  e.client_bytes = in;
  e.origin_bytes = out;
  return e;
}

std::map<std::vector<std::string>, uint64_t> counts(RollupStore& s, const Params& p) {
  std::vector<AnalyticsRow> rows;
  std::string error;
  EXPECT_TRUE(s.query(query(p), &rows, &error)) << error;
  std::map<std::vector<std::string>, uint64_t> out;
  for (const auto& r : rows) out[r.dims] += r.count;
  return out;
}

TEST(RollupStatus, DisconnectsAreKeyedByTheirStatus) {
  TempDir dir;
  std::string error;
  auto s = RollupStore::open(dir.file("analytics.db"), &error);
  ASSERT_TRUE(s) << error;
  telemetry::Rollup r;
  r.add(event(EventType::kConnect, "tcp", 0, kMin - 2));
  r.add(event(EventType::kConnect, "tcp", 0, kMin - 2));
  r.add(event(EventType::kConnect, "tcp", 0, kMin - 2));
  r.add(event(EventType::kDisconnect, "tcp", 200, kMin - 2, 10, 20));
  r.add(event(EventType::kDisconnect, "tcp", 522, kMin - 2, 1, 0));
  r.add(event(EventType::kDisconnect, "tcp", 522, kMin - 1));
  r.add(event(EventType::kDisconnect, "udp", 521, kMin - 1));
  ASSERT_TRUE(s->add(r.take(), "LAB1", &error)) << error;

  using K = std::vector<std::string>;
  using M = std::map<K, uint64_t>;
  EXPECT_EQ(counts(*s, {{"since", "-10"}, {"dimensions", "event,status"}}),
            (M{{K{"connect", "0"}, 3},
               {K{"disconnect", "200"}, 1},
               {K{"disconnect", "521"}, 1},
               {K{"disconnect", "522"}, 2}}));
  // The errors: disconnects with a status other than 200, by app and status.
  EXPECT_EQ(counts(*s, {{"since", "-10"},
                        {"dimensions", "appID,status"},
                        {"filters", "event==disconnect;status!=200"}}),
            (M{{K{"tcp", "522"}, 2}, {K{"udp", "521"}, 1}}));
  // Numeric comparison: 522 > 521 > 200 (and "1000" would not sort as text).
  EXPECT_EQ(counts(*s, {{"since", "-10"}, {"dimensions", "status"}, {"filters", "status>=521"}}),
            (M{{K{"521"}, 1}, {K{"522"}, 2}}));
  // Spectrum's dimensions are unchanged: without status, the statuses are summed.
  EXPECT_EQ(counts(*s, {{"since", "-10"}, {"dimensions", "event"}}),
            (M{{K{"connect"}, 3}, {K{"disconnect"}, 4}}));
}

TEST(RollupStatus, StatusFilterValueIsANumber) {
  AnalyticsQuery q;
  std::string error;
  EXPECT_FALSE(parse_analytics_query({{"filters", "status==abc"}}, kNow, false, &q, &error));
  EXPECT_NE(error.find("status is a number"), std::string::npos) << error;
  EXPECT_FALSE(parse_analytics_query({{"filters", "status==5222"}}, kNow, false, &q, &error));
  EXPECT_TRUE(parse_analytics_query({{"filters", "status==522"}}, kNow, false, &q, &error))
      << error;
  EXPECT_TRUE(parse_analytics_query({{"dimensions", "status"}}, kNow, false, &q, &error)) << error;
}

TEST(RollupStatus, AnOldSchemaDatabaseIsMigratedAndKeepsItsRows) {
  TempDir dir;
  const std::string path = dir.file("analytics.db");
  {
    // The schema before the status column, with one minute of traffic.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string sql =
        "CREATE TABLE rollups (minute INTEGER NOT NULL, app TEXT NOT NULL,"
        " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
        " count INTEGER NOT NULL, bytes_ingress INTEGER NOT NULL, bytes_egress INTEGER NOT NULL,"
        " duration_sum_ms INTEGER NOT NULL, durations_count INTEGER NOT NULL,"
        " PRIMARY KEY (minute, app, event, ip_version, colo)) WITHOUT ROWID;"
        "CREATE TABLE rollup_durations (minute INTEGER NOT NULL, app TEXT NOT NULL,"
        " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
        " bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY (minute, app, event, ip_version, colo, bucket)) WITHOUT ROWID;"
        "INSERT INTO rollups VALUES (" +
        std::to_string(kMin - 3) +
        ", 'tcp', 'disconnect', 4, 'LAB1', 6, 600, 1200, 60, 6);"
        "INSERT INTO rollup_durations VALUES (" +
        std::to_string(kMin - 3) + ", 'tcp', 'disconnect', 4, 'LAB1', " +
        std::to_string(telemetry::duration_bucket(10)) + ", 6);";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  std::string error;
  auto s = RollupStore::open(path, &error);
  ASSERT_TRUE(s) << error;
  // The old rows are kept, with status 0 ("not recorded"), histograms included.
  std::vector<AnalyticsRow> rows;
  ASSERT_TRUE(s->query(query({{"since", "-10"},
                              {"dimensions", "status"},
                              {"metrics", "count,bytesIngress,bytesEgress,durationMedian"}}),
                       &rows, &error))
      << error;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].dims, (std::vector<std::string>{"0"}));
  EXPECT_EQ(rows[0].count, 6u);
  EXPECT_EQ(rows[0].bytes_ingress, 600u);
  EXPECT_EQ(rows[0].bytes_egress, 1200u);
  ASSERT_EQ(rows[0].durations.size(), telemetry::kDurationBuckets);
  EXPECT_EQ(rows[0].durations[telemetry::duration_bucket(10)], 6u);
  // New rows with a status go next to them, in the same minute and key otherwise.
  telemetry::Rollup r;
  r.add(event(EventType::kDisconnect, "tcp", 522, kMin - 3));
  ASSERT_TRUE(s->add(r.take(), "LAB1", &error)) << error;
  using K = std::vector<std::string>;
  EXPECT_EQ(counts(*s, {{"since", "-10"}, {"dimensions", "status"}}),
            (std::map<K, uint64_t>{{K{"0"}, 6}, {K{"522"}, 1}}));
  // Reopening a migrated database changes nothing.
  s.reset();
  s = RollupStore::open(path, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(counts(*s, {{"since", "-10"}, {"dimensions", "status"}}),
            (std::map<K, uint64_t>{{K{"0"}, 6}, {K{"522"}, 1}}));
}

TEST(DropDeltas, CountsWhatChangedSinceTheLastCall) {
  DropDeltas d;
  using V = std::vector<DropDelta>;
  auto flat = [](const V& v) {
    std::vector<std::tuple<std::string, std::string, uint64_t>> out;
    for (const auto& x : v) out.emplace_back(x.app, x.reason, x.count);
    return out;
  };
  using T = std::vector<std::tuple<std::string, std::string, uint64_t>>;
  // First call: from 0 (the counters start with the process).
  EXPECT_EQ(flat(d.take({{"a", "rate", 5}, {"a", "conn_limit", 0}, {"b", "rate", 2}})),
            (T{{"a", "rate", 5}, {"b", "rate", 2}}));
  EXPECT_EQ(flat(d.take({{"a", "rate", 5}, {"a", "conn_limit", 3}, {"b", "rate", 9}})),
            (T{{"a", "conn_limit", 3}, {"b", "rate", 7}}));
  EXPECT_TRUE(d.take({{"a", "rate", 5}, {"a", "conn_limit", 3}, {"b", "rate", 9}}).empty());
  // b was removed and added again: its counter restarted at 0.
  EXPECT_EQ(flat(d.take({{"a", "rate", 6}, {"b", "rate", 4}})),
            (T{{"a", "rate", 1}, {"b", "rate", 4}}));
}

TEST(DropHistory, PerMinuteDeltasAreServedByReasonAndApp) {
  TempDir dir;
  std::string error;
  auto s = RollupStore::open(dir.file("analytics.db"), &error);
  ASSERT_TRUE(s) << error;
  DropDeltas d;
  // A manual clock: the counters as read at three minute boundaries.
  ASSERT_TRUE(
      s->add_drops(kMin - 3, d.take({{"a", "rate", 4}, {"b", "conn_limit", 1}}), "LAB1", &error))
      << error;
  ASSERT_TRUE(
      s->add_drops(kMin - 2, d.take({{"a", "rate", 4}, {"b", "conn_limit", 1}}), "LAB1", &error))
      << error;
  ASSERT_TRUE(
      s->add_drops(kMin - 1, d.take({{"a", "rate", 10}, {"b", "conn_limit", 3}}), "LAB1", &error))
      << error;
  // Another colo's rows for the same minute are summed.
  ASSERT_TRUE(s->add_drops(kMin - 1, {{"a", "rate", 1}}, "LAB2", &error)) << error;

  const std::string since = rfc3339((kMin - 4) * 60), until = rfc3339(kNow);
  Outcome o = drops_bytime(s.get(), {{"since", since}, {"until", until}}, kNow);
  ASSERT_EQ(o.status, 200) << o.result.dump();
  const auto& r = o.result;
  ASSERT_EQ(r["time_intervals"].size(), 4u);
  EXPECT_EQ(r["query"]["time_delta"], "minute");
  EXPECT_EQ(r["total"], 4u + 1u + 6u + 2u + 1u);
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][0]["reason"], "conn_limit");
  EXPECT_EQ(r["data"][0]["series"], nlohmann::json({0, 1, 0, 2}));
  EXPECT_EQ(r["data"][1]["reason"], "rate");
  EXPECT_EQ(r["data"][1]["series"], nlohmann::json({0, 4, 0, 7}));
  EXPECT_EQ(r["data"][1]["total"], 11u);
  EXPECT_EQ(r["apps"], nlohmann::json({"a", "b"}));

  // One app.
  o = drops_bytime(s.get(), {{"since", since}, {"until", until}, {"app", "b"}}, kNow);
  ASSERT_EQ(o.status, 200);
  ASSERT_EQ(o.result["data"].size(), 1u);
  EXPECT_EQ(o.result["total"], 3u);
  // Hour buckets: one.
  o = drops_bytime(s.get(), {{"since", since}, {"until", until}, {"time_delta", "hour"}}, kNow);
  ASSERT_EQ(o.status, 200);
  EXPECT_EQ(o.result["data"][1]["series"], nlohmann::json({11}));
  // Pruned with the rollups.
  EXPECT_GE(s->prune_before(kMin - 1), 2);
  o = drops_bytime(s.get(), {{"since", since}, {"until", until}}, kNow);
  EXPECT_EQ(o.result["total"], 6u + 2u + 1u);
  // Unknown parameters and bad times are refused.
  EXPECT_EQ(drops_bytime(s.get(), {{"metrics", "count"}}, kNow).status, 400);
  EXPECT_EQ(drops_bytime(s.get(), {{"since", "yesterday"}}, kNow).status, 400);
}

// The fleet form of drops/bytime: each edge sends its rows collapsed into the query's buckets
// (one row per bucket, app and reason); the sum of two edges' rows, through JSON, is the answer
// one store holding both edges' drops would give.
TEST(DropsHistory, TwoEdgesRowsThroughJsonSumToOneStoresAnswer) {
  TempDir dir;
  std::string error;
  auto e1 = RollupStore::open(dir.file("e1.db"), &error);
  auto e2 = RollupStore::open(dir.file("e2.db"), &error);
  auto both = RollupStore::open(dir.file("both.db"), &error);
  ASSERT_TRUE(e1 && e2 && both) << error;
  const std::vector<std::tuple<RollupStore*, int64_t, DropDelta>> drops = {
      {e1.get(), kMin - 70, {"a", "rate", 5}},    {e1.get(), kMin - 3, {"a", "rate", 2}},
      {e1.get(), kMin - 2, {"a", "rate", 1}},     {e2.get(), kMin - 2, {"a", "rate", 4}},
      {e2.get(), kMin - 2, {"b", "block_ip", 9}}, {e2.get(), kMin - 200, {"b", "block_ip", 1}},
  };
  for (const auto& [store, minute, d] : drops) {
    ASSERT_TRUE(store->add_drops(minute, {d}, "E", &error)) << error;
    ASSERT_TRUE(both->add_drops(minute, {d}, "E", &error)) << error;
  }
  for (const char* delta : {"minute", "hour"}) {
    DropsQuery dq;
    ASSERT_TRUE(parse_drops_query(
        {{"since", rfc3339((kMin - 120) * 60)}, {"until", rfc3339(kNow)}, {"time_delta", delta}},
        kNow, &dq, &error))
        << error;
    std::vector<DropRow> r1, r2, merged;
    ASSERT_TRUE(local_drops(e1.get(), dq, &r1, &error)) << error;
    ASSERT_TRUE(local_drops(e2.get(), dq, &r2, &error)) << error;
    ASSERT_TRUE(drop_rows_from_json(drop_rows_to_json(r1), &merged, &error)) << error;
    ASSERT_TRUE(
        drop_rows_from_json(nlohmann::json::parse(drop_rows_to_json(r2).dump()), &merged, &error))
        << error;
    std::vector<DropRow> all;
    ASSERT_TRUE(local_drops(both.get(), dq, &all, &error)) << error;
    const nlohmann::json want = drops_result(dq, all), got = drops_result(dq, merged);
    EXPECT_EQ(got, want) << delta;
    EXPECT_EQ(got["total"], 5u + 2u + 1u + 4u + 9u) << delta;  // minute kMin - 200 is before since
  }
  // A peer's answer that is not the rows form is refused whole.
  std::vector<DropRow> rows;
  EXPECT_FALSE(drop_rows_from_json(nlohmann::json::object(), &rows, &error));
  EXPECT_FALSE(
      drop_rows_from_json(nlohmann::json::parse(R"({"rows":[[1,"a","rate",-1]]})"), &rows, &error));
  EXPECT_FALSE(drop_rows_from_json(
      nlohmann::json::parse(R"({"rows":[[1,"a","rate",2],[1,"a",3,2]]})"), &rows, &error));
  EXPECT_TRUE(rows.empty());
}

}  // namespace
}  // namespace rampart::control
