// ControlLoop: call() runs on the loop's one thread, returns the value or rethrows, serialises
// callers from many threads; assert_in_loop_thread() aborts off that thread (debug builds).
#include "core/control_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace rampart::core {
namespace {

TEST(ControlLoopTest, CallRunsOnTheLoopThreadAndReturnsItsValue) {
  ControlLoop loop;
  EXPECT_FALSE(loop.in_loop_thread());
  std::thread::id ran_on;
  const int v = loop.call([&] {
    ran_on = std::this_thread::get_id();
    return 42;
  });
  EXPECT_EQ(v, 42);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(loop.call([&] { return loop.in_loop_thread(); }));
}

TEST(ControlLoopTest, CallRethrowsWhatTheWorkThrew) {
  ControlLoop loop;
  EXPECT_THROW(loop.call([]() -> int { throw std::runtime_error("refused"); }), std::runtime_error);
  EXPECT_EQ(loop.call([] { return 7; }), 7);  // the loop still runs
}

TEST(ControlLoopTest, CallFromTheLoopThreadRunsInline) {
  ControlLoop loop;
  // A nested call would deadlock if it were queued behind the running one.
  EXPECT_EQ(loop.call([&] { return loop.call([] { return 5; }) + 1; }), 6);
}

TEST(ControlLoopTest, CallsFromManyThreadsRunOneAtATimeOnOneThread) {
  ControlLoop loop;
  constexpr int kThreads = 8, kCalls = 200;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  int total = 0;  // plain int: only the loop thread writes it
  std::set<std::thread::id> ran_on;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i)
        loop.call([&] {
          if (inside.fetch_add(1) != 0) overlapped = true;
          ++total;
          ran_on.insert(std::this_thread::get_id());
          inside.fetch_sub(1);
          return 0;
        });
    });
  for (auto& c : callers) c.join();
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(loop.call([&] { return total; }), kThreads * kCalls);
  EXPECT_EQ(loop.call([&] { return ran_on.size(); }), 1u);
}

TEST(ControlLoopTest, PostedWorkRunsInOrder) {
  ControlLoop loop;
  std::vector<int> seen;
  for (int i = 0; i < 100; ++i) loop.post([&seen, i] { seen.push_back(i); });
  const std::vector<int> got = loop.call([&] { return seen; });  // queued after the posts
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], i);
}

#ifndef NDEBUG
TEST(ControlLoopDeathTest, AssertOffTheLoopThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ControlLoop loop;
  loop.call([&] { loop.assert_in_loop_thread("on the loop"); });  // fine there
  EXPECT_DEATH(loop.assert_in_loop_thread("Edge::reload"), "used from thread .*: Edge::reload");
}
#endif

}  // namespace
}  // namespace rampart::core
