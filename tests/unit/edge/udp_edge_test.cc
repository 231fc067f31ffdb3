// The UDP data plane end to end through a real Edge on loopback: echo, one origin socket per
// client flow, PROXY v2 (every datagram / first only), Simple Proxy Protocol both ways with
// spoofed replies dropped, the per-app flow cap and idle expiry.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/parse.h"
#include "core/unique_fd.h"
#include "edge/edge.h"
#include "edge_test_util.h"
#include "net/proxy_protocol.h"

namespace rampart::edge::testing {
namespace {

// UDP sockets bound on 127.0.0.1:port, from /proc/net/udp.
int udp_sockets_on(uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  char want[32];
  snprintf(want, sizeof want, "0100007F:%04X", port);
  int n = 0;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string sl, local;
    ls >> sl >> local;
    if (local == want) ++n;
  }
  return n;
}

struct Datagram {
  std::string data;
  sockaddr_in from{};
  uint16_t from_port() const { return ntohs(from.sin_port); }
};

// Waits up to `limit` for one datagram on fd; false if none came.
bool recv_one(int fd, Datagram* out, std::chrono::milliseconds limit = 2000ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  std::string buf(65536, '\0');
  socklen_t len = sizeof out->from;
  ssize_t r = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&out->from), &len);
  if (r < 0) return false;
  buf.resize(static_cast<size_t>(r));
  out->data = std::move(buf);
  return true;
}

// A UDP origin on 127.0.0.1:<ephemeral>, served by one thread: records every datagram and
// hands it to `handler(fd, datagram)` (the default echoes it back to its sender).
class UdpOrigin {
 public:
  using Handler = std::function<void(int fd, const Datagram& d)>;
  static void echo(int fd, const Datagram& d) {
    ::sendto(fd, d.data.data(), d.data.size(), 0, reinterpret_cast<const sockaddr*>(&d.from),
             sizeof d.from);
  }
  explicit UdpOrigin(Handler handler = echo) : handler_(std::move(handler)), fd_(udp_socket()) {
    port_ = local_port(fd_.get());
    thread_ = std::thread([this] { run(); });
  }
  ~UdpOrigin() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::vector<Datagram> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }

 private:
  void run() {
    while (!stop_) {
      Datagram d;
      if (!recv_one(fd_.get(), &d, 20ms)) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(d);
      }
      handler_(fd_.get(), d);
    }
  }

  Handler handler_;
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Datagram> received_;
};

struct UdpApp {
  std::string id = "udp-app";
  uint16_t edge_port = 0;
  uint16_t origin_port = 0;
  std::string proxy_protocol = "off";
  std::string proxy_protocol_udp;  // empty: the default (every)
  std::string udp_flow_idle = "30s";
  int max_connections = -1;  // per-app protection override; -1: none
  std::string health_check = "{ enabled: false }";
};

size_t count_events(const std::string& data_dir, const std::string& event, uint16_t client_port) {
  size_t n = 0;
  for (const auto& e : read_events(data_dir))
    if (e.value("Event", "") == event && e.value("ClientPort", 0) == client_port) ++n;
  return n;
}

