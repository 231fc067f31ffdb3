// The rules of SPEC §2 and the brief: each rule, each Spectrum error code, unknown fields, wrong
// types, several errors at once, and validate()/validate_app() on structs built in code.
#include "config/validate.h"

#include <gtest/gtest.h>

#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

// A valid document with one app whose body is `app` (indented under "  - ").
std::vector<ConfigError> app_errors(const std::string& app) {
  LoadResult r = parse_yaml("apps:\n  - " + app + "\n");
  EXPECT_FALSE(r.ok()) << app;
  return r.errors;
}

TEST(Rules, ExactlyOneOrigin11000) {
  auto e = app_errors("{protocol: tcp/22}");
  EXPECT_TRUE(has_error(e, "apps[0]", "no origin", kErrOriginConfig)) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], origin_dns: {name: "
      "o.example.com}, origin_port: 22}");
  EXPECT_TRUE(has_error(e, "apps[0]", "both origin_direct and origin_dns", 11000)) << dump(e);
  e = app_errors("{protocol: tcp/22, origin_direct: []}");
  EXPECT_TRUE(has_error(e, "apps[0]", "no origin", 11000)) << dump(e);
  e = app_errors("{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], origin_port: 22}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_port", "only used with origin_dns", 11000)) << dump(e);
}

TEST(Rules, DnsHoldIsATimeout) {
  LoadResult r = parse_app(
      "{protocol: tcp/22, origin_dns: {name: o.example.com}, origin_port: 22, "
      "timeouts: {dns_hold: 10m}}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].timeouts.dns_hold, std::chrono::minutes(10));
  EXPECT_EQ(parse_app("{protocol: tcp/22, origin_dns: {name: o.example.com}, origin_port: 22}")
                .config->apps[0]
                .timeouts.dns_hold,
            std::chrono::hours(1));
  auto e = app_errors(
      "{protocol: tcp/22, origin_dns: {name: o.example.com}, origin_port: 22, "
      "timeouts: {dns_hold: 0s}}");
  EXPECT_TRUE(has_error(e, "apps[0].timeouts.dns_hold", "more than 0")) << dump(e);
}

TEST(Rules, OriginDnsNeedsOriginPort11001) {
  auto e = app_errors("{protocol: tcp/22, origin_dns: {name: origin.example.com}}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_port", "missing", kErrOriginDns)) << dump(e);
  e = app_errors("{protocol: tcp/22, origin_dns: {name: \"bad name\"}, origin_port: 22}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_dns.name", "not a valid hostname", 11001)) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_dns: {name: o.example.com, type: SRV}, "
      "origin_port: 22}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_dns.type", "SRV", 11001)) << dump(e);
  LoadResult r = parse_app(
      "{protocol: tcp/1000-1010, origin_dns: {name: o.example.com, ttl: 60, type: AAAA}, "
      "origin_port: \"2000-2010\"}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const App& a = r.config->apps[0];
  EXPECT_EQ(a.origin_dns->name, "o.example.com");
  EXPECT_EQ(a.origin_dns->ttl, 60u);
  EXPECT_EQ(a.origin_dns->type, "AAAA");
  EXPECT_EQ(a.origin_port, (PortRange{2000, 2010}));
  EXPECT_TRUE(
      parse_app("{protocol: tcp/22, origin_dns: {name: o.example.com}, origin_port: 22}").ok());
}

TEST(Rules, MalformedOrigin11002) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\", "
      "\"tcp://2001:db8::1:22\"]}");
  ASSERT_EQ(e.size(), 1u) << dump(e);  // no extra 11000 for the bad entry
  EXPECT_EQ(e[0].to_string(),
            "apps[0].origin_direct[1]: invalid origin \"tcp://2001:db8::1:22\": IPv6 addresses "
            "must be in brackets, e.g. tcp://[2001:db8::1]:22 (error 11002)");
  e = app_errors("{protocol: udp/53, origin_direct: [\"tcp://192.0.2.1:53\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "must use udp://", 11002)) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\", "
      "\"tcp://192.0.2.1:22\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[1]", "listed twice", 11002)) << dump(e);
}

