// SourceTable under the attacks of issue #10, without sockets or clocks: keys chosen to collide
// under the old unkeyed hash, a table filled by a flood (LRU eviction, pinned entries kept), and
// IPv6 sources aggregated per prefix for the guard's limits and bans.
#include "guard/source_table.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "../../integration/helpers/old_source_hash.h"
#include "guard/guard.h"
#include "guard/policy.h"
#include "test_support.h"

namespace rampart::guard {
namespace {

using rampart::testing::ip;
using rampart::testing::no_limits;

SourceKey key(const std::string& s, uint64_t app = 7, int v6_prefix = 128) {
  return SourceKey::of(ip(s), app, v6_prefix);
}

// ------------------------------------------------------------------- hash flooding

// 40,000 addresses of one /64 that the old hash put into a single bucket at every size the old
// table went through (the attack). Under the keyed hash they spread like any keys.
TEST(SourceTableHash, KeysThatCollidedUnderTheOldHashSpreadUnderTheKeyedOne) {
  const uint8_t prefix[8] = {0xfd, 0x77, 0x00, 0x99, 0x00, 0x00, 0x00, 0x00};
  const uint64_t app = old_source_hash::app_key("dns");
  const size_t n = 40'000;
  const std::vector<old_source_hash::Key> keys = old_source_hash::colliding_keys(prefix, app, n);
  ASSERT_EQ(keys.size(), n);
  // They did collide: every old hash is 0 modulo every bucket count of the old table.
  const std::vector<size_t> buckets = old_source_hash::bucket_counts(100'000, n);
  ASSERT_FALSE(buckets.empty());
  for (const auto& k : keys)
    for (size_t b : buckets) ASSERT_EQ(old_source_hash::Hash()(k) % b, 0u);

  SourceTable t(100'000);
  for (size_t i = 0; i < keys.size(); ++i) {
    std::array<uint8_t, 16> a;
    std::memcpy(a.data(), keys[i].addr, 16);
    ASSERT_NE(t.get(SourceKey::of(net::IpAddr::v6(a), app, 128), static_cast<int64_t>(i)), nullptr);
  }
  EXPECT_EQ(t.size(), n);
  // A uniform hash puts at most a handful of 40,000 keys in one of ~50,000 buckets (the
  // expected maximum is about 8); the old hash put all 40,000 in one.
  EXPECT_LE(t.longest_chain(), 16u);
}

TEST(SourceTableHash, TheHashDependsOnTheKey) {
  SourceKeyHash a{core::HashKey{1, 2}}, b{core::HashKey{3, 4}};
  const SourceKey k = key("2001:db8::1");
  EXPECT_NE(a(k), b(k));
  EXPECT_EQ(a(k), a(key("2001:db8::1")));
  SourceKeyHash process;  // the default: the process's random key
  EXPECT_EQ(process.key.k0, core::process_hash_key().k0);
}

TEST(SourceKey, Ipv6IsMaskedToItsPrefix) {
  EXPECT_EQ(key("2001:db8:1:2:aaaa::1", 0, 64), key("2001:db8:1:2:bbbb::2", 0, 64));
  EXPECT_FALSE(key("2001:db8:1:2::1", 0, 64) == key("2001:db8:1:3::1", 0, 64));
  EXPECT_FALSE(key("2001:db8:1:2::1", 0, 128) == key("2001:db8:1:2::2", 0, 128));
  EXPECT_EQ(key("2001:db8:1:2::1", 0, 64).cidr().to_string(), "2001:db8:1:2::/64");
  EXPECT_EQ(key("2001:db8:1:2:ffff::1", 0, 56).cidr().to_string(), "2001:db8:1::/56");
  // IPv4 (also as a dual-stack socket sees it) is always the address.
  EXPECT_EQ(key("::ffff:192.0.2.7", 0, 64), key("192.0.2.7", 0, 64));
  EXPECT_EQ(key("192.0.2.7", 0, 64).cidr().to_string(), "192.0.2.7/32");
  EXPECT_EQ(source_text(source_prefix(ip("2001:db8::5"), 64)), "2001:db8::/64");
  EXPECT_EQ(source_text(source_prefix(ip("2001:db8::5"), 128)), "2001:db8::5");
  EXPECT_EQ(source_text(source_prefix(ip("192.0.2.7"), 64)), "192.0.2.7");
}

// ------------------------------------------------------------------- a full table

TEST(SourceTableEviction, EvictsTheLeastRecentlySeenIdleEntry) {
  SourceTable t(3);
  t.get(key("192.0.2.1"), 1);
  t.get(key("192.0.2.2"), 2);
  t.get(key("192.0.2.3"), 3);
  t.get(key("192.0.2.1"), 4);  // seen again: now the most recent
  ASSERT_NE(t.get(key("192.0.2.4"), 5), nullptr);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.find(key("192.0.2.2")), nullptr);
  EXPECT_NE(t.find(key("192.0.2.1")), nullptr);
  EXPECT_NE(t.find(key("192.0.2.3")), nullptr);
  EXPECT_EQ(t.stats().evicted_idle.load(), 1u);
  EXPECT_EQ(t.stats().size.load(), 3u);
}

TEST(SourceTableEviction, PinnedEntriesSurviveAFlood) {
  SourceTable t(4);
  SourceEntry* conn = t.get(key("192.0.2.1"), 0);
  conn->conns = 1;
  t.update(conn);
  SourceEntry* banned = t.get(key("192.0.2.2"), 0);
  banned->banned_until_ms = 600'000;
  t.update(banned);
  SourceEntry* violator = t.get(key("192.0.2.3"), 0);
  violator->violations = 2;
  t.update(violator);
  for (int i = 0; i < 1000; ++i)
    ASSERT_NE(t.get(key("10.78." + std::to_string(i / 250) + "." + std::to_string(i % 250)), i),
              nullptr);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.find(key("192.0.2.1")), conn);
  EXPECT_EQ(t.find(key("192.0.2.2")), banned);
  EXPECT_EQ(t.find(key("192.0.2.3")), violator);
  EXPECT_EQ(conn->conns, 1u);
  EXPECT_EQ(t.stats().evicted_violators.load() + t.stats().evicted_banned.load(), 0u);
  EXPECT_EQ(t.stats().refused.load(), 0u);
}

TEST(SourceTableEviction, IdleFirstThenViolatorsThenBansNeverConnections) {
  SourceTable t(3);
  SourceEntry* conn = t.get(key("192.0.2.1"), 0);
  conn->conns = 2;
  t.update(conn);
  SourceEntry* banned = t.get(key("192.0.2.2"), 0);
  banned->banned_until_ms = 600'000;
  t.update(banned);
  SourceEntry* violator = t.get(key("192.0.2.3"), 0);
  violator->violations = 1;
  t.update(violator);
  // No idle entry: the violator goes first (its count is lost, not a client's service).
  ASSERT_NE(t.get(key("203.0.113.1"), 1), nullptr);
  EXPECT_EQ(t.find(key("192.0.2.3")), nullptr);
  EXPECT_EQ(t.stats().evicted_violators.load(), 1u);
  // The fresh entry is idle: the next fresh source takes its place.
  ASSERT_NE(t.get(key("203.0.113.2"), 2), nullptr);
  EXPECT_EQ(t.find(key("203.0.113.1")), nullptr);
  EXPECT_EQ(t.stats().evicted_idle.load(), 1u);
  // Holding the idle entry (keep) leaves only the ban to evict; the connection stays.
  SourceEntry* held = t.find(key("203.0.113.2"));
  ASSERT_NE(t.get(key("203.0.113.3"), 3, held), nullptr);
  EXPECT_EQ(t.find(key("192.0.2.2")), nullptr);
  EXPECT_EQ(t.find(key("203.0.113.2")), held);
  EXPECT_EQ(t.stats().evicted_banned.load(), 1u);
  EXPECT_EQ(t.find(key("192.0.2.1")), conn);
}

TEST(SourceTableEviction, RefusesOnlyWhenEveryEntryHasConnections) {
  SourceTable t(2);
  for (const char* a : {"192.0.2.1", "192.0.2.2"}) {
    SourceEntry* e = t.get(key(a), 0);
    e->conns = 1;
    t.update(e);
  }
  EXPECT_EQ(t.get(key("192.0.2.3"), 1), nullptr);
  EXPECT_EQ(t.stats().refused.load(), 1u);
  EXPECT_NE(t.get(key("192.0.2.1"), 1), nullptr);  // a known source is still found
  SourceEntry* e = t.find(key("192.0.2.2"));
  e->conns = 0;  // its last connection closed
  t.update(e);
  EXPECT_NE(t.get(key("192.0.2.3"), 2), nullptr);
  EXPECT_EQ(t.find(key("192.0.2.2")), nullptr);
}

TEST(SourceTableSweep, ExpiresOnlyIdleEntriesAndEndsBans) {
  SourceTable t(100);
  t.get(key("192.0.2.1"), 0);
  SourceEntry* conn = t.get(key("192.0.2.2"), 0);
  conn->conns = 1;
  t.update(conn);
  SourceEntry* banned = t.get(key("192.0.2.3"), 0);
  banned->banned_until_ms = 90'000;
  t.update(banned);
  t.get(key("192.0.2.4"), 30'000);
  EXPECT_EQ(t.sweep(SourceTable::kIdleMs), 1u);  // .1 only
  EXPECT_EQ(t.find(key("192.0.2.1")), nullptr);
  EXPECT_EQ(t.sweep(SourceTable::kIdleMs + 30'000), 1u);  // .4; .3 is still banned
  EXPECT_EQ(t.sweep(100'000), 0u);                        // the ban ended: idle from now
  EXPECT_NE(t.find(key("192.0.2.3")), nullptr);
  EXPECT_EQ(t.sweep(100'000 + SourceTable::kIdleMs), 1u);
  EXPECT_EQ(t.size(), 1u);  // the connection's entry never expires
  conn->conns = 0;
  t.update(conn);  // closed at the table's latest clock: idle from then on
  EXPECT_EQ(t.sweep(100'000 + 2 * SourceTable::kIdleMs), 1u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.stats().size.load(), 0u);
}

// ------------------------------------------------------------------- IPv6 prefixes in the guard

std::shared_ptr<const AppPolicy> policy(const config::ProtectionConfig& prot,
                                        const char* id = "app",
                                        config::Proto proto = config::Proto::kTcp) {
  config::Config cfg;
  config::App app;
  app.id = id;
  app.proto = proto;
  std::vector<std::string> warnings;
  return compile_app(app, prot, compile_zone(cfg, &warnings), nullptr);
}

struct Bans : BanSink {
  std::vector<std::string> sources;
  void banned(const net::Cidr& source, int64_t) override { sources.push_back(source_text(source)); }
};

TEST(GuardIpv6, AddressesOfOneSlash64ShareTheConnectionLimit) {
  config::ProtectionConfig prot = no_limits();
  prot.per_ip.max_connections = 2;
  auto p = policy(prot);
  Guard g;
  EXPECT_TRUE(g.admit(*p, ip("2001:db8:1:2::1"), 0).allowed);
  EXPECT_TRUE(g.admit(*p, ip("2001:db8:1:2::2"), 0).allowed);
  Admission third = g.admit(*p, ip("2001:db8:1:2:ffff::3"), 0);  // rotating does not help
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.reason, Reason::kConnLimit);
  EXPECT_TRUE(g.admit(*p, ip("2001:db8:1:3::1"), 0).allowed);  // another /64
  // ipv6_prefix: 128 (HAProxy without ipmask): every address on its own.
  prot.ipv6_prefix = 128;
  auto q = policy(prot, "per-address");
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(g.admit(*q, ip("2001:db8:9::" + std::to_string(i)), 0).allowed) << i;
}

TEST(GuardIpv6, AddressesOfOneSlash64ShareTheRates) {
  config::ProtectionConfig prot = no_limits();
  prot.per_ip.new_connections_per_second = 1;
  prot.per_ip.burst = 2;
  prot.per_ip.udp_packets_per_second = 1;
  prot.per_ip.udp_burst = 2;
  auto tcp = policy(prot);
  auto udp = policy(prot, "udp", config::Proto::kUdp);
  Guard g;
  for (const char* a : {"2001:db8:5::1", "2001:db8:5::2"}) {
    Admission ok = g.admit(*tcp, ip(a), 0);
    EXPECT_TRUE(ok.allowed) << a;
    g.release(*tcp, ip(a), ok);
  }
  EXPECT_EQ(g.admit(*tcp, ip("2001:db8:5::3"), 0).reason, Reason::kRateLimit);
  const net::SockAddr s1(ip("2001:db8:6::1"), 4000), s2(ip("2001:db8:6::2"), 4000),
      s3(ip("2001:db8:6:0:1::3"), 4000), other(ip("2001:db8:7::1"), 4000);
  EXPECT_EQ(g.check_datagram(*udp, s1, 0), Reason::kNone);
  EXPECT_EQ(g.check_datagram(*udp, s2, 0), Reason::kNone);
  EXPECT_EQ(g.check_datagram(*udp, s3, 0), Reason::kUdpRateLimit);
  EXPECT_EQ(g.check_datagram(*udp, other, 0), Reason::kNone);
}

TEST(GuardIpv6, ViolationsAddUpPerPrefixAndTheBanCoversIt) {
  config::ProtectionConfig prot = no_limits();
  prot.per_ip.max_connections = 1;
  prot.autoban = {3, std::chrono::seconds(10), std::chrono::seconds(60)};
  auto p = policy(prot);
  Bans sink;
  Guard g;
  g.set_ban_sink(&sink);
  ASSERT_TRUE(g.admit(*p, ip("2001:db8:bad::1"), 0).allowed);  // holds the /64's one slot
  // Three refused connections, each from a new address of the /64, one second apart.
  for (int t = 1; t <= 3; ++t)
    EXPECT_FALSE(g.admit(*p, ip("2001:db8:bad::" + std::to_string(100 + t)), t * 1000).allowed);
  ASSERT_EQ(sink.sources.size(), 1u);
  EXPECT_EQ(sink.sources[0], "2001:db8:bad::/64");
  EXPECT_GT(g.banned_for(ip("2001:db8:bad:0:dead::beef"), 3000), 0);  // any address of it
  EXPECT_EQ(g.banned_for(ip("2001:db8:bad:1::1"), 3000), 0);          // not the next /64
  Admission a = g.admit(*p, ip("2001:db8:bad::7777"), 3000);
  EXPECT_EQ(a.reason, Reason::kBanned);
  // The report names the prefix; lifting it through any address of it works.
  bool listed = false;
  for (const SourceReport& r : g.report(0, 3000))
    if (r.banned_for_ms > 0) listed = r.text() == "2001:db8:bad::/64";
  EXPECT_TRUE(listed);
  g.unban(ip("2001:db8:bad::ffff"));
  EXPECT_EQ(g.banned_for(ip("2001:db8:bad::1"), 3000), 0);
}

TEST(GuardIpv6, AFleetBanIsHeldAtThisGuardsPrefix) {
  Guard g;
  g.ban(*net::Cidr::parse("2001:db8:44::9"), 60'000, 0);  // another edge banned one address
  EXPECT_GT(g.banned_for(ip("2001:db8:44::1"), 1), 0);    // here the /64 is the source
  g.configure(SourceTable::kDefaultCapacity, 128);
  g.ban(*net::Cidr::parse("2001:db8:55::/64"), 60'000, 0);
  EXPECT_GT(g.banned_for(ip("2001:db8:55::"), 1), 0);
  EXPECT_EQ(g.banned_for(ip("2001:db8:55::1"), 1), 0);  // per address now
  g.ban(*net::Cidr::parse("192.0.2.9"), 60'000, 0);
  EXPECT_GT(g.banned_for(ip("::ffff:192.0.2.9"), 1), 0);
}

}  // namespace
}  // namespace rampart::guard
