// parse_yaml() on whole documents: the SPEC §2 example, the bench harness config, defaults,
// environment expansion and YAML-level errors.
#include "config/parse.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "test_support.h"
#include "test_util.h"

namespace rampart::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// SPEC.md §2, copied verbatim.
constexpr const char* kSpecExample = R"yaml(
edge:
  colo: LAB1                    # ColoCode in logs/analytics
  listen: ["0.0.0.0", "::"]     # default edge addresses for apps (edge_ips type dynamic)
  egress_ips: ["192.0.2.10"]    # source addresses toward origins; what lockdown allows
  workers: 0                    # 0 = one per CPU
  data_dir: ./var               # SQLite store, event logs
  drain_timeout: 30s
api:
  listen: 127.0.0.1:8788        # REST API, /metrics and the dashboard; loopback by default
  token: ${RAMPART_API_TOKEN}   # or token_file: PATH; the API refuses to start without one
geoip:                          # optional MaxMind DB format files
  country_db: /path/GeoLite2-Country.mmdb
  asn_db: /path/GeoLite2-ASN.mmdb
ip_access_rules:                # zone-wide, applied to apps with ip_firewall: true
  - mode: block                 # block | whitelist
    configuration: { target: ip_range, value: 198.51.100.0/24 }   # ip | ip6 | ip_range | country | asn
    notes: "abusive range"
protection:                     # defaults for all apps; each app may override under `protection:`; 0 = no limit
  per_ip: { max_connections: 64, new_connections_per_second: 20, burst: 40,
            udp_packets_per_second: 2000, udp_burst: 4000 }
  max_connections: 100000       # per app, all sources
  autoban: { violations: 5, window: 10s, duration: 10m }
  handshake_timeout: 10s        # client must send its first bytes (where a validator is set) in time
  udp_reflection_ports: [19, 53, 123, 161, 389, 1900, 11211]   # datagrams FROM these source ports are dropped
  xdp: { interface: eth0, mode: native }   # optional kernel fast path: native | generic | off
apps:
  - id: ssh                     # optional; generated (32 hex chars) when omitted
    protocol: tcp/22            # tcp/N, udp/N, or a range tcp/2000-2010
    dns: { type: CNAME, name: ssh.example.com }
    edge_ips: { type: static, ips: ["127.0.0.1"] }   # or { type: dynamic, connectivity: all|ipv4|ipv6 }
    origin_direct: ["tcp://203.0.113.5:22"]          # several = load balanced; IPv6 as tcp://[2001:db8::1]:22
    # origin_dns: { name: origin.example.com, ttl: 60, type: "" }  with origin_port: 22
    proxy_protocol: "off"       # off | v1 | v2 | simple (simple = SPP, UDP only)
    ip_firewall: true
    tls: "off"                  # off | flexible | full | strict (TCP only)
    traffic_type: direct
    # Rampart extensions:
    validate: ssh               # first-bytes protocol check: none|ssh|tls|rdp|minecraft|mqtt|postgres|redis
    load_balancing: { policy: least_connections, health_check: { interval: 5s, timeout: 2s } }
    timeouts: { connect: 5s, idle: 1h, udp_flow_idle: 60s }
)yaml";

constexpr const char* kBenchConfig = R"yaml(
edge:
  colo: BENCH
  listen: ["127.0.0.1"]
  egress_ips: ["127.0.0.1"]
  data_dir: /tmp/x/var
api:
  listen: 127.0.0.1:21510
  token: bench-token-0123456789
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
apps:
  - id: bench
    protocol: tcp/21010
    edge_ips: { type: static, ips: ["127.0.0.1"] }
    origin_direct: ["tcp://127.0.0.1:21000"]
)yaml";

using rampart::testing::ip;