TEST(Rules, PortRangeSizesMustMatch) {
  auto e = app_errors("{protocol: tcp/1000-2000, origin_direct: [\"tcp://192.0.2.1:3000-3010\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "same size", 11002)) << dump(e);
  e = app_errors("{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:3000-3010\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "same size", 11002)) << dump(e);
  e = app_errors(
      "{protocol: tcp/1000-2000, origin_dns: {name: o.example.com}, origin_port: "
      "\"5-6\"}");
  EXPECT_TRUE(has_error(e, "apps[0].origin_port", "same size", 11001)) << dump(e);

  LoadResult r = parse_app(
      "{protocol: tcp/1000-2000, origin_direct: [\"tcp://192.0.2.1:3000-4000\", "
      "\"tcp://192.0.2.2:22\"]}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const App& a = r.config->apps[0];
  EXPECT_EQ(origin_port_for(a.ports, a.origin_direct[0].ports, 1005), 3005);
  EXPECT_EQ(origin_port_for(a.ports, a.origin_direct[1].ports, 1005), 22);
}

TEST(Rules, ProtocolSpecificOptions) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], proxy_protocol: simple}");
  EXPECT_TRUE(has_error(e, "apps[0].proxy_protocol", "UDP only")) << dump(e);
  e = app_errors("{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], proxy_protocol: v1}");
  EXPECT_TRUE(has_error(e, "apps[0].proxy_protocol", "TCP only")) << dump(e);
  e = app_errors("{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], tls: full}");
  EXPECT_TRUE(has_error(e, "apps[0].tls", "TCP only")) << dump(e);
  e = app_errors("{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], validate: ssh}");
  EXPECT_TRUE(has_error(e, "apps[0].validate", "TCP stream")) << dump(e);
  EXPECT_TRUE(parse_app("{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], "
                        "proxy_protocol: simple, proxy_protocol_udp: first, tls: \"off\"}")
                  .ok());
  EXPECT_TRUE(parse_app("{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], "
                        "proxy_protocol: v2}")
                  .ok());
  LoadResult r = parse_app(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], proxy_protocol: v1, tls: "
      "full, argo_smart_routing: true}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].tls, TlsMode::kFull);
  EXPECT_TRUE(r.config->apps[0].argo_smart_routing);
}

// SPEC §3 (issue #13): Cloudflare's traffic types are stored, never refused; the API notes that
// http/https/worker have no effect here. Values outside Cloudflare's enum still are errors.
TEST(Rules, TrafficTypeHttpAcceptedUnknownRefused) {
  for (const char* t : {"http", "https", "worker"}) {
    LoadResult r =
        parse_app(std::string("{protocol: tcp/80, origin_direct: [\"tcp://192.0.2.1:80\"], "
                              "traffic_type: ") +
                  t + ", virtual_network_id: vnet-1, origin_worker_id: w}");
    ASSERT_TRUE(r.ok()) << t << ": " << dump(r.errors);
    EXPECT_EQ(r.config->apps[0].traffic_type, t);
    EXPECT_EQ(r.config->apps[0].virtual_network_id, "vnet-1");
    EXPECT_EQ(r.config->apps[0].origin_worker_id, "w");
  }
  auto e =
      app_errors("{protocol: tcp/80, origin_direct: [\"tcp://192.0.2.1:80\"], traffic_type: ftp}");
  EXPECT_TRUE(has_error(e, "apps[0].traffic_type", "direct, http, https, worker")) << dump(e);
}

TEST(ApiZones, IdsAndNames) {
  LoadResult r = parse_yaml(
      "api:\n  zones:\n    - { id: 023e105f4ecef8ad9ca31a8372d0c353, name: example.com }\n"
      "    - 0123456789abcdef0123456789abcdef\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_EQ(r.config->api.zones.size(), 2u);
  EXPECT_EQ(r.config->api.zones[0].id, "023e105f4ecef8ad9ca31a8372d0c353");
  EXPECT_EQ(r.config->api.zones[0].name, "example.com");
  EXPECT_EQ(r.config->api.zones[1].id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.config->api.zones[1].name, "");
  r = parse_yaml(
      "api:\n  zones: [{ id: default }, { id: 023E105F4ECEF8AD9CA31A8372D0C353 },"
      " { id: 0123456789abcdef0123456789abcdef, name: \"a b\" },"
      " 0123456789abcdef0123456789abcdef]\n");
  EXPECT_TRUE(has_error(r.errors, "api.zones[0].id", "32 lower-case hex")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "api.zones[1].id", "32 lower-case hex")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "api.zones[2].name", "not a zone name")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "api.zones[3].id", "listed twice")) << dump(r.errors);
  r = parse_yaml("api:\n  zones: [{ id: 0123456789abcdef0123456789abcdef, owner: me }]\n");
  EXPECT_FALSE(r.ok());
}

