// The XDP program run by the kernel on crafted packets (BPF_PROG_TEST_RUN), with its maps filled
// by the Loader from a config exactly as `rampart serve` fills them, plus the pure map plan.
// The BPF tests skip when this build or this process cannot load programs (no libbpf, no
// CAP_BPF); CI runs as root, so they run there.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "guard/guard.h"
#include "guard/policy.h"
#include "xdp/loader.h"
#include "xdp/map_plan.h"
#include "xdp/shared_types.h"
#include "xdp_fixture.h"

namespace rampart::xdp {
namespace {

TEST_F(XdpProgram, NormalTrafficPasses) {
  config::Config c = base_config();
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("10.77.1.2")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:1::2")), XDP_PASS);
  EXPECT_EQ(run(datagram("10.77.1.2")), XDP_PASS);
  EXPECT_EQ(run(packet("10.77.1.2", 40000, 7000, true, 0x10)), XDP_PASS);  // ACK
  EXPECT_EQ(run(syn("10.77.1.2", 22)), XDP_PASS);                          // not an app port
  std::vector<uint8_t> arp(60, 0);
  put16(arp, 12, 0x0806);
  EXPECT_EQ(run(arp), XDP_PASS);
  std::vector<uint8_t> runt(20, 0);  // an IPv4 ethertype with a truncated header
  put16(runt, 12, 0x0800);
  EXPECT_EQ(run(runt), XDP_PASS);
  const Counters k = loader_.counters();
  EXPECT_EQ(k.passed, 7u);
  EXPECT_EQ(k.total_drops(), 0u);
}

TEST_F(XdpProgram, BannedSourceIsDroppedUntilTheBanEnds) {
  config::Config c = base_config();
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  loader_.banned(source("10.77.1.66"), 60'000);
  loader_.banned(source("::ffff:10.77.1.67"), 60'000);  // a dual-stack socket's view
  loader_.banned(source("2001:db8:bad::/64"), 60'000);
  loader_.banned(source("10.77.1.68"), 0);  // already over
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  EXPECT_EQ(run(datagram("10.77.1.66")), XDP_DROP);
  EXPECT_EQ(run(syn("10.77.1.67")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:bad::1")), XDP_DROP);
  EXPECT_EQ(run(syn("10.77.1.68")), XDP_PASS);
  EXPECT_EQ(run(syn("10.77.1.2")), XDP_PASS);
  EXPECT_EQ(run(syn("10.77.1.66", 22)), XDP_PASS);  // only Rampart's ports are judged
  EXPECT_EQ(loader_.counters().banned, 4u);
  EXPECT_EQ(loader_.counters().drops(guard::Reason::kBanned), 4u);
}

// The API's unban lifts the kernel's ban too (Loader::unban, not a ban that ends now).
TEST_F(XdpProgram, UnbanLiftsTheBan) {
  ASSERT_TRUE(loader_.sync(plan_of(base_config())));
  loader_.banned(source("10.77.1.66"), 60'000);
  loader_.banned(source("2001:db8:bad::/64"), 60'000);
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  loader_.unban(source("10.77.1.66"));
  loader_.unban(source("2001:db8:bad::/64"));
  loader_.unban(source("10.77.1.99"));  // never banned: nothing to do
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:bad::1")), XDP_PASS);
  EXPECT_EQ(loader_.counters().banned, 1u);
}

TEST_F(XdpProgram, BlockedCidrsAreDroppedAndWhitelistedSourcesPass) {
  config::Config c = base_config();
  using config::AccessMode;
  using config::AccessTarget;
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kIpRange, "198.51.100.0/24"));
  c.ip_access_rules.push_back(rule(AccessMode::kWhitelist, AccessTarget::kIp, "198.51.100.7"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kIp6, "2001:db8:bad::/48"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kCountry, "XX"));  // userspace
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("198.51.100.1")), XDP_DROP);
  EXPECT_EQ(run(datagram("198.51.100.200")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:bad:1::5")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:900d::5")), XDP_PASS);
  EXPECT_EQ(run(syn("198.51.101.1")), XDP_PASS);
  // The longest prefix wins: the whitelisted host passes, even while banned.
  loader_.banned(source("198.51.100.7"), 60'000);
  EXPECT_EQ(run(syn("198.51.100.7")), XDP_PASS);
  Counters k = loader_.counters();
  EXPECT_EQ(k.block_ip, 3u);
  EXPECT_EQ(k.whitelisted, 1u);
  EXPECT_EQ(k.banned, 0u);

  // A reload without the rules: the tries are emptied.
  c.ip_access_rules.clear();
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("198.51.100.1")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:bad:1::5")), XDP_PASS);
}

TEST_F(XdpProgram, AccessRulesApplyOnlyToAppsWithIpFirewallAndNotInDryRun) {
  config::Config c = base_config();
  c.apps[0].ip_firewall = false;
  c.ip_access_rules.push_back(
      rule(config::AccessMode::kBlock, config::AccessTarget::kIpRange, "198.51.100.0/24"));
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("198.51.100.1")), XDP_PASS);       // tcp/7000 has no ip_firewall
  EXPECT_EQ(run(datagram("198.51.100.1")), XDP_DROP);  // udp/5300 has
  c.protection.dry_run = {"acl"};
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(datagram("198.51.100.1")), XDP_PASS);  // dry-run: userspace counts it
}

TEST_F(XdpProgram, ReflectionPortDatagramsAreDropped) {
  config::Config c = base_config();
  c.protection.udp_reflection_ports = {53, 123, 11211};
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(datagram("10.77.1.2", 53)), XDP_DROP);
  EXPECT_EQ(run(datagram("10.77.1.2", 11211)), XDP_DROP);
  EXPECT_EQ(run(datagram("2001:db8::9", 123)), XDP_DROP);
  EXPECT_EQ(run(datagram("10.77.1.2", 5353)), XDP_PASS);
  EXPECT_EQ(run(packet("10.77.1.2", 53, 7000, true)), XDP_PASS);  // TCP from port 53
  EXPECT_EQ(run(datagram("10.77.1.2", 53, 9999)), XDP_PASS);      // not an app port
  EXPECT_EQ(loader_.counters().reflection, 3u);
}

TEST_F(XdpProgram, SynsOverTheSourceRateAreDropped) {
  config::Config c = base_config();
  c.protection.per_ip.new_connections_per_second = 1;
  c.protection.per_ip.burst = 3;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(syn("10.77.1.66")), XDP_PASS) << i;
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  // Segments of established connections are not SYNs; other sources have their own bucket.
  EXPECT_EQ(run(packet("10.77.1.66", 40000, 7000, true, 0x10)), XDP_PASS);
  EXPECT_EQ(run(syn("10.77.1.2")), XDP_PASS);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(syn("2001:db8::66")), XDP_PASS) << i;
  EXPECT_EQ(run(syn("2001:db8::66")), XDP_DROP);
  EXPECT_EQ(loader_.counters().syn_rate, 3u);
  EXPECT_EQ(loader_.counters().drops(guard::Reason::kRateLimit), 3u);
}