class UdpEdgeTest : public ::testing::Test {
 protected:
  void start(const UdpApp& app, int workers = 2) {
    workers_ = workers;
    config::Config cfg = make_config(app);
    if (::testing::Test::HasFatalFailure()) return;
    edge_ = std::make_unique<Edge>();
    std::string error;
    ASSERT_TRUE(edge_->start(cfg, &error)) << error;
    // With the UDP generation program (docs/upgrade.md) a group holds two halves of one socket
    // per worker: one read here, one kept for an upgrade's next process.
    ASSERT_TRUE(
        wait_for([&] { return udp_sockets_on(app.edge_port) == sockets_per_group(); }, 3000ms))
        << "edge UDP sockets on port " << app.edge_port << ": " << udp_sockets_on(app.edge_port);
  }
  int sockets_per_group() const { return workers_ * (edge_->udp_generations() ? 2 : 1); }
  // On the edge's applier thread, as the ConfigApplier calls it; returns once every worker
  // runs the new snapshot.
  void reload(const UdpApp& app) {
    const config::Config cfg = make_config(app);
    edge_->control().call([&] { edge_->reload(cfg); });
    ASSERT_TRUE(wait_for([&] { return edge_->applied(); }, 3000ms));
  }
  // Returns once every event pushed so far is in the event file.
  void events_settled() {
    const uint64_t pushed = edge_->events_pushed();
    ASSERT_TRUE(wait_for([&] { return edge_->events_written() >= pushed; }, 3000ms));
  }
  config::Config make_config(const UdpApp& app) {
    const int workers = workers_;
    std::string y =
        "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: " + std::to_string(workers) +
        "\n  data_dir: " + dir_.path() + "\napps:\n";
    y += "  - id: " + app.id + "\n    protocol: udp/" + std::to_string(app.edge_port) +
         "\n    edge_ips: { type: static, ips: [\"127.0.0.1\"] }\n    origin_direct: "
         "[\"udp://127.0.0.1:" +
         std::to_string(app.origin_port) + "\"]\n    proxy_protocol: \"" + app.proxy_protocol +
         "\"\n";
    if (!app.proxy_protocol_udp.empty())
      y += "    proxy_protocol_udp: " + app.proxy_protocol_udp + "\n";
    y += "    load_balancing: { health_check: " + app.health_check + " }\n";
    y += "    timeouts: { udp_flow_idle: " + app.udp_flow_idle + " }\n";
    if (app.max_connections >= 0)
      y += "    protection: { max_connections: " + std::to_string(app.max_connections) + " }\n";
    config::LoadResult r = config::parse_yaml(y);
    std::string errors;
    for (const auto& e : r.errors) errors += "\n  " + e.to_string();
    EXPECT_TRUE(r.ok()) << y << errors;
    return r.ok() ? *r.config : config::Config{};
  }
  const std::string& data_dir() const { return dir_.path(); }

  TempDir dir_;
  int workers_ = 2;
  std::unique_ptr<Edge> edge_;
};

// Sends `msg` from `client` to the edge and expects exactly it back, from the edge's address.
void expect_udp_echo(int client, uint16_t edge_port, const std::string& msg) {
  ASSERT_TRUE(send_to(client, msg, edge_port));
  Datagram d;
  ASSERT_TRUE(recv_one(client, &d)) << "no reply to '" << msg.substr(0, 40) << "'";
  EXPECT_EQ(d.data, msg);
  EXPECT_EQ(d.from_port(), edge_port) << "reply must come from the port the client sent to";
  EXPECT_EQ(ntohl(d.from.sin_addr.s_addr), INADDR_LOOPBACK);
}

TEST_F(UdpEdgeTest, EchoThroughTheEdgeOneOriginSocketPerClient) {
  UdpOrigin origin;
  UdpApp app{.edge_port = free_udp_port(), .origin_port = origin.port()};
  start(app);
  UniqueFd c1 = udp_socket(), c2 = udp_socket();
  for (int i = 0; i < 5; ++i) {
    expect_udp_echo(c1.get(), app.edge_port, "c1 datagram " + std::to_string(i));
    expect_udp_echo(c2.get(), app.edge_port, "c2 datagram " + std::to_string(i));
  }
  // Sizes up to the largest loopback datagram minus the edge's room for headers.
  expect_udp_echo(c1.get(), app.edge_port, std::string(1472, 'x'));
  expect_udp_echo(c1.get(), app.edge_port, std::string(9000, 'y'));
  expect_udp_echo(c1.get(), app.edge_port, std::string(60000, 'z'));
  expect_udp_echo(c1.get(), app.edge_port, "");  // an empty datagram is a datagram too

  // The origin sees the edge's sockets, never the clients: one source port per client flow.
  std::map<std::string, std::set<uint16_t>> sources;  // payload prefix -> origin-side ports
  for (const Datagram& d : origin.received()) {
    EXPECT_NE(d.from_port(), local_port(c1.get()));
    EXPECT_NE(d.from_port(), local_port(c2.get()));
    sources[d.data.substr(0, 2)].insert(d.from_port());
  }
  EXPECT_EQ(sources["c1"].size(), 1u);
  EXPECT_EQ(sources["c2"].size(), 1u);
  EXPECT_NE(*sources["c1"].begin(), *sources["c2"].begin());

  // One connect event per flow, UDP on both sides.
  ASSERT_TRUE(wait_for(
      [&] { return count_events(data_dir(), "connect", local_port(c1.get())) == 1; }, 3000ms));
  for (const auto& e : read_events(data_dir())) {
    EXPECT_EQ(e.value("ClientProto", ""), "udp");
    EXPECT_EQ(e.value("OriginProto", ""), "udp");
    EXPECT_EQ(e.value("Application", ""), "udp-app");
  }
  EXPECT_EQ(count_events(data_dir(), "connect", local_port(c2.get())), 1u);
}

