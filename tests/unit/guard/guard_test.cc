#include "guard/guard.h"

#include <gtest/gtest.h>

#include <string>

#include "guard/token_bucket.h"
#include "test_support.h"

namespace rampart::guard {
namespace {

using rampart::testing::ip;
using rampart::testing::no_limits;
using rampart::testing::rule;

std::string fixture_path(const char* name) {
  std::string f = __FILE__;
  return f.substr(0, f.rfind('/')) + "/fixtures/" + name;
}

struct Fixture {
  config::Config cfg;
  config::App app;
  config::ProtectionConfig prot = no_limits();
  std::shared_ptr<const AppPolicy> policy;
  std::vector<std::string> warnings;

  Fixture() {
    app.id = "app";
    app.ip_firewall = true;
    // A first-bytes validator, so that validation_failed() has a validate filter to walk.
    app.validate = config::Validator::kSsh;
  }
  const AppPolicy& build() {
    policy = compile_app(app, prot, compile_zone(cfg, &warnings), nullptr);
    return *policy;
  }
};

constexpr auto kBlock = config::AccessMode::kBlock;
constexpr auto kAllow = config::AccessMode::kWhitelist;
using T = config::AccessTarget;

TEST(TokenBucket, RateAndBurst) {
  TokenBucket b;
  int64_t t = 1000;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(2, 5, t)) << i;  // full burst
  EXPECT_FALSE(b.take(2, 5, t));
  EXPECT_FALSE(b.take(2, 5, t + 499));
  EXPECT_TRUE(b.take(2, 5, t + 500));  // 2/s: one token per 500 ms
  EXPECT_FALSE(b.take(2, 5, t + 500));
  EXPECT_FALSE(b.full(2, 5, t + 2000));
  EXPECT_TRUE(b.full(2, 5, t + 3000));
  TokenBucket c;  // burst 0 = rate
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c.take(3, 0, 0));
  EXPECT_FALSE(c.take(3, 0, 0));
}

TEST(Acl, BlockAndWhitelistByLongestPrefix) {
  Fixture f;
  f.cfg.ip_access_rules = {
      rule(kBlock, T::kIpRange, "198.51.100.0/24"), rule(kAllow, T::kIp, "198.51.100.7"),
      rule(kBlock, T::kIp6, "2001:db8::66"), rule(kAllow, T::kIpRange, "10.0.0.0/8")};
  const AppPolicy& p = f.build();
  Guard g;
  Admission a = g.admit(p, ip("198.51.100.9"), 0);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, Reason::kBlockIp);
  EXPECT_STREQ(a.rule, "BLOCK_IP");
  a = g.admit(p, ip("198.51.100.7"), 0);
  EXPECT_TRUE(a.allowed);
  EXPECT_STREQ(a.rule, "WHITELIST_IP");
  EXPECT_FALSE(g.admit(p, ip("2001:db8::66"), 0).allowed);
  EXPECT_TRUE(g.admit(p, ip("2001:db8::67"), 0).allowed);
  // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
  EXPECT_FALSE(g.admit(p, ip("::ffff:198.51.100.1"), 0).allowed);
  a = g.admit(p, ip("192.0.2.1"), 0);
  EXPECT_TRUE(a.allowed);
  EXPECT_STREQ(a.rule, "NONE");
  EXPECT_EQ(g.counters().drop_count(Reason::kBlockIp), 3u);
}

TEST(Acl, OnlyForAppsWithIpFirewall) {
  Fixture f;
  f.cfg.ip_access_rules = {rule(kBlock, T::kIpRange, "0.0.0.0/0")};
  f.app.ip_firewall = false;
  Guard g;
  Admission a = g.admit(f.build(), ip("192.0.2.1"), 0);
  EXPECT_TRUE(a.allowed);
  EXPECT_STREQ(a.rule, "");
}

