// The descriptor budgets enforced by a real Edge on loopback: a full TCP session budget resets
// the newest connection and leaves established ones alone; with no pipe budget, bulk bytes are
// relayed exactly by peeking; new UDP flows stay within their unconfirmed share by evicting each
// other, never a confirmed flow; a full confirmed pool leaves a flow unconfirmed but served.
#include <gtest/gtest.h>

#include <random>

#include "edge_test_util.h"

namespace rampart::edge::testing {
namespace {

using K = core::FdBudget;

// One datagram within `limit`, or "" (with *from_port set to the sender's port).
std::string recv_payload(int fd, std::chrono::milliseconds limit = 2000ms,
                         uint16_t* from_port = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return "";
  char buf[2048];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t r =
      ::recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
  if (r <= 0) return "";
  if (from_port != nullptr) *from_port = ntohs(from.sin_port);
  return std::string(buf, static_cast<size_t>(r));
}

// Echoes every datagram to its sender; remembers the source port of the last one (the edge's
// flow socket) per payload prefix.
class UdpEcho {
 public:
  UdpEcho() : fd_(udp_socket()), port_(local_port(fd_.get())) {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        char buf[2048];
        sockaddr_in a{};
        socklen_t len = sizeof a;
        ssize_t r =
            ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&a), &len);
        if (r <= 0) continue;
        const uint16_t from = ntohs(a.sin_port);
        {
          std::lock_guard<std::mutex> lock(mu_);
          last_source_[std::string(buf, static_cast<size_t>(r)).substr(0, 2)] = from;
        }
        ::sendto(fd_.get(), buf, static_cast<size_t>(r), 0, reinterpret_cast<sockaddr*>(&a), len);
      }
    });
  }
  ~UdpEcho() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  uint16_t last_source(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    return last_source_[prefix];
  }

 private:
  UniqueFd fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, uint16_t> last_source_;
};

class BudgetEdgeTest : public EdgeTest {
 protected:
  // A config with `edge_knobs` (lines under edge:) and the given apps (YAML list items).
  config::Config config_with(const std::string& edge_knobs, const std::string& apps,
                             int workers = 1) {
    std::string y =
        "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: " + std::to_string(workers) +
        "\n  data_dir: " + data_dir() + "\n" + edge_knobs +
        "protection:\n  per_ip: { max_connections: 0, new_connections_per_second: 0, "
        "udp_packets_per_second: 0 }\napps:\n" +
        apps;
    config::LoadResult r = config::parse_yaml(y);
    EXPECT_TRUE(r.ok()) << y << (r.errors.empty() ? "" : r.errors[0].to_string());
    return r.ok() ? *r.config : config::Config{};
  }
  void start_with(const std::string& edge_knobs, const std::string& apps, int workers = 1) {
    edge_ = std::make_unique<Edge>();
    std::string error;
    ASSERT_TRUE(edge_->start(config_with(edge_knobs, apps, workers), &error)) << error;
  }
  std::string udp_app(uint16_t edge_port, uint16_t origin_port) {
    return "  - id: dns\n    protocol: udp/" + std::to_string(edge_port) +
           "\n    edge_ips: { type: static, ips: [\"127.0.0.1\"] }\n    origin_direct: "
           "[\"udp://127.0.0.1:" +
           std::to_string(origin_port) +
           "\"]\n    load_balancing: { health_check: { enabled: false } }\n";
  }
  static bool echo(int fd, uint16_t port, const std::string& msg) {
    return send_to(fd, msg, port) && recv_payload(fd) == msg;
  }
  uint64_t in_use(K::Kind k) const { return edge_->budget().in_use(k); }
};

