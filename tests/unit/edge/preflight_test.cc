// Config safety in the data plane, in process: Edge::prepare (a change whose listeners cannot
// all be opened is refused whole), an app whose certificate is gone runs disabled while the
// others serve, and port probes to a validated app are disconnects, never violations.
#include <gtest/gtest.h>

#include "edge_test_util.h"

namespace rampart::edge::testing {
namespace {

using nlohmann::json;

// A port nobody holds right now (bound to 0, then released).
uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return local_port(fd.get());
}

// A plain listening socket on 127.0.0.1:port, as another program would hold it.
UniqueFd hold_port(uint16_t port, bool reuseport) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  if (reuseport) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in a = loopback(port);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), 8), 0);
  return fd;
}

class PreflightTest : public EdgeTest {};

TEST_F(PreflightTest, AnOccupiedPortRefusesTheChangeWhole) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), b = free_port(), busy = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  UniqueFd other = hold_port(busy, false);

  auto next =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "b", .edge_port = b, .origin_ports = {origin.port()}},
                               {.id = "c", .edge_port = busy, .origin_ports = {origin.port()}}});
  std::string error;
  EXPECT_FALSE(prepare_on_control(*edge_, next, &error));
  EXPECT_NE(error.find("tcp 127.0.0.1:" + std::to_string(busy)), std::string::npos) << error;
  EXPECT_NE(error.find("Address already in use (another process holds this port)"),
            std::string::npos)
      << error;
  // Nothing is held: b, prepared before c failed, is closed again.
  EXPECT_EQ(listeners_on(b), 0);
  EXPECT_EQ(listeners_on(a), 2);
}

// Listeners cost descriptors like connections do: a change whose listeners would take more
// than half of the limit is refused before any socket is opened.
TEST_F(PreflightTest, ListenersOverHalfTheDescriptorLimitRefuseTheChange) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), b = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  edge_->set_fd_limit({.soft = 200, .hard = 200, .was = 200});
  auto next =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "b", .edge_port = b, .origin_ports = {origin.port()}}});
  next.apps.back().ports.last = static_cast<uint16_t>(b + 60);  // 61 ports x 2 workers
  std::string error;
  EXPECT_FALSE(prepare_on_control(*edge_, next, &error));
  EXPECT_NE(error.find("more than half of the descriptor limit (200)"), std::string::npos) << error;
  EXPECT_EQ(listeners_on(b), 0);
  EXPECT_EQ(listeners_on(a), 2);
  next.apps.back().ports.last = b;  // one port fits
  EXPECT_TRUE(prepare_on_control(*edge_, next, &error)) << error;
  abandon_on_control(*edge_);
}

TEST_F(PreflightTest, AForeignReuseportSocketIsNotShared) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), shared = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  // SO_REUSEPORT and the same user: the workers' own bind would succeed and share the port.
  UniqueFd other = hold_port(shared, true);
  auto next =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "s", .edge_port = shared, .origin_ports = {origin.port()}}});
  std::string error;
  EXPECT_FALSE(prepare_on_control(*edge_, next, &error));
  EXPECT_NE(error.find("another process holds this port"), std::string::npos) << error;
}

TEST_F(PreflightTest, PreparedListenersAreHandedToTheWorkers) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), b = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  auto next =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "b", .edge_port = b, .origin_ports = {origin.port()}}});
  std::string error;
  ASSERT_TRUE(prepare_on_control(*edge_, next, &error)) << error;
  EXPECT_EQ(listeners_on(b), 2);  // open (one per worker) before the change is applied
  reload_on_control(*edge_, next);
  EXPECT_TRUE(wait_for([&] { return edge_->listeners_up(); }));
  EXPECT_EQ(listeners_on(b), 2);  // the same sockets: not opened twice
  UniqueFd c = connect_to(b);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(write_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4), "ping");

  // A change that is not made releases what its pre-flight opened.
  const uint16_t d = free_port();
  auto dropped =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "b", .edge_port = b, .origin_ports = {origin.port()}},
                               {.id = "d", .edge_port = d, .origin_ports = {origin.port()}}});
  ASSERT_TRUE(prepare_on_control(*edge_, dropped, &error)) << error;
  EXPECT_EQ(listeners_on(d), 2);
  abandon_on_control(*edge_);
  EXPECT_EQ(listeners_on(d), 0);
}

