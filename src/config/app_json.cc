// JSON <-> App / IpAccessRule for the REST API (see app_json.h).
#include "config/app_json.h"

#include <initializer_list>

#include "config/duration.h"
#include "config/enum_names.h"
#include "config/json_reader.h"
#include "config/parse.h"
#include "config/validate.h"

namespace rampart::config {
namespace {

using nlohmann::json;
using namespace json_detail;

void read_dns(JsonReader& rd, const json& v, DnsRecord* dns) {
  if (!rd.check_object(v, "dns", {"type", "name"})) return;
  rd.get_string(v, "type", "dns", &dns->type, "CNAME or ADDRESS");
  rd.get_string(v, "name", "dns", &dns->name, "a hostname such as ssh.example.com");
  // validate_app() treats a missing dns as "no record"; a half-filled one is an error.
  if (dns->type.empty() && !dns->name.empty()) dns->type = "CNAME";
}

void read_edge_ips(JsonReader& rd, const json& v, EdgeIps* e) {
  if (!rd.check_object(v, "edge_ips", {"type", "connectivity", "ips"})) return;
  rd.get_enum(v, "type", "edge_ips", kEdgeIpsTypeNames, &e->type);
  rd.get_enum(v, "connectivity", "edge_ips", kConnectivityNames, &e->connectivity);
  const json* ips = JsonReader::member(v, "ips");
  if (!ips) return;
  if (!ips->is_array()) {
    rd.error("edge_ips.ips",
             std::string("expected an array of IP addresses, got ") + type_name(*ips));
    return;
  }
  e->ips.clear();
  for (size_t i = 0; i < ips->size(); ++i) {
    std::string p = at("edge_ips.ips", i);
    auto s = rd.string((*ips)[i], p, "an IP address");
    if (!s) continue;
    if (auto ip = net::IpAddr::parse(*s))
      e->ips.push_back(*ip);
    else
      rd.error(p, "\"" + *s + "\" is not an IP address; expected e.g. 192.0.2.1 or 2001:db8::1");
  }
}

void read_origin_direct(JsonReader& rd, const json& v, App* app) {
  if (!v.is_array()) {
    rd.error("origin_direct",
             std::string("expected an array such as [\"tcp://192.0.2.1:22\"], got ") + type_name(v),
             kErrOriginAddress);
    return;
  }
  app->origin_direct.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = at("origin_direct", i);
    if (!v[i].is_string()) {
      rd.error(
          p,
          std::string("expected an origin such as \"tcp://192.0.2.1:22\", got ") + type_name(v[i]),
          kErrOriginAddress);
      continue;
    }
    std::string why;
    if (auto o = parse_origin_direct(v[i].get<std::string>(), app->proto, &why))
      app->origin_direct.push_back(std::move(*o));
    else
      rd.error(p, why, kErrOriginAddress);
  }
  // An empty list would read as "no origin_direct" later; say what is wrong here.
  if (v.empty()) rd.error("origin_direct", "the list is empty; give at least one origin");
}

void read_origin_dns(JsonReader& rd, const json& v, App* app) {
  app->origin_dns.emplace();
  if (!rd.check_object(v, "origin_dns", {"name", "ttl", "type"})) return;
  OriginDns& od = *app->origin_dns;
  rd.get_string(v, "name", "origin_dns", &od.name, "a hostname");
  rd.get_uint(v, "ttl", "origin_dns", &od.ttl, 86400);
  rd.get_string(v, "type", "origin_dns", &od.type, "\"\", A or AAAA");
  if (od.type == "SRV")
    rd.error("origin_dns.type",
             "SRV origins are not supported; use \"\", A or AAAA with origin_port", kErrOriginDns);
}

void read_origin_port(JsonReader& rd, const json& v, App* app) {
  std::string why;
  std::optional<PortRange> r;
  if (v.is_number_unsigned() && v.get<uint64_t>() <= 65535) {
    r = parse_port_range(std::to_string(v.get<uint64_t>()), &why);
  } else if (v.is_string()) {
    r = parse_port_range(v.get<std::string>(), &why);
  } else {
    why = std::string("expected a port such as 22 or a range such as \"3000-4000\", got ") +
          (v.is_number() ? v.dump() : type_name(v));
  }
  if (r)
    app->origin_port = *r;
  else
    rd.error("origin_port", why, kErrOriginDns);
}

void read_load_balancing(JsonReader& rd, const json& v, LoadBalancing* lb) {
  if (!rd.check_object(v, "load_balancing", {"policy", "health_check"})) return;
  rd.get_enum(v, "policy", "load_balancing", kLbPolicyNames, &lb->policy);
  const json* hc = JsonReader::member(v, "health_check");
  const std::string p = "load_balancing.health_check";
  if (!hc || !rd.check_object(*hc, p, {"enabled", "interval", "timeout", "rise", "fall"})) return;
  rd.get_bool(*hc, "enabled", p, &lb->health_check.enabled);
  rd.get_duration(*hc, "interval", p, &lb->health_check.interval);
  rd.get_duration(*hc, "timeout", p, &lb->health_check.timeout);
  rd.get_uint(*hc, "rise", p, &lb->health_check.rise, 100);
  rd.get_uint(*hc, "fall", p, &lb->health_check.fall, 100);
}

void read_timeouts(JsonReader& rd, const json& v, Timeouts* t) {
  if (!rd.check_object(v, "timeouts", {"connect", "idle", "udp_flow_idle", "dns_hold"})) return;
  rd.get_duration(v, "connect", "timeouts", &t->connect);
  rd.get_duration(v, "idle", "timeouts", &t->idle);
  rd.get_duration(v, "udp_flow_idle", "timeouts", &t->udp_flow_idle);
  rd.get_duration(v, "dns_hold", "timeouts", &t->dns_hold);
}

void read_tls_settings(JsonReader& rd, const json& v, TlsSettings* t) {
  const std::string p = "tls_settings";
  if (!rd.check_object(v, p,
                       {"certificates", "min_version", "origin_ca_file", "origin_server_name"}))
    return;
  if (const json* certs = JsonReader::member(v, "certificates")) {
    if (!certs->is_array()) {
      rd.error(
          p + ".certificates",
          std::string("expected a list of {certificate, private_key}, got ") + type_name(*certs));
    } else {
      for (size_t i = 0; i < certs->size(); ++i) {
        const std::string ip = p + ".certificates[" + std::to_string(i) + "]";
        const json& c = (*certs)[i];
        if (!rd.check_object(c, ip, {"certificate", "private_key"})) continue;
        TlsCertificate cert;
        rd.get_string(c, "certificate", ip, &cert.certificate, "a PEM file path");
        rd.get_string(c, "private_key", ip, &cert.private_key, "a PEM file path");
        t->certificates.push_back(std::move(cert));
      }
    }
  }
  rd.get_string(v, "min_version", p, &t->min_version, "\"1.2\" or \"1.3\"");
  rd.get_string(v, "origin_ca_file", p, &t->origin_ca_file, "a PEM file path");
  rd.get_string(v, "origin_server_name", p, &t->origin_server_name, "a host name");
}

std::string range_text(const PortRange& r) {
  if (r.first == r.last) return std::to_string(r.first);
  return std::to_string(r.first) + "-" + std::to_string(r.last);
}

// Nesting depth of JSON text, ignoring brackets inside strings; stops counting past `limit`.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
      if (max > limit) return max;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

}  // namespace