TEST(Rules, DnsRecord11004) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], dns: {type: "
      "TXT, name: ssh.example.com}}");
  EXPECT_TRUE(has_error(e, "apps[0].dns.type", "CNAME or ADDRESS", kErrDns)) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], dns: {type: "
      "CNAME}}");
  EXPECT_TRUE(has_error(e, "apps[0].dns.name", "missing")) << dump(e);
  EXPECT_TRUE(parse_app("{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], dns: {type: "
                        "ADDRESS, name: ssh.example.com}}")
                  .ok());
}

TEST(Rules, EdgeIps) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], edge_ips: "
      "{type: static}}");
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.ips", "missing")) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], edge_ips: "
      "{type: dynamic, ips: [\"127.0.0.1\"]}}");
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.ips", "type: static")) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], edge_ips: "
      "{type: static, ips: [\"[::1]\"]}}");
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.ips[0]", "not an IP address")) << dump(e);
  e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], edge_ips: "
      "{connectivity: ipv4}}");
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.type", "missing")) << dump(e);
  LoadResult r = parse_app(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], "
      "edge_ips: {type: dynamic, connectivity: ipv6}}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].edge_ips.connectivity, Connectivity::kIpv6);
  r = parse_yaml(
      "edge: {listen: [\"127.0.0.1\"]}\napps:\n  - {protocol: tcp/22, origin_direct: "
      "[\"tcp://192.0.2.1:22\"], edge_ips: {type: dynamic, connectivity: ipv6}}\n");
  EXPECT_TRUE(has_error(r.errors, "apps[0].edge_ips.connectivity", "matches no address"))
      << dump(r.errors);
}

constexpr const char* kTwoApps = R"(
edge: {listen: ["0.0.0.0", "::1"]}
apps:
  - {id: a, protocol: %s, edge_ips: %s, origin_direct: ["%s://192.0.2.1:1"]}
  - {id: b, protocol: %s, edge_ips: %s, origin_direct: ["%s://192.0.2.1:1"]}
)";

LoadResult two_apps(const char* p1, const char* e1, const char* p2, const char* e2) {
  char buf[1024];
  std::string s1(p1, 3), s2(p2, 3);
  snprintf(buf, sizeof buf, kTwoApps, p1, e1, s1.c_str(), p2, e2, s2.c_str());
  return parse_yaml(buf);
}

TEST(Rules, OverlappingApps) {
  const char* dyn = "{type: dynamic}";
  const char* lo4 = "{type: static, ips: [\"127.0.0.1\"]}";
  const char* lo4b = "{type: static, ips: [\"127.0.0.2\"]}";
  const char* any4 = "{type: static, ips: [\"0.0.0.0\"]}";
  const char* v6 = "{type: dynamic, connectivity: ipv6}";
  const char* v4 = "{type: dynamic, connectivity: ipv4}";
  LoadResult r = two_apps("tcp/22", dyn, "tcp/22", dyn);
  EXPECT_TRUE(has_error(r.errors, "apps[1].protocol", "overlaps app \"a\"")) << dump(r.errors);
  r = two_apps("tcp/1000-2000", lo4, "tcp/2000", lo4);
  EXPECT_TRUE(has_error(r.errors, "apps[1].protocol", "tcp/2000 on 127.0.0.1")) << dump(r.errors);
  r = two_apps("tcp/22", any4, "tcp/22", lo4);  // 0.0.0.0 covers every IPv4 address
  EXPECT_TRUE(has_error(r.errors, "apps[1].protocol", "overlaps")) << dump(r.errors);
  r = two_apps("tcp/22", dyn, "tcp/22", lo4);  // dynamic = edge.listen, which has 0.0.0.0
  EXPECT_TRUE(has_error(r.errors, "apps[1].protocol", "overlaps")) << dump(r.errors);
  EXPECT_TRUE(two_apps("tcp/22", lo4, "tcp/22", lo4b).ok());
  EXPECT_TRUE(two_apps("tcp/22", dyn, "udp/22", dyn).ok());
  EXPECT_TRUE(two_apps("tcp/22", dyn, "tcp/23", dyn).ok());
  EXPECT_TRUE(two_apps("tcp/1000-1999", dyn, "tcp/2000-2010", dyn).ok());
  EXPECT_TRUE(two_apps("tcp/22", v4, "tcp/22", v6).ok());
  EXPECT_TRUE(two_apps("tcp/22", lo4, "tcp/22", v6).ok());
}