TEST_F(XdpProgram, DatagramsOverTheSourceRateAreDropped) {
  config::Config c = base_config();
  c.protection.per_ip.udp_packets_per_second = 1;
  c.protection.per_ip.udp_burst = 5;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run(datagram("10.77.1.66")), XDP_PASS) << i;
  EXPECT_EQ(run(datagram("10.77.1.66")), XDP_DROP);
  EXPECT_EQ(run(datagram("10.77.1.2")), XDP_PASS);
  EXPECT_EQ(loader_.counters().udp_rate, 1u);
}

TEST_F(XdpProgram, ARemovedAppPortIsNoLongerJudged) {
  config::Config c = base_config();
  c.protection.per_ip.new_connections_per_second = 1;
  c.protection.per_ip.burst = 1;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_PASS);
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  c.apps.erase(c.apps.begin());
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_PASS);
}

// The guard's ban hook: an autoban ban made by a worker's Guard reaches the kernel's ban map.
class BanHook : public XdpProgram {
 protected:
  // Two connection-limit violations (1 s apart) ban `ip` through guard_ for 60 s.
  void ban_through_the_guard(guard::BanSink* sink, const char* ip) {
    config::Config c = base_config();
    c.protection.per_ip.max_connections = 1;
    c.protection.autoban = {2, std::chrono::seconds(10), std::chrono::seconds(60)};
    std::vector<std::string> warnings;
    auto zone = guard::compile_zone(c, &warnings);
    auto policy = guard::compile_app(c.apps[0], c.protection, zone, nullptr);
    guard::Guard g;
    g.set_ban_sink(sink);
    const net::IpAddr addr = *net::IpAddr::parse(ip);
    ASSERT_TRUE(g.admit(*policy, addr, 1000).allowed);  // held: the next ones are over the limit
    EXPECT_FALSE(g.admit(*policy, addr, 1000).allowed);
    EXPECT_FALSE(g.admit(*policy, addr, 2000).allowed);
    EXPECT_GT(g.banned_for(addr, 2000), 0);
  }
};