TEST(Acl, CountryAndAsnWithGeoIp) {
  Fixture f;
  f.cfg.geoip.country_db = fixture_path("country.mmdb");
  f.cfg.geoip.asn_db = fixture_path("asn.mmdb");
  f.cfg.ip_access_rules = {rule(kBlock, T::kCountry, "yy"), rule(kBlock, T::kAsn, "AS64501"),
                           rule(kAllow, T::kAsn, "64500"), rule(kBlock, T::kCountry, "XX")};
  const AppPolicy& p = f.build();
  EXPECT_TRUE(f.warnings.empty()) << f.warnings[0];
  Guard g;
  Admission a = g.admit(p, ip("198.51.100.3"), 0);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, Reason::kBlockCountry);
  EXPECT_STREQ(a.geo.country, "YY");
  a = g.admit(p, ip("203.0.113.3"), 0);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, Reason::kBlockAsn);
  EXPECT_EQ(a.geo.asn, 64501u);
  // ASN beats country (Cloudflare's order): whitelisted AS64500 inside blocked country XX.
  a = g.admit(p, ip("10.77.1.2"), 0);
  EXPECT_TRUE(a.allowed);
  EXPECT_STREQ(a.rule, "WHITELIST_ASN");
  EXPECT_STREQ(a.geo.country, "XX");
  EXPECT_EQ(a.geo.asn, 64500u);
  a = g.admit(p, ip("2001:db8::1"), 0);
  EXPECT_TRUE(a.allowed);
  EXPECT_STREQ(a.geo.country, "ZZ");
  EXPECT_FALSE(g.admit(p, ip("::ffff:198.51.100.3"), 0).allowed);
}

TEST(Acl, MissingGeoDbWarns) {
  Fixture f;
  f.cfg.geoip.country_db = "/nonexistent.mmdb";
  f.cfg.ip_access_rules = {rule(kBlock, T::kCountry, "XX")};
  f.build();
  ASSERT_EQ(f.warnings.size(), 2u);
  EXPECT_NE(f.warnings[0].find("/nonexistent.mmdb"), std::string::npos);
}

TEST(Limits, PerSourceConcurrentConnections) {
  Fixture f;
  f.prot.per_ip.max_connections = 2;
  const AppPolicy& p = f.build();
  Guard g;
  Admission a1 = g.admit(p, ip("192.0.2.1"), 0);
  Admission a2 = g.admit(p, ip("192.0.2.1"), 0);
  EXPECT_TRUE(a1.allowed && a2.allowed && a1.tracked_source);
  Admission a3 = g.admit(p, ip("192.0.2.1"), 0);
  EXPECT_FALSE(a3.allowed);
  EXPECT_EQ(a3.reason, Reason::kConnLimit);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.2"), 0).allowed);  // another source
  g.release(p, ip("192.0.2.1"), a1);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);
  EXPECT_EQ(g.counters().drop_count(Reason::kConnLimit), 1u);
}

TEST(Limits, NewConnectionRate) {
  Fixture f;
  f.prot.per_ip.new_connections_per_second = 10;
  f.prot.per_ip.burst = 3;
  const AppPolicy& p = f.build();
  Guard g;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 1000).allowed);
  Admission a = g.admit(p, ip("192.0.2.1"), 1000);
  EXPECT_FALSE(a.allowed);
  EXPECT_STREQ(a.rule, "RATE_LIMIT");
  EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 1100).allowed);  // 10/s refills one per 100 ms
}

TEST(Limits, AppConnectionCapSharedAcrossWorkers) {
  Fixture f;
  f.prot.max_connections = 2;
  const AppPolicy& p = f.build();
  Guard w0(0), w1(1);
  Admission a = w0.admit(p, ip("192.0.2.1"), 0);
  EXPECT_TRUE(w1.admit(p, ip("192.0.2.2"), 0).allowed);
  Admission c = w1.admit(p, ip("192.0.2.3"), 0);
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.reason, Reason::kAppConnLimit);
  w0.release(p, ip("192.0.2.1"), a);
  EXPECT_TRUE(w1.admit(p, ip("192.0.2.3"), 0).allowed);
}

