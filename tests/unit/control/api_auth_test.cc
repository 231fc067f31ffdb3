// AuthThrottle: free failures, doubling waits up to the cap, per-source keys (IPv6 by /64),
// success and quiet time forgiving, a bounded table; RateLimitedLog's budget.
#include "control/api_auth.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::ip;

TEST(AuthThrottle, FreeFailuresThenDoublingWaitsUpToTheCap) {
  AuthThrottle t({/*free_failures=*/3, /*first_wait_ms=*/1000, /*max_wait_ms=*/8000,
                  /*forget_ms=*/60000, /*max_sources=*/16});
  const auto a = ip("192.0.2.1");
  int64_t now = 1'000'000;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.failed(a, now), 0);
  EXPECT_EQ(t.wait_ms(a, now), 0);
  EXPECT_EQ(t.failed(a, now), 1000);
  EXPECT_EQ(t.wait_ms(a, now + 400), 600);
  EXPECT_EQ(t.wait_ms(a, now + 1000), 0);
  EXPECT_EQ(t.failed(a, now += 1000), 2000);
  EXPECT_EQ(t.failed(a, now += 2000), 4000);
  EXPECT_EQ(t.failed(a, now += 4000), 8000);
  EXPECT_EQ(t.failed(a, now += 8000), 8000);      // capped
  EXPECT_EQ(t.wait_ms(ip("192.0.2.2"), now), 0);  // another source is not affected
  t.succeeded(a);
  EXPECT_EQ(t.wait_ms(a, now), 0);
  EXPECT_EQ(t.failed(a, now), 0);
}

TEST(AuthThrottle, QuietSourcesStartOver) {
  AuthThrottle t({1, 1000, 8000, 60000, 16});
  const auto a = ip("192.0.2.1");
  EXPECT_EQ(t.failed(a, 0), 0);
  EXPECT_EQ(t.failed(a, 10), 1000);
  EXPECT_EQ(t.failed(a, 70'010), 0);  // a minute without failures: forgotten
}

TEST(AuthThrottle, Ipv6SourcesAreTheirSlash64) {
  AuthThrottle t({1, 1000, 8000, 60000, 16});
  EXPECT_EQ(t.failed(ip("2001:db8:1:2::1"), 0), 0);
  EXPECT_EQ(t.failed(ip("2001:db8:1:2:ffff::9"), 0), 1000);  // same /64
  EXPECT_EQ(t.wait_ms(ip("2001:db8:1:3::1"), 0), 0);
  EXPECT_EQ(AuthThrottle::key_of(ip("::ffff:192.0.2.1")), AuthThrottle::key_of(ip("192.0.2.1")));
}

TEST(AuthThrottle, TableIsBoundedAndAnUnblockedSourceMakesRoom) {
  AuthThrottle t({1, 1000, 8000, 60000, 4});
  for (int i = 0; i < 100; ++i) t.failed(ip(("198.51.100." + std::to_string(i)).c_str()), i);
  EXPECT_EQ(t.size(), 4u);  // none blocked (one free failure each): the stalest made room
  EXPECT_EQ(t.overflow_failures(), 0u);
  EXPECT_EQ(t.failed(ip("198.51.100.99"), 100), 1000);  // the newest are kept
  EXPECT_EQ(t.failed(ip("198.51.100.0"), 100), 0);      // the stalest were forgotten
}

// Rotating more sources than the table holds must not lift the blocks of the ones in it.
TEST(AuthThrottle, BlockedSourcesAreNeverEvictedTheRestShareTheOverflow) {
  AuthThrottle t({0, 1000, 8000, 60000, 4});
  auto src = [](int i) { return ip(("198.51.100." + std::to_string(i)).c_str()); };
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.failed(src(i), 0), 1000);  // blocked until 1000
  // 100 more sources, each failing once: the table is full of blocked ones, so they share one
  // backoff (the first waits 1 s, then doubling up to the cap) and no block is forgotten.
  int64_t last_wait = 0;
  for (int i = 4; i < 104; ++i) last_wait = t.failed(src(i), 10);
  EXPECT_EQ(last_wait, 8000);
  EXPECT_EQ(t.overflow_failures(), 100u);
  EXPECT_EQ(t.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.wait_ms(src(i), 10), 990) << i;
  EXPECT_EQ(t.wait_ms(src(200), 10), 8000);  // a source never seen: the overflow's wait
  // The table's blocks end: a new source takes an unblocked one's place and has its own count.
  EXPECT_EQ(t.wait_ms(src(200), 1000), 0);
  EXPECT_EQ(t.failed(src(200), 1000), 1000);
  EXPECT_EQ(t.overflow_failures(), 100u);
  EXPECT_EQ(t.size(), 4u);
}

TEST(ShortHash, NamesWithoutRevealing) {
  EXPECT_EQ(short_hash("abc"), "ba7816bf");  // SHA-256("abc") starts so
  EXPECT_EQ(short_hash("abc").size(), 8u);
  EXPECT_NE(short_hash("abd"), short_hash("abc"));
}

}  // namespace
}  // namespace rampart::control