struct RecordingSink : guard::BanSink {
  std::vector<std::pair<std::string, int64_t>> bans;
  void banned(const net::Cidr& source, int64_t duration_ms) override {
    bans.emplace_back(guard::source_text(source), duration_ms);
  }
};

TEST(GuardBanSink, HearsEveryBanWithItsDuration) {
  config::Config c = base_config();
  c.protection.per_ip.max_connections = 1;
  c.protection.autoban = {2, std::chrono::seconds(10), std::chrono::seconds(60)};
  std::vector<std::string> warnings;
  auto policy =
      guard::compile_app(c.apps[0], c.protection, guard::compile_zone(c, &warnings), nullptr);
  RecordingSink sink;
  guard::Guard g;
  g.set_ban_sink(&sink);
  const net::IpAddr addr = *net::IpAddr::parse("10.77.1.66");
  ASSERT_TRUE(g.admit(*policy, addr, 1000).allowed);
  g.admit(*policy, addr, 1000);
  EXPECT_TRUE(sink.bans.empty());
  g.admit(*policy, addr, 2000);
  ASSERT_EQ(sink.bans.size(), 1u);
  EXPECT_EQ(sink.bans[0].first, "10.77.1.66");
  EXPECT_EQ(sink.bans[0].second, 60'000);
}

TEST_F(BanHook, AGuardBanIsDroppedByTheKernel) {
  ASSERT_TRUE(loader_.sync(plan_of(base_config())));
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_PASS);
  ban_through_the_guard(&loader_, "10.77.1.66");
  EXPECT_EQ(run(syn("10.77.1.66")), XDP_DROP);
  EXPECT_EQ(run(syn("10.77.1.2")), XDP_PASS);
  EXPECT_EQ(loader_.counters().banned, 1u);
}