// Each access rule counts what it refused (per worker, summed), in TCP and UDP, not in dry-run;
// a recompile keeps the count of a rule whose id stays.
TEST(Acl, EachRuleCountsItsRefusals) {
  Fixture f;
  auto with_id = [](config::IpAccessRule r, const char* id) {
    r.id = id;
    return r;
  };
  f.cfg.ip_access_rules = {with_id(rule(kBlock, T::kIpRange, "198.51.100.0/24"), "range"),
                           with_id(rule(kAllow, T::kIp, "198.51.100.7"), "allow"),
                           with_id(rule(kBlock, T::kIp, "192.0.2.66"), "one"),
                           with_id(rule(kBlock, T::kIp, "192.0.2.66"), "shadowed")};
  auto zone = compile_zone(f.cfg, &f.warnings, nullptr, 2);
  ASSERT_EQ(zone->rules.size(), 4u);
  auto p = compile_app(f.app, f.prot, zone, nullptr);
  Guard w0(0), w1(1);
  EXPECT_FALSE(w0.admit(*p, ip("198.51.100.9"), 0).allowed);
  EXPECT_FALSE(w1.admit(*p, ip("198.51.100.10"), 0).allowed);
  EXPECT_TRUE(w0.admit(*p, ip("198.51.100.7"), 0).allowed);  // whitelisted: no refusal
  EXPECT_FALSE(w1.admit(*p, ip("192.0.2.66"), 0).allowed);
  config::App udp = f.app;
  udp.proto = config::Proto::kUdp;
  auto pu = compile_app(udp, f.prot, zone, nullptr);
  EXPECT_EQ(w0.check_datagram(*pu, net::SockAddr(ip("198.51.100.1"), 5000), 0), Reason::kBlockIp);
  auto hits = [&](const ZoneRules& z) {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& r : z.rules) out.emplace_back(r.id, r.hits->total());
    return out;
  };
  using V = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(hits(*zone), (V{{"range", 3}, {"allow", 0}, {"one", 1}, {"shadowed", 0}}));
  // A reload: "range" and "one" stay, "allow" goes, "new" comes with 0.
  f.cfg.ip_access_rules = {with_id(rule(kBlock, T::kIpRange, "198.51.100.0/24"), "range"),
                           with_id(rule(kBlock, T::kIp, "192.0.2.66"), "one"),
                           with_id(rule(kBlock, T::kIp, "192.0.2.77"), "new")};
  auto zone2 = compile_zone(f.cfg, &f.warnings, zone.get(), 2);
  auto p2 = compile_app(f.app, f.prot, zone2, p.get());
  EXPECT_FALSE(w0.admit(*p2, ip("192.0.2.77"), 0).allowed);
  EXPECT_FALSE(w0.admit(*p2, ip("198.51.100.1"), 0).allowed);
  EXPECT_EQ(hits(*zone2), (V{{"range", 4}, {"one", 1}, {"new", 1}}));
  // Dry-run: the connection goes through, and the rule refused nothing.
  f.prot.dry_run = {"acl"};
  auto dry = compile_app(f.app, f.prot, zone2, nullptr);
  EXPECT_TRUE(w0.admit(*dry, ip("192.0.2.77"), 0).allowed);
  EXPECT_EQ(hits(*zone2), (V{{"range", 4}, {"one", 1}, {"new", 1}}));
}

TEST(Limits, AppCountSurvivesRecompile) {
  Fixture f;
  f.prot.max_connections = 1;
  auto p1 = compile_app(f.app, f.prot, compile_zone(f.cfg, &f.warnings), nullptr);
  Guard g;
  EXPECT_TRUE(g.admit(*p1, ip("192.0.2.1"), 0).allowed);
  auto p2 = compile_app(f.app, f.prot, compile_zone(f.cfg, &f.warnings), p1.get());
  EXPECT_FALSE(g.admit(*p2, ip("192.0.2.2"), 0).allowed);
}

TEST(Limits, WhitelistBypassesPerSourceLimitsAndBans) {
  Fixture f;
  f.cfg.ip_access_rules = {rule(kAllow, T::kIp, "192.0.2.1")};
  f.prot.per_ip.max_connections = 1;
  f.prot.per_ip.new_connections_per_second = 1;
  f.prot.per_ip.burst = 1;
  f.prot.autoban = {1, std::chrono::seconds(10), std::chrono::seconds(60)};
  const AppPolicy& p = f.build();
  Guard g;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);
  EXPECT_EQ(g.sources(), 0u);  // no state kept for it
}