// edge.max_connections: 2. A third client is reset right after accept (counted), while the two
// established sessions keep relaying; once one closes, a new client gets in.
TEST_F(BudgetEdgeTest, FullSessionBudgetResetsTheNewestAndKeepsEstablishedSessions) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start_with("  max_connections: 2\n",
             app_yaml({.id = "echo", .edge_port = port.port(), .origin_ports = {origin.port()}}));
  wait_listening(port.port(), 1);
  EXPECT_EQ(edge_->budget().limit(K::kTcpSessions), 2u);

  UniqueFd c1 = connect_to(port.port());
  UniqueFd c2 = connect_to(port.port());
  ASSERT_TRUE(c1.valid() && c2.valid());
  ASSERT_TRUE(write_all(c1.get(), "one"));
  EXPECT_EQ(read_n(c1.get(), 3), "one");
  ASSERT_TRUE(write_all(c2.get(), "two"));
  EXPECT_EQ(read_n(c2.get(), 3), "two");
  EXPECT_EQ(in_use(K::kTcpSessions), 2u);

  UniqueFd c3 = connect_to(port.port());  // the kernel completes the handshake...
  ASSERT_TRUE(c3.valid());
  EXPECT_EQ(wait_closed(c3.get()), ECONNRESET);  // ...and the edge resets it at once
  EXPECT_EQ(edge_->sum(&tcp::WorkerCounters::budget_refused), 1u);
  EXPECT_EQ(origin.accepted(), 2);  // no origin connection for it
  EXPECT_EQ(in_use(K::kTcpSessions), 2u);

  // The established sessions did not notice.
  ASSERT_TRUE(write_all(c1.get(), "still"));
  EXPECT_EQ(read_n(c1.get(), 5), "still");
  ASSERT_TRUE(write_all(c2.get(), "here"));
  EXPECT_EQ(read_n(c2.get(), 4), "here");

  c1.reset();
  ASSERT_TRUE(wait_for([&] { return in_use(K::kTcpSessions) == 1; }));
  UniqueFd c4 = connect_to(port.port());
  ASSERT_TRUE(c4.valid());
  ASSERT_TRUE(write_all(c4.get(), "four"));
  EXPECT_EQ(read_n(c4.get(), 4), "four");
  c2.reset();
  c4.reset();
  EXPECT_TRUE(wait_for([&] { return in_use(K::kTcpSessions) == 0; }));
}

// max_connections: 3 leaves no pipe in the budget (3 / 4 = 0): bulk transfers both ways, with a
// slow reader so that sends come up short, are relayed exactly without a pipe.
TEST_F(BudgetEdgeTest, WithoutPipesBulkBytesAreRelayedExactlyByPeeking) {
  const std::string up = random_bytes(4 << 20, 3);
  const std::string down = random_bytes(3 << 20, 4);
  std::string origin_got;
  OriginServer origin([&](int fd) {
    std::thread sender([&] {
      write_all(fd, down);
      ::shutdown(fd, SHUT_WR);
    });
    // A slow start: the edge's sends toward the origin fill its buffers first.
    std::this_thread::sleep_for(200ms);
    read_to_eof(fd, &origin_got);
    sender.join();
  });
  ReservedPort port;
  start_with("  max_connections: 3\n",
             app_yaml({.id = "bulk", .edge_port = port.port(), .origin_ports = {origin.port()}}));
  wait_listening(port.port(), 1);
  ASSERT_EQ(edge_->budget().limit(K::kTcpPipes), 0u);

  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  std::thread writer([&] {
    write_all(c.get(), up);
    ::shutdown(c.get(), SHUT_WR);
  });
  std::string got;
  EXPECT_TRUE(read_to_eof(c.get(), &got));
  writer.join();
  EXPECT_TRUE(got == down) << "client got " << got.size() << " of " << down.size() << " bytes";
  c.reset();
  ASSERT_TRUE(wait_for([&] { return origin.open_connections() == 0; }, 5000ms));
  EXPECT_TRUE(origin_got == up) << "origin got " << origin_got.size() << " of " << up.size();
  EXPECT_GT(edge_->sum(&tcp::WorkerCounters::pipeless_reads), 0u);
  EXPECT_EQ(in_use(K::kTcpPipes), 0u);
}

