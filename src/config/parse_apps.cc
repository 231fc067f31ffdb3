// The apps section and the protection block (zone-wide and per-app override).
#include "config/guard_filters.h"
#include "config/parse.h"
#include "config/parse_internal.h"

namespace rampart::config {
namespace {

constexpr int kInvalidOrigin = 11002;
constexpr int kInvalidOriginDns = 11001;
constexpr int kInvalidDns = 11004;

bool required(YamlReader& rd, const YAML::Node& map, std::string_view key, const std::string& path,
              const std::string& expected) {
  if (YamlReader::present(map[std::string(key)])) return true;
  rd.error(child_path(path, key), "missing; expected " + expected);
  return false;
}

void parse_dns(YamlReader& rd, const YAML::Node& node, const std::string& path, DnsRecord* dns) {
  if (!rd.check_map(node, path, {"type", "name"})) return;
  if (required(rd, node, "type", path, "CNAME or ADDRESS")) {
    std::string type_path = child_path(path, "type");
    if (auto t = rd.scalar(node["type"], type_path, "CNAME or ADDRESS")) {
      dns->type = *t;
      if (*t != "CNAME" && *t != "ADDRESS")
        rd.error(type_path, "invalid DNS type \"" + *t + "\"; expected CNAME or ADDRESS",
                 kInvalidDns);
    }
  }
  if (required(rd, node, "name", path, "a hostname such as ssh.example.com")) {
    std::string name_path = child_path(path, "name");
    if (auto n = rd.scalar(node["name"], name_path, "a hostname")) {
      dns->name = *n;
      if (!is_valid_hostname(*n, true))
        rd.error(name_path, "\"" + *n + "\" is not a valid hostname; expected e.g. ssh.example.com",
                 kInvalidDns);
    }
  }
}

void parse_edge_ips(YamlReader& rd, const YAML::Node& node, const std::string& path, EdgeIps* e) {
  if (!rd.check_map(node, path, {"type", "connectivity", "ips"})) return;
  if (required(rd, node, "type", path, "dynamic or static"))
    rd.get_enum(node, "type", path, kEdgeIpsTypeNames, &e->type);
  bool has_conn = YamlReader::present(node["connectivity"]);
  bool has_ips = YamlReader::present(node["ips"]);
  if (e->type == EdgeIpsType::kStatic) {
    if (has_conn)
      rd.error(child_path(path, "connectivity"),
               "connectivity is for type: dynamic; a static edge listens on the listed ips");
    if (!has_ips) rd.error(child_path(path, "ips"), "missing; type: static needs a list of ips");
  } else if (has_ips) {
    rd.error(child_path(path, "ips"),
             "ips is for type: static; type: dynamic uses edge.listen (choose with connectivity)");
  }
  rd.get_enum(node, "connectivity", path, kConnectivityNames, &e->connectivity);
  if (!has_ips) return;
  std::string ips_path = child_path(path, "ips");
  const YAML::Node ips = node["ips"];
  if (!rd.check_list(ips, ips_path, "a list of IP addresses such as [\"192.0.2.1\"]")) return;
  if (ips.size() == 0) rd.error(ips_path, "the list is empty; give at least one address");
  for (size_t i = 0; i < ips.size(); ++i) {
    std::string item_path = index_path(ips_path, i);
    auto text = rd.scalar(ips[i], item_path, "an IP address");
    if (!text) continue;
    if (auto ip = net::IpAddr::parse(*text)) {
      e->ips.push_back(*ip);
    } else {
      rd.error(item_path, "\"" + *text +
                              "\" is not an IP address; expected e.g. 192.0.2.1 or "
                              "2001:db8::1 (no brackets, no port)");
    }
  }
}

void parse_origin_direct_list(YamlReader& rd, const YAML::Node& node, const std::string& path,
                              App* app) {
  if (!rd.check_list(node, path, "a list of origins such as [\"tcp://192.0.2.1:22\"]")) return;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = index_path(path, i);
    auto text = rd.scalar(node[i], item_path, "an origin such as \"tcp://192.0.2.1:22\"");
    if (!text) continue;
    std::string why;
    if (auto o = parse_origin_direct(*text, app->proto, &why)) {
      app->origin_direct.push_back(std::move(*o));
    } else {
      rd.error(item_path, why, kInvalidOrigin);
      // A placeholder keeps "origin_direct was given" true for validate() (no bogus 11000);
      // its errors land on this same path and are dropped as repeats.
      OriginDirect placeholder;
      placeholder.text = *text;
      app->origin_direct.push_back(std::move(placeholder));
    }
  }
}

void parse_origin_dns(YamlReader& rd, const YAML::Node& node, const std::string& path,
                      OriginDns* o) {
  if (!rd.check_map(node, path, {"name", "ttl", "type"})) return;
  if (required(rd, node, "name", path, "a hostname such as origin.example.com"))
    rd.get_string(node, "name", path, &o->name);
  rd.get_uint(node, "ttl", path, &o->ttl);
  if (YamlReader::present(node["type"])) {
    std::string type_path = child_path(path, "type");
    if (auto t = rd.scalar(node["type"], type_path, "\"\", A or AAAA")) {
      o->type = *t;
      if (*t == "SRV")
        rd.error(type_path,
                 "SRV origins are not supported; use type \"\", A or AAAA with "
                 "origin_port",
                 kInvalidOriginDns);
      else if (*t != "" && *t != "A" && *t != "AAAA")
        rd.error(type_path, "invalid value \"" + *t + "\"; expected one of: \"\", A, AAAA",
                 kInvalidOriginDns);
    }
  }
}

void parse_origin_port(YamlReader& rd, const YAML::Node& node, const std::string& path, App* app) {
  auto text = rd.scalar(node, path, "a port such as 22 or a range such as \"3000-4000\"");
  if (!text) return;
  std::string why;
  if (auto r = parse_port_range(*text, &why))
    app->origin_port = *r;
  else
    rd.error(path, why, kInvalidOriginDns);
}

void parse_load_balancing(YamlReader& rd, const YAML::Node& node, const std::string& path,
                          LoadBalancing* lb) {
  if (!rd.check_map(node, path, {"policy", "health_check"})) return;
  rd.get_enum(node, "policy", path, kLbPolicyNames, &lb->policy);
  const YAML::Node hc = node["health_check"];
  std::string hc_path = child_path(path, "health_check");
  if (!YamlReader::present(hc) ||
      !rd.check_map(hc, hc_path, {"enabled", "interval", "timeout", "rise", "fall"}))
    return;
  rd.get_bool(hc, "enabled", hc_path, &lb->health_check.enabled);
  rd.get_duration(hc, "interval", hc_path, &lb->health_check.interval);
  rd.get_duration(hc, "timeout", hc_path, &lb->health_check.timeout);
  rd.get_uint(hc, "rise", hc_path, &lb->health_check.rise, 100);
  rd.get_uint(hc, "fall", hc_path, &lb->health_check.fall, 100);
}

void parse_timeouts(YamlReader& rd, const YAML::Node& node, const std::string& path, Timeouts* t) {
  if (!rd.check_map(node, path, {"connect", "idle", "udp_flow_idle", "dns_hold"})) return;
  rd.get_duration(node, "connect", path, &t->connect);
  rd.get_duration(node, "idle", path, &t->idle);
  rd.get_duration(node, "udp_flow_idle", path, &t->udp_flow_idle);
  rd.get_duration(node, "dns_hold", path, &t->dns_hold);
}

void parse_tls_settings(YamlReader& rd, const YAML::Node& node, const std::string& path,
                        TlsSettings* t) {
  if (!rd.check_map(node, path,
                    {"certificates", "min_version", "origin_ca_file", "origin_server_name"}))
    return;
  const YAML::Node certs = node["certificates"];
  const std::string certs_path = child_path(path, "certificates");
  if (YamlReader::present(certs) &&
      rd.check_list(certs, certs_path,
                    "a list of { certificate: PATH, private_key: PATH } (PEM files)")) {
    for (size_t i = 0; i < certs.size(); ++i) {
      const std::string item_path = index_path(certs_path, i);
      if (!rd.check_map(certs[i], item_path, {"certificate", "private_key"})) continue;
      TlsCertificate c;
      if (required(rd, certs[i], "certificate", item_path, "a PEM certificate (chain) file"))
        rd.get_string(certs[i], "certificate", item_path, &c.certificate);
      if (required(rd, certs[i], "private_key", item_path, "a PEM private key file"))
        rd.get_string(certs[i], "private_key", item_path, &c.private_key);
      t->certificates.push_back(std::move(c));
    }
  }
  rd.get_string(node, "min_version", path, &t->min_version);
  rd.get_string(node, "origin_ca_file", path, &t->origin_ca_file);
  rd.get_string(node, "origin_server_name", path, &t->origin_server_name);
}

void parse_app(YamlReader& rd, const YAML::Node& node, const std::string& path,
               const ProtectionConfig& zone_protection, App* app) {
  if (!rd.check_map(node, path,
                    {"id",
                     "protocol",
                     "dns",
                     "edge_ips",
                     "origin_direct",
                     "origin_dns",
                     "origin_port",
                     "proxy_protocol",
                     "proxy_protocol_udp",
                     "ip_firewall",
                     "tls",
                     "tls_settings",
                     "traffic_type",
                     "argo_smart_routing",
                     "virtual_network_id",
                     "origin_worker_id",
                     "validate",
                     "load_balancing",
                     "timeouts",
                     "kernel_relay",
                     "protection"}))
    return;
  if (YamlReader::present(node["id"])) {
    std::string id_path = child_path(path, "id");
    if (auto id = rd.scalar(node["id"], id_path, "a string of letters, digits, '_', '.', '-'")) {
      app->id = *id;
      // An explicit empty id would otherwise be silently replaced by a generated one.
      if (id->empty()) rd.error(id_path, "empty; give a name such as ssh or omit id");
    }
  }
  if (required(rd, node, "protocol", path, "tcp/PORT, udp/PORT or a range such as tcp/1000-2000")) {
    std::string proto_path = child_path(path, "protocol");
    if (auto text = rd.scalar(node["protocol"], proto_path, "tcp/PORT or udp/PORT")) {
      std::string why;
      if (!parse_protocol(*text, &app->proto, &app->ports, &why)) {
        rd.error(proto_path, why);
        // Keep the intended protocol so origins are not also reported as the wrong scheme.
        if (text->rfind("udp", 0) == 0) app->proto = Proto::kUdp;
      }
    }
  }
  if (YamlReader::present(node["dns"]))
    parse_dns(rd, node["dns"], child_path(path, "dns"), &app->dns);
  if (YamlReader::present(node["edge_ips"]))
    parse_edge_ips(rd, node["edge_ips"], child_path(path, "edge_ips"), &app->edge_ips);
  if (YamlReader::present(node["origin_direct"]))
    parse_origin_direct_list(rd, node["origin_direct"], child_path(path, "origin_direct"), app);
  if (YamlReader::present(node["origin_dns"])) {
    app->origin_dns.emplace();
    parse_origin_dns(rd, node["origin_dns"], child_path(path, "origin_dns"), &*app->origin_dns);
  }
  if (YamlReader::present(node["origin_port"]))
    parse_origin_port(rd, node["origin_port"], child_path(path, "origin_port"), app);
  rd.get_enum(node, "proxy_protocol", path, kProxyProtocolNames, &app->proxy_protocol);
  rd.get_enum(node, "proxy_protocol_udp", path, kProxyProtocolUdpNames, &app->proxy_protocol_udp);
  rd.get_enum(node, "kernel_relay", path, kKernelRelayNames, &app->kernel_relay);
  rd.get_bool(node, "ip_firewall", path, &app->ip_firewall);
  rd.get_enum(node, "tls", path, kTlsModeNames, &app->tls);
  if (YamlReader::present(node["tls_settings"]))
    parse_tls_settings(rd, node["tls_settings"], child_path(path, "tls_settings"),
                       &app->tls_settings);
  if (YamlReader::present(node["traffic_type"])) {
    if (auto t = rd.one_of(node["traffic_type"], child_path(path, "traffic_type"),
                           kTrafficTypes.data(), kTrafficTypes.size()))
      app->traffic_type = *t;
  }
  rd.get_bool(node, "argo_smart_routing", path, &app->argo_smart_routing);
  rd.get_string(node, "virtual_network_id", path, &app->virtual_network_id);
  rd.get_string(node, "origin_worker_id", path, &app->origin_worker_id);
  rd.get_enum(node, "validate", path, kValidatorNames, &app->validate);
  if (YamlReader::present(node["load_balancing"]))
    parse_load_balancing(rd, node["load_balancing"], child_path(path, "load_balancing"),
                         &app->load_balancing);
  if (YamlReader::present(node["timeouts"]))
    parse_timeouts(rd, node["timeouts"], child_path(path, "timeouts"), &app->timeouts);
  if (YamlReader::present(node["protection"])) {
    app->protection = zone_protection;
    parse_protection(rd, node["protection"], child_path(path, "protection"), false,
                     &*app->protection);
  }
}

}  // namespace