TEST(Autoban, ViolationsWithinWindowBanAllApps) {
  Fixture f;
  f.prot.per_ip.max_connections = 1;
  f.prot.autoban = {3, std::chrono::seconds(10), std::chrono::seconds(60)};
  const AppPolicy& p = f.build();
  Fixture other;
  other.app.id = "other";
  const AppPolicy& q = other.build();
  Guard g;
  const auto src = ip("192.0.2.1");
  EXPECT_TRUE(g.admit(p, src, 0).allowed);
  // At most one violation per second counts, however many refusals.
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(g.admit(p, src, t * 1000 + i).allowed);
  EXPECT_GT(g.banned_for(src, 3000), 56'000);
  Admission a = g.admit(q, src, 3000);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, Reason::kBanned);
  EXPECT_EQ(g.counters().bans.load(), 1u);
  EXPECT_TRUE(g.admit(q, src, 2000 + 60'001).allowed);  // ban over
}

TEST(Autoban, WindowExpires) {
  Fixture f;
  f.prot.per_ip.max_connections = 1;
  f.prot.autoban = {2, std::chrono::seconds(5), std::chrono::seconds(60)};
  const AppPolicy& p = f.build();
  Guard g;
  const auto src = ip("192.0.2.1");
  g.admit(p, src, 0);
  EXPECT_FALSE(g.admit(p, src, 0).allowed);
  EXPECT_FALSE(g.admit(p, src, 6000).allowed);  // the first violation's window is over
  EXPECT_EQ(g.banned_for(src, 6000), 0);
  EXPECT_FALSE(g.admit(p, src, 7000).allowed);
  EXPECT_GT(g.banned_for(src, 7000), 0);
}

TEST(Autoban, ValidatorFailuresAreViolations) {
  Fixture f;
  f.prot.autoban = {2, std::chrono::seconds(10), std::chrono::seconds(60)};
  const AppPolicy& p = f.build();
  Guard g;
  EXPECT_TRUE(g.validation_failed(p, ip("192.0.2.1"), Reason::kValidate, 0));
  EXPECT_TRUE(g.validation_failed(p, ip("192.0.2.1"), Reason::kHandshakeTimeout, 1000));
  EXPECT_FALSE(g.admit(p, ip("192.0.2.1"), 1000).allowed);
  EXPECT_EQ(g.counters().drop_count(Reason::kValidate), 1u);
  EXPECT_EQ(g.counters().drop_count(Reason::kHandshakeTimeout), 1u);
}

// Issue #10: a full table evicts an idle source instead of refusing the new one; a source with
// open connections keeps its entry (and so its count).
TEST(Table, FullTableEvictsIdleSourcesAndAdmitsAFreshClient) {
  Fixture f;
  f.prot.per_ip.max_connections = 2;
  const AppPolicy& p = f.build();
  Guard g(0, 3);
  Admission legit = g.admit(p, ip("192.0.2.1"), 0);  // seen before, connection still open
  ASSERT_TRUE(legit.allowed);
  for (int i = 10; i < 200; ++i) {  // a flood of one-shot sources
    const auto src = ip(("198.51.100." + std::to_string(i)).c_str());
    Admission a = g.admit(p, src, i);
    ASSERT_TRUE(a.allowed) << i;
    g.release(p, src, a);
  }
  EXPECT_TRUE(g.admit(p, ip("203.0.113.9"), 500).allowed);  // a fresh client
  EXPECT_EQ(g.counters().drop_count(Reason::kTableFull), 0u);
  EXPECT_LE(g.sources(), 3u);
  EXPECT_GE(g.table_stats().evicted_idle.load(), 188u);
  // The pinned entry kept its count: the legit source is at 1 of 2 connections.
  EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 600).allowed);
  EXPECT_EQ(g.admit(p, ip("192.0.2.1"), 600).reason, Reason::kConnLimit);
  g.release(p, ip("192.0.2.1"), legit);
}

// Refusing is left for the one case eviction cannot help: every entry holds open connections.
TEST(Table, RefusesOnlyWhenEveryEntryHasOpenConnections) {
  Fixture f;
  f.prot.per_ip.max_connections = 5;
  const AppPolicy& p = f.build();
  Guard g(0, 2);
  Admission a = g.admit(p, ip("192.0.2.1"), 0);
  Admission b = g.admit(p, ip("192.0.2.2"), 0);
  Admission shed = g.admit(p, ip("192.0.2.3"), 0);
  EXPECT_FALSE(shed.allowed);
  EXPECT_EQ(shed.reason, Reason::kTableFull);
  EXPECT_EQ(g.table_stats().refused.load(), 1u);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);  // known sources still served
  g.release(p, ip("192.0.2.2"), b);                     // .2 has no connection left...
  EXPECT_TRUE(g.admit(p, ip("192.0.2.3"), 1).allowed);  // ...so it makes room at once
  EXPECT_EQ(g.counters().drop_count(Reason::kTableFull), 1u);
  g.release(p, ip("192.0.2.1"), a);
}

TEST(Table, SweepExpiresIdleSources) {
  Fixture f;
  f.prot.per_ip.new_connections_per_second = 5;
  const AppPolicy& p = f.build();
  Guard g(0, 10);
  Admission a = g.admit(p, ip("192.0.2.1"), 0);
  Admission held = g.admit(p, ip("192.0.2.2"), 0);
  g.release(p, ip("192.0.2.1"), a);
  g.tick(SourceTable::kIdleMs + 10);
  EXPECT_EQ(g.sources(), 1u);  // .2 has an open connection
  g.release(p, ip("192.0.2.2"), held);
  g.tick(2 * SourceTable::kIdleMs + 20);
  EXPECT_EQ(g.sources(), 0u);
}

