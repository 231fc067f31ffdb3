// compile_config(): one compile of a config feeds every consumer the same apps: the workers'
// snapshot, the XDP map plan, the health checker's targets and the anycast plan. An app that
// does not serve (its certificate is gone) is in none of them but the snapshot's apps, which
// keep its counters and say why it is disabled.
#include "edge/compiled_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "config/parse.h"
#include "xdp/shared_types.h"

namespace rampart::edge {
namespace {

// guarded: tcp/7000, its own protection (SYN rate 20/s), the zone's ip firewall, a TCP health
// check. udp: the zone's protection. tls: tcp/7443 with a certificate file that does not exist.
config::Config three_apps() {
  const std::string yaml = R"(
edge: { listen: ["127.0.0.1"] }
protection:
  per_ip: { new_connections_per_second: 0, udp_packets_per_second: 0 }
apps:
  - id: guarded
    protocol: tcp/7000
    ip_firewall: true
    origin_direct: ["tcp://127.0.0.1:8000"]
    load_balancing: { health_check: { interval: 5s } }
    protection:
      per_ip: { new_connections_per_second: 20, burst: 40 }
  - id: udp
    protocol: udp/5300
    origin_direct: ["udp://127.0.0.1:8300"]
  - id: tls
    protocol: tcp/7443
    tls: flexible
    origin_direct: ["tcp://127.0.0.1:8443"]
    tls_settings: { certificates: [{ certificate: /nonexistent/rampart-gone.pem, private_key: /nonexistent/rampart-gone.key }] }
)";
  config::LoadResult r = config::parse_yaml(yaml, /*tolerate_unavailable=*/true);
  EXPECT_TRUE(r.ok());
  config::Config cfg = *r.config;
  cfg.edge.anycast.addresses = {*net::IpAddr::parse("10.77.9.1")};
  return cfg;
}

const tcp::AppRuntime* find_app(const Snapshot& snap, const std::string& id) {
  for (const auto& a : snap.apps)
    if (a->cfg.id == id) return a.get();
  return nullptr;
}

TEST(CompiledConfig, OneCompileFeedsEveryConsumerTheSameApps) {
  const config::Config cfg = three_apps();
  auto compiled = compile_config(cfg, nullptr, 2);
  ASSERT_TRUE(compiled && compiled->snapshot);
  const Snapshot& snap = *compiled->snapshot;

  // The workers: all three apps (counters, origins), binds for the two that serve.
  ASSERT_EQ(snap.apps.size(), 3u);
  const tcp::AppRuntime* guarded = find_app(snap, "guarded");
  const tcp::AppRuntime* udp = find_app(snap, "udp");
  const tcp::AppRuntime* tls = find_app(snap, "tls");
  ASSERT_TRUE(guarded && udp && tls);
  ASSERT_EQ(snap.disabled.count("tls"), 1u);
  std::set<std::string> keys;
  for (const auto& b : snap.binds) keys.insert(b.key());
  EXPECT_EQ(keys, (std::set<std::string>{"tcp 127.0.0.1:7000", "udp 127.0.0.1:5300"}));
  EXPECT_EQ(guarded->protection.per_ip.new_connections_per_second, 20u);

  // The XDP maps: a profile per serving app, from the same effective protection the workers'
  // guard uses; no port for the disabled app.
  const xdp::MapPlan& plan = compiled->map_plan;
  ASSERT_EQ(plan.profiles.size(), 2u);
  ASSERT_EQ(plan.ports.size(), 2u);
  EXPECT_EQ(plan.ports[0].first, 5300);
  EXPECT_EQ(plan.ports[0].second.udp_profile, 2);
  EXPECT_EQ(plan.ports[1].first, 7000);
  EXPECT_EQ(plan.ports[1].second.tcp_profile, 1);
  const rxdp_profile& p = plan.profiles[0];
  EXPECT_NE(p.flags & RXDP_F_SYN_RATE, 0u);
  EXPECT_NE(p.flags & RXDP_F_ACL, 0u);
  EXPECT_EQ(p.syn_rate, 20u);
  EXPECT_EQ(p.syn_burst, 40u);
  EXPECT_EQ(plan.profiles[1].flags & (RXDP_F_ACL | RXDP_F_SYN_RATE | RXDP_F_UDP_RATE), 0u);
  const rxdp_profile want = xdp::make_profile(guarded->protection, true,
                                              static_cast<uint32_t>(cfg.protection.ipv6_prefix));
  EXPECT_EQ(std::memcmp(&p, &want, sizeof p), 0);

  // The health checker: the serving apps' OriginSets, the very ones the workers balance over.
  ASSERT_EQ(compiled->health_targets.size(), 2u);
  EXPECT_EQ(compiled->health_targets[0], guarded->origins);
  EXPECT_EQ(compiled->health_targets[1], udp->origins);
  EXPECT_EQ(
      std::count(compiled->health_targets.begin(), compiled->health_targets.end(), tls->origins),
      0);

  // The anycast publisher: the prefix to announce, gated by the same serving apps.
  EXPECT_EQ(compiled->anycast.prefixes, std::vector<std::string>{"10.77.9.1/32"});
  EXPECT_TRUE(compiled->anycast.enabled());
  ASSERT_EQ(compiled->anycast.apps.size(), 2u);
  EXPECT_EQ(compiled->anycast.apps[0].id, "guarded");
  EXPECT_EQ(compiled->anycast.apps[0].origins, guarded->origins);
  EXPECT_EQ(compiled->anycast.apps[1].id, "udp");
  EXPECT_EQ(compiled->anycast.apps[1].origins, udp->origins);
}

TEST(CompiledConfig, ARecompileKeepsOriginSetsAndTheAnycastInForce) {
  config::Config cfg = three_apps();
  auto first = compile_config(cfg, nullptr, 1);
  cfg.edge.anycast.addresses = {*net::IpAddr::parse("10.77.9.2")};  // needs a restart
  cfg.apps.erase(cfg.apps.begin() + 1);                             // udp removed
  auto second = compile_config(cfg, first.get(), 1);
  // The health state of the kept app survives: one OriginSet in every part of both compiles.
  ASSERT_EQ(second->health_targets.size(), 1u);
  EXPECT_EQ(second->health_targets[0], first->health_targets[0]);
  EXPECT_EQ(find_app(*second->snapshot, "guarded")->origins, first->health_targets[0]);
  ASSERT_EQ(second->anycast.apps.size(), 1u);
  EXPECT_EQ(second->anycast.apps[0].origins, first->health_targets[0]);
  // The publisher keeps announcing what it started with.
  EXPECT_EQ(second->anycast.prefixes, std::vector<std::string>{"10.77.9.1/32"});
  EXPECT_EQ(second->anycast.config, first->anycast.config);
  ASSERT_EQ(second->map_plan.ports.size(), 1u);
  EXPECT_EQ(second->map_plan.ports[0].first, 7000);
}

TEST(CompiledConfig, OriginDnsAppsTakeTheResolvedAddresses) {
  auto r = config::parse_yaml(R"(
apps:
  - id: plain
    protocol: tcp/7000
    origin_direct: ["tcp://127.0.0.1:8000"]
  - id: dns
    protocol: tcp/7001-7002
    origin_dns: { name: origin.example.com }
    origin_port: 2201-2202
)");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  // Nothing resolved yet: the app serves (binds, health target) with no origin (531).
  auto first = compile_config(*r.config, nullptr, 1);
  EXPECT_TRUE(first->warnings.empty()) << first->warnings[0];
  EXPECT_EQ(find_app(*first->snapshot, "dns")->origins->size(), 0u);
  EXPECT_EQ(first->health_targets.size(), 2u);
  EXPECT_FALSE(first->anycast.enabled());

  // Every address is an origin with origin_port (offset mapping as for origin_direct).
  ResolvedOrigins resolved{
      {"dns", {*net::IpAddr::parse("192.0.2.1"), *net::IpAddr::parse("2001:db8::1")}}};
  auto second = compile_config(*r.config, first.get(), 1, nullptr, nullptr, &resolved);
  EXPECT_EQ(second->resolved, resolved);
  const auto& dns = find_app(*second->snapshot, "dns")->origins;
  ASSERT_EQ(dns->size(), 2u);
  EXPECT_EQ(dns->at(0).cfg.text, "tcp://192.0.2.1:2201-2202");
  EXPECT_EQ(dns->at(1).cfg.text, "tcp://[2001:db8::1]:2201-2202");
  EXPECT_EQ(config::origin_port_for(r.config->apps[1].ports, dns->at(1).cfg.ports, 7002), 2202);
  EXPECT_EQ(std::count(second->health_targets.begin(), second->health_targets.end(), dns), 1);
  // The other app keeps its set (health state, connection counts).
  EXPECT_EQ(find_app(*second->snapshot, "plain")->origins,
            find_app(*first->snapshot, "plain")->origins);

  // The same answer again keeps the set; a changed one makes a new one.
  auto third = compile_config(*r.config, second.get(), 1, nullptr, nullptr, &resolved);
  EXPECT_EQ(find_app(*third->snapshot, "dns")->origins, dns);
  resolved["dns"] = {*net::IpAddr::parse("192.0.2.9")};
  auto fourth = compile_config(*r.config, third.get(), 1, nullptr, nullptr, &resolved);
  EXPECT_NE(find_app(*fourth->snapshot, "dns")->origins, dns);
  EXPECT_EQ(find_app(*fourth->snapshot, "dns")->origins->size(), 1u);
}

}  // namespace
}  // namespace rampart::edge
