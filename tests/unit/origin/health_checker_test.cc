// HealthChecker against real loopback sockets: an origin port with no listener goes down after
// `fall` checks and comes back after `rise` once something listens there.
#include "origin/health_checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "core/unique_fd.h"
#include "test_support.h"

namespace rampart::origin {
namespace {

using namespace std::chrono_literals;

// A loopback port that is bound (so no one else takes it) but not listening (so connects to it
// are refused) until listen() is called.
class ReservedPort {
 public:
  ReservedPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  uint16_t port() const { return port_; }
  void listen() { ASSERT_EQ(::listen(fd_.get(), 64), 0); }
  void close() { fd_.reset(); }

 private:
  core::UniqueFd fd_;
  uint16_t port_ = 0;
};

config::OriginDirect loopback_origin(uint16_t port) {
  config::OriginDirect o;
  o.ip = *net::IpAddr::parse("127.0.0.1");
  o.ports = {port, port};
  o.text = "tcp://127.0.0.1:" + std::to_string(port);
  return o;
}

config::LoadBalancing checks(uint32_t rise, uint32_t fall, bool enabled = true) {
  config::LoadBalancing lb;
  lb.health_check.enabled = enabled;
  lb.health_check.interval = 50ms;
  lb.health_check.timeout = 40ms;
  lb.health_check.rise = rise;
  lb.health_check.fall = fall;
  return lb;
}

using rampart::testing::wait_for;

TEST(HealthChecker, DownAfterFallUpAfterRise) {
  ReservedPort port;
  auto set = std::make_shared<OriginSet>(std::vector{loopback_origin(port.port())}, checks(2, 3));
  HealthChecker hc;
  hc.start();
  hc.set_targets({set});
  Origin& o = set->at(0);
  ASSERT_TRUE(o.up.load());

  // fall = 3: the first two failures leave it up.
  ASSERT_TRUE(wait_for([&] { return o.fails.load() >= 1; }, 1500ms)) << "no check ran";
  ASSERT_TRUE(wait_for([&] { return !o.up.load(); }, 1500ms))
      << "still up after " << o.fails.load() << " failed checks";
  EXPECT_GE(o.fails.load(), 3u);

  port.listen();
  ASSERT_TRUE(wait_for([&] { return o.rises.load() >= 1; }, 1500ms)) << "no successful check";
  ASSERT_TRUE(wait_for([&] { return o.up.load(); }, 1500ms))
      << "still down after " << o.rises.load() << " successful checks";
  EXPECT_GE(o.rises.load(), 2u);
  EXPECT_EQ(o.fails.load(), 0u);
  hc.stop();
}

TEST(HealthChecker, ChecksOnlyEnabledSetsAndStopsCheckingRemovedOnes) {
  ReservedPort dead;
  auto checked =
      std::make_shared<OriginSet>(std::vector{loopback_origin(dead.port())}, checks(1, 1));
  auto unchecked = std::make_shared<OriginSet>(std::vector{loopback_origin(dead.port())},
                                               checks(1, 1, /*enabled=*/false));
  HealthChecker hc;
  hc.start();
  hc.set_targets({checked, unchecked});
  ASSERT_TRUE(wait_for([&] { return !checked->at(0).up.load(); }, 1500ms));
  EXPECT_TRUE(unchecked->at(0).up.load());
  EXPECT_EQ(unchecked->at(0).fails.load(), 0u);

  // Removing the set stops its probes: its counters freeze.
  hc.set_targets({});
  std::this_thread::sleep_for(100ms);  // let a check that was already running finish
  uint32_t fails = checked->at(0).fails.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(checked->at(0).fails.load(), fails);
  hc.stop();
}

TEST(HealthChecker, KeepsStateAcrossSetTargetsWithTheSameSet) {
  ReservedPort port;
  port.listen();
  auto set = std::make_shared<OriginSet>(std::vector{loopback_origin(port.port())}, checks(1, 2));
  HealthChecker hc;
  hc.start();
  hc.set_targets({set});
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(set->at(0).up.load());
  port.close();
  // Re-submitting the same set (a reload that kept the app) keeps checking it.
  hc.set_targets({set});
  ASSERT_TRUE(wait_for([&] { return !set->at(0).up.load(); }, 1500ms));
  hc.stop();
}

TEST(HealthChecker, StopWithoutStartAndDoubleStop) {
  HealthChecker never_started;
  never_started.stop();
  HealthChecker hc;
  hc.start();
  hc.stop();
  hc.stop();
}

}  // namespace
}  // namespace rampart::origin