TEST(Table, ReconfiguredCapacityShrinksTheTable) {
  Fixture f;
  f.prot.per_ip.new_connections_per_second = 5;
  const AppPolicy& p = f.build();
  Guard g(0, 100);
  for (int i = 1; i <= 50; ++i) {
    const auto src = ip(("192.0.2." + std::to_string(i)).c_str());
    g.release(p, src, g.admit(p, src, i));
  }
  EXPECT_EQ(g.sources(), 50u);
  g.configure(20, 64);
  EXPECT_EQ(g.sources(), 20u);
  EXPECT_EQ(g.table_stats().capacity.load(), 20u);
}

TEST(Udp, ReflectionPortsRateAndAcl) {
  Fixture f;
  f.app.proto = config::Proto::kUdp;
  f.prot.udp_reflection_ports = {53, 123};
  f.prot.per_ip.udp_packets_per_second = 100;
  f.prot.per_ip.udp_burst = 10;
  f.cfg.ip_access_rules = {rule(kBlock, T::kIp, "192.0.2.66")};
  const AppPolicy& p = f.build();
  Guard g;
  EXPECT_EQ(g.check_datagram(p, net::SockAddr(ip("192.0.2.1"), 123), 0), Reason::kReflection);
  EXPECT_EQ(g.check_datagram(p, net::SockAddr(ip("192.0.2.66"), 5000), 0), Reason::kBlockIp);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(g.check_datagram(p, net::SockAddr(ip("192.0.2.1"), 5000), 0), Reason::kNone);
  EXPECT_EQ(g.check_datagram(p, net::SockAddr(ip("192.0.2.1"), 5001), 0), Reason::kUdpRateLimit);
  EXPECT_EQ(g.check_datagram(p, net::SockAddr(ip("192.0.2.1"), 5001), 10), Reason::kNone);
  EXPECT_EQ(g.counters().drop_count(Reason::kReflection), 1u);
  EXPECT_EQ(g.counters().drop_count(Reason::kUdpRateLimit), 1u);
}

TEST(DryRun, CountsButLetsThrough) {
  Fixture f;
  f.cfg.ip_access_rules = {rule(kBlock, T::kIp, "192.0.2.66")};
  f.prot.per_ip.max_connections = 1;
  f.prot.dry_run = {"acl", "conn_limit"};
  const AppPolicy& p = f.build();
  Guard g;
  EXPECT_TRUE(g.admit(p, ip("192.0.2.66"), 0).allowed);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.66"), 0).allowed);
  EXPECT_EQ(g.counters().drop_count(Reason::kBlockIp), 0u);
  EXPECT_EQ(g.counters().dry_run_count(Reason::kBlockIp), 2u);
  EXPECT_EQ(g.counters().dry_run_count(Reason::kConnLimit), 1u);
  Fixture all;
  all.prot.dry_run = {"all"};
  all.prot.autoban = {1, std::chrono::seconds(10), std::chrono::seconds(60)};
  const AppPolicy& q = all.build();
  EXPECT_FALSE(g.validation_failed(q, ip("192.0.2.9"), Reason::kValidate, 0));
  EXPECT_EQ(g.banned_for(ip("192.0.2.9"), 0), 0);  // autoban in dry-run bans no one
}

TEST(DryRun, AFilterInDryRunCausesNoBan) {
  // Autoban is live, but the filters whose verdicts would count are in dry-run: what they let
  // through must not add up to a ban.
  Fixture f;
  f.prot.per_ip.max_connections = 1;
  f.prot.autoban = {1, std::chrono::seconds(10), std::chrono::seconds(60)};
  f.prot.dry_run = {"conn_limit", "validate"};
  const AppPolicy& p = f.build();
  Guard g;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(g.admit(p, ip("192.0.2.7"), i * 2000).allowed);
  EXPECT_FALSE(g.validation_failed(p, ip("192.0.2.7"), Reason::kValidate, 20000));
  EXPECT_EQ(g.counters().dry_run_count(Reason::kConnLimit), 4u);
  EXPECT_EQ(g.banned_for(ip("192.0.2.7"), 20000), 0);
  // The same traffic with conn_limit live: one violation bans.
  Fixture live;
  live.prot.per_ip.max_connections = 1;
  live.prot.autoban = {1, std::chrono::seconds(10), std::chrono::seconds(60)};
  const AppPolicy& q = live.build();
  Guard h;
  EXPECT_TRUE(h.admit(q, ip("192.0.2.7"), 0).allowed);
  EXPECT_FALSE(h.admit(q, ip("192.0.2.7"), 0).allowed);
  EXPECT_GT(h.banned_for(ip("192.0.2.7"), 0), 0);
}

}  // namespace
}  // namespace rampart::guard