TEST(ParseYaml, SpecExampleEveryField) {
  ScopedEnv env("RAMPART_API_TOKEN", "s3cret-token");
  LoadResult r = parse_yaml(kSpecExample);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const Config& c = *r.config;

  EXPECT_EQ(c.edge.colo, "LAB1");
  EXPECT_EQ(c.edge.listen, (std::vector<net::IpAddr>{ip("0.0.0.0"), ip("::")}));
  EXPECT_EQ(c.edge.egress_ips, std::vector<std::string>{"192.0.2.10"});
  EXPECT_EQ(c.edge.workers, 0);
  EXPECT_EQ(c.edge.data_dir, "./var");
  EXPECT_EQ(c.edge.drain_timeout, seconds(30));

  EXPECT_EQ(c.api.listen, "127.0.0.1:8788");
  EXPECT_EQ(c.api.token, "s3cret-token");
  EXPECT_EQ(c.api.token_file, "");
  EXPECT_FALSE(c.api.allow_insecure_remote);

  EXPECT_EQ(c.geoip.country_db, "/path/GeoLite2-Country.mmdb");
  EXPECT_EQ(c.geoip.asn_db, "/path/GeoLite2-ASN.mmdb");

  ASSERT_EQ(c.ip_access_rules.size(), 1u);
  const IpAccessRule& rule = c.ip_access_rules[0];
  EXPECT_EQ(rule.mode, AccessMode::kBlock);
  EXPECT_EQ(rule.target, AccessTarget::kIpRange);
  EXPECT_EQ(rule.value, "198.51.100.0/24");
  EXPECT_EQ(rule.notes, "abusive range");
  EXPECT_TRUE(is_generated_id(rule.id)) << rule.id;

  const ProtectionConfig& p = c.protection;
  EXPECT_EQ(p.per_ip.max_connections, 64u);
  EXPECT_EQ(p.per_ip.new_connections_per_second, 20u);
  EXPECT_EQ(p.per_ip.burst, 40u);
  EXPECT_EQ(p.per_ip.udp_packets_per_second, 2000u);
  EXPECT_EQ(p.per_ip.udp_burst, 4000u);
  EXPECT_EQ(p.max_connections, 100000u);
  EXPECT_EQ(p.autoban.violations, 5u);
  EXPECT_EQ(p.autoban.window, seconds(10));
  EXPECT_EQ(p.autoban.duration, minutes(10));
  EXPECT_EQ(p.handshake_timeout, seconds(10));
  EXPECT_EQ(p.udp_reflection_ports, (std::vector<uint16_t>{19, 53, 123, 161, 389, 1900, 11211}));
  EXPECT_EQ(p.xdp.interface, "eth0");
  EXPECT_EQ(p.xdp.mode, XdpMode::kNative);

  ASSERT_EQ(c.apps.size(), 1u);
  const App& a = c.apps[0];
  EXPECT_EQ(a.id, "ssh");
  EXPECT_EQ(a.proto, Proto::kTcp);
  EXPECT_EQ(a.ports, (PortRange{22, 22}));
  EXPECT_EQ(a.dns.type, "CNAME");
  EXPECT_EQ(a.dns.name, "ssh.example.com");
  EXPECT_EQ(a.edge_ips.type, EdgeIpsType::kStatic);
  EXPECT_EQ(a.edge_ips.ips, std::vector<net::IpAddr>{ip("127.0.0.1")});
  ASSERT_EQ(a.origin_direct.size(), 1u);
  EXPECT_EQ(a.origin_direct[0].ip, ip("203.0.113.5"));
  EXPECT_EQ(a.origin_direct[0].ports, (PortRange{22, 22}));
  EXPECT_EQ(a.origin_direct[0].text, "tcp://203.0.113.5:22");
  EXPECT_FALSE(a.origin_dns.has_value());
  EXPECT_FALSE(a.origin_port.has_value());
  EXPECT_EQ(a.proxy_protocol, ProxyProtocol::kOff);
  EXPECT_EQ(a.proxy_protocol_udp, ProxyProtocolUdp::kEvery);
  EXPECT_TRUE(a.ip_firewall);
  EXPECT_EQ(a.tls, TlsMode::kOff);
  EXPECT_EQ(a.traffic_type, "direct");
  EXPECT_FALSE(a.argo_smart_routing);
  EXPECT_EQ(a.validate, Validator::kSsh);
  EXPECT_EQ(a.load_balancing.policy, LbPolicy::kLeastConnections);
  EXPECT_TRUE(a.load_balancing.health_check.enabled);
  EXPECT_EQ(a.load_balancing.health_check.interval, seconds(5));
  EXPECT_EQ(a.load_balancing.health_check.timeout, seconds(2));
  EXPECT_EQ(a.load_balancing.health_check.rise, 2u);
  EXPECT_EQ(a.load_balancing.health_check.fall, 3u);
  EXPECT_EQ(a.timeouts.connect, seconds(5));
  EXPECT_EQ(a.timeouts.idle, hours(1));
  EXPECT_EQ(a.timeouts.udp_flow_idle, seconds(60));
  EXPECT_FALSE(a.protection.has_value());
}