// The origin strips a PROXY v2 header when one is there and echoes the payload.
void strip_v2_and_echo(int fd, const Datagram& d) {
  net::ProxyHeader h;
  std::string payload = d.data;
  if (net::decode_proxy_header(reinterpret_cast<const uint8_t*>(d.data.data()), d.data.size(),
                               &h) == net::DecodeStatus::kOk)
    payload = d.data.substr(h.length);
  UdpOrigin::echo(fd, Datagram{payload, d.from});
}

void expect_v2_header(const Datagram& d, uint16_t client_port, uint16_t edge_port,
                      const std::string& payload) {
  static const uint8_t kSig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  ASSERT_GE(d.data.size(), 16u);
  EXPECT_EQ(std::memcmp(d.data.data(), kSig, 12), 0);
  EXPECT_EQ(static_cast<uint8_t>(d.data[12]), 0x21) << "version 2, command PROXY";
  EXPECT_EQ(static_cast<uint8_t>(d.data[13]), 0x12) << "AF_INET, DGRAM";
  net::ProxyHeader h;
  ASSERT_EQ(
      net::decode_proxy_header(reinterpret_cast<const uint8_t*>(d.data.data()), d.data.size(), &h),
      net::DecodeStatus::kOk);
  EXPECT_EQ(h.version, 2);
  EXPECT_TRUE(h.dgram);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.src.ip().to_string(), "127.0.0.1");
  EXPECT_EQ(h.src.port(), client_port);
  EXPECT_EQ(h.dst.ip().to_string(), "127.0.0.1");
  EXPECT_EQ(h.dst.port(), edge_port);
  EXPECT_EQ(h.length, 16u + 12u);  // IPv4 address block, no TLVs
  EXPECT_EQ(d.data.substr(h.length), payload);
}

TEST_F(UdpEdgeTest, ProxyV2HeaderOnEveryDatagramByDefault) {
  UdpOrigin origin(strip_v2_and_echo);
  UdpApp app{.edge_port = free_udp_port(), .origin_port = origin.port(), .proxy_protocol = "v2"};
  start(app);
  UniqueFd c = udp_socket();
  const std::vector<std::string> msgs = {"first", "second", "third", std::string(8000, 'p')};
  for (const auto& m : msgs) expect_udp_echo(c.get(), app.edge_port, m);
  std::vector<Datagram> got = origin.received();
  ASSERT_EQ(got.size(), msgs.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("datagram " + std::to_string(i));
    expect_v2_header(got[i], local_port(c.get()), app.edge_port, msgs[i]);
  }
}

TEST_F(UdpEdgeTest, ProxyV2HeaderOnFirstDatagramOnly) {
  UdpOrigin origin(strip_v2_and_echo);
  UdpApp app{.edge_port = free_udp_port(),
             .origin_port = origin.port(),
             .proxy_protocol = "v2",
             .proxy_protocol_udp = "first"};
  start(app);
  UniqueFd c1 = udp_socket(), c2 = udp_socket();
  const std::vector<std::string> msgs = {"one", "two", "three"};
  for (const auto& m : msgs) {
    expect_udp_echo(c1.get(), app.edge_port, "1" + m);
    expect_udp_echo(c2.get(), app.edge_port, "2" + m);
  }
  std::vector<Datagram> got = origin.received();
  ASSERT_EQ(got.size(), 6u);
  for (char who : {'1', '2'}) {
    SCOPED_TRACE(std::string("client ") + who);
    const uint16_t cport = local_port(who == '1' ? c1.get() : c2.get());
    std::vector<Datagram> mine;
    for (const auto& d : got)
      if (d.data.find(who + msgs[0]) != std::string::npos || d.data == who + msgs[1] ||
          d.data == who + msgs[2])
        mine.push_back(d);
    ASSERT_EQ(mine.size(), 3u);
    // Each flow gets its own header on its own first datagram.
    expect_v2_header(mine[0], cport, app.edge_port, who + msgs[0]);
    EXPECT_EQ(mine[1].data, who + msgs[1]) << "no header after the first datagram";
    EXPECT_EQ(mine[2].data, who + msgs[2]);
  }
}