TEST(Rules, DuplicateIds) {
  LoadResult r = parse_yaml(R"(
apps:
  - {id: web, protocol: tcp/1, origin_direct: ["tcp://192.0.2.1:1"]}
  - {id: web, protocol: tcp/2, origin_direct: ["tcp://192.0.2.1:2"]}
ip_access_rules:
  - {id: r1, mode: block, configuration: {target: ip, value: 192.0.2.1}}
  - {id: r1, mode: block, configuration: {target: ip, value: 192.0.2.2}}
)");
  EXPECT_TRUE(has_error(r.errors, "apps[1].id", "duplicate app id \"web\"")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "ip_access_rules[1].id", "duplicate rule id")) << dump(r.errors);
}

TEST(Rules, AppIds) {
  EXPECT_TRUE(
      parse_app("{id: a.b-c_D9, protocol: tcp/1, origin_direct: [\"tcp://192.0.2.1:1\"]}").ok());
  auto e = app_errors(
      "{id: \"has space\", protocol: tcp/1, origin_direct: "
      "[\"tcp://192.0.2.1:1\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].id", "not a valid id")) << dump(e);
  e = app_errors("{id: \"\", protocol: tcp/1, origin_direct: [\"tcp://192.0.2.1:1\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].id", "empty")) << dump(e);
}

TEST(Rules, PortsInRange) {
  auto e = app_errors("{protocol: tcp/0, origin_direct: [\"tcp://192.0.2.1:1\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "1-65535")) << dump(e);
  e = app_errors("{protocol: tcp/65536, origin_direct: [\"tcp://192.0.2.1:1\"]}");
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "1-65535")) << dump(e);
  e = app_errors("{origin_direct: [\"tcp://192.0.2.1:1\"]}");
  ASSERT_EQ(e.size(), 1u) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "missing")) << dump(e);
  // The protocol's family is kept even when its ports are bad: no second error on the origin.
  e = app_errors("{protocol: udp/0, origin_direct: [\"udp://192.0.2.1:1\"]}");
  EXPECT_EQ(e.size(), 1u) << dump(e);
}

TEST(Rules, UnknownFieldsEverywhere) {
  LoadResult r = parse_yaml(R"(
edg: {}
edge: {colour: red}
api: {tokn: x}
protection: {per_ip: {max_conns: 1}, autoban: {violatons: 1}, xdp: {iface: eth0}}
ip_access_rules:
  - {mode: block, configuration: {target: ip, value: 192.0.2.1, extra: 1}, note: x}
apps:
  - protocol: tcp/22
    orign_direct: ["tcp://192.0.2.1:22"]
    load_balancing: {policy: hash, health_check: {intervl: 5s}}
    timeouts: {conect: 5s}
    edge_ips: {type: dynamic, conectivity: all}
    dns: {type: CNAME, name: a.example.com, ttl: 5}
)");
  ASSERT_FALSE(r.ok());
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "edg", "unknown field \"edg\" (did you mean \"edge\"?)")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.colour", "unknown field")) << dump(e);
  EXPECT_TRUE(has_error(e, "api.tokn", "did you mean \"token\"")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.per_ip.max_conns", "unknown field")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.autoban.violatons", "did you mean \"violations\""));
  EXPECT_TRUE(has_error(e, "protection.xdp.iface", "unknown field")) << dump(e);
  EXPECT_TRUE(has_error(e, "ip_access_rules[0].configuration.extra", "unknown field"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[0].note", "did you mean \"notes\""));
  EXPECT_TRUE(has_error(
      e, "apps[0].orign_direct",
      "unknown field \"orign_direct\" (did you mean \"origin_direct\"?); expected one of: id, "
      "protocol, dns"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].load_balancing.health_check.intervl", "unknown field"));
  EXPECT_TRUE(has_error(e, "apps[0].timeouts.conect", "did you mean \"connect\""));
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.conectivity", "unknown field"));
  EXPECT_TRUE(has_error(e, "apps[0].dns.ttl", "unknown field"));
}

