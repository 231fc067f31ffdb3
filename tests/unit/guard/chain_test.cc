// The guard as a filter chain (filter.h): which filters an app's policy flattens into its
// chains and in what order, the whitelist short-circuit, dry-run per filter, the app cap under
// real threads racing for it, and one drop accounting for every view.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "guard/declarations.h"
#include "guard/guard.h"
#include "guard/policy.h"
#include "test_support.h"

namespace rampart::guard {
namespace {

using rampart::testing::ip;
using rampart::testing::no_limits;
using rampart::testing::rule;

struct AppSetup {
  config::Config cfg;
  config::App app;
  config::ProtectionConfig prot = no_limits();
  std::shared_ptr<telemetry::AppStats> stats;
  std::shared_ptr<const AppPolicy> policy;
  std::vector<std::string> warnings;

  explicit AppSetup(config::Proto proto = config::Proto::kTcp) {
    app.id = "app";
    app.proto = proto;
    app.ip_firewall = true;
  }
  const AppPolicy& build() {
    policy = compile_app(app, prot, compile_zone(cfg, &warnings), nullptr, stats);
    return *policy;
  }
};

std::vector<std::string> names(const std::vector<const Filter*>& chain) {
  std::vector<std::string> out;
  for (const Filter* f : chain) out.emplace_back(f->decl().name());
  return out;
}

using Names = std::vector<std::string>;

// ---------------------------------------------------------------- the chains

TEST(Chain, AnAppWithoutProtectionWalksOnlyTheBans) {
  AppSetup tcp;
  tcp.app.ip_firewall = false;
  const AppPolicy& p = tcp.build();
  EXPECT_EQ(names(p.on_accept), Names{"autoban"});
  EXPECT_TRUE(p.on_first_bytes.empty());
  EXPECT_TRUE(p.on_datagram.empty());
  EXPECT_FALSE(p.needs_steering);
  AppSetup udp(config::Proto::kUdp);
  udp.app.ip_firewall = false;
  const AppPolicy& q = udp.build();
  EXPECT_EQ(names(q.on_datagram), Names{"autoban"});
  EXPECT_TRUE(q.on_accept.empty());
}

TEST(Chain, EveryConfiguredFilterInOrder) {
  AppSetup tcp;
  tcp.app.validate = config::Validator::kSsh;
  tcp.prot.max_connections = 10;
  tcp.prot.per_ip.max_connections = 2;
  tcp.prot.per_ip.new_connections_per_second = 5;
  tcp.prot.per_ip.burst = 5;
  tcp.prot.udp_reflection_ports = {53};  // a UDP filter: not in a TCP app's chains
  const AppPolicy& p = tcp.build();
  EXPECT_EQ(names(p.on_accept), (Names{"acl", "autoban", "conn_limit", "rate_limit"}));
  EXPECT_EQ(names(p.on_first_bytes), Names{"validate"});
  EXPECT_TRUE(p.on_datagram.empty());

  AppSetup udp(config::Proto::kUdp);
  udp.app.validate = config::Validator::kSsh;  // TCP only
  udp.prot.max_connections = 10;               // UDP flows are capped by the listener
  udp.prot.per_ip.udp_packets_per_second = 5;
  udp.prot.udp_reflection_ports = {53};
  const AppPolicy& q = udp.build();
  EXPECT_EQ(names(q.on_datagram), (Names{"reflection", "acl", "autoban", "rate_limit"}));
  EXPECT_TRUE(q.on_accept.empty());
  EXPECT_TRUE(q.on_first_bytes.empty());
}

// The steering decision, from the filters' declarations; the rule it replaces (edge/worker.cc's
// needs_steering) as the expectation: per-source limits, or a validator whose failures feed
// autoban; for UDP the datagram rate.
TEST(Chain, SteeringFollowsTheFiltersThatKeepSourceState) {
  struct Row {
    const char* what;
    config::Proto proto;
    uint32_t per_ip_conns, new_conns, udp_pps;
    uint64_t app_cap;
    bool validator;
    uint32_t autoban;
    bool steer;
  };
  const config::Proto kTcp = config::Proto::kTcp, kUdp = config::Proto::kUdp;
  const Row rows[] = {
      {"nothing", kTcp, 0, 0, 0, 0, false, 0, false},
      {"app cap only (one atomic for all workers)", kTcp, 0, 0, 0, 100, false, 0, false},
      {"per-source connections", kTcp, 2, 0, 0, 0, false, 0, true},
      {"per-source new connections", kTcp, 0, 5, 0, 0, false, 0, true},
      {"validator without autoban", kTcp, 0, 0, 0, 0, true, 0, false},
      {"validator with autoban", kTcp, 0, 0, 0, 0, true, 3, true},
      {"autoban alone (no violations to count)", kTcp, 0, 0, 0, 0, false, 3, false},
      {"udp rate on a TCP app", kTcp, 0, 0, 5, 0, false, 0, false},
      {"udp rate", kUdp, 0, 0, 5, 0, false, 0, true},
      {"tcp limits on a UDP app", kUdp, 2, 5, 0, 0, false, 3, false},
  };
  for (const Row& r : rows) {
    AppSetup s(r.proto);
    s.prot.per_ip.max_connections = r.per_ip_conns;
    s.prot.per_ip.new_connections_per_second = r.new_conns;
    s.prot.per_ip.burst = r.new_conns;
    s.prot.per_ip.udp_packets_per_second = r.udp_pps;
    s.prot.per_ip.udp_burst = r.udp_pps;
    s.prot.max_connections = r.app_cap;
    s.prot.autoban.violations = r.autoban;
    if (r.validator) s.app.validate = config::Validator::kSsh;
    EXPECT_EQ(s.build().needs_steering, r.steer) << r.what;
  }
}

// ---------------------------------------------------------------- order and short-circuit

TEST(Chain, OrderDecidesTheReason) {
  // Blocked and banned: the ACL runs first.
  AppSetup s;
  s.cfg.ip_access_rules = {
      rule(config::AccessMode::kBlock, config::AccessTarget::kIp, "192.0.2.9")};
  const AppPolicy& p = s.build();
  Guard g;
  g.ban(*net::Cidr::parse("192.0.2.9/32"), 60'000, 0);
  EXPECT_EQ(g.admit(p, ip("192.0.2.9"), 0).reason, Reason::kBlockIp);
  EXPECT_EQ(g.counters().drop_count(Reason::kBanned), 0u);
  // Reflection runs before the ACL: a whitelisted source from port 53 is still dropped.
  AppSetup u(config::Proto::kUdp);
  u.prot.udp_reflection_ports = {53};
  u.cfg.ip_access_rules = {
      rule(config::AccessMode::kWhitelist, config::AccessTarget::kIp, "192.0.2.7")};
  const AppPolicy& q = u.build();
  EXPECT_EQ(g.check_datagram(q, net::SockAddr(ip("192.0.2.7"), 53), 0), Reason::kReflection);
  EXPECT_EQ(g.check_datagram(q, net::SockAddr(ip("192.0.2.7"), 5000), 0), Reason::kNone);
}

TEST(Chain, WhitelistSkipsThePerSourceFiltersButNotTheAppCap) {
  AppSetup s;
  s.cfg.ip_access_rules = {
      rule(config::AccessMode::kWhitelist, config::AccessTarget::kIp, "192.0.2.1")};
  s.prot.max_connections = 2;
  s.prot.per_ip.max_connections = 1;
  const AppPolicy& p = s.build();
  Guard g;
  g.ban(*net::Cidr::parse("192.0.2.1/32"), 60'000, 0);
  Admission a = g.admit(p, ip("192.0.2.1"), 0);
  EXPECT_TRUE(a.allowed);  // banned and over its own limit, but whitelisted
  EXPECT_STREQ(a.rule, "WHITELIST_IP");
  EXPECT_FALSE(a.tracked_source);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);
  Admission c = g.admit(p, ip("192.0.2.1"), 0);  // the app's cap of 2 holds for everyone
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.reason, Reason::kAppConnLimit);
  EXPECT_EQ(p.connections->load(), 2);
}

TEST(Chain, ALaterDropGivesTheAppSlotBack) {
  AppSetup s;
  s.prot.max_connections = 1;
  s.prot.per_ip.new_connections_per_second = 1;
  s.prot.per_ip.burst = 1;
  const AppPolicy& p = s.build();
  Guard g;
  Admission a = g.admit(p, ip("192.0.2.1"), 0);
  ASSERT_TRUE(a.allowed);
  g.release(p, ip("192.0.2.1"), a);
  Admission b = g.admit(p, ip("192.0.2.1"), 0);  // the cap had room; the rate refused it
  EXPECT_EQ(b.reason, Reason::kRateLimit);
  EXPECT_FALSE(b.tracked_app);
  EXPECT_EQ(p.connections->load(), 0);
  EXPECT_TRUE(g.admit(p, ip("192.0.2.2"), 0).allowed);
}

// ---------------------------------------------------------------- dry-run per filter

// For each filter: traffic it drops when live, and passes (counted as dry-run) in dry-run,
// while the other filters stay live.
TEST(Chain, DryRunPerFilter) {
  struct Row {
    const char* filter;
    Reason reason;
  };
  const Row rows[] = {
      {"acl", Reason::kBlockIp},          {"autoban", Reason::kBanned},
      {"conn_limit", Reason::kConnLimit}, {"rate_limit", Reason::kRateLimit},
      {"table", Reason::kTableFull},
  };
  for (const Row& r : rows) {
    for (bool dry : {false, true}) {
      SCOPED_TRACE(std::string(r.filter) + (dry ? " in dry-run" : " live"));
      AppSetup s;
      if (dry) s.prot.dry_run = {r.filter};
      std::string_view f = r.filter;
      if (f == "acl")
        s.cfg.ip_access_rules = {
            rule(config::AccessMode::kBlock, config::AccessTarget::kIp, "192.0.2.1")};
      if (f == "conn_limit" || f == "table") s.prot.per_ip.max_connections = 1;
      if (f == "rate_limit") {
        s.prot.per_ip.new_connections_per_second = 1;
        s.prot.per_ip.burst = 1;
      }
      const AppPolicy& p = s.build();
      Guard g(0, f == "table" ? 1 : Guard::kDefaultMaxSources);
      if (f == "autoban") g.ban(*net::Cidr::parse("192.0.2.1/32"), 60'000, 0);
      // conn_limit / rate_limit / table: a first connection takes the one slot.
      if (f == "conn_limit" || f == "rate_limit") {
        ASSERT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);
      }
      if (f == "table") {
        ASSERT_TRUE(g.admit(p, ip("192.0.2.2"), 0).allowed);
      }
      Admission a = g.admit(p, ip("192.0.2.1"), 0);
      EXPECT_EQ(a.allowed, dry);
      EXPECT_EQ(a.reason, dry ? Reason::kNone : r.reason);
      EXPECT_EQ(g.counters().drop_count(r.reason), dry ? 0u : 1u);
      EXPECT_EQ(g.counters().dry_run_count(r.reason), dry ? 1u : 0u);
    }
  }
  // UDP: reflection and the datagram rate.
  for (bool dry : {false, true}) {
    AppSetup u(config::Proto::kUdp);
    u.prot.udp_reflection_ports = {53};
    u.prot.per_ip.udp_packets_per_second = 1;
    u.prot.per_ip.udp_burst = 1;
    if (dry) u.prot.dry_run = {"reflection"};
    const AppPolicy& q = u.build();
    Guard g;
    EXPECT_EQ(g.check_datagram(q, net::SockAddr(ip("192.0.2.1"), 53), 0),
              dry ? Reason::kNone : Reason::kReflection);
    // rate_limit stays live: the datagram let through above took the one token.
    EXPECT_EQ(g.check_datagram(q, net::SockAddr(ip("192.0.2.1"), 5000), 0),
              dry ? Reason::kUdpRateLimit : Reason::kNone);
  }
}

// ---------------------------------------------------------------- the app cap under threads

// Envoy's connection_limit edge case: workers racing admit() for the last slots of the app's
// cap never admit more than the cap (check-then-add would let workers-1 more through).
TEST(Chain, AppCapHoldsUnderRacingWorkers) {
  constexpr int kWorkers = 8;
  constexpr int kCap = 5;
  constexpr int kRounds = 200;
  AppSetup s;
  s.app.ip_firewall = false;
  s.prot.max_connections = kCap;
  const AppPolicy& p = s.build();
  std::vector<std::unique_ptr<Guard>> guards;
  for (int w = 0; w < kWorkers; ++w) guards.push_back(std::make_unique<Guard>(w));
  std::vector<std::vector<Admission>> held(kWorkers);
  std::atomic<int> admitted{0};
  std::atomic<int> most{0};
  // Each round: every worker tries 2 admits at once, then the round's admissions are counted
  // and released. The barrier's completion step runs on one thread while the others wait.
  std::barrier round(kWorkers, [&]() noexcept {
    const int n = admitted.exchange(0);
    if (n > most.load()) most.store(n);
  });
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      Guard& g = *guards[static_cast<size_t>(w)];
      const net::IpAddr src = ip(("192.0.2." + std::to_string(w + 1)).c_str());
      for (int r = 0; r < kRounds; ++r) {
        for (int i = 0; i < 2; ++i) {
          Admission a = g.admit(p, src, r);
          if (a.allowed) {
            admitted.fetch_add(1);
            held[static_cast<size_t>(w)].push_back(a);
          }
        }
        round.arrive_and_wait();  // everyone has tried; the completion counted the round
        for (const Admission& a : held[static_cast<size_t>(w)]) g.release(p, src, a);
        held[static_cast<size_t>(w)].clear();
        round.arrive_and_wait();  // everyone has released before the next round
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), kCap);  // every round fills the cap (16 tries for 5 slots), never more
  EXPECT_EQ(p.connections->load(), 0);
  uint64_t refused = 0;
  for (const auto& g : guards) refused += g->counters().drop_count(Reason::kAppConnLimit);
  EXPECT_EQ(refused, uint64_t{kRounds} * (2 * kWorkers - kCap));
}

// ---------------------------------------------------------------- accounting

// One accounting call feeds every view: the guard's counters (log summary, protection view)
// and the app's stats (rampart_guard_drops_total / rampart_guard_dry_run_total). An autoban in
// dry-run used to show only in the first.
TEST(Chain, EveryViewCountsTheSameDrops) {
  AppSetup s;
  s.stats = std::make_shared<telemetry::AppStats>("app", 1);
  s.app.validate = config::Validator::kSsh;
  s.prot.per_ip.max_connections = 1;
  s.prot.autoban = {1, std::chrono::seconds(10), std::chrono::seconds(60)};
  s.prot.dry_run = {"autoban"};
  const AppPolicy& p = s.build();
  Guard g;
  ASSERT_TRUE(g.admit(p, ip("192.0.2.1"), 0).allowed);
  EXPECT_FALSE(g.admit(p, ip("192.0.2.1"), 0).allowed);  // conn_limit live: a violation
  EXPECT_TRUE(g.validation_failed(p, ip("192.0.2.3"), Reason::kValidate, 0));
  EXPECT_EQ(g.banned_for(ip("192.0.2.1"), 0), 0);  // autoban in dry-run: no ban...
  const telemetry::StatsTotals t = s.stats->totals();
  for (size_t i = 1; i < kReasonCount; ++i) {
    const Reason r = static_cast<Reason>(i);
    SCOPED_TRACE(reason_name(r));
    EXPECT_EQ(t.drops[i], g.counters().drop_count(r));
    EXPECT_EQ(t.dry_run[i], g.counters().dry_run_count(r));
  }
  EXPECT_EQ(t.dry_run[static_cast<size_t>(Reason::kBanned)], 2u);  // ...but two would-be bans
  EXPECT_EQ(t.drops[static_cast<size_t>(Reason::kConnLimit)], 1u);
  EXPECT_EQ(t.drops[static_cast<size_t>(Reason::kValidate)], 1u);
}

// ---------------------------------------------------------------- the declarations

TEST(Declarations, GenerateTheTables) {
  std::set<std::string> labels, rules;
  for (size_t i = 1; i < kReasonCount; ++i) {
    const Reason r = static_cast<Reason>(i);
    EXPECT_TRUE(labels.insert(reason_name(r)).second) << reason_name(r);
    EXPECT_TRUE(rules.insert(reason_rule(r)).second) << reason_rule(r);
    EXPECT_NE(std::string(reason_name(r)), "unknown");
  }
  EXPECT_STREQ(reason_name(Reason::kBlockCountry), "block_country");
  EXPECT_STREQ(reason_rule(Reason::kAppConnLimit), "APP_CONN_LIMIT");
  EXPECT_EQ(filter_of(Reason::kTableFull), FilterId::kTable);
  EXPECT_EQ(filter_of(Reason::kHandshakeTimeout), FilterId::kValidate);
  EXPECT_EQ(filter_of(Reason::kUdpRateLimit), FilterId::kRateLimit);
  // The dry-run names the config accepts are the declarations' names.
  for (size_t f = 0; f < kFilterCount; ++f) {
    const FilterDecl& d = filter_decl(static_cast<FilterId>(f));
    EXPECT_EQ(d.name(), config::kDryRunKeys[f]);
    EXPECT_EQ(filter_bit_from_name(d.name()), 1u << f);
  }
  EXPECT_EQ(config::kDryRunKeys.back(), "all");
  EXPECT_EQ(filter_bit_from_name("all"), ~uint32_t{0});
  EXPECT_EQ(filter_bit_from_name("nope"), 0u);
  EXPECT_TRUE(reason_has_xdp_twin(Reason::kBlockIp));
  EXPECT_FALSE(reason_has_xdp_twin(Reason::kBlockCountry));
}

}  // namespace
}  // namespace rampart::guard