// SPP: 38-byte header, magic 0x56EC, client and edge address (IPv4 mapped), client and edge port.
struct Spp {
  std::array<uint8_t, 16> client{}, edge{};
  uint16_t client_port = 0, edge_port = 0;
};

bool parse_spp(const std::string& d, Spp* out) {
  if (d.size() < 38) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(d.data());
  if (p[0] != 0x56 || p[1] != 0xEC) return false;
  std::memcpy(out->client.data(), p + 2, 16);
  std::memcpy(out->edge.data(), p + 18, 16);
  out->client_port = static_cast<uint16_t>(p[34] << 8 | p[35]);
  out->edge_port = static_cast<uint16_t>(p[36] << 8 | p[37]);
  return true;
}

std::array<uint8_t, 16> mapped_loopback() {
  std::array<uint8_t, 16> a{};
  a[10] = a[11] = 0xff;
  a[12] = 127;
  a[15] = 1;
  return a;
}

// An SPP origin: checks each header and echoes header + payload back. Payloads starting with
// "spoof-port" / "spoof-ip" are answered with a header naming another client; "bare" is answered
// without any header; "short" with a truncated header.
class SppOrigin {
 public:
  SppOrigin()
      : origin_([this](int fd, const Datagram& d) {
          Spp h;
          if (!parse_spp(d.data, &h)) {
            bad_.fetch_add(1);
            return;
          }
          {
            std::lock_guard<std::mutex> lock(mu_);
            headers_.push_back(h);
          }
          std::string payload = d.data.substr(38);
          std::string reply = d.data;
          if (payload.rfind("spoof-port", 0) == 0) {
            reply[35] = static_cast<char>(reply[35] + 1);  // client port + 1
          } else if (payload.rfind("spoof-ip", 0) == 0) {
            reply[17] = 2;  // ::ffff:127.0.0.2
          } else if (payload.rfind("bare", 0) == 0) {
            reply = payload;
          } else if (payload.rfind("short", 0) == 0) {
            reply = d.data.substr(0, 20);
          } else if (payload.rfind("badmagic", 0) == 0) {
            reply[1] = 0;
          }
          UdpOrigin::echo(fd, Datagram{reply, d.from});
        }) {}
  uint16_t port() const { return origin_.port(); }
  int bad() const { return bad_.load(); }
  std::vector<Spp> headers() {
    std::lock_guard<std::mutex> lock(mu_);
    return headers_;
  }

 private:
  std::atomic<int> bad_{0};
  std::mutex mu_;
  std::vector<Spp> headers_;
  UdpOrigin origin_;  // last: its thread stops before the members above go
};

TEST_F(UdpEdgeTest, SimpleProxyProtocolRoundTrip) {
  SppOrigin origin;
  UdpApp app{
      .edge_port = free_udp_port(), .origin_port = origin.port(), .proxy_protocol = "simple"};
  start(app);
  UniqueFd c1 = udp_socket(), c2 = udp_socket();
  for (int i = 0; i < 3; ++i) {
    expect_udp_echo(c1.get(), app.edge_port, "spp from c1 #" + std::to_string(i));
    expect_udp_echo(c2.get(), app.edge_port, "spp from c2 #" + std::to_string(i));
  }
  expect_udp_echo(c1.get(), app.edge_port, std::string(9000, 's'));
  EXPECT_EQ(origin.bad(), 0) << "every datagram to the origin must carry a valid SPP header";
  std::vector<Spp> hs = origin.headers();
  ASSERT_EQ(hs.size(), 7u);
  std::set<uint16_t> client_ports;
  for (const Spp& h : hs) {
    EXPECT_EQ(h.client, mapped_loopback());
    EXPECT_EQ(h.edge, mapped_loopback());
    EXPECT_EQ(h.edge_port, app.edge_port);
    client_ports.insert(h.client_port);
  }
  EXPECT_EQ(client_ports, (std::set<uint16_t>{local_port(c1.get()), local_port(c2.get())}));
}