std::optional<json> parse_json_object(std::string_view text, std::vector<ConfigError>& errors) {
  if (nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    errors.push_back(
        {"", "malformed JSON: nested more than " + std::to_string(kMaxJsonDepth) + " levels deep",
         kErrMalformedJson});
    return std::nullopt;
  }
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    errors.push_back(
        {"", std::string("malformed JSON in the request body: ") + e.what(), kErrMalformedJson});
    return std::nullopt;
  }
  if (!j.is_object()) {
    errors.push_back({"",
                      std::string("the request body must be a JSON object, got ") + type_name(j),
                      kErrMalformedJson});
    return std::nullopt;
  }
  return j;
}

bool app_from_json(const json& j, App* app, std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  JsonReader rd(errors);
  if (!rd.check_object(j, "",
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
                        "validate",
                        "load_balancing",
                        "timeouts",
                        "virtual_network_id",
                        "origin_worker_id",
                        "kernel_relay",
                        "protection"},
                       {"created_on", "modified_on", "source"}))
    return false;
  if (const json* v = JsonReader::member(j, "protection")) {
    app->protection_override.emplace();
    read_protection(rd, *v, &*app->protection_override);
  }
  if (const json* id = JsonReader::member(j, "id")) {
    if (auto s = rd.string(*id, "id", "a string")) {
      app->id = *s;
      if (s->empty()) rd.error("id", "empty; omit id to have one generated");
    }
  }
  if (const json* p = JsonReader::member(j, "protocol")) {
    if (auto s = rd.string(*p, "protocol", "\"tcp/PORT\" or \"udp/PORT\"")) {
      std::string why;
      if (!parse_protocol(*s, &app->proto, &app->ports, &why)) {
        rd.error("protocol", why);
        if (s->rfind("udp", 0) == 0) app->proto = Proto::kUdp;
      }
    }
  } else if (app->ports.first == 0) {
    rd.error("protocol", "missing; expected e.g. \"tcp/22\", \"udp/53\" or \"tcp/1000-2000\"");
  }
  if (const json* v = JsonReader::member(j, "dns")) read_dns(rd, *v, &app->dns);
  if (const json* v = JsonReader::member(j, "edge_ips")) read_edge_ips(rd, *v, &app->edge_ips);
  if (const json* v = JsonReader::member(j, "origin_direct")) read_origin_direct(rd, *v, app);
  if (const json* v = JsonReader::member(j, "origin_dns")) read_origin_dns(rd, *v, app);
  if (const json* v = JsonReader::member(j, "origin_port")) read_origin_port(rd, *v, app);
  rd.get_enum(j, "proxy_protocol", "", kProxyProtocolNames, &app->proxy_protocol);
  rd.get_enum(j, "proxy_protocol_udp", "", kProxyProtocolUdpNames, &app->proxy_protocol_udp);
  rd.get_enum(j, "kernel_relay", "", kKernelRelayNames, &app->kernel_relay);
  rd.get_bool(j, "ip_firewall", "", &app->ip_firewall);
  rd.get_enum(j, "tls", "", kTlsModeNames, &app->tls);
  if (const json* v = JsonReader::member(j, "tls_settings"))
    read_tls_settings(rd, *v, &app->tls_settings);
  rd.get_string(j, "traffic_type", "", &app->traffic_type, "direct");
  rd.get_bool(j, "argo_smart_routing", "", &app->argo_smart_routing);
  rd.get_string(j, "virtual_network_id", "", &app->virtual_network_id);
  rd.get_string(j, "origin_worker_id", "", &app->origin_worker_id);
  rd.get_enum(j, "validate", "", kValidatorNames, &app->validate);
  if (const json* v = JsonReader::member(j, "load_balancing"))
    read_load_balancing(rd, *v, &app->load_balancing);
  if (const json* v = JsonReader::member(j, "timeouts")) read_timeouts(rd, *v, &app->timeouts);
  return errors.size() == before;
}

