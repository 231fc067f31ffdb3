// AnycastMonitor: hysteresis, withdraw on start and shutdown, retries when BIRD is away,
// resync, metrics. A fake speaker and probe stand in for BIRD and the edge.
#include "anycast/anycast.h"

#include <gtest/gtest.h>

#include <vector>

namespace rampart::anycast {
namespace {

struct FakeSpeaker : RouteSpeaker {
  std::vector<std::string>* calls;
  bool* up;  // BIRD reachable
  FakeSpeaker(std::vector<std::string>* c, bool* u) : calls(c), up(u) {}
  bool announce(std::string* error) override { return call("announce", error); }
  bool withdraw(std::string* error) override { return call("withdraw", error); }
  bool call(const char* what, std::string* error) {
    calls->push_back(what);
    if (!*up) *error = "cannot connect to BIRD";
    return *up;
  }
};

class AnycastMonitorTest : public ::testing::Test {
 protected:
  AnycastMonitorTest() {
    cfg.addresses = {*net::IpAddr::parse("10.77.9.1")};
    cfg.check_interval = std::chrono::hours(1);  // the thread never steps on its own
  }
  std::unique_ptr<AnycastMonitor> make() {
    return std::make_unique<AnycastMonitor>(
        edge::plan_anycast(cfg),
        [this] {
          return Health{healthy, healthy ? "ok" : "app a: no origin is up"};
        },
        std::make_unique<FakeSpeaker>(&calls, &bird_up));
  }
  config::AnycastConfig cfg;
  bool healthy = true;
  bool bird_up = true;
  std::vector<std::string> calls;
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
};

TEST_F(AnycastMonitorTest, WithdrawsOnStartAnnouncesAfterRiseWithdrawsAfterFall) {
  auto m = make();
  m->start();
  EXPECT_EQ(calls, std::vector<std::string>{"withdraw"});
  EXPECT_FALSE(m->announced());
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_FALSE(m->announced());  // one healthy evaluation is not enough
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_TRUE(m->announced());
  EXPECT_EQ(calls.back(), "announce");
  size_t n = calls.size();
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_EQ(calls.size(), n);  // no change, no command
  healthy = false;
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_TRUE(m->announced());  // one bad evaluation is tolerated
  healthy = true;
  m->step(t += std::chrono::milliseconds(500));
  healthy = false;
  m->step(t += std::chrono::milliseconds(500));
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_FALSE(m->announced());
  EXPECT_EQ(calls.back(), "withdraw");
  EXPECT_TRUE(m->shutdown());
  EXPECT_TRUE(m->shutdown());  // idempotent
}

TEST_F(AnycastMonitorTest, ShutdownWithdraws) {
  auto m = make();
  m->start();
  m->step(t += std::chrono::milliseconds(500));
  m->step(t += std::chrono::milliseconds(500));
  ASSERT_TRUE(m->announced());
  EXPECT_TRUE(m->shutdown());
  EXPECT_FALSE(m->announced());
  EXPECT_EQ(calls.back(), "withdraw");
}

TEST_F(AnycastMonitorTest, RetriesUntilBirdAnswers) {
  bird_up = false;
  auto m = make();
  m->start();
  m->step(t += std::chrono::milliseconds(500));
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_FALSE(m->announced());
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_EQ(calls.back(), "announce");  // tried again at every evaluation
  bird_up = true;
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_TRUE(m->announced());
  size_t n = calls.size();
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_EQ(calls.size(), n);
  // Re-asserted after kResync even without a change (BIRD may have restarted).
  m->step(t += AnycastMonitor::kResync);
  EXPECT_EQ(calls.size(), n + 1);
  EXPECT_EQ(calls.back(), "announce");
}

TEST_F(AnycastMonitorTest, Metrics) {
  auto m = make();
  m->start();
  EXPECT_NE(m->metrics().find("rampart_anycast_announced 0\n"), std::string::npos);
  m->step(t += std::chrono::milliseconds(500));
  m->step(t += std::chrono::milliseconds(500));
  EXPECT_NE(m->metrics().find("rampart_anycast_announced 1\n"), std::string::npos);
  EXPECT_NE(m->metrics().find("rampart_anycast_healthy 1\n"), std::string::npos);
  EXPECT_EQ(m->prefixes(), "10.77.9.1/32");
}

TEST_F(AnycastMonitorTest, ThreadSteps) {
  cfg.check_interval = std::chrono::milliseconds(20);
  auto m = make();
  m->start();
  for (int i = 0; i < 200 && !m->announced(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(m->announced());
  EXPECT_TRUE(m->shutdown());
  EXPECT_FALSE(m->announced());
}

}  // namespace
}  // namespace rampart::anycast
