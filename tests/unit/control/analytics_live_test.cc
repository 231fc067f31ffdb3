// LiveSeries (control/analytics_live.h) against a real StatsRegistry, ticked by hand: the last
// minute's deltas that aggregate/current reports include the traffic of an app's first second
// (issue #13: it was the series' baseline and never counted), and later traffic as before.
#include "control/analytics_live.h"

#include <gtest/gtest.h>

#include "telemetry/stats_registry.h"

namespace rampart::control {
namespace {

constexpr int64_t kT0 = 1'795'744'800'000;  // a tick on a second boundary

TEST(LiveSeries, FirstSecondOfANewAppCounts) {
  telemetry::StatsRegistry reg(1);
  LiveSeries live(nullptr);
  live.sample(&reg, kT0);  // the edge runs; the app does not exist yet
  // The app is created and moves bytes, and a connection opens and closes, before the next
  // tick: the sampler first sees it with these counters already set.
  telemetry::StatsSlot& s = reg.get("new-app")->slot(0);
  s.opened.add(2);
  s.closed.add(1);
  s.bytes_ingress.add(1000);
  s.bytes_egress.add(3000);
  s.duration_sum_ms.add(40);
  live.sample(&reg, kT0 + 1000);
  auto w = live.last_minute("new-app");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->now.bytes_ingress - w->then.bytes_ingress, 1000u);
  EXPECT_EQ(w->now.bytes_egress - w->then.bytes_egress, 3000u);
  EXPECT_EQ(w->now.closed - w->then.closed, 1u);
  EXPECT_EQ(w->now.active, 1u);  // one still open
  EXPECT_EQ(w->then.t_ms, kT0);  // the baseline is the previous tick, when it did not exist
  // Later ticks keep counting from that zero baseline within the minute.
  s.bytes_ingress.add(500);
  live.sample(&reg, kT0 + 2000);
  w = live.last_minute("new-app");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->now.bytes_ingress - w->then.bytes_ingress, 1500u);
  // A minute on, the first second's traffic has left the window.
  for (int64_t t = 3; t <= 62; ++t) live.sample(&reg, kT0 + t * 1000);
  w = live.last_minute("new-app");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->now.bytes_ingress - w->then.bytes_ingress, 0u);
}

TEST(LiveSeries, AppPresentAtTheFirstTickCountsFromZero) {
  telemetry::StatsRegistry reg(2);
  reg.get("a")->slot(1).bytes_egress.add(77);  // before the sampler's first tick ever
  LiveSeries live(nullptr);
  live.sample(&reg, kT0);
  auto w = live.last_minute("a");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->now.bytes_egress - w->then.bytes_egress, 77u);
  EXPECT_FALSE(live.last_minute("unknown").has_value());
}

}  // namespace
}  // namespace rampart::control