TEST(ParseYaml, SpecExampleWithoutTokenInEnvironmentIsStillValid) {
  ScopedEnv env("RAMPART_API_TOKEN", nullptr);
  LoadResult r = parse_yaml(kSpecExample);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->api.token, "");
}

TEST(ParseYaml, BenchHarnessConfig) {
  LoadResult r = parse_yaml(kBenchConfig);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const Config& c = *r.config;
  EXPECT_EQ(c.edge.colo, "BENCH");
  EXPECT_EQ(c.edge.listen, std::vector<net::IpAddr>{ip("127.0.0.1")});
  EXPECT_EQ(c.edge.data_dir, "/tmp/x/var");
  EXPECT_EQ(c.api.listen, "127.0.0.1:21510");
  EXPECT_EQ(c.api.token, "bench-token-0123456789");
  EXPECT_EQ(c.protection.per_ip.max_connections, 0u);
  EXPECT_EQ(c.protection.per_ip.new_connections_per_second, 0u);
  EXPECT_EQ(c.protection.per_ip.udp_packets_per_second, 0u);
  EXPECT_EQ(c.protection.per_ip.burst, 40u);  // untouched default
  ASSERT_EQ(c.apps.size(), 1u);
  EXPECT_EQ(c.apps[0].id, "bench");
  EXPECT_EQ(c.apps[0].ports, (PortRange{21010, 21010}));
  EXPECT_EQ(c.apps[0].origin_direct[0].ip, ip("127.0.0.1"));
  EXPECT_EQ(c.apps[0].origin_direct[0].ports, (PortRange{21000, 21000}));
}

TEST(ParseYaml, EmptyDocumentGivesDefaults) {
  for (const char* text : {"", "# only a comment\n", "---\n"}) {
    LoadResult r = parse_yaml(text);
    ASSERT_TRUE(r.ok()) << text << dump(r.errors);
    EXPECT_EQ(r.config->edge.listen, (std::vector<net::IpAddr>{ip("0.0.0.0"), ip("::")}));
    EXPECT_EQ(r.config->edge.colo, "LOCAL");
    EXPECT_EQ(r.config->api.listen, "127.0.0.1:8788");
    EXPECT_TRUE(r.config->apps.empty());
  }
}

// The descriptor budget knobs (README "Resource budgets"): 0 by default, derived from the limit.
TEST(ParseYaml, DescriptorBudgetKnobs) {
  LoadResult r = parse_yaml("");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->edge.max_connections, 0u);
  EXPECT_EQ(r.config->edge.max_udp_flows, 0u);
  EXPECT_EQ(r.config->edge.max_udp_unconfirmed_flows, 0u);
  r = parse_yaml(
      "edge: { max_connections: 1500, max_udp_flows: 600, max_udp_unconfirmed_flows: 150 }\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->edge.max_connections, 1500u);
  EXPECT_EQ(r.config->edge.max_udp_flows, 600u);
  EXPECT_EQ(r.config->edge.max_udp_unconfirmed_flows, 150u);
  r = parse_yaml("edge: { max_connections: -1, max_udp_unconfirmed_flows: many }\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "edge.max_connections", "")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.max_udp_unconfirmed_flows", "")) << dump(r.errors);
}