TEST(Rules, DuplicateKeys) {
  LoadResult r = parse_yaml("edge:\n  colo: A\n  colo: B\n");
  EXPECT_TRUE(has_error(r.errors, "edge.colo", "duplicate field")) << dump(r.errors);
}

TEST(Rules, WrongTypesNameTheExpectedType) {
  LoadResult r = parse_yaml(R"(
edge: {workers: four, listen: "0.0.0.0", drain_timeout: soon, colo: [a]}
api: {allow_insecure_remote: maybe}
protection: {max_connections: -1, per_ip: {burst: 99999999999}, udp_reflection_ports: [0, x]}
apps:
  - protocol: 22
    origin_direct: "tcp://192.0.2.1:22"
    ip_firewall: 1
    timeouts: {connect: 5x}
    load_balancing: {health_check: {rise: 1.5}}
  - "not an app"
)");
  ASSERT_FALSE(r.ok());
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "edge.workers", "expected an integer from 0 to 4096, got \"four\""));
  EXPECT_TRUE(has_error(e, "edge.listen", "expected a list of IP addresses")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.drain_timeout", "expected a duration such as")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.colo", "expected a string, got a list")) << dump(e);
  EXPECT_TRUE(has_error(e, "api.allow_insecure_remote", "expected true or false")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.max_connections", "expected an integer")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.per_ip.burst", "too large")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.udp_reflection_ports[0]", "1-65535")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.udp_reflection_ports[1]", "expected an integer"));
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "expected tcp/PORT")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct", "expected a list of origins")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].ip_firewall", "expected true or false")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].timeouts.connect", "invalid duration \"5x\"")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].load_balancing.health_check.rise", "expected an integer"));
  EXPECT_TRUE(has_error(e, "apps[1]", "expected a map, got \"not an app\"")) << dump(e);
}

TEST(Rules, EnumsListTheirValues) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], "
      "proxy_protocol: v3, tls: on, validate: http, load_balancing: {policy: "
      "random}, proxy_protocol_udp: some, edge_ips: {type: byoip}}");
  EXPECT_TRUE(has_error(e, "apps[0].proxy_protocol", "expected one of: off, v1, v2, simple"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].tls", "expected one of: off, flexible, full, strict"));
  EXPECT_TRUE(has_error(e, "apps[0].validate",
                        "expected one of: none, ssh, tls, rdp, minecraft, mqtt, postgres, redis"));
  EXPECT_TRUE(has_error(e, "apps[0].load_balancing.policy",
                        "expected one of: round_robin, least_connections, hash"));
  EXPECT_TRUE(has_error(e, "apps[0].proxy_protocol_udp", "expected one of: every, first"));
  EXPECT_TRUE(has_error(e, "apps[0].edge_ips.type", "expected one of: dynamic, static"));
  LoadResult r = parse_yaml("protection: {xdp: {interface: eth0, mode: turbo}}\n");
  EXPECT_TRUE(has_error(r.errors, "protection.xdp.mode", "expected one of: native, generic, off"));
}

TEST(Rules, UnquotedOffIsTheString) {
  // YAML 1.1 would read `off` as false; here it is the enum value the user meant.
  LoadResult r = parse_app(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], proxy_protocol: off, tls: "
      "off, ip_firewall: off}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].proxy_protocol, ProxyProtocol::kOff);
  EXPECT_FALSE(r.config->apps[0].ip_firewall);
}

