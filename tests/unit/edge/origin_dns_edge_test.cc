// An origin_dns app through a running Edge, against a real dnsmasq (tests/unit/resolve/
// dnsmasq_server.h): 531/resolveOrigin before the name resolves, the answer republished to the
// workers once it does, and a changed answer used by new connections only.
#include <gtest/gtest.h>

#include "../resolve/dnsmasq_server.h"
#include "config/parse.h"
#include "edge_test_util.h"

namespace rampart::edge::testing {
namespace {

using nlohmann::json;

class OriginDnsEdgeTest : public EdgeTest {
 protected:
  void start_named(const testing_dns::Dnsmasq& dns, uint16_t edge_port, uint16_t origin_port) {
    const std::string y =
        "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: 2\n  data_dir: " + data_dir() +
        "\nprotection:\n  per_ip: { max_connections: 0, "
        "new_connections_per_second: 0, burst: 0 }\napps:\n  - id: named\n"
        "    protocol: tcp/" +
        std::to_string(edge_port) +
        "\n    edge_ips: { type: static, ips: [\"127.0.0.1\"] }\n"
        "    origin_dns: { name: o.test, type: A }\n    origin_port: " +
        std::to_string(origin_port) +
        "\n    load_balancing: { health_check: { enabled: false } }\n"
        "    timeouts: { connect: 1s }\n";
    config::LoadResult r = config::parse_yaml(y);
    ASSERT_TRUE(r.ok()) << y;
    cfg_ = *r.config;
    edge_ = std::make_unique<Edge>();
    resolve::Options o;
    o.servers = dns.server();
    o.hosts_file = false;
    o.retry_min = 200ms;
    o.retry_max = 400ms;
    edge_->set_resolver_options(o);
    std::string error;
    ASSERT_TRUE(edge_->start(cfg_, &error)) << error;
    wait_listening(edge_port);
  }
};

TEST_F(OriginDnsEdgeTest, UnresolvedIs531ThenTheAnswerServesNewConnectionsOnly) {
  testing_dns::Dnsmasq dns(1, "");
  ASSERT_TRUE(dns.up());
  OriginServer origin(echo_handler);
  ReservedPort port;
  start_named(dns, port.port(), origin.port());
  ASSERT_NE(edge_->resolver(), nullptr);

  // Nothing resolved: accepted and closed at once, resolveOrigin / 531.
  UniqueFd c = connect_to(port.port());
  ASSERT_TRUE(c.valid());
  std::string got;
  EXPECT_TRUE(read_to_eof(c.get(), &got));
  json ev = wait_event(data_dir(), [](const json& e) { return e["Event"] == "resolveOrigin"; });
  ASSERT_FALSE(ev.is_null()) << dump_events(data_dir());
  EXPECT_EQ(ev["Status"], 531);
  EXPECT_EQ(ev["Application"], "named");

  // The name resolves: the edge republishes and new connections reach the origin.
  dns.set_hosts("127.0.0.1 o.test\n");
  UniqueFd held;
  ASSERT_TRUE(wait_for(
      [&] {
        held = connect_to(port.port());
        if (!held.valid()) return false;
        set_timeouts(held.get(), 1000);
        return write_all(held.get(), "ping") && read_n(held.get(), 4) == "ping";
      },
      5000ms));

  // A changed answer (nothing listens on 127.0.0.2): new connections fail at the origin, the
  // connection made before keeps its origin.
  dns.set_hosts("127.0.0.2 o.test\n");
  ASSERT_TRUE(wait_for(
      [&] {
        auto snap = edge_->snapshot();
        const auto& o = snap->apps[0]->origins;
        return o->size() == 1 && o->at(0).cfg.ip.to_string() == "127.0.0.2";
      },
      5000ms));
  ASSERT_TRUE(edge_->wait_applied(2000ms, true));
  UniqueFd fresh = connect_to(port.port());
  ASSERT_TRUE(fresh.valid());
  EXPECT_TRUE(read_to_eof(fresh.get(), &got));
  ASSERT_TRUE(write_all(held.get(), "still"));
  EXPECT_EQ(read_n(held.get(), 5), "still");
}

}  // namespace
}  // namespace rampart::edge::testing