TEST_F(UdpEdgeTest, SimpleProxyProtocolRepliesNamingAnotherClientAreDropped) {
  SppOrigin origin;
  UdpApp app{
      .edge_port = free_udp_port(), .origin_port = origin.port(), .proxy_protocol = "simple"};
  start(app);
  UniqueFd c1 = udp_socket(), c2 = udp_socket();
  expect_udp_echo(c1.get(), app.edge_port, "hello c1");
  expect_udp_echo(c2.get(), app.edge_port, "hello c2");
  for (std::string bad :
       {"spoof-port", "spoof-ip", "bare reply without header", "short header", "badmagic"}) {
    SCOPED_TRACE(bad);
    const size_t before = origin.headers().size();
    ASSERT_TRUE(send_to(c1.get(), bad, app.edge_port));
    // The origin got it and answered...
    ASSERT_TRUE(wait_for([&] { return origin.headers().size() == before + 1; }, 3000ms));
    // ...but neither client receives anything for it.
    Datagram d;
    EXPECT_FALSE(recv_one(c1.get(), &d, 300ms)) << "c1 got '" << d.data << "'";
    EXPECT_FALSE(recv_one(c2.get(), &d, 50ms)) << "c2 got '" << d.data << "'";
    // The flow itself keeps working: the next reply is the next good datagram, not the spoof.
    expect_udp_echo(c1.get(), app.edge_port, "still fine after " + bad);
  }
  expect_udp_echo(c2.get(), app.edge_port, "c2 still fine");
}

TEST_F(UdpEdgeTest, IdleFlowsExpireAndComeBackAsNewFlows) {
  UdpOrigin origin;
  UdpApp app{.edge_port = free_udp_port(), .origin_port = origin.port(), .udp_flow_idle = "1s"};
  start(app, 1);
  UniqueFd c = udp_socket();
  const uint16_t cport = local_port(c.get());
  expect_udp_echo(c.get(), app.edge_port, "before idle");
  const uint16_t first_source = origin.received().back().from_port();
  // Traffic every 400 ms keeps the flow alive past its 1 s idle timeout.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(400ms);
    expect_udp_echo(c.get(), app.edge_port, "keepalive " + std::to_string(i));
  }
  EXPECT_EQ(count_events(data_dir(), "disconnect", cport), 0u);
  EXPECT_EQ(origin.received().back().from_port(), first_source);
  // Idle: the sweep (each second) ends it within ~2 s.
  ASSERT_TRUE(wait_for([&] { return count_events(data_dir(), "disconnect", cport) == 1; }, 4000ms))
      << "flow did not expire; events:" << dump_events(data_dir());
  for (const auto& e : read_events(data_dir())) {
    if (e.value("Event", "") != "disconnect") continue;
    EXPECT_EQ(e.value("Status", 0), 200);
    EXPECT_EQ(e.value("ClientBytes", uint64_t{0}), uint64_t{11 + 4 * 11});
    EXPECT_EQ(e.value("OriginBytes", uint64_t{0}), uint64_t{11 + 4 * 11});
  }
  // The same client again is a new flow with a new origin-side socket.
  expect_udp_echo(c.get(), app.edge_port, "after idle");
  EXPECT_TRUE(wait_for([&] { return count_events(data_dir(), "connect", cport) == 2; }, 3000ms));
  EXPECT_NE(origin.received().back().from_port(), first_source);
}