TEST(Rules, AccessRules) {
  LoadResult r = parse_yaml(R"(
ip_access_rules:
  - {mode: challenge, configuration: {target: ip, value: 192.0.2.1}}
  - {mode: block, configuration: {target: ip, value: "2001:db8::1"}}
  - {mode: block, configuration: {target: ip6, value: 192.0.2.1}}
  - {mode: block, configuration: {target: ip_range, value: 192.0.2.1/24}}
  - {mode: block, configuration: {target: country, value: us}}
  - {mode: block, configuration: {target: asn, value: ASX}}
  - {mode: block, configuration: {target: hostname, value: x}}
  - {mode: block}
  - {configuration: {target: asn, value: "13335"}}
)");
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "ip_access_rules[0].mode", "cannot work at L4")) << dump(e);
  EXPECT_TRUE(has_error(e, "ip_access_rules[1].configuration.value", "not an IPv4 address"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[2].configuration.value", "not an IPv6 address"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[3].configuration.value", "did you mean 192.0.2.0/24"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[4].configuration.value", "upper-case"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[5].configuration.value", "AS13335"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[6].configuration.target",
                        "expected one of: ip, ip6, ip_range, country, asn"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[7].configuration", "missing"));
  EXPECT_TRUE(has_error(e, "ip_access_rules[8].mode", "missing")) << dump(e);

  r = parse_yaml(R"(
ip_access_rules:
  - {mode: whitelist, configuration: {target: ip6, value: "2001:db8::1"}}
  - {mode: block, configuration: {target: country, value: DE}}
  - {mode: block, configuration: {target: asn, value: AS13335}}
  - {mode: block, configuration: {target: asn, value: "64496"}}
  - {mode: block, configuration: {target: ip_range, value: "2001:db8::/48"}}
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->ip_access_rules[0].mode, AccessMode::kWhitelist);
  EXPECT_EQ(r.config->ip_access_rules[2].value, "AS13335");
}

TEST(Rules, ApiAndEdge) {
  LoadResult r = parse_yaml(R"(
edge: {colo: "", listen: [], egress_ips: ["192.0.2.10", "192.0.2.0/28", "nope", "192.0.2.1/24"],
       data_dir: ""}
api: {listen: "localhost:8788", token: a, token_file: /etc/tok}
)");
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "edge.colo", "empty")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.listen", "empty")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.egress_ips[2]", "not an IP address or CIDR")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.egress_ips[3]", "host bits")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.data_dir", "empty")) << dump(e);
  EXPECT_TRUE(has_error(e, "api.listen", "expected e.g. 127.0.0.1:8788")) << dump(e);
  EXPECT_TRUE(has_error(e, "api.token_file", "only one")) << dump(e);
  EXPECT_TRUE(parse_yaml("api: {token_file: /etc/tok, token: \"\"}\n").ok());
  r = parse_yaml("edge: {listen: [\"127.0.0.1\", \"127.0.0.1\"]}\n");
  EXPECT_TRUE(has_error(r.errors, "edge.listen[1]", "listed twice")) << dump(r.errors);
}

TEST(Rules, ProtectionChecksAndPerAppMerge) {
  LoadResult r = parse_yaml(R"(
protection:
  per_ip: {max_connections: 10, burst: 7}
  autoban: {violations: 3, window: 0s}
  xdp: {mode: generic}
apps:
  - protocol: tcp/22
    origin_direct: ["tcp://192.0.2.1:22"]
    protection: {per_ip: {max_connections: 2}, xdp: {interface: eth1}}
)");
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "protection.autoban.window", "more than 0")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.xdp.interface", "missing")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].protection.xdp", "zone-wide")) << dump(e);

  r = parse_yaml(R"(
protection:
  per_ip: {max_connections: 10, burst: 7}
  handshake_timeout: 3s
apps:
  - protocol: tcp/22
    origin_direct: ["tcp://192.0.2.1:22"]
    protection: {per_ip: {max_connections: 2}, autoban: {violations: 0}}
  - protocol: tcp/23
    origin_direct: ["tcp://192.0.2.1:23"]
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const App& a = r.config->apps[0];
  ASSERT_TRUE(a.protection);
  EXPECT_EQ(a.protection->per_ip.max_connections, 2u);  // overridden
  EXPECT_EQ(a.protection->per_ip.burst, 7u);            // from the zone
  EXPECT_EQ(a.protection->handshake_timeout, std::chrono::seconds(3));
  EXPECT_EQ(a.protection->autoban.violations, 0u);
  EXPECT_EQ(a.protection->autoban.window, std::chrono::seconds(10));  // zone default
  EXPECT_FALSE(r.config->apps[1].protection.has_value());
}