TEST(ParseYaml, AppDefaultsAndGeneratedId) {
  LoadResult r = parse_yaml(R"(
apps:
  - protocol: udp/5000-5010
    origin_direct: ["udp://192.0.2.1:5000-5010"]
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const App& a = r.config->apps[0];
  EXPECT_TRUE(is_generated_id(a.id)) << a.id;
  EXPECT_EQ(a.proto, Proto::kUdp);
  EXPECT_EQ(a.ports, (PortRange{5000, 5010}));
  EXPECT_EQ(a.edge_ips.type, EdgeIpsType::kDynamic);
  EXPECT_EQ(a.edge_ips.connectivity, Connectivity::kAll);
  EXPECT_EQ(a.traffic_type, "direct");
  EXPECT_EQ(a.proxy_protocol, ProxyProtocol::kOff);
  EXPECT_EQ(a.validate, Validator::kNone);
  EXPECT_EQ(a.kernel_relay, KernelRelay::kAuto);
}

TEST(ParseYaml, KernelRelayPerApp) {
  LoadResult r = parse_yaml(R"(
apps:
  - {protocol: tcp/1, origin_direct: ["tcp://192.0.2.1:1"], kernel_relay: "on"}
  - {protocol: udp/2, origin_direct: ["udp://192.0.2.1:2"], kernel_relay: "off"}
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].kernel_relay, KernelRelay::kOn);
  EXPECT_EQ(r.config->apps[1].kernel_relay, KernelRelay::kOff);
  LoadResult bad = parse_yaml(
      "apps:\n  - {protocol: tcp/1, origin_direct: [\"tcp://192.0.2.1:1\"], kernel_relay: yes}\n");
  EXPECT_TRUE(has_error(bad.errors, "apps[0].kernel_relay", "")) << dump(bad.errors);
}

