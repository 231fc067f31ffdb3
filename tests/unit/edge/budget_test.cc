// plan_budget(): how RLIMIT_NOFILE is split into the API, the spare, TCP sessions and pipes, UDP
// flows and their unconfirmed share; the knobs that ask for more are clamped with a warning;
// budget_inputs() counts listeners and health probes from a config. Pure: no descriptors opened.
#include "edge/budget.h"

#include <gtest/gtest.h>

#include <string>

#include "config/parse.h"

namespace rampart::edge {
namespace {

BudgetInputs inputs(uint64_t limit) {
  BudgetInputs in;
  in.fd_limit = limit;
  in.workers = 2;
  in.listeners = 4;
  in.origins = 1;
  return in;
}

// Everything the plan hands out fits in the limit, and the data plane's shares are what the
// documented ratios say.
void expect_consistent(const BudgetPlan& p) {
  EXPECT_LE(p.fds(), p.fd_limit) << p.summary();
  EXPECT_EQ(p.tcp_pipes, p.tcp_sessions / 4) << p.summary();
  EXPECT_LE(p.udp_unconfirmed, p.udp_flows) << p.summary();
}

TEST(Budget, SplitsTheLimitWhenBothProtocolsHaveApps) {
  BudgetPlan p = plan_budget(inputs(4096));
  expect_consistent(p);
  EXPECT_EQ(p.api, kDefaultApiConnections + kApiExtraFds);  // 272
  // 64 + 4 per worker + 4 listeners + 1 origin + 4096/64.
  EXPECT_EQ(p.spare, 64u + 8 + 4 + 1 + 64);
  const uint64_t left = 4096 - p.api - p.spare;  // 3683
  EXPECT_EQ(p.udp_flows, left / 4);
  EXPECT_EQ(p.udp_unconfirmed, p.udp_flows / 2);
  EXPECT_EQ(p.tcp_sessions, (left - p.udp_flows) * 2 / 5);
  // Nothing is lost to rounding beyond a few descriptors.
  EXPECT_GE(p.fds() + 8, p.fd_limit);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Budget, SummaryIsOneLineWithEveryBudget) {
  BudgetInputs in = inputs(4096);
  in.raised_from = 1024;
  BudgetPlan p = plan_budget(in);
  EXPECT_EQ(p.summary(),
            "descriptors: limit 4096 (raised from 1024): tcp " + std::to_string(p.tcp_sessions) +
                " sessions + " + std::to_string(p.tcp_pipes) + " pipes, udp " +
                std::to_string(p.udp_flows) + " flows (" + std::to_string(p.udp_unconfirmed) +
                " unconfirmed), api 272, spare " + std::to_string(p.spare));
  in.raised_from = 4096;  // not raised: nothing to say
  EXPECT_EQ(plan_budget(in).summary().find("raised"), std::string::npos);
}

TEST(Budget, OneProtocolOnlyTakesEverythingLeft) {
  BudgetInputs in = inputs(20000);
  in.udp_apps = false;
  BudgetPlan tcp = plan_budget(in);
  expect_consistent(tcp);
  EXPECT_EQ(tcp.udp_flows, 0u);
  EXPECT_EQ(tcp.udp_unconfirmed, 0u);
  const uint64_t left = 20000 - tcp.api - tcp.spare;
  EXPECT_EQ(tcp.tcp_sessions, left * 2 / 5);
  // What HAProxy sizes itself to under the same limit is about 8000 connections: the budget
  // stays in that range (the bench holds 7,000 idle connections).
  EXPECT_GT(tcp.tcp_sessions, 7500u);

  in.udp_apps = true;
  in.tcp_apps = false;
  BudgetPlan udp = plan_budget(in);
  expect_consistent(udp);
  EXPECT_EQ(udp.tcp_sessions, 0u);
  EXPECT_EQ(udp.udp_flows, left);
  EXPECT_EQ(udp.udp_unconfirmed, left / 2);
}

TEST(Budget, MaxUdpFlowsBelowTheBudgetIsTakenAndTcpGetsTheRest) {
  BudgetInputs in = inputs(4096);
  in.max_udp_flows = 100;
  BudgetPlan p = plan_budget(in);
  expect_consistent(p);
  EXPECT_EQ(p.udp_flows, 100u);
  EXPECT_EQ(p.udp_unconfirmed, 50u);
  EXPECT_EQ(p.tcp_sessions, (4096 - p.api - p.spare - 100) * 2 / 5);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Budget, MaxUdpFlowsAboveHalfIsClampedWithAWarning) {
  BudgetInputs in = inputs(4096);
  in.max_udp_flows = 100000;  // the old default, far above any file limit
  BudgetPlan p = plan_budget(in);
  expect_consistent(p);
  const uint64_t left = 4096 - p.api - p.spare;
  EXPECT_EQ(p.udp_flows, left / 2);  // TCP keeps at least the other half
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("edge.max_udp_flows 100000"), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("clamped to " + std::to_string(left / 2)), std::string::npos);
}

TEST(Budget, UnconfirmedShareAndSessionCapAreClampedToTheirBudgets) {
  BudgetInputs in = inputs(4096);
  in.max_udp_flows = 400;
  in.max_udp_unconfirmed_flows = 1000;
  in.max_connections = 1000000;
  BudgetPlan p = plan_budget(in);
  expect_consistent(p);
  EXPECT_EQ(p.udp_unconfirmed, 400u);
  const uint64_t tcp_auto = (4096 - p.api - p.spare - 400) * 2 / 5;
  EXPECT_EQ(p.tcp_sessions, tcp_auto);
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("edge.max_udp_unconfirmed_flows"), std::string::npos);
  EXPECT_NE(p.warnings[1].find("edge.max_connections"), std::string::npos);