TEST(Rules, HealthCheckAndTimeouts) {
  auto e = app_errors(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], "
      "load_balancing: {health_check: {interval: 1s, timeout: 2s, rise: 0}}, "
      "timeouts: {connect: 0s}}");
  EXPECT_TRUE(has_error(e, "apps[0].load_balancing.health_check.timeout", "longer than interval"));
  EXPECT_TRUE(has_error(e, "apps[0].load_balancing.health_check.rise", "1 or more")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].timeouts.connect", "more than 0")) << dump(e);
  LoadResult r = parse_app(
      "{protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"], "
      "load_balancing: {policy: hash, health_check: {enabled: false, "
      "interval: 0s, rise: 5, fall: 1}}}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->apps[0].load_balancing.policy, LbPolicy::kHash);
  EXPECT_FALSE(r.config->apps[0].load_balancing.health_check.enabled);
  EXPECT_EQ(r.config->apps[0].load_balancing.health_check.rise, 5u);
}

TEST(Rules, ManyErrorsReportedAtOnce) {
  LoadResult r = parse_yaml(R"(
edge: {workers: -2, drain_timeout: 1y}
api: {listen: nowhere}
apps:
  - protocol: tcp/22
    origin_direct: ["tcp://2001:db8::1:22", "udp://192.0.2.1:22"]
    proxy_protocol: simple
  - protocol: udp/53
    tls: full
  - protocol: tcp/22
    origin_direct: ["tcp://192.0.2.9:22"]
)");
  ASSERT_FALSE(r.ok());
  const auto& e = r.errors;
  EXPECT_GE(e.size(), 8u) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.workers", "expected an integer")) << dump(e);
  EXPECT_TRUE(has_error(e, "edge.drain_timeout", "invalid duration")) << dump(e);
  EXPECT_TRUE(has_error(e, "api.listen", "not IP:PORT")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "brackets", 11002)) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[1]", "must use tcp://", 11002)) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].proxy_protocol", "UDP only")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[1]", "no origin", 11000)) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[1].tls", "TCP only")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[2].protocol", "overlaps")) << dump(e);
  for (const auto& err : e) EXPECT_FALSE(err.message.empty());
}

TEST(Rules, ErrorFloodIsCapped) {
  std::string text = "apps:\n";
  for (int i = 0; i < 500; ++i) text += "  - {protocol: bogus}\n";
  LoadResult r = parse_yaml(text);
  ASSERT_FALSE(r.ok());
  EXPECT_LE(r.errors.size(), 102u);
}

// validate() and validate_app() on structs built in code, as the JSON API will.
App code_app() {
  App a;
  a.proto = Proto::kTcp;
  a.ports = {22, 22};
  a.origin_direct.push_back(*parse_origin_direct("tcp://192.0.2.1:22", Proto::kTcp));
  return a;
}

TEST(ValidateApp, FromCode) {
  App a = code_app();
  std::vector<ConfigError> errors;
  EXPECT_TRUE(validate_app(a, "", errors)) << dump(errors);
  EXPECT_TRUE(is_generated_id(a.id)) << a.id;
  std::string id = a.id;
  EXPECT_TRUE(validate_app(a, "", errors));
  EXPECT_EQ(a.id, id);  // kept once set

  App b = code_app();
  b.origin_direct.clear();
  b.proxy_protocol = ProxyProtocol::kSimple;
  EXPECT_FALSE(validate_app(b, "", errors));
  EXPECT_TRUE(has_error(errors, "", "no origin", 11000)) << dump(errors);
  EXPECT_TRUE(has_error(errors, "proxy_protocol", "UDP only")) << dump(errors);
}