TEST(ParseYaml, KernelRelayInterfaces) {
  LoadResult r = parse_yaml("edge: {kernel_relay_interfaces: [eth0, lo]}\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->edge.kernel_relay_interfaces, (std::vector<std::string>{"eth0", "lo"}));
  EXPECT_TRUE(parse_yaml("edge: {}\n").config->edge.kernel_relay_interfaces.empty());
  LoadResult bad =
      parse_yaml("edge: {kernel_relay_interfaces: [\"a-name-far-too-long0\", \"\"]}\n");
  EXPECT_TRUE(has_error(bad.errors, "edge.kernel_relay_interfaces[0]", "not an interface name"))
      << dump(bad.errors);
  EXPECT_TRUE(has_error(bad.errors, "edge.kernel_relay_interfaces[1]", "")) << dump(bad.errors);
  LoadResult scalar = parse_yaml("edge: {kernel_relay_interfaces: eth0}\n");
  EXPECT_TRUE(has_error(scalar.errors, "edge.kernel_relay_interfaces", "list"))
      << dump(scalar.errors);
}

TEST(ParseYaml, GeneratedIdsDiffer) {
  const char* text =
      "apps:\n  - {protocol: tcp/1, origin_direct: [\"tcp://192.0.2.1:1\"]}\n"
      "  - {protocol: tcp/2, origin_direct: [\"tcp://192.0.2.1:2\"]}\n";
  LoadResult r = parse_yaml(text);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_NE(r.config->apps[0].id, r.config->apps[1].id);
}

TEST(ParseYaml, IdsOfFileAppsAreStableAcrossReloads) {
  const char* text =
      "edge: {listen: [\"127.0.0.1\"]}\napps:\n  - {protocol: tcp/1, origin_direct: "
      "[\"tcp://192.0.2.1:1\"]}\n"
      "  - {protocol: tcp/1, edge_ips: {type: static, ips: [\"127.0.0.2\"]},\n"
      "     origin_direct: [\"tcp://192.0.2.1:1\"]}\n";
  LoadResult a = parse_yaml(text);
  LoadResult b = parse_yaml(text);
  ASSERT_TRUE(a.ok() && b.ok()) << dump(a.errors);
  EXPECT_EQ(a.config->apps[0].id, b.config->apps[0].id);
  EXPECT_EQ(a.config->apps[1].id, b.config->apps[1].id);
  EXPECT_NE(a.config->apps[0].id, a.config->apps[1].id);
  EXPECT_TRUE(is_generated_id(a.config->apps[0].id));
}

TEST(ParseYaml, DryRunFilters) {
  LoadResult r = parse_yaml(R"(
protection: {dry_run: [acl, rate_limit]}
apps:
  - protocol: tcp/1
    origin_direct: ["tcp://192.0.2.1:1"]
    protection: {dry_run: [all]}
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->protection.dry_run, (std::vector<std::string>{"acl", "rate_limit"}));
  EXPECT_EQ(r.config->apps[0].protection->dry_run, std::vector<std::string>{"all"});
  r = parse_yaml("protection: {dry_run: [acls]}\n");
  EXPECT_TRUE(has_error(r.errors, "protection.dry_run[0]", "expected one of: acl"))
      << dump(r.errors);
}

TEST(ParseYaml, EnvExpansion) {
  ScopedEnv a("RAMPART_T_PORT", "2222");
  ScopedEnv b("RAMPART_T_ORIGIN", "192.0.2.7");
  ScopedEnv c("RAMPART_T_UNSET", nullptr);
  ScopedEnv d("RAMPART_T_EMPTY", "");
  LoadResult r = parse_yaml(R"(
edge:
  colo: "${RAMPART_T_UNSET:-LAB9}"
  workers: ${RAMPART_T_EMPTY:-3}
  data_dir: /srv/${RAMPART_T_UNSET}x
api:
  token: "$${LITERAL}"
apps:
  - protocol: tcp/${RAMPART_T_PORT}
    origin_direct: ["tcp://${RAMPART_T_ORIGIN}:22"]
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->edge.colo, "LAB9");
  EXPECT_EQ(r.config->edge.workers, 3);
  EXPECT_EQ(r.config->edge.data_dir, "/srv/x");
  EXPECT_EQ(r.config->api.token, "${LITERAL}");
  EXPECT_EQ(r.config->apps[0].ports, (PortRange{2222, 2222}));
  EXPECT_EQ(r.config->apps[0].origin_direct[0].ip, ip("192.0.2.7"));
}

TEST(ParseYaml, EnvExpansionErrors) {
  LoadResult r = parse_yaml("api:\n  token: \"${UNCLOSED\"\nedge:\n  colo: \"${1BAD}\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "api.token", "unterminated")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "edge.colo", "invalid environment variable name"))
      << dump(r.errors);
}

TEST(ParseYaml, SyntaxErrorNamesLineAndColumn) {
  LoadResult r = parse_yaml("edge:\n  colo: LAB1\n  listen: [\"0.0.0.0\"\napi: {\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_NE(r.errors[0].message.find("line "), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("column "), std::string::npos) << r.errors[0].message;
}

TEST(ParseYaml, TopLevelMustBeAMap) {
  LoadResult r = parse_yaml("- a\n- b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("must be a map"), std::string::npos);
}

TEST(ParseYaml, SeveralDocumentsRefused) {
  LoadResult r = parse_yaml("edge: {colo: A}\n---\nedge: {colo: B}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("more than one YAML document"), std::string::npos);
}

TEST(LoadFile, MissingFileIsOneError) {
  LoadResult r = load_file("/nonexistent/rampart.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "/nonexistent/rampart.yaml");
  EXPECT_NE(r.errors[0].message.find("No such file"), std::string::npos);
}

TEST(LoadFile, ReadsAndNamesSyntaxErrorsByFile) {
  std::string path = ::testing::TempDir() + "/rampart_config_load_test.yaml";
  { std::ofstream(path) << kBenchConfig; }
  LoadResult ok = load_file(path);
  EXPECT_TRUE(ok.ok()) << dump(ok.errors);
  { std::ofstream(path) << "edge: [\n"; }
  LoadResult bad = load_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors[0].path, path);
  std::remove(path.c_str());
}

TEST(LoadFile, ExampleConfigIsValid) {
  LoadResult r = load_file(source_dir() + "/examples/rampart.yaml");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_FALSE(r.config->apps.empty());
  EXPECT_EQ(r.config->apps[0].id, "ssh-demo");
  EXPECT_EQ(r.config->apps[0].ports, (PortRange{2222, 2222}));
  EXPECT_EQ(r.config->apps[0].origin_direct[0].text, "tcp://127.0.0.1:2022");
}

}  // namespace
}  // namespace rampart::config
