// Counters declared once (telemetry/stat_decl.h, RAMPART_APP_STATS, RAMPART_EVENT_TYPES): a
// list makes the struct's fields and the table /metrics walks; the table reads the field the
// struct's code writes. (The TCP and UDP worker tables: tests/unit/edge/stat_tables_test.cc.)
#include "telemetry/stat_decl.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "telemetry/app_stats.h"

namespace rampart::telemetry {
namespace {

#define TEST_STATS(FAMILY, COUNTER)                             \
  FAMILY("rampart_test_a_total", "Help of a.")                  \
  COUNTER(a_one, "kind", "one") /* a comment inside the list */ \
  COUNTER(a_two, "kind", "two")                                 \
  FAMILY("rampart_test_b_total", "Help of b.")                  \
  COUNTER(b, nullptr, nullptr)

struct TestCounters {
  RAMPART_STAT_FIELDS(TEST_STATS)
};
RAMPART_STAT_TABLE(TestCounters, kTestStats, TEST_STATS);

TEST(StatDecl, ListMakesFieldsAndTable) {
  static_assert(kTestStats.size() == 5);
  static_assert(sizeof(TestCounters) == 3 * sizeof(Counter));
  TestCounters c;
  c.a_two.add(7);
  ++c.b;
  EXPECT_STREQ(kTestStats[0].name, "rampart_test_a_total");
  EXPECT_STREQ(kTestStats[0].help, "Help of a.");
  EXPECT_TRUE(kTestStats[0].is_family());
  EXPECT_FALSE(kTestStats[1].is_family());
  EXPECT_STREQ(kTestStats[1].label, "kind");
  EXPECT_STREQ(kTestStats[1].value, "one");
  EXPECT_EQ((c.*kTestStats[1].field).get(), 0u);
  EXPECT_EQ((c.*kTestStats[2].field).get(), 7u);
  EXPECT_STREQ(kTestStats[3].name, "rampart_test_b_total");
  EXPECT_EQ(kTestStats[4].label, nullptr);
  EXPECT_EQ((c.*kTestStats[4].field).get(), 1u);
}

TEST(StatDecl, AppStatsTableCoversTheScalarCounters) {
  AppStats stats("app", 2);
  // Each declared counter, set to a distinct value on each worker, sums into its total.
  uint64_t v = 1;
#define RAMPART_SET(field, name, labels, help) \
  stats.slot(0).field.add(v);                  \
  stats.slot(1).field.add(10 * v);             \
  ++v;
  RAMPART_APP_STATS(RAMPART_SET)
#undef RAMPART_SET
  const StatsTotals t = stats.totals();
  std::set<std::string> names;
  v = 1;
  for (const AppStatDecl& d : kAppStats) {
    EXPECT_EQ(t.*d.total, 11 * v) << (d.name ? d.name : "(unexported)");
    ++v;
    if (d.name == nullptr) continue;
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_TRUE(std::string_view(d.name).ends_with("_total")) << d.name;
  }
  EXPECT_EQ(t.opened, 11u);   // the first row: opened
  EXPECT_EQ(t.active(), 0u);  // opened 11, closed 22
}

TEST(StatDecl, EventTypesTiedToTheEnum) {
  EXPECT_EQ(kEventTypes, static_cast<size_t>(EventType::kProgress) + 1);
  std::set<std::string> names;
  for (size_t i = 0; i < kEventTypes; ++i)
    EXPECT_TRUE(names.insert(to_string(static_cast<EventType>(i))).second);
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_STREQ(to_string(EventType::kConnect), "connect");
  EXPECT_STREQ(to_string(EventType::kClientFiltered), "clientFiltered");
  EXPECT_STREQ(to_string(EventType::kProgress), "progress");
  EXPECT_STREQ(to_string(static_cast<EventType>(kEventTypes)), "unknown");
}

TEST(StatDecl, StatusTableHoldsEveryStatus) {
  for (uint16_t code : {status::kNormal, status::kDenied, status::kOriginConnectTimeout,
                        status::kOriginTlsCertificate, status::kUnknown})
    EXPECT_EQ(status_of_slot(status_slot(code)), code);
  EXPECT_EQ(status_slot(status::kOpened), 1u);
  EXPECT_EQ(status_slot(1234), 0u);
  EXPECT_EQ(kProbeKinds.size(), StatsTotals{}.probes.size());
}

}  // namespace
}  // namespace rampart::telemetry
