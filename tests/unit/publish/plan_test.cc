// dns_publish's record planning (publish/plan.h): which A/AAAA records each app's dns.name gets
// from a config, and the add/delete difference from what was published. Pure: no server.
#include "publish/plan.h"

#include <gtest/gtest.h>

#include "config/parse.h"

namespace rampart::publish {
namespace {

constexpr const char* kHead = R"(
edge:
  listen: ["0.0.0.0", "::"]
  public_ips: ["203.0.113.7", "2001:db8::7", "0.0.0.0"]
dns_publish:
  server: 192.0.2.53:53
  zone: Example.COM
  tsig: { name: rampart, secret_file: /nonexistent }
apps:
)";

config::Config load(const std::string& apps) {
  config::LoadResult r = config::parse_yaml(std::string(kHead) + apps);
  std::string errors;
  for (const auto& e : r.errors) errors += "\n  " + e.to_string();
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? *r.config : config::Config{};
}

std::vector<std::string> lines(const Plan& p) {
  std::vector<std::string> out;
  for (const Record& r : p.records) out.push_back(r.to_string());
  return out;
}

using V = std::vector<std::string>;

TEST(DnsPublishPlan, DynamicAppsGetPublicIpsFilteredByConnectivity) {
  config::Config cfg = load(R"(
  - { id: all, protocol: tcp/22, dns: { type: CNAME, name: SSH.example.com }, origin_direct: ["tcp://192.0.2.1:22"] }
  - { id: v4, protocol: tcp/23, dns: { type: ADDRESS, name: v4.example.com. }, origin_direct: ["tcp://192.0.2.1:22"],
      edge_ips: { type: dynamic, connectivity: ipv4 } }
  - { id: v6, protocol: tcp/24, dns: { type: CNAME, name: v6.example.com }, origin_direct: ["tcp://192.0.2.1:22"],
      edge_ips: { type: dynamic, connectivity: ipv6 } }
)");
  Plan p = plan_records(cfg, {}, cfg.dns_publish.zone);
  // A CNAME-type app gets address records too; names are lower case with the root dot; the
  // unspecified public address is never published.
  EXPECT_EQ(lines(p), (V{"ssh.example.com. A 203.0.113.7", "ssh.example.com. AAAA 2001:db8::7",
                         "v4.example.com. A 203.0.113.7", "v6.example.com. AAAA 2001:db8::7"}));
  EXPECT_TRUE(p.outside.empty());
}

TEST(DnsPublishPlan, StaticEdgeIpsAreTheAppsOwn) {
  config::Config cfg = load(R"(
  - { id: s, protocol: tcp/22, dns: { type: CNAME, name: s.example.com }, origin_direct: ["tcp://192.0.2.1:22"],
      edge_ips: { type: static, ips: ["127.0.0.9", "::1"] } }
)");
  EXPECT_EQ(lines(plan_records(cfg, {}, "example.com")),
            (V{"s.example.com. A 127.0.0.9", "s.example.com. AAAA ::1"}));
}

TEST(DnsPublishPlan, OutsideTheZoneDisabledAndUnnamedAppsPublishNothing) {
  config::Config cfg = load(R"(
  - { id: out, protocol: tcp/22, dns: { type: CNAME, name: ssh.example.org }, origin_direct: ["tcp://192.0.2.1:22"] }
  - { id: look, protocol: tcp/23, dns: { type: CNAME, name: notexample.com }, origin_direct: ["tcp://192.0.2.1:22"] }
  - { id: off, protocol: tcp/24, dns: { type: CNAME, name: off.example.com }, origin_direct: ["tcp://192.0.2.1:22"] }
  - { id: apex, protocol: tcp/25, dns: { type: CNAME, name: example.com }, origin_direct: ["tcp://192.0.2.1:22"],
      edge_ips: { type: dynamic, connectivity: ipv4 } }
  - { id: none, protocol: tcp/26, origin_direct: ["tcp://192.0.2.1:22"] }
)");
  Plan p = plan_records(cfg, {"off"}, "example.com.");
  EXPECT_EQ(lines(p), (V{"example.com. A 203.0.113.7"}));
  ASSERT_EQ(p.outside.size(), 2u);
  EXPECT_NE(p.outside[0].find("ssh.example.org."), std::string::npos) << p.outside[0];
  EXPECT_NE(p.outside[1].find("notexample.com."), std::string::npos) << p.outside[1];
}

TEST(DnsPublishPlan, AppsSharingANamePublishTheUnionOnce) {
  config::Config cfg = load(R"(
  - { id: a, protocol: tcp/22, dns: { type: CNAME, name: game.example.com }, origin_direct: ["tcp://192.0.2.1:22"],
      edge_ips: { type: dynamic, connectivity: ipv4 } }
  - { id: b, protocol: udp/27015, dns: { type: CNAME, name: GAME.example.com }, origin_direct: ["udp://192.0.2.1:27015"] }
)");
  EXPECT_EQ(lines(plan_records(cfg, {}, "example.com")),
            (V{"game.example.com. A 203.0.113.7", "game.example.com. AAAA 2001:db8::7"}));
}

TEST(DnsPublishPlan, NoPublicIpsNoRecordsForDynamicApps) {
  config::Config cfg = load(R"(
  - { id: a, protocol: tcp/22, dns: { type: CNAME, name: a.example.com }, origin_direct: ["tcp://192.0.2.1:22"] }
)");
  cfg.edge.public_ips.clear();
  EXPECT_TRUE(plan_records(cfg, {}, "example.com").records.empty());
}

Record rec(const char* name, const char* ip) {
  return {name, *net::IpAddr::parse(ip)};
}

TEST(DnsPublishPlan, DiffAddsTheNewAndDeletesOnlyWhatThisEdgePublished) {
  std::set<Record> published = {rec("a.example.com.", "203.0.113.7"),
                                rec("b.example.com.", "203.0.113.7")};
  std::set<Record> desired = {rec("b.example.com.", "203.0.113.7"),
                              rec("c.example.com.", "2001:db8::7")};
  Diff d = diff_records(published, desired);
  ASSERT_EQ(d.add.size(), 1u);
  EXPECT_EQ(d.add[0].to_string(), "c.example.com. AAAA 2001:db8::7");
  ASSERT_EQ(d.remove.size(), 1u);
  EXPECT_EQ(d.remove[0].to_string(), "a.example.com. A 203.0.113.7");
  EXPECT_TRUE(diff_records(desired, desired).empty());
  // Withdrawing everything: each record deleted one by one, nothing added.
  Diff all = diff_records(published, {});
  EXPECT_EQ(all.remove.size(), 2u);
  EXPECT_TRUE(all.add.empty());
}

}  // namespace
}  // namespace rampart::publish
