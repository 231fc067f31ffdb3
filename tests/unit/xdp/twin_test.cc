// The twin promise, tested (Katran's fixture idea): one table of cases (a config, a packet from
// a source, the verdict), each run through the userspace guard chain (Guard::admit for a SYN,
// Guard::check_datagram for a datagram) and through the XDP program (BPF_PROG_TEST_RUN, maps
// filled by the Loader from the same config). The userspace verdict must be the expected one;
// the kernel must drop exactly when userspace drops for a reason declared with an XDP twin
// (guard/declarations.h) and pass everything else, which userspace then judges. Skips like the
// other BPF tests when programs cannot be loaded here (xdp_fixture.h).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "guard/declarations.h"
#include "guard/guard.h"
#include "guard/policy.h"
#include "xdp_fixture.h"

namespace rampart::xdp {
namespace {

using config::AccessMode;
using config::AccessTarget;
using guard::Reason;

struct Case {
  const char* what;
  std::function<void(config::Config&)> config;
  bool tcp;            // a SYN to tcp/7000, else a datagram to udp/5300
  const char* src;     // the source address
  uint16_t sport;      // its port
  int before;          // packets the same source sent first (a burst to use up)
  const char* banned;  // a source banned before (null: none)
  Reason expect;       // the userspace verdict on the packet (kNone: passes)
};

void block(config::Config& c, AccessTarget t, const char* v) {
  c.ip_access_rules.push_back(rule(AccessMode::kBlock, t, v));
}
void allow(config::Config& c, AccessTarget t, const char* v) {
  c.ip_access_rules.push_back(rule(AccessMode::kWhitelist, t, v));
}

const std::vector<Case>& cases() {
  static const std::vector<Case> k = {
      {"a SYN from anyone passes", [](config::Config&) {}, true, "10.77.1.2", 40000, 0, nullptr,
       Reason::kNone},
      {"a datagram from anyone passes", [](config::Config&) {}, false, "2001:db8:1::2", 40000, 0,
       nullptr, Reason::kNone},
      {"ip_range block, SYN",
       [](config::Config& c) { block(c, AccessTarget::kIpRange, "198.51.100.0/24"); }, true,
       "198.51.100.1", 40000, 0, nullptr, Reason::kBlockIp},
      {"ip6 block, datagram",
       [](config::Config& c) { block(c, AccessTarget::kIp6, "2001:db8:bad::/48"); }, false,
       "2001:db8:bad:1::5", 40000, 0, nullptr, Reason::kBlockIp},
      {"a whitelisted host inside a blocked range",
       [](config::Config& c) {
         block(c, AccessTarget::kIpRange, "198.51.100.0/24");
         allow(c, AccessTarget::kIp, "198.51.100.7");
       },
       true, "198.51.100.7", 40000, 0, nullptr, Reason::kNone},
      {"a block on an app without ip_firewall",
       [](config::Config& c) {
         block(c, AccessTarget::kIpRange, "198.51.100.0/24");
         c.apps[0].ip_firewall = false;
       },
       true, "198.51.100.1", 40000, 0, nullptr, Reason::kNone},
      {"acl in dry-run",
       [](config::Config& c) {
         block(c, AccessTarget::kIpRange, "198.51.100.0/24");
         c.protection.dry_run = {"acl"};
       },
       false, "198.51.100.1", 40000, 0, nullptr, Reason::kNone},
      {"a country block (userspace only, no twin; no GeoIP here: matches nothing)",
       [](config::Config& c) { block(c, AccessTarget::kCountry, "XX"); }, true, "10.77.1.2", 40000,
       0, nullptr, Reason::kNone},
      {"a banned source, SYN", [](config::Config&) {}, true, "10.77.1.66", 40000, 0, "10.77.1.66",
       Reason::kBanned},
      {"a banned IPv6 /64, datagram from another address of it", [](config::Config&) {}, false,
       "2001:db8:bad::7", 40000, 0, "2001:db8:bad::1", Reason::kBanned},
      {"a whitelisted source while banned",
       [](config::Config& c) { allow(c, AccessTarget::kIp, "10.77.1.66"); }, true, "10.77.1.66",
       40000, 0, "10.77.1.66", Reason::kNone},
      {"autoban in dry-run: a banned source passes",
       [](config::Config& c) { c.protection.dry_run = {"autoban"}; }, true, "10.77.1.66", 40000, 0,
       "10.77.1.66", Reason::kNone},
      {"a datagram from a reflection port",
       [](config::Config& c) {
         c.protection.udp_reflection_ports = {53, 123};
       },
       false, "10.77.1.2", 123, 0, nullptr, Reason::kReflection},
      {"a reflection port from a whitelisted source (reflection comes first)",
       [](config::Config& c) {
         c.protection.udp_reflection_ports = {53};
         allow(c, AccessTarget::kIp, "10.77.1.2");
       },
       false, "10.77.1.2", 53, 0, nullptr, Reason::kReflection},
      {"a SYN from a reflection port (TCP is not reflected)",
       [](config::Config& c) { c.protection.udp_reflection_ports = {53}; }, true, "10.77.1.2", 53,
       0, nullptr, Reason::kNone},
      {"reflection in dry-run",
       [](config::Config& c) {
         c.protection.udp_reflection_ports = {53};
         c.protection.dry_run = {"reflection"};
       },
       false, "10.77.1.2", 53, 0, nullptr, Reason::kNone},
      {"SYNs within the burst",
       [](config::Config& c) {
         c.protection.per_ip.new_connections_per_second = 1;
         c.protection.per_ip.burst = 2;
       },
       true, "10.77.1.3", 40000, 1, nullptr, Reason::kNone},
      {"a SYN over the burst",
       [](config::Config& c) {
         c.protection.per_ip.new_connections_per_second = 1;
         c.protection.per_ip.burst = 2;
       },
       true, "10.77.1.3", 40000, 2, nullptr, Reason::kRateLimit},
      {"a datagram over the burst",
       [](config::Config& c) {
         c.protection.per_ip.udp_packets_per_second = 1;
         c.protection.per_ip.udp_burst = 3;
       },
       false, "10.77.1.4", 40000, 3, nullptr, Reason::kUdpRateLimit},
      {"rate_limit in dry-run",
       [](config::Config& c) {
         c.protection.per_ip.new_connections_per_second = 1;
         c.protection.per_ip.burst = 2;
         c.protection.dry_run = {"rate_limit"};
       },
       true, "10.77.1.3", 40000, 2, nullptr, Reason::kNone},
      {"per-source max_connections (userspace only, no twin)",
       [](config::Config& c) { c.protection.per_ip.max_connections = 1; }, true, "10.77.1.5", 40000,
       1, nullptr, Reason::kConnLimit},
      {"the app's max_connections (userspace only, no twin)",
       [](config::Config& c) { c.protection.max_connections = 1; }, true, "10.77.1.5", 40000, 1,
       nullptr, Reason::kAppConnLimit},
  };
  return k;
}

// The userspace chain's verdict on the case's last packet.
Reason userspace(const Case& k, const config::Config& c) {
  std::vector<std::string> warnings;
  const config::App& app = k.tcp ? c.apps[0] : c.apps[1];
  const config::ProtectionConfig& prot = app.protection ? *app.protection : c.protection;
  auto policy = guard::compile_app(app, prot, guard::compile_zone(c, &warnings), nullptr);
  guard::Guard g;
  g.configure(guard::Guard::kDefaultMaxSources, static_cast<int>(c.protection.ipv6_prefix));
  if (k.banned != nullptr) g.ban(*net::Cidr::parse(k.banned), 60'000, 0);
  const net::IpAddr src = *net::IpAddr::parse(k.src);
  Reason r = Reason::kNone;
  for (int i = 0; i <= k.before; ++i)
    r = k.tcp ? g.admit(*policy, src, 0).reason
              : g.check_datagram(*policy, net::SockAddr(src, k.sport), 0);
  return r;
}

class Twin : public XdpProgram {};

TEST_F(Twin, UserspaceAndKernelAgreeOnEveryCase) {
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.what);
    config::Config c = base_config();
    k.config(c);
    EXPECT_EQ(userspace(k, c), k.expect) << guard::reason_name(userspace(k, c));

    Loader l;  // fresh maps: no bucket or ban of an earlier case
    std::string error;
    ASSERT_TRUE(l.load(&error)) << error;
    ASSERT_TRUE(l.sync(plan_of(c)));
    if (k.banned != nullptr)
      l.banned(guard::source_prefix(net::Cidr::parse(k.banned)->base(),
                                    static_cast<int>(c.protection.ipv6_prefix)),
               60'000);
    const std::vector<uint8_t> pkt =
        k.tcp ? packet(k.src, k.sport, 7000, true) : packet(k.src, k.sport, 5300, false);
    for (int i = 0; i < k.before; ++i) EXPECT_EQ(run_on(l, pkt), XDP_PASS) << "packet " << i;
    const bool twin = guard::reason_has_xdp_twin(k.expect);
    EXPECT_EQ(run_on(l, pkt), twin ? XDP_DROP : XDP_PASS);
    EXPECT_EQ(l.counters().total_drops(), twin ? 1u : 0u);
    if (twin) {
      EXPECT_EQ(l.counters().drops(k.expect), 1u);
    }
  }
}

// Every reason with a twin appears in the table with a drop, so no twin goes untested.
TEST(TwinTable, CoversEveryTwin) {
  for (size_t i = 1; i < guard::kReasonCount; ++i) {
    const Reason r = static_cast<Reason>(i);
    if (!guard::reason_has_xdp_twin(r)) continue;
    bool covered = false;
    for (const Case& k : cases()) covered = covered || k.expect == r;
    EXPECT_TRUE(covered) << guard::reason_name(r);
  }
}

}  // namespace
}  // namespace rampart::xdp
