// OriginResolver against a real DNS server: dnsmasq on 127.0.0.1 and an unprivileged port,
// answering from a hosts file it re-reads on SIGHUP (--local-ttl sets the answers' TTL). No
// mocks; conditions are polled, never slept for.
#include "resolve/origin_resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.h"
#include "dnsmasq_server.h"

namespace rampart::resolve {
namespace {

using testing_dns::Dnsmasq;
using testing_dns::eventually;
using testing_dns::free_udp_port;

using namespace std::chrono_literals;

std::vector<std::string> texts(const std::vector<net::IpAddr>& ips) {
  std::vector<std::string> out;
  for (const auto& ip : ips) out.push_back(ip.to_string());
  return out;
}

Options test_options(const Dnsmasq& dns) {
  Options o;
  o.servers = dns.server();
  o.hosts_file = false;
  o.retry_min = 200ms;
  o.retry_max = 400ms;
  o.query_timeout = 500ms;
  return o;
}

Query query(const std::string& key, const std::string& name, Family f = Family::kAny) {
  Query q;
  q.key = key;
  q.name = name;
  q.family = f;
  return q;
}

Status status_of(const OriginResolver& r, const std::string& key) {
  for (auto& s : r.status())
    if (s.key == key) return s;
  return {};
}

TEST(OriginResolver, ResolvesEveryAddressByType) {
  Dnsmasq dns(60, "192.0.2.2 o.test\n192.0.2.1 o.test\n2001:db8::7 o.test\n");
  ASSERT_TRUE(dns.up());
  OriginResolver r(test_options(dns));
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("any", "o.test"), query("v4", "o.test", Family::kV4),
                 query("v6", "o.test", Family::kV6)});
  ASSERT_TRUE(eventually([&] { return r.addresses("any").size() == 3; }, 5s));
  EXPECT_EQ(texts(r.addresses("any")),
            (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::7"}));
  ASSERT_TRUE(r.wait_settled({"v4", "v6"}, 5s));
  ASSERT_TRUE(eventually([&] { return r.addresses("v6").size() == 1; }, 5s));
  EXPECT_EQ(texts(r.addresses("v4")), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(texts(r.addresses("v6")), (std::vector<std::string>{"2001:db8::7"}));
  const Status s = status_of(r, "v4");
  EXPECT_TRUE(s.settled);
  EXPECT_FALSE(s.stale);
  EXPECT_GE(s.lookups[static_cast<size_t>(Result::kOk)], 1u);
  // The record's TTL (60 s) sets the next lookup.
  EXPECT_GT(s.next_lookup_ms, 50000);
}

TEST(OriginResolver, FollowsAChangeWithinTheTtl) {
  Dnsmasq dns(1, "192.0.2.1 o.test\n");
  ASSERT_TRUE(dns.up());
  std::atomic<int> changes{0};
  OriginResolver r(test_options(dns));
  r.set_on_change([&] { ++changes; });
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("a", "o.test")});
  ASSERT_TRUE(eventually(
      [&] { return texts(r.addresses("a")) == std::vector<std::string>{"192.0.2.1"}; }, 5s));
  const int before = changes.load();
  const auto t0 = std::chrono::steady_clock::now();
  dns.set_hosts("192.0.2.9 o.test\n");
  ASSERT_TRUE(eventually(
      [&] { return texts(r.addresses("a")) == std::vector<std::string>{"192.0.2.9"}; }, 5s));
  // TTL 1 s (+ the time SIGHUP takes): well under 2.5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_GT(changes.load(), before);
}

TEST(OriginResolver, AppTtlCapsTheRecordTtl) {
  Dnsmasq dns(300, "192.0.2.1 o.test\n");
  ASSERT_TRUE(dns.up());
  OriginResolver r(test_options(dns));
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  Query q = query("a", "o.test");
  q.ttl_cap_s = 1;
  r.set_queries({q});
  ASSERT_TRUE(eventually([&] { return r.addresses("a").size() == 1; }, 5s));
  EXPECT_LE(status_of(r, "a").next_lookup_ms, 1000);
  dns.set_hosts("192.0.2.5 o.test\n");
  EXPECT_TRUE(eventually(
      [&] { return texts(r.addresses("a")) == std::vector<std::string>{"192.0.2.5"}; }, 3s));
}

TEST(OriginResolver, FailureKeepsTheLastGoodAnswerForTheHold) {
  Dnsmasq dns(1, "192.0.2.1 o.test\n192.0.2.1 p.test\n");
  ASSERT_TRUE(dns.up());
  OriginResolver r(test_options(dns));
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  Query held = query("held", "o.test");
  Query brief = query("brief", "p.test");
  brief.hold = 1500ms;
  r.set_queries({held, brief});
  ASSERT_TRUE(eventually(
      [&] { return r.addresses("held").size() == 1 && r.addresses("brief").size() == 1; }, 5s));
  dns.set_hosts("");  // both names are NXDOMAIN from now on
  ASSERT_TRUE(eventually(
      [&] { return status_of(r, "held").lookups[static_cast<size_t>(Result::kNxdomain)] >= 2; },
      6s));
  Status s = status_of(r, "held");
  EXPECT_TRUE(s.stale);
  EXPECT_EQ(texts(s.addresses), std::vector<std::string>{"192.0.2.1"});
  EXPECT_NE(s.last_error.find("nxdomain"), std::string::npos);
  // The short hold runs out: the answer is dropped.
  EXPECT_TRUE(eventually([&] { return r.addresses("brief").empty(); }, 6s));
  EXPECT_EQ(r.addresses("held").size(), 1u);
  // And the name comes back.
  dns.set_hosts("192.0.2.3 p.test\n");
  EXPECT_TRUE(eventually(
      [&] { return texts(r.addresses("brief")) == std::vector<std::string>{"192.0.2.3"}; }, 6s));
  EXPECT_FALSE(status_of(r, "brief").stale);
}

TEST(OriginResolver, NeverResolvedSettlesEmpty) {
  Dnsmasq dns(1, "");
  ASSERT_TRUE(dns.up());
  OriginResolver r(test_options(dns));
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("x", "missing.test")});
  ASSERT_TRUE(r.wait_settled({"x"}, 5s));
  const Status s = status_of(r, "x");
  EXPECT_TRUE(s.addresses.empty());
  EXPECT_FALSE(s.stale);
  EXPECT_GE(s.lookups[static_cast<size_t>(Result::kNxdomain)], 1u);
}