  // Lower values are taken as they are; pipes follow the sessions.
  in.max_udp_unconfirmed_flows = 10;
  in.max_connections = 200;
  p = plan_budget(in);
  EXPECT_EQ(p.udp_unconfirmed, 10u);
  EXPECT_EQ(p.tcp_sessions, 200u);
  EXPECT_EQ(p.tcp_pipes, 50u);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Budget, TheApiReserveFollowsItsConnectionCap) {
  BudgetInputs in = inputs(4096);
  in.api_connections = 1000;
  BudgetPlan p = plan_budget(in);
  expect_consistent(p);
  EXPECT_EQ(p.api, 1016u);
  EXPECT_LT(p.tcp_sessions, plan_budget(inputs(4096)).tcp_sessions);
}

TEST(Budget, ListenersAndWorkersGrowTheSpare) {
  BudgetInputs in = inputs(4096);
  const BudgetPlan base = plan_budget(in);
  in.listeners = 2000;  // a 1,000-port range on two workers
  BudgetPlan p = plan_budget(in);
  expect_consistent(p);
  EXPECT_EQ(p.spare, base.spare + 1996);
  EXPECT_LT(p.tcp_sessions, base.tcp_sessions);
}

TEST(Budget, ALimitTooSmallIsSaidAndStillServes) {
  BudgetPlan p = plan_budget(inputs(256));
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(p.warnings[0].find("raise LimitNOFILE"), std::string::npos) << p.warnings[0];
  EXPECT_GT(p.tcp_sessions, 0u);
  EXPECT_GT(p.udp_flows, 0u);
  EXPECT_GT(p.udp_unconfirmed, 0u);
}

TEST(Budget, SameBudgetsIgnoresWarnings) {
  BudgetPlan a = plan_budget(inputs(4096));
  BudgetPlan b = a;
  b.warnings.push_back("x");
  EXPECT_TRUE(a.same_budgets(b));
  b.udp_flows += 1;
  EXPECT_FALSE(a.same_budgets(b));
}