std::optional<App> decode_app(const json& j, std::vector<ConfigError>& errors,
                              bool tolerate_unavailable) {
  App app;
  if (!app_from_json(j, &app, errors)) return std::nullopt;
  std::vector<ConfigError> found;
  // The override is checked over the built-in defaults here; over the zone's protection when
  // the apps are merged with the file (ConfigApplier::merge validates the result).
  if (app.protection_override) app.protection = app.protection_override->resolve({});
  bool ok = validate_app(app, "", found);
  if (app.protection_override) app.protection.reset();
  if (ok) return app;
  bool only_unavailable = true;
  for (auto& e : found) {
    only_unavailable = only_unavailable && e.unavailable;
    if (e.code == 0) e.code = kErrInvalidValue;
    errors.push_back(std::move(e));
  }
  if (tolerate_unavailable && only_unavailable) return app;
  return std::nullopt;
}

json app_to_json(const App& app) {
  json j = json::object();
  j["id"] = app.id;
  j["protocol"] = std::string(to_string(app.proto)) + "/" + range_text(app.ports);
  if (!app.dns.type.empty() || !app.dns.name.empty())
    j["dns"] = {{"type", app.dns.type}, {"name", app.dns.name}};
  json edge = {{"type", to_string(app.edge_ips.type)}};
  if (app.edge_ips.type == EdgeIpsType::kDynamic) {
    edge["connectivity"] = to_string(app.edge_ips.connectivity);
  } else {
    json ips = json::array();
    for (const auto& ip : app.edge_ips.ips) ips.push_back(ip.to_string());
    edge["ips"] = std::move(ips);
  }
  j["edge_ips"] = std::move(edge);
  if (!app.origin_direct.empty()) {
    json list = json::array();
    for (const auto& o : app.origin_direct) list.push_back(o.text);
    j["origin_direct"] = std::move(list);
  }
  if (app.origin_dns)
    j["origin_dns"] = {{"name", app.origin_dns->name},
                       {"ttl", app.origin_dns->ttl},
                       {"type", app.origin_dns->type}};
  if (app.origin_port) {
    if (app.origin_port->first == app.origin_port->last)
      j["origin_port"] = app.origin_port->first;
    else
      j["origin_port"] = range_text(*app.origin_port);
  }
  j["proxy_protocol"] = to_string(app.proxy_protocol);
  j["ip_firewall"] = app.ip_firewall;
  j["tls"] = to_string(app.tls);
  const TlsSettings& ts = app.tls_settings;
  if (ts != TlsSettings{}) {
    json certs = json::array();
    for (const auto& c : ts.certificates)
      certs.push_back({{"certificate", c.certificate}, {"private_key", c.private_key}});
    j["tls_settings"] = {{"certificates", std::move(certs)},
                         {"min_version", ts.min_version},
                         {"origin_ca_file", ts.origin_ca_file},
                         {"origin_server_name", ts.origin_server_name}};
  }
  j["traffic_type"] = app.traffic_type;
  j["argo_smart_routing"] = app.argo_smart_routing;
  if (!app.virtual_network_id.empty()) j["virtual_network_id"] = app.virtual_network_id;
  if (!app.origin_worker_id.empty()) j["origin_worker_id"] = app.origin_worker_id;
  j["validate"] = to_string(app.validate);
  const HealthCheck& hc = app.load_balancing.health_check;
  j["load_balancing"] = {{"policy", to_string(app.load_balancing.policy)},
                         {"health_check",
                          {{"enabled", hc.enabled},
                           {"interval", format_duration(hc.interval)},
                           {"timeout", format_duration(hc.timeout)},
                           {"rise", hc.rise},
                           {"fall", hc.fall}}}};
  j["timeouts"] = {{"connect", format_duration(app.timeouts.connect)},
                   {"idle", format_duration(app.timeouts.idle)},
                   {"udp_flow_idle", format_duration(app.timeouts.udp_flow_idle)},
                   {"dns_hold", format_duration(app.timeouts.dns_hold)}};
  j["proxy_protocol_udp"] = to_string(app.proxy_protocol_udp);
  j["kernel_relay"] = to_string(app.kernel_relay);
  if (app.protection_override)
    j["protection"] = protection_override_to_json(*app.protection_override);
  else if (app.protection)
    j["protection"] = protection_to_json(*app.protection);
  return j;
}