// The app's cap evicts its idlest unconfirmed flow first: c1 spoke again after a reply
// (confirmed), so when c2 comes back it is c3, never answered back to, that goes, though c1 is
// the idlest.
TEST_F(UdpEdgeTest, PerAppFlowCapEvictsTheIdlestUnconfirmedFlow) {
  UdpOrigin origin;
  UdpApp app{.edge_port = free_udp_port(), .origin_port = origin.port(), .max_connections = 2};
  start(app, 1);
  UniqueFd c1 = udp_socket(), c2 = udp_socket(), c3 = udp_socket();
  expect_udp_echo(c1.get(), app.edge_port, "c1");
  expect_udp_echo(c2.get(), app.edge_port, "c2");
  expect_udp_echo(c1.get(), app.edge_port, "c1 again");  // c2 is now the idlest
  expect_udp_echo(c3.get(), app.edge_port, "c3");        // evicts c2
  ASSERT_TRUE(wait_for(
      [&] { return count_events(data_dir(), "disconnect", local_port(c2.get())) == 1; }, 3000ms))
      << "the idlest flow (c2) was not evicted";
  EXPECT_EQ(count_events(data_dir(), "disconnect", local_port(c1.get())), 0u);
  EXPECT_EQ(count_events(data_dir(), "disconnect", local_port(c3.get())), 0u);
  // c2 comes back as a new flow, evicting c3 (unconfirmed) rather than c1 (confirmed).
  expect_udp_echo(c2.get(), app.edge_port, "c2 back");
  ASSERT_TRUE(wait_for(
      [&] { return count_events(data_dir(), "disconnect", local_port(c3.get())) == 1; }, 3000ms));
  EXPECT_EQ(count_events(data_dir(), "disconnect", local_port(c1.get())), 0u);
  EXPECT_EQ(count_events(data_dir(), "connect", local_port(c2.get())), 2u);
  // With only confirmed flows left, the cap takes the idlest of them (the operator's cap on
  // what the origin sees): c2 speaks again (confirmed), c3 comes back and c1 goes.
  expect_udp_echo(c2.get(), app.edge_port, "c2 confirmed");
  expect_udp_echo(c3.get(), app.edge_port, "c3 back");
  ASSERT_TRUE(wait_for(
      [&] { return count_events(data_dir(), "disconnect", local_port(c1.get())) == 1; }, 3000ms));
}

TEST_F(UdpEdgeTest, ReloadKeepsEstablishedFlows) {
  UdpOrigin origin;
  UdpApp app{.edge_port = free_udp_port(), .origin_port = origin.port()};
  start(app);
  UniqueFd c = udp_socket();
  expect_udp_echo(c.get(), app.edge_port, "before reload");
  const uint16_t source = origin.received().back().from_port();
  app.udp_flow_idle = "45s";  // a change to the app: new config for new flows
  reload(app);
  EXPECT_EQ(udp_sockets_on(app.edge_port), sockets_per_group());
  expect_udp_echo(c.get(), app.edge_port, "after reload");
  EXPECT_EQ(origin.received().back().from_port(), source) << "the flow was replaced by a reload";
  events_settled();
  EXPECT_EQ(count_events(data_dir(), "disconnect", local_port(c.get())), 0u);
  EXPECT_EQ(count_events(data_dir(), "connect", local_port(c.get())), 1u);
}

// UDP origins have no TCP listener: the default (enabled) health check must not mark a working
// UDP origin down, or the app stops taking new flows after `fall` checks.
TEST_F(UdpEdgeTest, DefaultHealthCheckDoesNotTakeAWorkingUdpOriginDown) {
  UdpOrigin origin;
  UdpApp app{.edge_port = free_udp_port(),
             .origin_port = origin.port(),
             .health_check = "{ interval: 1s, timeout: 1s, fall: 2 }"};
  start(app);
  // Health checks every second, down after 2 failures: a new flow every 250 ms for 8 s must
  // always be answered.
  const auto begin = Clock::now();
  int flows = 0;
  while (Clock::now() - begin < 8s) {
    UniqueFd c = udp_socket();
    ASSERT_TRUE(send_to(c.get(), "new flow", app.edge_port));
    Datagram d;
    ASSERT_TRUE(recv_one(c.get(), &d, 1000ms))
        << "new flow #" << flows << " got no reply "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count()
        << " ms after start: the origin was marked down by a TCP health check";
    ++flows;
    std::this_thread::sleep_for(250ms);
  }
}

}  // namespace
}  // namespace rampart::edge::testing
