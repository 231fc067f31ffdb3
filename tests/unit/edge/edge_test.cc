// Edge lifecycle: start, reload (apps added and removed while connections stay up), drain; and
// the snapshot the workers diff against.
#include "edge/edge.h"

#include <gtest/gtest.h>

#include "edge/snapshot.h"
#include "edge_test_util.h"

namespace rampart::edge::testing {
namespace {

using nlohmann::json;

class ReloadTest : public EdgeTest {};

void expect_echo(int fd, const std::string& msg) {
  ASSERT_TRUE(write_all(fd, msg)) << msg;
  EXPECT_EQ(read_n(fd, msg.size()), msg);
}

TEST_F(ReloadTest, AddAndRemoveAppsWhileConnectionsStayUp) {
  OriginServer origin_a(echo_handler), origin_b(echo_handler);
  ReservedPort port_a, port_b;
  const AppSpec a{.id = "app-a", .edge_port = port_a.port(), .origin_ports = {origin_a.port()}};
  const AppSpec b{.id = "app-b", .edge_port = port_b.port(), .origin_ports = {origin_b.port()}};
  start({a});
  EXPECT_EQ(listeners_on(port_b.port()), 0);
  UniqueFd ca = connect_to(port_a.port());
  ASSERT_TRUE(ca.valid());
  expect_echo(ca.get(), "a before reload");

  // Add B: its port opens, A's connection is untouched.
  reload({a, b});
  wait_listening(port_b.port());
  UniqueFd cb = connect_to(port_b.port());
  ASSERT_TRUE(cb.valid());
  expect_echo(cb.get(), "b after add");
  expect_echo(ca.get(), "a after add");
  EXPECT_EQ(listeners_on(port_a.port()), 2) << "a kept listener was reopened or lost";

  // Remove B: its port closes; established connections of both apps keep working.
  reload({a});
  ASSERT_TRUE(wait_for([&] { return listeners_on(port_b.port()) == 0; }));
  int err = 0;
  EXPECT_FALSE(connect_to(port_b.port(), &err).valid());
  EXPECT_EQ(err, ECONNREFUSED);
  expect_echo(ca.get(), "a after remove");
  expect_echo(cb.get(), "b after its app was removed");
  UniqueFd ca2 = connect_to(port_a.port());
  ASSERT_TRUE(ca2.valid());
  expect_echo(ca2.get(), "new a");
  EXPECT_EQ(edge_->sessions(), 3u);

  // Remove everything: nothing listens, sessions still run.
  reload({});
  ASSERT_TRUE(wait_for([&] { return listeners_on(port_a.port()) == 0; }));
  expect_echo(ca.get(), "a with no apps");
  EXPECT_EQ(edge_->snapshot()->apps.size(), 0u);
}

TEST_F(ReloadTest, ChangedOriginAppliesToNewConnectionsOnly) {
  auto named = [](char name) {
    return [name](int fd) {
      if (!write_all(fd, &name, 1)) return;
      echo_handler(fd);
    };
  };
  OriginServer first(named('1')), second(named('2'));
  ReservedPort port;
  AppSpec app{.id = "moving", .edge_port = port.port(), .origin_ports = {first.port()}};
  start({app});
  UniqueFd old_conn = connect_to(port.port());
  ASSERT_TRUE(old_conn.valid());
  EXPECT_EQ(read_n(old_conn.get(), 1), "1");
  app.origin_ports = {second.port()};
  reload({app});
  // The listener is kept (same key) and picks up the new app config.
  ASSERT_TRUE(wait_for([&] {
    UniqueFd c = connect_to(port.port());
    return c.valid() && read_n(c.get(), 1) == "2";
  }));
  expect_echo(old_conn.get(), "still on the first origin");
  EXPECT_EQ(listeners_on(port.port()), 2);
}

TEST_F(ReloadTest, ReloadKeepsOriginStateOfUnchangedApps) {
  OriginServer origin(echo_handler);
  ReservedPort port, other;
  AppSpec app{.id = "keep", .edge_port = port.port(), .origin_ports = {origin.port()}};
  start({app});
  auto before = edge_->snapshot();
  ASSERT_EQ(before->apps.size(), 1u);
  AppSpec extra{.id = "extra", .edge_port = other.port(), .origin_ports = {origin.port()}};
  reload({app, extra});
  auto after = edge_->snapshot();
  ASSERT_EQ(after->apps.size(), 2u);
  EXPECT_EQ(after->apps[0]->origins, before->apps[0]->origins);  // same OriginSet object
  app.policy = "hash";
  reload({app, extra});
  EXPECT_NE(edge_->snapshot()->apps[0]->origins, before->apps[0]->origins);
  EXPECT_EQ(edge_->snapshot()->apps[1]->origins, after->apps[1]->origins);
}

TEST_F(ReloadTest, DrainClosesListenersAndWaitsForSessions) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start({{.id = "drain", .edge_port = port.port(), .origin_ports = {origin.port()}}});
  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  expect_echo(c.get(), "before drain");
  ASSERT_TRUE(wait_for([&] { return edge_->sessions() == 1; }));