json merge_app_patch(const json& current, const json& patch) {
  json out = current;
  if (!patch.is_object()) return out;
  if (patch.contains("origin_direct")) {
    out.erase("origin_dns");
    out.erase("origin_port");
  }
  if (patch.contains("origin_dns")) out.erase("origin_direct");
  // edge_ips switches shape with its type: a new type replaces the whole object.
  if (patch.contains("edge_ips") && patch["edge_ips"].is_object() &&
      patch["edge_ips"].contains("type"))
    out.erase("edge_ips");
  out.merge_patch(patch);
  return out;
}

bool rule_from_json(const json& j, IpAccessRule* rule, std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  JsonReader rd(errors);
  if (!rd.check_object(j, "", {"id", "mode", "configuration", "notes"},
                       {"created_on", "modified_on", "allowed_modes", "scope", "source"}))
    return false;
  rd.get_string(j, "id", "", &rule->id);
  if (const json* m = JsonReader::member(j, "mode")) {
    if (auto s = rd.string(*m, "mode", "block or whitelist")) {
      if (auto v = enum_from_string(kAccessModeNames, *s))
        rule->mode = *v;
      else if (*s == "challenge" || *s == "js_challenge" || *s == "managed_challenge")
        rd.error("mode", "mode \"" + *s +
                             "\" cannot work at L4 (there is no page to challenge a client "
                             "with); use block or whitelist");
      else
        rd.error("mode", "invalid value \"" + *s + "\"; expected block or whitelist");
    }
  } else {
    rd.error("mode", "missing; expected block or whitelist");
  }
  if (const json* c = JsonReader::member(j, "configuration")) {
    if (rd.check_object(*c, "configuration", {"target", "value"})) {
      if (!JsonReader::member(*c, "target") || !JsonReader::member(*c, "value"))
        rd.error("configuration", "expected both target and value");
      rd.get_enum(*c, "target", "configuration", kAccessTargetNames, &rule->target);
      rd.get_string(*c, "value", "configuration", &rule->value);
    }
  } else {
    rd.error("configuration",
             "missing; expected {\"target\": \"ip|ip6|ip_range|country|asn\", \"value\": ...}");
  }
  rd.get_string(j, "notes", "", &rule->notes);
  return errors.size() == before;
}