// protection.ipv6_prefix: a ban of an IPv6 source covers its prefix (the zone's, /64 by
// default), and every address of one prefix shares the per-source rates.
TEST_F(XdpProgram, AnIpv6BanCoversItsPrefix) {
  ASSERT_TRUE(loader_.sync(plan_of(base_config())));
  loader_.banned(source("2001:db8:bad::/64"), 60'000);
  EXPECT_EQ(run(syn("2001:db8:bad::1")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:bad::dead:beef:1")), XDP_DROP);  // another address of the /64
  EXPECT_EQ(run(datagram("2001:db8:bad:0:ffff:ffff:ffff:ffff")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:bad:1::1")), XDP_PASS);  // the next /64
  EXPECT_EQ(loader_.counters().banned, 3u);
}

TEST_F(XdpProgram, PerAddressBansWithIpv6Prefix128) {
  config::Config c = base_config();
  c.protection.ipv6_prefix = 128;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  loader_.banned(source("2001:db8:bad::1"), 60'000);
  EXPECT_EQ(run(syn("2001:db8:bad::1")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:bad::2")), XDP_PASS);
}

TEST_F(XdpProgram, AddressesOfOnePrefixShareTheSynRate) {
  config::Config c = base_config();
  c.protection.per_ip.new_connections_per_second = 1;
  c.protection.per_ip.burst = 3;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  // Rotating addresses inside one /64 does not buy a new bucket.
  EXPECT_EQ(run(syn("2001:db8:77::1")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:77::2")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:77::3")), XDP_PASS);
  EXPECT_EQ(run(syn("2001:db8:77::4")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:77:0:1234::9")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:78::1")), XDP_PASS);  // another /64, its own bucket
  // The same with an app that tracks every address on its own (a per-app override).
  config::ProtectionConfig per_address = c.protection;
  per_address.ipv6_prefix = 128;
  c.apps[0].protection = per_address;
  ASSERT_TRUE(loader_.sync(plan_of(c)));
  for (const char* a : {"2001:db8:99::1", "2001:db8:99::2", "2001:db8:99::3", "2001:db8:99::4"})
    EXPECT_EQ(run(syn(a)), XDP_PASS) << a;
}

TEST_F(BanHook, AGuardBanOfAnIpv6AddressDropsItsSlash64InTheKernel) {
  ASSERT_TRUE(loader_.sync(plan_of(base_config())));
  ban_through_the_guard(&loader_, "2001:db8:66::1");
  EXPECT_EQ(run(syn("2001:db8:66::1")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:66::abcd")), XDP_DROP);
  EXPECT_EQ(run(syn("2001:db8:67::1")), XDP_PASS);
}

TEST(XdpLoader, AttachRefusesAMissingInterfaceWithoutThrowing) {
  Loader l;
  config::XdpConfig x;
  x.interface = "rampart-none0";
  x.mode = config::XdpMode::kGeneric;
  EXPECT_FALSE(l.attach(x));
  EXPECT_FALSE(l.attached());
  l.banned(source("10.0.0.1"), 1000);  // harmless when nothing is loaded
}

// ---------------------------------------------------------------- the map plan (no kernel)

TEST(MapPlan, OneProfilePerAppAndPortsPointAtThem) {
  config::Config c = base_config();
  c.protection.per_ip.new_connections_per_second = 20;
  c.protection.per_ip.burst = 40;
  c.protection.udp_reflection_ports = {53};
  config::App range = app("range", config::Proto::kTcp, 8000, 8002, false);
  config::ProtectionConfig own = c.protection;
  own.per_ip.new_connections_per_second = 0;
  own.dry_run = {"reflection"};
  range.protection = own;
  c.apps.push_back(range);
  const MapPlan plan = plan_of(c);
  ASSERT_EQ(plan.profiles.size(), 3u);
  const rxdp_profile& tcp = plan.profiles[0];
  EXPECT_EQ(tcp.flags, uint32_t{RXDP_F_ACL | RXDP_F_BANS | RXDP_F_SYN_RATE | RXDP_F_REFLECTION});
  EXPECT_EQ(tcp.syn_rate, 20u);
  EXPECT_EQ(tcp.syn_burst, 40u);
  EXPECT_EQ(tcp.reflect[53 >> 3], 1u << (53 & 7));
  EXPECT_EQ(plan.profiles[2].flags, uint32_t{RXDP_F_BANS});  // no firewall, no rate, dry-run
  ASSERT_EQ(plan.ports.size(), 5u);
  EXPECT_EQ(plan.ports[0].first, 5300);
  EXPECT_EQ(plan.ports[0].second.udp_profile, 2);
  EXPECT_EQ(plan.ports[1].first, 7000);
  EXPECT_EQ(plan.ports[1].second.tcp_profile, 1);
  EXPECT_EQ(plan.ports[4].first, 8002);
  EXPECT_EQ(plan.ports[4].second.tcp_profile, 3);
}

TEST(MapPlan, TwoAppsOnOnePortGetWhatBothWouldApply) {
  config::Config c = base_config();
  c.protection.per_ip.new_connections_per_second = 20;
  config::App other = app("other", config::Proto::kTcp, 7000, 7000, false);
  config::ProtectionConfig p = c.protection;
  p.per_ip.new_connections_per_second = 50;
  p.ipv6_prefix = 128;
  other.protection = p;
  c.apps.push_back(other);
  const MapPlan plan = plan_of(c);
  ASSERT_EQ(plan.profiles.size(), 4u);
  EXPECT_EQ(plan.profiles[0].v6_prefix, 64);
  EXPECT_EQ(plan.profiles[2].v6_prefix, 128);
  const rxdp_profile& merged = plan.profiles[plan.ports[1].second.tcp_profile - 1];
  EXPECT_EQ(plan.ports[1].second.tcp_profile, 4);
  EXPECT_EQ(merged.flags & RXDP_F_ACL, 0u);
  EXPECT_EQ(merged.syn_rate, 50u);
  EXPECT_EQ(merged.v6_prefix, 128);     // the more lenient: every address its own bucket
  EXPECT_EQ(merged.ban_v6_prefix, 64);  // bans: the zone's prefix, whatever the app
}

TEST(MapPlan, AccessRulesBecomeLpmEntriesAndABlockBeatsAWhitelist) {
  config::Config c = base_config();
  using config::AccessMode;
  using config::AccessTarget;
  c.ip_access_rules.push_back(rule(AccessMode::kWhitelist, AccessTarget::kIpRange, "10.1.0.0/16"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kIpRange, "10.1.0.0/16"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kIp, "192.0.2.9"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kIp6, "2001:db8::/32"));
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, AccessTarget::kAsn, "AS64500"));
  const MapPlan plan = plan_of(c);
  ASSERT_EQ(plan.acl_v4.size(), 2u);
  ASSERT_EQ(plan.acl_v6.size(), 1u);
  const uint8_t ten_one[4] = {10, 1, 0, 0};
  EXPECT_EQ(plan.acl_v4[0].first.prefixlen, 16u);
  EXPECT_EQ(std::memcmp(plan.acl_v4[0].first.addr, ten_one, 4), 0);
  EXPECT_EQ(plan.acl_v4[0].second, uint32_t{RXDP_ACL_BLOCK});
  EXPECT_EQ(plan.acl_v4[1].first.prefixlen, 32u);
  EXPECT_EQ(plan.acl_v6[0].first.prefixlen, 32u);
  EXPECT_EQ(plan.acl_v6[0].first.addr[0], 0x20);
}

}  // namespace
}  // namespace rampart::xdp
