// OriginSet: balancing policies, the tried mask, passive ejection with its cool-down, and the
// rise/fall bookkeeping of active checks.
#include "origin/origin_set.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace rampart::origin {
namespace {

config::OriginDirect origin(const std::string& ip, uint16_t port) {
  config::OriginDirect o;
  o.ip = *net::IpAddr::parse(ip);
  o.ports = {port, port};
  o.text = "tcp://" + ip + ":" + std::to_string(port);
  return o;
}

std::vector<config::OriginDirect> origins(int n) {
  std::vector<config::OriginDirect> out;
  for (int i = 0; i < n; ++i) out.push_back(origin("10.0.0." + std::to_string(i + 1), 8000));
  return out;
}

config::LoadBalancing lb(config::LbPolicy policy, bool checks = true, uint32_t rise = 2,
                         uint32_t fall = 3) {
  config::LoadBalancing l;
  l.policy = policy;
  l.health_check.enabled = checks;
  l.health_check.rise = rise;
  l.health_check.fall = fall;
  return l;
}

net::IpAddr client(uint32_t i) {
  return net::IpAddr::v4(0xC6336400u + i);  // 198.51.100.0 + i (and beyond)
}

const net::IpAddr kClient = *net::IpAddr::parse("192.0.2.7");

TEST(OriginSet, RoundRobinCyclesEvenly) {
  OriginSet set(origins(3), lb(config::LbPolicy::kRoundRobin));
  std::map<int, int> counts;
  std::vector<int> seq;
  for (int i = 0; i < 300; ++i) {
    int p = set.pick(kClient, 0, 0);
    ASSERT_GE(p, 0);
    ++counts[p];
    if (i < 6) seq.push_back(p);
  }
  EXPECT_EQ(counts[0], 100);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
  EXPECT_EQ(seq, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(OriginSet, RoundRobinSkipsDownOrigins) {
  OriginSet set(origins(3), lb(config::LbPolicy::kRoundRobin, true, 1, 1));
  set.report_check(1, false);
  ASSERT_FALSE(set.at(1).up.load());
  std::map<int, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[set.pick(kClient, 0, 0)];
  EXPECT_EQ(counts.count(1), 0u);
  EXPECT_EQ(counts[0] + counts[2], 100);
  EXPECT_GE(counts[0], 33);
  EXPECT_GE(counts[2], 33);
}

TEST(OriginSet, LeastConnectionsPicksTheLeastActive) {
  OriginSet set(origins(3), lb(config::LbPolicy::kLeastConnections));
  set.at(0).active = 5;
  set.at(1).active = 2;
  set.at(2).active = 7;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(set.pick(kClient, 0, 0), 1);
  set.at(1).active = 9;
  EXPECT_EQ(set.pick(kClient, 0, 0), 0);
  // The tried mask removes the least loaded; the next least is chosen.
  EXPECT_EQ(set.pick(kClient, uint64_t{1} << 0, 0), 2);
}

TEST(OriginSet, LeastConnectionsSpreadsTiesAndFollowsLoad) {
  OriginSet set(origins(4), lb(config::LbPolicy::kLeastConnections));
  // Simulate connections that stay open: each pick adds one to the chosen origin.
  for (int i = 0; i < 40; ++i) {
    int p = set.pick(kClient, 0, 0);
    ASSERT_GE(p, 0);
    set.at(static_cast<size_t>(p)).active.fetch_add(1);
  }
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(set.at(i).active.load(), 10) << i;
  // With no load at all, ties rotate rather than always hitting the first origin.
  OriginSet idle(origins(4), lb(config::LbPolicy::kLeastConnections));
  std::set<int> seen;
  for (int i = 0; i < 8; ++i) seen.insert(idle.pick(kClient, 0, 0));
  EXPECT_EQ(seen.size(), 4u);
}

TEST(OriginSet, HashIsStablePerClientAndSpreads) {
  OriginSet set(origins(4), lb(config::LbPolicy::kHash));
  std::map<int, int> counts;
  for (uint32_t i = 0; i < 2000; ++i) {
    int p = set.pick(client(i), 0, 0);
    ASSERT_GE(p, 0);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(set.pick(client(i), 0, 0), p);
    ++counts[p];
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_GT(counts[i], 2000 / 4 * 7 / 10) << "origin " << i;
    EXPECT_LT(counts[i], 2000 / 4 * 13 / 10) << "origin " << i;
  }
  // The same origins in another OriginSet (another reload, another worker) agree.
  OriginSet again(origins(4), lb(config::LbPolicy::kHash));
  for (uint32_t i = 0; i < 200; ++i)
    EXPECT_EQ(again.pick(client(i), 0, 0), set.pick(client(i), 0, 0));
  // IPv6 clients hash too.
  auto v6 = *net::IpAddr::parse("2001:db8::42");
  EXPECT_EQ(set.pick(v6, 0, 0), set.pick(v6, 0, 0));
}

TEST(OriginSet, HashMovesOnlyTheRemovedOriginsClients) {
  auto all = origins(5);
  OriginSet before(all, lb(config::LbPolicy::kHash));
  auto fewer = all;
  fewer.erase(fewer.begin() + 2);
  OriginSet after(fewer, lb(config::LbPolicy::kHash));
  const uint32_t n = 5000;
  uint32_t moved = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string& was = before.at(static_cast<size_t>(before.pick(client(i), 0, 0))).cfg.text;
    const std::string& now = after.at(static_cast<size_t>(after.pick(client(i), 0, 0))).cfg.text;
    if (was == all[2].text) {
      ++moved;
      EXPECT_NE(now, was);
    } else {
      EXPECT_EQ(now, was) << "client " << client(i).to_string() << " moved needlessly";
    }
  }
  // About 1/5 of the clients were on the removed origin.
  EXPECT_GT(moved, n / 5 * 7 / 10);
  EXPECT_LT(moved, n / 5 * 13 / 10);
}

TEST(OriginSet, HashWithTriedFallsBackToTheNextBestScore) {
  auto all = origins(4);
  OriginSet set(all, lb(config::LbPolicy::kHash));
  for (uint32_t i = 0; i < 100; ++i) {
    // Expected order: origins by descending rendezvous score.
    std::vector<std::pair<uint64_t, int>> ranked;
    for (int k = 0; k < 4; ++k)
      ranked.push_back({rendezvous_score(client(i), all[static_cast<size_t>(k)]), k});
    std::sort(ranked.rbegin(), ranked.rend());
    uint64_t tried = 0;
    for (int k = 0; k < 4; ++k) {
      int p = set.pick(client(i), tried, 0);
      ASSERT_EQ(p, ranked[static_cast<size_t>(k)].second);
      tried |= uint64_t{1} << p;
    }
    EXPECT_EQ(set.pick(client(i), tried, 0), -1);
  }
}

TEST(OriginSet, TriedMaskSkipsForEveryPolicy) {
  for (auto policy : {config::LbPolicy::kRoundRobin, config::LbPolicy::kLeastConnections,
                      config::LbPolicy::kHash}) {
    OriginSet set(origins(3), lb(policy));
    for (int i = 0; i < 30; ++i) {
      int p = set.pick(client(static_cast<uint32_t>(i)), 0b101, 0);
      EXPECT_EQ(p, 1) << config::to_string(policy);
    }
    EXPECT_EQ(set.pick(kClient, 0b111, 0), -1) << config::to_string(policy);
    EXPECT_EQ(set.pick(kClient, ~uint64_t{0}, 0), -1) << config::to_string(policy);
  }
}

TEST(OriginSet, EmptySetPicksNothing) {
  OriginSet set({}, lb(config::LbPolicy::kRoundRobin));
  EXPECT_EQ(set.size(), 0u);
  EXPECT_EQ(set.pick(kClient, 0, 0), -1);
  EXPECT_FALSE(set.any_up(0));
}

TEST(OriginSet, CapsAt64Origins) {
  std::vector<config::OriginDirect> many;
  for (int i = 0; i < 70; ++i) many.push_back(origin("10.0.1." + std::to_string(i + 1), 80));
  OriginSet set(many, lb(config::LbPolicy::kRoundRobin));
  EXPECT_EQ(set.size(), OriginSet::kMaxOrigins);
  std::set<int> seen;
  for (int i = 0; i < 64; ++i) seen.insert(set.pick(kClient, 0, 0));
  EXPECT_EQ(seen.size(), 64u);
  EXPECT_EQ(*seen.rbegin(), 63);
}

TEST(OriginSet, PassiveEjectionAndCooldownWithoutHealthChecks) {
  OriginSet set(origins(2), lb(config::LbPolicy::kRoundRobin, /*checks=*/false));
  const int64_t t0 = 1'000'000;
  // `fall` failed connects in a row eject it (a single refusal is not enough).
  for (uint32_t i = 0; i + 1 < set.load_balancing().health_check.fall; ++i) {
    set.report_connect(0, false, t0);
    EXPECT_TRUE(set.at(0).up.load());
  }
  set.report_connect(0, false, t0);
  EXPECT_FALSE(set.at(0).up.load());
  EXPECT_TRUE(set.any_up(t0));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(set.pick(kClient, 0, t0 + 1000), 1);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(set.pick(kClient, 0, t0 + OriginSet::kPassiveCooldownMs - 1), 1);
  // After the cool-down the origin gets tried again...
  std::set<int> seen;
  for (int i = 0; i < 4; ++i) seen.insert(set.pick(kClient, 0, t0 + OriginSet::kPassiveCooldownMs));
  EXPECT_EQ(seen.count(0), 1u);
  // ...a failure pushes the retry out again...
  const int64_t t1 = t0 + OriginSet::kPassiveCooldownMs;
  set.report_connect(0, false, t1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(set.pick(kClient, 0, t1 + 5000), 1);
  // ...and a success brings it back for good.
  set.report_connect(0, true, t1 + OriginSet::kPassiveCooldownMs);
  EXPECT_TRUE(set.at(0).up.load());
  EXPECT_EQ(set.at(0).fails.load(), 0u);
  seen.clear();
  for (int i = 0; i < 4; ++i) seen.insert(set.pick(kClient, 0, t1 + 1));
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
}

TEST(OriginSet, AllEjectedWithoutChecksMeansNoneUsableUntilCooldown) {
  OriginSet set(origins(2), lb(config::LbPolicy::kLeastConnections, false));
  for (uint32_t i = 0; i < set.load_balancing().health_check.fall; ++i) {
    set.report_connect(0, false, 0);
    set.report_connect(1, false, 0);
  }
  EXPECT_FALSE(set.any_up(1));
  EXPECT_EQ(set.pick(kClient, 0, 1), -1);
  EXPECT_TRUE(set.any_up(OriginSet::kPassiveCooldownMs));
  EXPECT_GE(set.pick(kClient, 0, OriginSet::kPassiveCooldownMs), 0);
}

TEST(OriginSet, PassiveFailuresWithChecksNeedFallAndNoCooldownRetry) {
  OriginSet set(origins(2), lb(config::LbPolicy::kRoundRobin, true, 2, 3));
  set.report_connect(0, false, 0);
  set.report_connect(0, false, 0);
  EXPECT_TRUE(set.at(0).up.load());
  set.report_connect(0, false, 0);
  EXPECT_FALSE(set.at(0).up.load());
  // With active checks enabled only checks bring it back, however long it has been.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(set.pick(kClient, 0, 1'000'000'000), 1);
  set.report_connect(0, true, 0);  // a live success (e.g. a race) does not flip it either
  EXPECT_FALSE(set.at(0).up.load());
  set.report_check(0, true);
  EXPECT_FALSE(set.at(0).up.load());
  set.report_check(0, true);
  EXPECT_TRUE(set.at(0).up.load());
}

TEST(OriginSet, ReportCheckRiseAndFall) {
  OriginSet set(origins(1), lb(config::LbPolicy::kRoundRobin, true, /*rise=*/2, /*fall=*/3));
  Origin& o = set.at(0);
  EXPECT_TRUE(o.up.load());
  // A success between failures resets the count.
  set.report_check(0, false);
  set.report_check(0, false);
  set.report_check(0, true);
  set.report_check(0, false);
  set.report_check(0, false);
  EXPECT_TRUE(o.up.load());
  set.report_check(0, false);
  EXPECT_FALSE(o.up.load());
  EXPECT_EQ(set.pick(kClient, 0, 0), -1);
  EXPECT_FALSE(set.any_up(0));
  // Rise: a failure between successes resets it.
  set.report_check(0, true);
  EXPECT_FALSE(o.up.load());
  set.report_check(0, false);
  set.report_check(0, true);
  EXPECT_FALSE(o.up.load());
  set.report_check(0, true);
  EXPECT_TRUE(o.up.load());
  EXPECT_EQ(set.pick(kClient, 0, 0), 0);
  // Down again needs `fall` fresh failures, and up again `rise` fresh successes.
  set.report_check(0, false);
  set.report_check(0, false);
  EXPECT_TRUE(o.up.load());
  set.report_check(0, false);
  EXPECT_FALSE(o.up.load());
  set.report_check(0, true);
  EXPECT_FALSE(o.up.load()) << "rises left over from the previous recovery counted";
  set.report_check(0, true);
  EXPECT_TRUE(o.up.load());
}

TEST(OriginSet, RiseAndFallOfOne) {
  OriginSet set(origins(1), lb(config::LbPolicy::kRoundRobin, true, 1, 1));
  set.report_check(0, false);
  EXPECT_FALSE(set.at(0).up.load());
  set.report_check(0, true);
  EXPECT_TRUE(set.at(0).up.load());
}

TEST(OriginSet, Matches) {
  auto o = origins(2);
  auto l = lb(config::LbPolicy::kHash);
  OriginSet set(o, l);
  EXPECT_TRUE(set.matches(o, l));
  auto other = o;
  other[1].ports = {9000, 9000};
  EXPECT_FALSE(set.matches(other, l));
  EXPECT_FALSE(set.matches(origins(3), l));
  EXPECT_FALSE(set.matches(o, lb(config::LbPolicy::kRoundRobin)));
  auto l2 = l;
  l2.health_check.interval = std::chrono::seconds(1);
  EXPECT_FALSE(set.matches(o, l2));
}

TEST(OriginSet, RendezvousScoreDependsOnClientIpAndPort) {
  auto a = origin("10.0.0.1", 80);
  auto b = origin("10.0.0.1", 81);
  auto c = origin("10.0.0.2", 80);
  EXPECT_EQ(rendezvous_score(kClient, a), rendezvous_score(kClient, a));
  EXPECT_NE(rendezvous_score(kClient, a), rendezvous_score(kClient, b));
  EXPECT_NE(rendezvous_score(kClient, a), rendezvous_score(kClient, c));
  EXPECT_NE(rendezvous_score(kClient, a), rendezvous_score(client(1), a));
}

}  // namespace
}  // namespace rampart::origin