// The fleet's changes are prepared one after the other: each reuses what the one before
// opened, and a failing one keeps it.
TEST_F(PreflightTest, SuccessivePreparesReuseTheirSockets) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), b = free_port(), d = free_port(), busy = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  UniqueFd other = hold_port(busy, false);
  auto with = [&](std::vector<std::pair<std::string, uint16_t>> extra) {
    std::vector<AppSpec> apps{{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}};
    for (const auto& [id, port] : extra)
      apps.push_back({.id = id, .edge_port = port, .origin_ports = {origin.port()}});
    return make_config(data_dir(), apps);
  };
  std::string error;
  ASSERT_TRUE(prepare_on_control(*edge_, with({{"b", b}}), &error)) << error;
  ASSERT_TRUE(prepare_on_control(*edge_, with({{"b", b}, {"d", d}}), &error)) << error;
  EXPECT_EQ(listeners_on(b), 2);  // kept, not opened a second time
  EXPECT_EQ(listeners_on(d), 2);
  EXPECT_FALSE(prepare_on_control(*edge_, with({{"b", b}, {"d", d}, {"c", busy}}), &error));
  EXPECT_EQ(listeners_on(b), 2);  // a refused change keeps what was prepared before
  ASSERT_TRUE(prepare_on_control(*edge_, with({{"d", d}}), &error)) << error;
  EXPECT_EQ(listeners_on(b), 0);  // no longer needed: closed
  reload_on_control(*edge_, with({{"d", d}}));
  EXPECT_TRUE(wait_for([&] { return edge_->listeners_up(); }));
  EXPECT_EQ(listeners_on(d), 2);
}

TEST_F(PreflightTest, AppWithoutItsCertificateIsDisabledOthersServe) {
  OriginServer origin(echo_handler);
  const uint16_t plain = free_port(), tls = free_port();
  const std::string yaml =
      "edge: { colo: UT, listen: [\"127.0.0.1\"], workers: 2, data_dir: " + data_dir() +
      " }\napi: { token: t }\napps:\n"
      "  - {id: plain, protocol: tcp/" +
      std::to_string(plain) +
      ", origin_direct: [\"tcp://127.0.0.1:" + std::to_string(origin.port()) +
      "\"]}\n"
      "  - {id: tls, protocol: tcp/" +
      std::to_string(tls) +
      ", tls: flexible, origin_direct: [\"tcp://127.0.0.1:" + std::to_string(origin.port()) +
      "\"], tls_settings: {certificates: [{certificate: " + data_dir() +
      "/gone.pem, private_key: " + data_dir() + "/gone.key}]}}\n";
  config::LoadResult r = config::parse_yaml(yaml, /*tolerate_unavailable=*/true);
  ASSERT_TRUE(r.ok());
  edge_ = std::make_unique<Edge>();
  std::string error;
  ASSERT_TRUE(edge_->start(*r.config, &error)) << error;
  wait_listening(plain);
  auto snap = edge_->snapshot();
  ASSERT_EQ(snap->disabled.count("tls"), 1u);
  EXPECT_NE(snap->disabled.at("tls").find("gone.pem"), std::string::npos)
      << snap->disabled.at("tls");
  EXPECT_EQ(snap->disabled.count("plain"), 0u);
  EXPECT_EQ(listeners_on(tls), 0);
  UniqueFd c = connect_to(plain);
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(write_all(c.get(), "hi"));
  EXPECT_EQ(read_n(c.get(), 2), "hi");
  // A reload with the file still gone: still disabled, still no listener, plain still serves.
  reload_on_control(*edge_, *r.config);
  EXPECT_TRUE(wait_for([&] { return edge_->snapshot()->disabled.count("tls") == 1; }));
  EXPECT_EQ(listeners_on(tls), 0);
}

