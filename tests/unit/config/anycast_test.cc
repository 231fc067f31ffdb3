// The `edge.anycast` section: both forms, defaults, validation.
#include <gtest/gtest.h>

#include "config/anycast_config.h"
#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(AnycastConfig, OffByDefault) {
  LoadResult r = parse_yaml("");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.config->edge.anycast.addresses.empty());
  EXPECT_EQ(r.config->edge.anycast, AnycastConfig{});
  EXPECT_EQ(r.config->edge.anycast.bird_socket, "/run/bird/bird.ctl");
  EXPECT_EQ(r.config->edge.anycast.protocol, "rampart_anycast");
  EXPECT_EQ(r.config->edge.anycast.check_interval, milliseconds(500));
  EXPECT_EQ(r.config->edge.anycast.convergence_wait, seconds(2));
}

TEST(AnycastConfig, ShortFormIsAListOfAddresses) {
  LoadResult r = parse_yaml(
      "edge: { listen: [\"0.0.0.0\", \"::\"], anycast: [\"10.77.9.1\", "
      "\"2001:db8::9\"] }\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const AnycastConfig& a = r.config->edge.anycast;
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.addresses[0].to_string(), "10.77.9.1");
  EXPECT_EQ(anycast_prefix(a.addresses[0]), "10.77.9.1/32");
  EXPECT_EQ(anycast_prefix(a.addresses[1]), "2001:db8::9/128");
  EXPECT_EQ(a.protocol, "rampart_anycast");
}

TEST(AnycastConfig, EveryField) {
  LoadResult r = parse_yaml(R"(
edge:
  listen: ["10.77.1.1", "10.77.9.1"]
  anycast:
    addresses: ["10.77.9.1"]
    bird_socket: /tmp/bird-test.ctl
    protocol: anycast_v4
    check_interval: 250ms
    convergence_wait: 0s
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const AnycastConfig& a = r.config->edge.anycast;
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.bird_socket, "/tmp/bird-test.ctl");
  EXPECT_EQ(a.protocol, "anycast_v4");
  EXPECT_EQ(a.check_interval, milliseconds(250));
  EXPECT_EQ(a.convergence_wait, seconds(0));
}

TEST(AnycastConfig, StaticAppAddressCounts) {
  LoadResult r = parse_yaml(R"(
edge: { listen: ["10.77.1.1"], anycast: ["10.77.9.1"] }
apps:
  - protocol: tcp/22
    edge_ips: { type: static, ips: ["10.77.9.1"] }
    origin_direct: ["tcp://10.77.2.2:22"]
)");
  EXPECT_TRUE(r.ok()) << dump(r.errors);
}

TEST(AnycastConfig, Errors) {
  LoadResult r = parse_yaml(R"(
edge:
  listen: ["10.77.1.1"]
  anycast:
    addresses: ["10.77.9.1", "10.77.1.1", "10.77.1.1", "0.0.0.0", "nope"]
    bird_socket: run/bird.ctl
    protocol: "rampart-anycast"
    check_interval: 10ms
    convergence_wait: 1h
    annouce: yes
)");
  ASSERT_FALSE(r.ok());
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "edge.anycast.addresses[4]", "not an IP address")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.anycast.annouce", "unknown field")) << dump(e);
  r = parse_yaml(R"(
edge:
  listen: ["10.77.1.1"]
  anycast:
    addresses: ["10.77.9.1", "10.77.1.1", "10.77.1.1", "0.0.0.0"]
    bird_socket: run/bird.ctl
    protocol: "rampart-anycast"
    check_interval: 10ms
    convergence_wait: 1h
)");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.addresses[0]", "not an address the edge listens"))
      << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.addresses[2]", "listed twice")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.addresses[3]", "cannot be announced"))
      << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.bird_socket", "absolute path")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.protocol", "not a BIRD protocol name"))
      << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.check_interval", "100ms to 60s")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.convergence_wait", "0s to 5m")) << dump(r.errors);
  EXPECT_FALSE(has_error(r.errors, "edge.anycast.addresses[1]", "")) << dump(r.errors);
}

TEST(AnycastConfig, WildcardListenCoversItsFamilyOnly) {
  LoadResult r = parse_yaml("edge: { listen: [\"0.0.0.0\"], anycast: [\"2001:db8::9\"] }\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "edge.anycast.addresses[0]", "add it (or ::)")) << dump(r.errors);
  // The default edge.listen (0.0.0.0 and ::) covers both.
  r = parse_yaml("edge: { anycast: [\"10.77.9.1\", \"2001:db8::9\"] }\n");
  EXPECT_TRUE(r.ok()) << dump(r.errors);
}

TEST(AnycastConfig, ProtocolPattern) {
  LoadResult r = parse_yaml(
      "edge: { anycast: { addresses: [\"10.77.9.1\"], protocol: \"rampart_anycast*\" } }\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->edge.anycast.protocol, "rampart_anycast*");
  r = parse_yaml("edge: { anycast: { addresses: [\"10.77.9.1\"], protocol: \"4abc\" } }\n");
  EXPECT_FALSE(r.ok());
}

TEST(AnycastConfig, SettingsIgnoredWithoutAddresses) {
  LoadResult r = parse_yaml("edge: { anycast: { protocol: \"not valid\" } }\n");
  EXPECT_TRUE(r.ok()) << dump(r.errors);
}

}  // namespace
}  // namespace rampart::config