TEST(OriginResolver, UnreachableServerIsAFailureNotAHang) {
  Options o;
  o.servers = "127.0.0.1:" + std::to_string(free_udp_port());  // nothing listens there
  o.hosts_file = false;
  o.query_timeout = 300ms;
  o.tries = 1;
  OriginResolver r(o);
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("x", "o.test")});
  ASSERT_TRUE(r.wait_settled({"x"}, 5s));
  const Status s = status_of(r, "x");
  EXPECT_TRUE(s.addresses.empty());
  EXPECT_FALSE(s.last_error.empty());
  EXPECT_EQ(s.lookups[static_cast<size_t>(Result::kOk)], 0u);
}

TEST(OriginResolver, CapsAddressesAndNames) {
  Dnsmasq dns(60, "192.0.2.1 o.test\n192.0.2.2 o.test\n192.0.2.3 o.test\n");
  ASSERT_TRUE(dns.up());
  Options o = test_options(dns);
  o.max_addresses = 2;
  o.max_names = 1;
  OriginResolver r(o);
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("a", "o.test"), query("b", "o.test")});
  EXPECT_EQ(r.names_shed(), 1u);
  ASSERT_TRUE(eventually([&] { return r.addresses("a").size() == 2; }, 5s));
  EXPECT_EQ(status_of(r, "a").shed, 1u);
  EXPECT_TRUE(r.addresses("b").empty());
}

TEST(OriginResolver, RefusedAddressesAreLeftOutAndCounted) {
  Dnsmasq dns(60, "192.0.2.1 o.test\n169.254.169.254 o.test\n224.0.0.1 o.test\n");
  ASSERT_TRUE(dns.up());
  Options o = test_options(dns);
  o.refuse = [](const net::IpAddr& ip) -> const char* {
    return ip.to_string() == "192.0.2.1" ? nullptr : "refused by the test";
  };
  OriginResolver r(o);
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("a", "o.test")});
  ASSERT_TRUE(r.wait_settled({"a"}, 5s));
  EXPECT_EQ(texts(r.addresses("a")), (std::vector<std::string>{"192.0.2.1"}));
  EXPECT_EQ(status_of(r, "a").refused, 2u);
}

TEST(OriginResolver, ChangedQueryForgetsTheOldAnswer) {
  Dnsmasq dns(60, "192.0.2.1 o.test\n192.0.2.2 q.test\n");
  ASSERT_TRUE(dns.up());
  OriginResolver r(test_options(dns));
  std::string error;
  ASSERT_TRUE(r.start(&error)) << error;
  r.set_queries({query("a", "o.test")});
  ASSERT_TRUE(eventually([&] { return r.addresses("a").size() == 1; }, 5s));
  r.set_queries({query("a", "q.test")});
  EXPECT_TRUE(eventually(
      [&] { return texts(r.addresses("a")) == std::vector<std::string>{"192.0.2.2"}; }, 5s));
  r.set_queries({});
  EXPECT_TRUE(r.status().empty());
}

}  // namespace
}  // namespace rampart::resolve