TEST(Validate, FillsDefaultsAndFindsConflicts) {
  Config c;
  c.apps.push_back(code_app());
  c.apps.push_back(code_app());
  std::vector<ConfigError> errors;
  EXPECT_FALSE(validate(c, errors));
  EXPECT_EQ(c.edge.listen.size(), 2u);
  EXPECT_TRUE(has_error(errors, "apps[1].protocol", "overlaps")) << dump(errors);
  EXPECT_EQ(find_conflict(c.apps[0], c.apps[1], c.edge.listen), "tcp/22 on 0.0.0.0");
  c.apps[1].ports = {23, 23};
  errors.clear();
  EXPECT_TRUE(validate(c, errors)) << dump(errors);
}

TEST(Validate, GenerateIdIsHex) {
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(is_generated_id(generate_id()));
  EXPECT_NE(generate_id(), generate_id());
  EXPECT_TRUE(is_valid_id("bench"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("a/b"));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace rampart::config

namespace rampart::config {
namespace {

TEST(ApiTls, NeedsBothReadableFiles) {
  LoadResult r = parse_yaml("api:\n  token: t\n  tls: { certificate: /nonexistent/api.pem }\n");
  ASSERT_FALSE(r.ok());
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  EXPECT_NE(all.find("api.tls.private_key"), std::string::npos) << all;
  EXPECT_NE(all.find("api.tls.certificate: cannot read /nonexistent/api.pem"), std::string::npos)
      << all;
  // OpenSSL reads these whole: a device or an oversized file would hang serve at start.
  LoadResult dev =
      parse_yaml("api:\n  token: t\n  tls: { certificate: /dev/zero, private_key: /dev/zero }\n");
  ASSERT_FALSE(dev.ok());
  all.clear();
  for (const auto& e : dev.errors) all += e.to_string() + "\n";
  EXPECT_NE(all.find("api.tls.certificate: cannot read /dev/zero: /dev/zero is a character device"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("api.tls.private_key: cannot read /dev/zero"), std::string::npos) << all;
  LoadResult bad = parse_yaml("api:\n  tls: { cert: x }\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.errors[0].to_string().find("unknown field"), std::string::npos)
      << bad.errors[0].to_string();
}

}  // namespace
}  // namespace rampart::config

namespace rampart::config {
namespace {

// Issue #10: the source table's size (zone-wide) and the IPv6 source prefix (zone, per app).
TEST(Rules, SourceTableSizeAndIpv6Prefix) {
  LoadResult r = parse_yaml(R"(
protection: {source_table_size: 20000, ipv6_prefix: 56}
apps:
  - protocol: udp/53
    origin_direct: ["udp://192.0.2.1:53"]
    protection: {ipv6_prefix: 128}
  - protocol: tcp/22
    origin_direct: ["tcp://192.0.2.1:22"]
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->protection.source_table_size, 20000u);
  EXPECT_EQ(r.config->protection.ipv6_prefix, 56u);
  EXPECT_EQ(r.config->apps[0].protection->ipv6_prefix, 128u);
  EXPECT_EQ(r.config->apps[0].protection->source_table_size, 20000u);  // inherited
  EXPECT_FALSE(r.config->apps[1].protection.has_value());

  LoadResult d = parse_yaml("apps: []\n");
  ASSERT_TRUE(d.ok()) << dump(d.errors);
  EXPECT_EQ(d.config->protection.source_table_size, 100000u);
  EXPECT_EQ(d.config->protection.ipv6_prefix, 64u);

  r = parse_yaml(R"(
protection: {source_table_size: 10, ipv6_prefix: 0}
apps:
  - protocol: tcp/22
    origin_direct: ["tcp://192.0.2.1:22"]
    protection: {source_table_size: 50000, ipv6_prefix: 129}
)");
  const auto& e = r.errors;
  EXPECT_TRUE(has_error(e, "protection.source_table_size", "expected 1000-10000000")) << dump(e);
  EXPECT_TRUE(has_error(e, "protection.ipv6_prefix", "expected a prefix length 1-128")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].protection.source_table_size", "zone-wide")) << dump(e);
  EXPECT_TRUE(has_error(e, "apps[0].protection.ipv6_prefix", "1-128")) << dump(e);
}

}  // namespace
}  // namespace rampart::config
