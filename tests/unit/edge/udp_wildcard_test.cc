// UDP on wildcard edge addresses (edge_ips dynamic with edge.listen 0.0.0.0 and ::): a reply
// must leave from the exact address and port the client sent to (IP_PKTINFO/IPV6_PKTINFO),
// for IPv4 and IPv6 clients, with an IPv4 origin behind both.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "config/parse.h"
#include "core/socket_util.h"
#include "core/unique_fd.h"
#include "edge/edge.h"
#include "net/ip_addr.h"

namespace rampart::edge {
namespace {

using core::UniqueFd;
using namespace std::chrono_literals;

UniqueFd bound_udp(const std::string& ip, uint16_t port) {
  auto addr = net::SockAddr(*net::IpAddr::parse(ip), port);
  UniqueFd fd(::socket(addr.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::bind(fd.get(), addr.get(), addr.len()), 0) << ip;
  return fd;
}

uint16_t port_of(int fd) {
  return core::local_addr(fd).port();
}

// Echoes every datagram back to its sender until destroyed.
class EchoOrigin {
 public:
  EchoOrigin() : fd_(bound_udp("127.0.0.1", 0)), port_(port_of(fd_.get())) {
    thread_ = std::thread([this] {
      char buf[2048];
      while (!stop_) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        net::SockAddr from;
        ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, from.get_mut(), from.len_mut());
        if (n >= 0) ::sendto(fd_.get(), buf, static_cast<size_t>(n), 0, from.get(), from.len());
      }
    });
  }
  ~EchoOrigin() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends from `client` to edge_ip:port and expects the echo from exactly that address and port.
void expect_reply_from(int client, const std::string& edge_ip, uint16_t port) {
  net::SockAddr to(*net::IpAddr::parse(edge_ip), port);
  const std::string msg = "to " + edge_ip;
  std::string got;
  net::SockAddr from;
  for (int attempt = 0; attempt < 20 && got.empty(); ++attempt) {  // listeners may be starting
    ASSERT_EQ(::sendto(client, msg.data(), msg.size(), 0, to.get(), to.len()),
              static_cast<ssize_t>(msg.size()));
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[2048];
    ssize_t n = ::recvfrom(client, buf, sizeof buf, 0, from.get_mut(), from.len_mut());
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
  }
  ASSERT_EQ(got, msg) << "no echo through " << to.to_string();
  EXPECT_EQ(from.ip().to_string(), edge_ip) << "the reply left from another address";
  EXPECT_EQ(from.port(), port);
}

TEST(UdpWildcard, RepliesLeaveFromTheAddressTheClientSentTo) {
  EchoOrigin origin;
  const uint16_t edge_port = port_of(bound_udp("127.0.0.1", 0).get());
  auto dir =
      std::filesystem::temp_directory_path() / ("rampart-udpwild-" + std::to_string(::getpid()));
  std::string yaml =
      "edge:\n  listen: [\"0.0.0.0\", \"::\"]\n  workers: 2\n  data_dir: " + dir.string() +
      "\nprotection:\n  per_ip: { udp_packets_per_second: 0 }\napps:\n"
      "  - id: wild\n    protocol: udp/" +
      std::to_string(edge_port) +
      "\n    edge_ips: { type: dynamic, connectivity: all }\n"
      "    origin_direct: [\"udp://127.0.0.1:" +
      std::to_string(origin.port()) + "\"]\n";
  config::LoadResult r = config::parse_yaml(yaml);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  {
    Edge edge;
    std::string error;
    ASSERT_TRUE(edge.start(*r.config, &error)) << error;
    // IPv4: 127.0.0.0/8 is all local, so the client can reach the edge on 127.0.0.3 and must
    // get the answer from 127.0.0.3, not from the kernel's choice (127.0.0.1).
    UniqueFd v4 = bound_udp("127.0.0.2", 0);
    expect_reply_from(v4.get(), "127.0.0.3", edge_port);
    expect_reply_from(v4.get(), "127.0.0.1", edge_port);
    // IPv6 client, IPv4 origin.
    UniqueFd v6 = bound_udp("::1", 0);
    expect_reply_from(v6.get(), "::1", edge_port);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rampart::edge