// A client that spoke again after the origin's reply holds a confirmed flow: 60 new sources,
// one datagram each, churn through the unconfirmed share (4) and never evict it.
TEST_F(BudgetEdgeTest, NewFlowsEvictEachOtherNeverAConfirmedFlow) {
  UdpEcho origin;
  const uint16_t port = free_udp_port();
  start_with("  max_udp_flows: 40\n  max_udp_unconfirmed_flows: 4\n", udp_app(port, origin.port()));
  EXPECT_EQ(edge_->budget().limit(K::kUdpUnconfirmed), 4u);
  EXPECT_EQ(edge_->budget().limit(K::kUdpConfirmed), 36u);

  UniqueFd legit = udp_socket();
  ASSERT_TRUE(wait_for([&] { return echo(legit.get(), port, "L1"); }, 3000ms));
  const uint16_t legit_source = origin.last_source("L1");
  ASSERT_TRUE(echo(legit.get(), port, "L1 again"));  // spoke after a reply: confirmed
  ASSERT_TRUE(wait_for([&] { return in_use(K::kUdpConfirmed) == 1; }));

  std::vector<UniqueFd> fresh;
  for (int i = 0; i < 60; ++i) {
    fresh.push_back(udp_socket());
    ASSERT_TRUE(echo(fresh.back().get(), port, "F" + std::to_string(i)));
    EXPECT_LE(in_use(K::kUdpUnconfirmed), 4u);
    ASSERT_TRUE(echo(legit.get(), port, "L1 during " + std::to_string(i)));
  }
  EXPECT_EQ(origin.last_source("L1"), legit_source) << "the confirmed flow was re-created";
  // 60 - the share of 4, each answered already (the echo came back before the next one).
  EXPECT_EQ(edge_->sum(&udp::UdpCounters::shed_answered), 56u);
  EXPECT_EQ(edge_->sum(&udp::UdpCounters::shed_awaiting), 0u);
  EXPECT_EQ(edge_->sum(&udp::UdpCounters::shed_no_room), 0u);
  EXPECT_EQ(in_use(K::kUdpConfirmed), 1u);
  EXPECT_EQ(in_use(K::kUdpUnconfirmed), 4u);
  const uint16_t legit_port = local_port(legit.get());
  for (const auto& e : read_events(data_dir()))
    if (e.value("ClientPort", 0) == legit_port) {
      EXPECT_NE(e.value("Event", ""), "disconnect");
    }
}

// The confirmed pool (max_udp_flows - max_udp_unconfirmed_flows = 1) is full: a second client
// that speaks after a reply stays unconfirmed, and is served all the same.
TEST_F(BudgetEdgeTest, FullConfirmedPoolLeavesAFlowUnconfirmedButServed) {
  UdpEcho origin;
  const uint16_t port = free_udp_port();
  start_with("  max_udp_flows: 3\n  max_udp_unconfirmed_flows: 2\n", udp_app(port, origin.port()));
  UniqueFd a = udp_socket(), b = udp_socket();
  ASSERT_TRUE(wait_for([&] { return echo(a.get(), port, "A1"); }, 3000ms));
  ASSERT_TRUE(echo(a.get(), port, "A2"));
  ASSERT_TRUE(wait_for([&] { return in_use(K::kUdpConfirmed) == 1; }));
  ASSERT_TRUE(echo(b.get(), port, "B1"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(echo(b.get(), port, "B" + std::to_string(i + 2)));
  EXPECT_EQ(in_use(K::kUdpConfirmed), 1u);
  EXPECT_EQ(in_use(K::kUdpUnconfirmed), 1u);
}

// The split follows the apps: a TCP-only edge gives UDP nothing; a reload that adds a UDP app
// gives it its share (a smaller TCP budget refuses new sessions only while above it).
TEST_F(BudgetEdgeTest, ReloadRecomputesTheSplitForTheApps) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  const std::string tcp =
      app_yaml({.id = "echo", .edge_port = port.port(), .origin_ports = {origin.port()}});
  start_with("", tcp);
  wait_listening(port.port(), 1);
  const BudgetPlan tcp_only = edge_->budget_plan();
  EXPECT_EQ(edge_->budget().limit(K::kUdpUnconfirmed), 0u);
  EXPECT_EQ(tcp_only.udp_flows, 0u);
  EXPECT_GT(tcp_only.tcp_sessions, 0u);
  EXPECT_EQ(edge_->budget().limit(K::kTcpSessions), tcp_only.tcp_sessions);
  EXPECT_LE(tcp_only.fds(), tcp_only.fd_limit);

  reload_on_control(*edge_, config_with("", tcp + udp_app(free_udp_port(), 9)));
  const BudgetPlan both = edge_->budget_plan();
  EXPECT_GT(both.udp_flows, 0u);
  EXPECT_EQ(both.udp_unconfirmed, both.udp_flows / 2);
  EXPECT_LT(both.tcp_sessions, tcp_only.tcp_sessions);
  EXPECT_EQ(edge_->budget().limit(K::kTcpSessions), both.tcp_sessions);
  EXPECT_EQ(edge_->budget().limit(K::kUdpConfirmed), both.udp_flows - both.udp_unconfirmed);
  // The established TCP app still serves.
  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(write_all(c.get(), "after"));
  EXPECT_EQ(read_n(c.get(), 5), "after");
}

}  // namespace
}  // namespace rampart::edge::testing