// Port probes to a validated app: a FIN or a reset before any byte is a disconnect (200 / 499)
// and a probe, never a violation, so a monitor is never banned; junk still is a violation.
TEST_F(PreflightTest, ProbesAreDisconnectsNotViolations) {
  OriginServer origin(echo_handler);
  const uint16_t port = free_port();
  const std::string yaml =
      "edge: { colo: UT, listen: [\"127.0.0.1\"], workers: 2, data_dir: " + data_dir() +
      " }\napi: { token: t }\nprotection:\n  per_ip: { max_connections: 0, "
      "new_connections_per_second: 0 }\n  autoban: { violations: 2, window: 60s, duration: 10m }\n"
      "apps:\n  - {id: ssh, protocol: tcp/" +
      std::to_string(port) +
      ", validate: ssh, origin_direct: [\"tcp://127.0.0.1:" + std::to_string(origin.port()) +
      "\"]}\n";
  config::LoadResult r = config::parse_yaml(yaml);
  ASSERT_TRUE(r.ok());
  edge_ = std::make_unique<Edge>();
  std::string error;
  ASSERT_TRUE(edge_->start(*r.config, &error)) << error;
  wait_listening(port);
  const int kFin = 12, kRst = 4;
  for (int i = 0; i < kFin; ++i) {
    UniqueFd c = connect_to(port);
    ASSERT_TRUE(c.valid()) << "probe " << i;
    c.reset();  // FIN, nothing sent
  }
  for (int i = 0; i < kRst; ++i) {
    UniqueFd c = connect_to(port);
    ASSERT_TRUE(c.valid()) << "reset probe " << i;
    linger lg{1, 0};
    setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c.reset();  // RST
  }
  auto stats = edge_->stats()->get("ssh");
  ASSERT_TRUE(wait_for([&] {
    auto t = stats->totals();
    return t.probes[telemetry::kProbeFin] == kFin && t.probes[telemetry::kProbeRst] == kRst;
  })) << stats->totals().probes[0]
      << " " << stats->totals().probes[1];
  EXPECT_EQ(edge_->guard_bans(), 0u);
  EXPECT_EQ(edge_->guard_drops()[static_cast<size_t>(guard::Reason::kValidate)], 0u);
  EXPECT_EQ(stats->totals().opened, 0u);  // probes move no open/closed counter
  EXPECT_EQ(stats->totals().closed, 0u);
  EXPECT_EQ(origin.accepted(), 0);

  // A real client from the same address still gets through.
  UniqueFd ssh = connect_to(port);
  ASSERT_TRUE(ssh.valid());
  ASSERT_TRUE(write_all(ssh.get(), "SSH-2.0-test\r\n"));
  EXPECT_EQ(read_n(ssh.get(), 14), "SSH-2.0-test\r\n");
  ssh.reset();

  auto events = [&](const std::string& type, int status) {
    int n = 0;
    for (const auto& e : read_events(data_dir()))
      if (e["Event"] == type && e["Status"] == status) ++n;
    return n;
  };
  EXPECT_TRUE(wait_for([&] { return events("disconnect", 499) == kRst; }))
      << dump_events(data_dir());
  EXPECT_TRUE(wait_for([&] { return events("disconnect", 200) == kFin + 1; }))
      << dump_events(data_dir());
  EXPECT_EQ(events("clientFiltered", 403), 0);

  // Junk is still a violation.
  UniqueFd junk = connect_to(port);
  ASSERT_TRUE(junk.valid());
  ASSERT_TRUE(write_all(junk.get(), "GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(wait_closed(junk.get()), ECONNRESET);
  EXPECT_TRUE(wait_for([&] { return events("clientFiltered", 403) == 1; }))
      << dump_events(data_dir());
}

// The edge's applier thread: changes run on it; reload/prepare/abandon called from any other
// thread abort in debug builds (the thread rule, asserted).
class ApplierThreadTest : public EdgeTest {};

TEST_F(ApplierThreadTest, ChangesRunOnTheControlThread) {
  OriginServer origin(echo_handler);
  const uint16_t a = free_port(), b = free_port();
  start({{.id = "a", .edge_port = a, .origin_ports = {origin.port()}}});
  EXPECT_FALSE(edge_->control().in_loop_thread());
  auto next =
      make_config(data_dir(), {{.id = "a", .edge_port = a, .origin_ports = {origin.port()}},
                               {.id = "b", .edge_port = b, .origin_ports = {origin.port()}}});
  std::string error;
  ASSERT_TRUE(prepare_on_control(*edge_, next, &error)) << error;
  reload_on_control(*edge_, next);
  wait_listening(b);
  EXPECT_EQ(edge_->snapshot()->apps.size(), 2u);
}

#ifndef NDEBUG
TEST_F(ApplierThreadTest, ReloadOffTheControlThreadAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // Not started: the thread rule holds from construction (the applier thread exists already).
  Edge edge;
  const config::Config cfg = make_config(data_dir(), {});
  EXPECT_DEATH(edge.reload(cfg), "Edge::reload");
  std::string error;
  EXPECT_DEATH(edge.prepare(cfg, &error), "Edge::prepare");
  EXPECT_DEATH(edge.abandon(), "Edge::abandon");
}
#endif

}  // namespace
}  // namespace rampart::edge::testing