std::optional<IpAccessRule> decode_rule(const json& j, std::vector<ConfigError>& errors) {
  IpAccessRule rule;
  if (!rule_from_json(j, &rule, errors)) return std::nullopt;
  std::vector<ConfigError> found;
  if (!validate_access_rule(rule, "", found)) {
    for (auto& e : found) {
      if (e.code == 0) e.code = kErrInvalidValue;
      errors.push_back(std::move(e));
    }
    return std::nullopt;
  }
  return rule;
}

json rule_to_json(const IpAccessRule& rule) {
  return {{"id", rule.id},
          {"mode", to_string(rule.mode)},
          {"allowed_modes", {"block", "whitelist"}},
          {"configuration", {{"target", to_string(rule.target)}, {"value", rule.value}}},
          {"notes", rule.notes}};
}

std::string api_message(const ConfigError& e) {
  if (e.path.empty()) return e.message;
  return e.path + ": " + e.message;
}

std::string api_pointer(const ConfigError& e) {
  if (!e.pointer.empty()) return e.pointer;
  // Paths are "key.key[index]" of field names (snake_case); anything else (an unknown field's
  // name quoted back) has no pointer rather than a wrong one.
  std::string out;
  bool at_segment_start = true;
  for (size_t i = 0; i < e.path.size(); ++i) {
    const char c = e.path[i];
    if (c == '.' || c == '[') {
      if (at_segment_start) return "";
      at_segment_start = true;
      continue;
    }
    if (c == ']') {
      if (at_segment_start ||
          (i + 1 < e.path.size() && e.path[i + 1] != '.' && e.path[i + 1] != '['))
        return "";
      continue;
    }
    const bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word) return "";
    if (at_segment_start) out.push_back('/');
    at_segment_start = false;
    out.push_back(c);
  }
  return at_segment_start ? "" : out;
}

}  // namespace rampart::config