  std::atomic<bool> drained{false};
  size_t left = 99;
  auto t0 = Clock::now();
  std::thread drainer([&] {
    left = edge_->drain(std::chrono::milliseconds(5000));
    drained = true;
  });
  ASSERT_TRUE(wait_for([&] { return listeners_on(port.port()) == 0; }));
  int err = 0;
  EXPECT_FALSE(connect_to(port.port(), &err).valid());
  EXPECT_EQ(err, ECONNREFUSED);
  // The established session keeps working while the edge drains.
  expect_echo(c.get(), "during drain");
  EXPECT_FALSE(drained.load());
  c.reset();
  ASSERT_TRUE(wait_for([&] { return drained.load(); }, 2000ms));
  drainer.join();
  EXPECT_EQ(left, 0u);
  EXPECT_LT(Clock::now() - t0, 3000ms);
}

TEST_F(ReloadTest, DrainTimeoutClosesWhatIsLeft) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start({{.id = "stuck", .edge_port = port.port(), .origin_ports = {origin.port()}}});
  UniqueFd c1 = connect_to(port.port());
  UniqueFd c2 = connect_to(port.port());
  ASSERT_TRUE(c1.valid() && c2.valid());
  expect_echo(c1.get(), "one");
  expect_echo(c2.get(), "two");
  auto t0 = Clock::now();
  EXPECT_EQ(edge_->drain(std::chrono::milliseconds(300)), 2u);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(wait_closed(c1.get(), 1000ms), 0);
  EXPECT_EQ(wait_closed(c2.get(), 1000ms), 0);
  EXPECT_EQ(edge_->sessions(), 0u);
}

TEST_F(ReloadTest, DrainWithNothingOpenReturnsAtOnce) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start({{.id = "empty", .edge_port = port.port(), .origin_ports = {origin.port()}}});
  auto t0 = Clock::now();
  EXPECT_EQ(edge_->drain(std::chrono::milliseconds(5000)), 0u);
  EXPECT_LT(Clock::now() - t0, 500ms);
}

TEST_F(ReloadTest, StartFailsWhenDataDirCannotBeCreated) {
  config::Config cfg = make_config(data_dir(), {});
  cfg.edge.data_dir = "/proc/rampart-cannot-create-this";
  Edge edge;
  std::string error;
  EXPECT_FALSE(edge.start(cfg, &error));
  EXPECT_NE(error.find("edge.data_dir"), std::string::npos) << error;
}

TEST_F(ReloadTest, OneWorkerIsEnough) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start({{.id = "single", .edge_port = port.port(), .origin_ports = {origin.port()}}}, 1);
  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  expect_echo(c.get(), "one worker");
}

TEST(ResolveWorkers, ZeroMeansOnePerCpu) {
  EXPECT_EQ(resolve_workers(3), 3);
  EXPECT_GE(resolve_workers(0), 1);
}

TEST(Snapshot, BindsEveryAddressAndPortOfEveryApp) {
  const char* yaml = R"(
edge:
  listen: ["127.0.0.1", "::1"]
apps:
  - id: range
    protocol: tcp/7000-7002
    origin_direct: ["tcp://127.0.0.1:8000-8002"]
  - id: v4only
    protocol: tcp/7100
    edge_ips: { type: dynamic, connectivity: ipv4 }
    origin_direct: ["tcp://127.0.0.1:8100"]
  - id: static
    protocol: tcp/7200
    edge_ips: { type: static, ips: ["127.0.0.2"] }
    origin_direct: ["tcp://127.0.0.1:8200"]
  - id: udp
    protocol: udp/7300
    origin_direct: ["udp://127.0.0.1:8300"]
)";
  auto r = config::parse_yaml(yaml);
  ASSERT_TRUE(r.ok());
  auto snap = build_snapshot(*r.config, nullptr, 1);
  ASSERT_EQ(snap->apps.size(), 4u);
  std::multiset<std::string> keys;
  for (const auto& b : snap->binds) keys.insert(b.key());
  EXPECT_EQ(keys, (std::multiset<std::string>{
                      "tcp 127.0.0.1:7000", "tcp 127.0.0.1:7001", "tcp 127.0.0.1:7002",
                      "tcp [::1]:7000", "tcp [::1]:7001", "tcp [::1]:7002", "tcp 127.0.0.1:7100",
                      "tcp 127.0.0.2:7200", "udp 127.0.0.1:7300", "udp [::1]:7300"}));
  for (const auto& b : snap->binds) EXPECT_TRUE(b.app) << b.key();
}

TEST(Snapshot, EgressAddressesOfThisHostOnly) {
  auto r = config::parse_yaml(R"(
edge:
  egress_ips: ["192.0.2.10", "10.0.0.0/8", "127.0.0.1/32"]
apps:
  - id: a
    protocol: tcp/7000
    origin_direct: ["tcp://127.0.0.1:8000"]
)");
  ASSERT_TRUE(r.ok());
  auto snap = build_snapshot(*r.config, nullptr, 1);
  ASSERT_EQ(snap->apps.size(), 1u);
  // 192.0.2.10 is not ours and 10/8 is a range: 127.0.0.1 is the usable one.
  ASSERT_TRUE(snap->apps[0]->egress_v4.has_value());
  EXPECT_EQ(snap->apps[0]->egress_v4->to_string(), "127.0.0.1");
  EXPECT_FALSE(snap->apps[0]->egress_v6.has_value());
}

TEST_F(ReloadTest, EgressAddressIsTheSourceTowardOrigins) {
  // 127.0.0.1/8 is all loopback: 127.0.0.9 is a usable source address.
  std::string peer;
  std::mutex mu;
  OriginServer origin([&](int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    {
      std::lock_guard<std::mutex> lock(mu);
      peer = buf;
    }
    echo_handler(fd);
  });
  ReservedPort port;
  config::Config cfg = make_config(
      data_dir(), {{.id = "egress", .edge_port = port.port(), .origin_ports = {origin.port()}}});
  cfg.edge.egress_ips = {"127.0.0.9"};
  edge_ = std::make_unique<Edge>();
  std::string error;
  ASSERT_TRUE(edge_->start(cfg, &error)) << error;
  wait_listening(port.port());
  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  expect_echo(c.get(), "from where?");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(peer, "127.0.0.9");
}

}  // namespace
}  // namespace rampart::edge::testing