void parse_protection(YamlReader& rd, const YAML::Node& node, const std::string& path, bool zone,
                      ProtectionConfig* out) {
  if (!rd.check_map(node, path,
                    {"per_ip", "max_connections", "autoban", "handshake_timeout",
                     "udp_reflection_ports", "xdp", "dry_run", "ipv6_prefix", "source_table_size"}))
    return;
  if (!zone && YamlReader::present(node["source_table_size"]))
    rd.error(child_path(path, "source_table_size"),
             "source_table_size is zone-wide (one table per worker, shared by all apps); set it "
             "under the top-level protection");
  rd.get_uint(node, "ipv6_prefix", path, &out->ipv6_prefix);
  if (zone) rd.get_uint(node, "source_table_size", path, &out->source_table_size);
  if (!zone && YamlReader::present(node["xdp"]))
    rd.error(child_path(path, "xdp"),
             "xdp is zone-wide (one program per interface); set it under the top-level "
             "protection");
  if (const YAML::Node p = node["per_ip"]; YamlReader::present(p)) {
    std::string p_path = child_path(path, "per_ip");
    if (rd.check_map(p, p_path,
                     {"max_connections", "new_connections_per_second", "burst",
                      "udp_packets_per_second", "udp_burst"})) {
      rd.get_uint(p, "max_connections", p_path, &out->per_ip.max_connections);
      rd.get_uint(p, "new_connections_per_second", p_path, &out->per_ip.new_connections_per_second);
      rd.get_uint(p, "burst", p_path, &out->per_ip.burst);
      rd.get_uint(p, "udp_packets_per_second", p_path, &out->per_ip.udp_packets_per_second);
      rd.get_uint(p, "udp_burst", p_path, &out->per_ip.udp_burst);
    }
  }
  rd.get_uint(node, "max_connections", path, &out->max_connections);
  if (const YAML::Node a = node["autoban"]; YamlReader::present(a)) {
    std::string a_path = child_path(path, "autoban");
    if (rd.check_map(a, a_path, {"violations", "window", "duration"})) {
      rd.get_uint(a, "violations", a_path, &out->autoban.violations);
      rd.get_duration(a, "window", a_path, &out->autoban.window);
      rd.get_duration(a, "duration", a_path, &out->autoban.duration);
    }
  }
  rd.get_duration(node, "handshake_timeout", path, &out->handshake_timeout);
  if (const YAML::Node u = node["udp_reflection_ports"]; YamlReader::present(u)) {
    std::string u_path = child_path(path, "udp_reflection_ports");
    if (rd.check_list(u, u_path, "a list of ports such as [19, 53, 123]")) {
      out->udp_reflection_ports.clear();
      for (size_t i = 0; i < u.size(); ++i) {
        std::string item_path = index_path(u_path, i);
        auto v = rd.integer(u[i], item_path, 65535);
        if (v && *v == 0) rd.error(item_path, "port 0 is out of range; expected 1-65535");
        if (v && *v != 0) out->udp_reflection_ports.push_back(static_cast<uint16_t>(*v));
      }
    }
  }
  if (const YAML::Node d = node["dry_run"]; YamlReader::present(d)) {
    std::string d_path = child_path(path, "dry_run");
    if (rd.check_list(d, d_path, "a list of guard filters such as [acl, rate_limit]")) {
      out->dry_run.clear();
      for (size_t i = 0; i < d.size(); ++i) {
        if (auto f = rd.one_of(d[i], index_path(d_path, i), config::kDryRunKeys.data(),
                               config::kDryRunKeys.size()))
          out->dry_run.push_back(*f);
      }
    }
  }
  if (const YAML::Node x = node["xdp"]; zone && YamlReader::present(x)) {
    std::string x_path = child_path(path, "xdp");
    if (rd.check_map(x, x_path, {"interface", "mode"})) {
      rd.get_string(x, "interface", x_path, &out->xdp.interface);
      rd.get_enum(x, "mode", x_path, kXdpModeNames, &out->xdp.mode);
      // An interface without a mode means the user wants XDP; native is the fast default.
      if (!YamlReader::present(x["mode"]) && !out->xdp.interface.empty())
        out->xdp.mode = XdpMode::kNative;
    }
  }
}

void parse_apps(YamlReader& rd, const YAML::Node& node, const std::string& path,
                const ProtectionConfig& zone_protection, std::vector<App>* out) {
  if (!YamlReader::present(node) || !rd.check_list(node, path, "a list of apps")) return;
  for (size_t i = 0; i < node.size(); ++i) {
    App app;
    parse_app(rd, node[i], index_path(path, i), zone_protection, &app);
    out->push_back(std::move(app));
  }
}

}  // namespace rampart::config