TEST(Budget, AppCapsAreClampedToTheirProtocolsBudget) {
  BudgetPlan p;
  p.tcp_sessions = 1000;
  p.udp_flows = 300;
  bool clamped = false;
  EXPECT_EQ(clamp_app_cap(100000, config::Proto::kTcp, p, &clamped), 1000u);
  EXPECT_TRUE(clamped);
  EXPECT_EQ(clamp_app_cap(100000, config::Proto::kUdp, p, &clamped), 300u);
  EXPECT_TRUE(clamped);
  EXPECT_EQ(clamp_app_cap(500, config::Proto::kTcp, p, &clamped), 500u);
  EXPECT_FALSE(clamped);
  EXPECT_EQ(clamp_app_cap(0, config::Proto::kUdp, p, &clamped), 0u);  // no cap: the budget's
  EXPECT_FALSE(clamped);
}

TEST(Budget, ApiConnectionCapIsTheConfiguredOneOrTheDefault) {
  config::ApiConfig api;
  api.max_connections = 0;
  EXPECT_EQ(api_connection_cap(api), kDefaultApiConnections);  // 0 = the default
  api.max_connections = 64;
  EXPECT_EQ(api_connection_cap(api), 64u);
}

TEST(Budget, InputsCountListenersHealthProbesAndProtocols) {
  config::LoadResult r = config::parse_yaml(R"(
edge:
  listen: ["127.0.0.1", "::1"]
  max_connections: 500
  max_udp_flows: 300
  max_udp_unconfirmed_flows: 30
apps:
  - id: range
    protocol: tcp/2000-2009
    origin_direct: ["tcp://192.0.2.1:2000-2009", "tcp://192.0.2.2:2000-2009"]
  - id: static
    protocol: tcp/22
    edge_ips: { type: static, ips: ["127.0.0.1"] }
    origin_direct: ["tcp://192.0.2.1:22"]
    load_balancing: { health_check: { enabled: false } }
)");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  FdLimit lim;
  lim.soft = 8192;
  lim.was = 1024;
  BudgetInputs in = budget_inputs(*r.config, 3, lim);
  EXPECT_EQ(in.fd_limit, 8192u);
  EXPECT_EQ(in.raised_from, 1024u);
  EXPECT_EQ(in.workers, 3u);
  EXPECT_EQ(in.listeners, (2u * 10 + 1) * 3);  // 10 ports on 2 addresses + 1, per worker
  EXPECT_EQ(in.origins, 2u);                   // health checks off for "static"
  EXPECT_TRUE(in.tcp_apps);
  EXPECT_FALSE(in.udp_apps);
  EXPECT_EQ(in.max_connections, 500u);
  EXPECT_EQ(in.max_udp_flows, 300u);
  EXPECT_EQ(in.max_udp_unconfirmed_flows, 30u);
  EXPECT_EQ(in.api_connections, kDefaultApiConnections);

  // No app at all: room for both, so that the first app made through the API finds some.
  config::Config empty;
  BudgetInputs none = budget_inputs(empty, 1, lim);
  EXPECT_TRUE(none.tcp_apps);
  EXPECT_TRUE(none.udp_apps);
}

TEST(Budget, RaiseNeverLowersTheLimit) {
  const FdLimit before = current_fd_limit();
  const FdLimit after = raise_fd_limit();
  EXPECT_GE(after.soft, before.soft);
  EXPECT_EQ(after.was, before.soft);
  EXPECT_LE(after.soft, after.hard);
  EXPECT_EQ(current_fd_limit().soft, after.soft);
}

TEST(Budget, ListenersMayTakeAtMostHalfTheLimit) {
  BudgetInputs in;
  in.fd_limit = 1000;
  in.workers = 2;
  in.listeners = 500;
  EXPECT_EQ(listeners_overflow(in), "");
  in.listeners = 502;
  EXPECT_EQ(listeners_overflow(in),
            "502 listening sockets (251 ports x 2 workers) would take more than half of the "
            "descriptor limit (1000): use fewer ports (edge.max_ports), fewer workers, or a "
            "higher LimitNOFILE");
}

}  // namespace
}  // namespace rampart::edge
