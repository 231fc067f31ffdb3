// FdBudget: the counters shared by every worker behind each descriptor budget.
#include "core/fd_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace rampart::core {
namespace {

TEST(FdBudget, TryAcquireStopsAtTheLimitAndLimitsCanChange) {
  FdBudget b;
  EXPECT_FALSE(b.try_acquire(FdBudget::kTcpSessions));  // no limit set: nothing
  b.set_limit(FdBudget::kTcpSessions, 2);
  EXPECT_TRUE(b.try_acquire(FdBudget::kTcpSessions));
  EXPECT_TRUE(b.try_acquire(FdBudget::kTcpSessions));
  EXPECT_FALSE(b.try_acquire(FdBudget::kTcpSessions));
  EXPECT_EQ(b.in_use(FdBudget::kTcpSessions), 2u);
  // A lower limit closes nothing: new units wait until use is below it.
  b.set_limit(FdBudget::kTcpSessions, 1);
  b.release(FdBudget::kTcpSessions);
  EXPECT_FALSE(b.try_acquire(FdBudget::kTcpSessions));
  b.release(FdBudget::kTcpSessions);
  EXPECT_TRUE(b.try_acquire(FdBudget::kTcpSessions));
  // acquire() counts whatever the limit (the caller enforces its own share); kinds are apart.
  b.acquire(FdBudget::kUdpUnconfirmed);
  b.acquire(FdBudget::kUdpUnconfirmed);
  EXPECT_EQ(b.in_use(FdBudget::kUdpUnconfirmed), 2u);
  EXPECT_EQ(b.in_use(FdBudget::kUdpConfirmed), 0u);
  EXPECT_STREQ(FdBudget::name(FdBudget::kUdpUnconfirmed), "udp_unconfirmed_flows");
}

TEST(FdBudget, ConcurrentAcquirersNeverExceedTheLimit) {
  FdBudget b;
  b.set_limit(FdBudget::kTcpSessions, 1000);
  std::atomic<uint64_t> got{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i)
        if (b.try_acquire(FdBudget::kTcpSessions)) got.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 1000u);
  EXPECT_EQ(b.in_use(FdBudget::kTcpSessions), 1000u);
}

}  // namespace
}  // namespace rampart::core
