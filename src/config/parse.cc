// parse_yaml / load_file and the zone-wide sections (edge, api, geoip, ip_access_rules,
// protection). Apps are in parse_apps.cc.
#include "config/parse.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "config/anycast_config.h"
#include "config/dns_publish_config.h"
#include "config/file_read.h"
#include "config/parse_internal.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

namespace rampart::config {
namespace {

void parse_ip_list(YamlReader& rd, const YAML::Node& node, const std::string& path,
                   std::vector<net::IpAddr>* out) {
  if (!rd.check_list(node, path, "a list of IP addresses such as [\"0.0.0.0\", \"::\"]")) return;
  if (node.size() == 0) rd.error(path, "the list is empty; give at least one address");
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = index_path(path, i);
    auto text = rd.scalar(node[i], item_path, "an IP address");
    if (!text) continue;
    if (auto ip = net::IpAddr::parse(*text)) {
      out->push_back(*ip);
    } else {
      rd.error(item_path, "\"" + *text +
                              "\" is not an IP address; expected e.g. 0.0.0.0, :: or "
                              "127.0.0.1 (IPv6 without brackets)");
    }
  }
}

void parse_edge(YamlReader& rd, const YAML::Node& node, const std::string& path, EdgeConfig* e) {
  if (!YamlReader::present(node) ||
      !rd.check_map(node, path,
                    {"colo", "listen", "egress_ips", "workers", "data_dir", "drain_timeout",
                     "max_udp_flows", "pipe_size", "anycast", "max_connections",
                     "max_udp_unconfirmed_flows", "max_ports", "max_ports_per_app", "user", "group",
                     "pid_file", "public_ips", "kernel_relay_interfaces"}))
    return;
  rd.get_string(node, "colo", path, &e->colo);
  if (YamlReader::present(node["listen"]))
    parse_ip_list(rd, node["listen"], child_path(path, "listen"), &e->listen);
  if (const YAML::Node eg = node["egress_ips"]; YamlReader::present(eg)) {
    std::string eg_path = child_path(path, "egress_ips");
    if (rd.check_list(eg, eg_path, "a list of addresses or CIDRs such as [\"192.0.2.10\"]")) {
      for (size_t i = 0; i < eg.size(); ++i)
        if (auto v = rd.scalar(eg[i], index_path(eg_path, i), "an address or CIDR"))
          e->egress_ips.push_back(*v);
    }
  }
  if (const YAML::Node ki = node["kernel_relay_interfaces"]; YamlReader::present(ki)) {
    const std::string ki_path = child_path(path, "kernel_relay_interfaces");
    if (rd.check_list(ki, ki_path, "a list of interface names such as [\"eth0\", \"lo\"]")) {
      for (size_t i = 0; i < ki.size(); ++i)
        if (auto v = rd.scalar(ki[i], index_path(ki_path, i), "an interface name"))
          e->kernel_relay_interfaces.push_back(*v);
    }
  }
  rd.get_uint(node, "workers", path, &e->workers, 4096);
  rd.get_string(node, "data_dir", path, &e->data_dir);
  rd.get_duration(node, "drain_timeout", path, &e->drain_timeout);
  rd.get_uint(node, "max_udp_flows", path, &e->max_udp_flows, 10000000);
  rd.get_uint(node, "max_connections", path, &e->max_connections, 10000000);
  rd.get_uint(node, "max_udp_unconfirmed_flows", path, &e->max_udp_unconfirmed_flows, 10000000);
  rd.get_uint(node, "pipe_size", path, &e->pipe_size, 16u << 20);
  rd.get_uint(node, "max_ports", path, &e->max_ports, 1u << 20);
  rd.get_uint(node, "max_ports_per_app", path, &e->max_ports_per_app, 65535);
  parse_anycast(rd, node["anycast"], child_path(path, "anycast"), &e->anycast);
  if (YamlReader::present(node["public_ips"]))
    parse_ip_list(rd, node["public_ips"], child_path(path, "public_ips"), &e->public_ips);
  rd.get_string(node, "user", path, &e->user);
  rd.get_string(node, "group", path, &e->group);
  rd.get_string(node, "pid_file", path, &e->pid_file);
}

// api.zones: [{ id: 32-hex, name: example.com }, ...]; an item may also be the id alone.
void parse_api_zones(YamlReader& rd, const YAML::Node& zones, const std::string& path,
                     std::vector<ApiZone>* out) {
  if (!YamlReader::present(zones) ||
      !rd.check_list(zones, path, "a list of zones such as [{ id: <32 hex>, name: example.com }]"))
    return;
  for (size_t i = 0; i < zones.size(); ++i) {
    const std::string p = index_path(path, i);
    ApiZone z;
    if (zones[i].IsScalar()) {
      if (auto v = rd.scalar(zones[i], p, "a zone id (32 hex)")) z.id = *v;
    } else if (rd.check_map(zones[i], p, {"id", "name"})) {
      rd.get_string(zones[i], "id", p, &z.id);
      rd.get_string(zones[i], "name", p, &z.name);
    }
    out->push_back(z);
  }
}

// api.tokens: [{ name: viewer, token: ... | token_file: PATH, scope: read|write }, ...].
void parse_api_tokens(YamlReader& rd, const YAML::Node& tokens, const std::string& path,
                      std::vector<ApiToken>* out) {
  if (!YamlReader::present(tokens) ||
      !rd.check_list(tokens, path,
                     "a list of tokens such as [{ name: viewer, token_file: PATH, scope: read }]"))
    return;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string p = index_path(path, i);
    ApiToken t;
    if (!rd.check_map(tokens[i], p, {"name", "token", "token_file", "scope"})) continue;
    rd.get_string(tokens[i], "name", p, &t.name);
    rd.get_string(tokens[i], "token", p, &t.token);
    rd.get_string(tokens[i], "token_file", p, &t.token_file);
    // No default: what a token may do is said where it is made.
    if (!YamlReader::present(tokens[i]["scope"]))
      rd.error(child_path(p, "scope"),
               "missing; expected one of: " + enum_choices(kTokenScopeNames));
    rd.get_enum(tokens[i], "scope", p, kTokenScopeNames, &t.scope);
    out->push_back(t);
  }
}

void parse_api(YamlReader& rd, const YAML::Node& node, const std::string& path, ApiConfig* a) {
  if (!YamlReader::present(node) ||
      !rd.check_map(node, path,
                    {"listen", "token", "token_file", "tokens", "allow_insecure_remote",
                     "allow_private_origins", "tls", "request_timeout", "keepalive_timeout",
                     "max_connections", "max_connections_per_source", "server_name", "zones",
                     "session_timeout", "session_idle_timeout"}))
    return;
  if (const YAML::Node tls = node["tls"]; YamlReader::present(tls)) {
    const std::string tls_path = child_path(path, "tls");
    if (rd.check_map(tls, tls_path, {"certificate", "private_key"})) {
      rd.get_string(tls, "certificate", tls_path, &a->tls_certificate);
      rd.get_string(tls, "private_key", tls_path, &a->tls_private_key);
    }
  }
  rd.get_string(node, "listen", path, &a->listen);
  rd.get_string(node, "token", path, &a->token);
  rd.get_string(node, "token_file", path, &a->token_file);
  parse_api_tokens(rd, node["tokens"], child_path(path, "tokens"), &a->tokens);
  rd.get_duration(node, "session_timeout", path, &a->session_timeout);
  rd.get_duration(node, "session_idle_timeout", path, &a->session_idle_timeout);
  rd.get_bool(node, "allow_insecure_remote", path, &a->allow_insecure_remote);
  rd.get_bool(node, "allow_private_origins", path, &a->allow_private_origins);
  rd.get_duration(node, "request_timeout", path, &a->request_timeout);
  rd.get_duration(node, "keepalive_timeout", path, &a->keepalive_timeout);
  rd.get_uint(node, "max_connections", path, &a->max_connections, 1u << 20);
  rd.get_uint(node, "max_connections_per_source", path, &a->max_connections_per_source, 1u << 20);
  if (const YAML::Node names = node["server_name"]; YamlReader::present(names)) {
    const std::string names_path = child_path(path, "server_name");
    if (rd.check_list(names, names_path, "a list of host names such as [\"edge1.example.net\"]"))
      for (size_t i = 0; i < names.size(); ++i)
        if (auto v = rd.scalar(names[i], index_path(names_path, i), "a host name"))
          a->server_name.push_back(*v);
  }
  parse_api_zones(rd, node["zones"], child_path(path, "zones"), &a->zones);
}

void parse_fleet(YamlReader& rd, const YAML::Node& node, FleetConfig* f) {
  if (!YamlReader::present(node) ||
      !rd.check_map(node, "fleet", {"token", "token_file", "ca_file"}))
    return;
  rd.get_string(node, "token", "fleet", &f->token);
  rd.get_string(node, "token_file", "fleet", &f->token_file);
  rd.get_string(node, "ca_file", "fleet", &f->ca_file);
}

void parse_store(YamlReader& rd, const YAML::Node& root, StoreConfig* s) {
  if (YamlReader::present(root["store"]))
    if (auto v = rd.scalar(root["store"], "store", "sqlite or etcd://HOST:PORT[,HOST:PORT...]"))
      s->url = *v;
  const YAML::Node tls = root["store_tls"];
  if (!YamlReader::present(tls) ||
      !rd.check_map(tls, "store_tls", {"ca", "certificate", "private_key"}))
    return;
  rd.get_string(tls, "ca", "store_tls", &s->tls_ca);
  rd.get_string(tls, "certificate", "store_tls", &s->tls_certificate);
  rd.get_string(tls, "private_key", "store_tls", &s->tls_private_key);
}

void parse_geoip(YamlReader& rd, const YAML::Node& node, const std::string& path, GeoipConfig* g) {
  if (!YamlReader::present(node) || !rd.check_map(node, path, {"country_db", "asn_db"})) return;
  rd.get_string(node, "country_db", path, &g->country_db);
  rd.get_string(node, "asn_db", path, &g->asn_db);
}

void parse_access_rule(YamlReader& rd, const YAML::Node& node, const std::string& path,
                       IpAccessRule* r) {
  if (!rd.check_map(node, path, {"id", "mode", "configuration", "notes"})) return;
  rd.get_string(node, "id", path, &r->id);
  std::string mode_path = child_path(path, "mode");
  if (const YAML::Node m = node["mode"]; !YamlReader::present(m)) {
    rd.error(mode_path, "missing; expected one of: " + enum_choices(kAccessModeNames));
  } else if (auto text = rd.scalar(m, mode_path, "one of: " + enum_choices(kAccessModeNames))) {
    if (auto v = enum_from_string(kAccessModeNames, *text)) {
      r->mode = *v;
    } else if (*text == "challenge" || *text == "js_challenge" || *text == "managed_challenge") {
      rd.error(mode_path, "mode \"" + *text +
                              "\" cannot work at L4: an L4 edge has no page to "
                              "challenge a client with; use block or whitelist");
    } else {
      rd.error(mode_path, "invalid value \"" + *text +
                              "\"; expected one of: " + enum_choices(kAccessModeNames));
    }
  }
  std::string conf_path = child_path(path, "configuration");
  const YAML::Node conf = node["configuration"];
  if (!YamlReader::present(conf)) {
    rd.error(conf_path, "missing; expected { target: ip|ip6|ip_range|country|asn, value: ... }");
  } else if (rd.check_map(conf, conf_path, {"target", "value"})) {
    if (!YamlReader::present(conf["target"]))
      rd.error(child_path(conf_path, "target"),
               "missing; expected one of: " + enum_choices(kAccessTargetNames));
    rd.get_enum(conf, "target", conf_path, kAccessTargetNames, &r->target);
    if (!YamlReader::present(conf["value"]))
      rd.error(child_path(conf_path, "value"),
               "missing; expected the address, range, country "
               "or ASN to match");
    rd.get_string(conf, "value", conf_path, &r->value);
  }
  rd.get_string(node, "notes", path, &r->notes);
}

void parse_access_rules(YamlReader& rd, const YAML::Node& node, const std::string& path,
                        std::vector<IpAccessRule>* out) {
  if (!YamlReader::present(node) || !rd.check_list(node, path, "a list of rules")) return;
  for (size_t i = 0; i < node.size(); ++i) {
    IpAccessRule rule;
    parse_access_rule(rd, node[i], index_path(path, i), &rule);
    out->push_back(std::move(rule));
  }
}

void parse_config(YamlReader& rd, const YAML::Node& root, Config* cfg) {
  if (!YamlReader::present(root)) return;
  if (!root.IsMap()) {
    rd.error("",
             "the config must be a map with the sections edge, api, geoip, ip_access_rules, "
             "protection, events, analytics, apps; got " +
                 describe(root));
    return;
  }
  rd.check_map(root, "",
               {"edge", "api", "fleet", "store", "store_tls", "geoip", "ip_access_rules",
                "protection", "events", "analytics", "apps", "dns_publish"});
  parse_edge(rd, root["edge"], "edge", &cfg->edge);
  parse_store(rd, root, &cfg->store);
  parse_api(rd, root["api"], "api", &cfg->api);
  parse_fleet(rd, root["fleet"], &cfg->fleet);
  parse_dns_publish(rd, root["dns_publish"], "dns_publish", &cfg->dns_publish);
  parse_geoip(rd, root["geoip"], "geoip", &cfg->geoip);
  parse_access_rules(rd, root["ip_access_rules"], "ip_access_rules", &cfg->ip_access_rules);
  if (YamlReader::present(root["protection"]))
    parse_protection(rd, root["protection"], "protection", true, &cfg->protection);
  parse_events(rd, root["events"], "events", &cfg->events);
  parse_analytics(rd, root["analytics"], "analytics", &cfg->analytics);
  // After protection: an app's override starts from the zone's values.
  parse_apps(rd, root["apps"], "apps", cfg->protection, &cfg->apps);
}

// Records whether a document has any content. Used instead of YAML::LoadAll, which in yaml-cpp
// 0.7 loops forever (allocating) on some invalid input such as a leading ',': the parser keeps
// returning empty documents (fixed upstream by yaml-cpp PR #1319).
class ContentProbe : public YAML::EventHandler {
 public:
  bool content = false;
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { content = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    content = true;
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    content = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    content = true;
  }
  void OnMapEnd() override {}
};

// True when a document after the first has content (empty extra documents are harmless).
// Looks at a bounded number of documents so that the yaml-cpp bug above cannot hang it.
bool has_extra_documents(const std::string& text) {
  // Another document needs a "---" or "..." marker; skip the second parse when there is none.
  if (text.find("---") == std::string::npos && text.find("...") == std::string::npos) return false;
  std::istringstream in(text);
  YAML::Parser parser(in);
  for (int i = 0; i < 64; ++i) {
    ContentProbe probe;
    if (!parser.HandleNextDocument(probe)) return false;
    if (i > 0 && probe.content) return true;
  }
  return false;
}

// Sort key that puts errors in the order of the file's sections and list items, so parse and
// validation errors of one app are reported together.
std::pair<int, size_t> document_order(const std::string& path) {
  static constexpr std::string_view kSections[] = {
      "edge", "api", "geoip", "ip_access_rules", "protection", "events", "analytics", "apps"};
  size_t end = path.find_first_of(".[");
  std::string_view head = std::string_view(path).substr(0, end);
  int rank = 0;
  for (size_t i = 0; i < std::size(kSections); ++i)
    if (head == kSections[i]) rank = static_cast<int>(i) + 1;
  size_t index = 0;
  if (end != std::string::npos && path[end] == '[')
    index = static_cast<size_t>(std::strtoull(path.c_str() + end + 1, nullptr, 10));
  return {rank, index};
}

std::string syntax_error(const YAML::Exception& e) {
  if (e.mark.is_null()) return "invalid YAML: " + e.msg;
  return "invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
         std::to_string(e.mark.column + 1) + ": " + e.msg;
}

}  // namespace

LoadResult parse_yaml(std::string_view text, bool tolerate_unavailable) {
  LoadResult result;
  Config cfg;
  try {
    std::string owned(text);
    YAML::Node root = YAML::Load(owned);
    if (has_extra_documents(owned)) {
      result.errors.push_back(
          {"", "the file holds more than one YAML document; expected one (remove the extra ---)"});
      return result;
    }
    YamlReader rd(&result.errors);
    parse_config(rd, root, &cfg);
  } catch (const YAML::Exception& e) {
    result.errors.push_back({"", syntax_error(e)});
    return result;
  } catch (const std::exception& e) {
    result.errors.push_back({"", std::string("cannot parse the config: ") + e.what()});
    return result;
  }
  // File apps without an id get one derived from their identity rather than a random one, so
  // that a reload or restart does not turn them into new apps.
  // Apps that overlap (an error reported below) would derive the same id; step around that so
  // the overlap is not also reported as a duplicate id.
  std::set<std::string> used;
  for (const App& app : cfg.apps) used.insert(app.id);
  for (App& app : cfg.apps) {
    if (!app.id.empty()) continue;
    app.id = derived_app_id(app);
    for (int n = 1; used.count(app.id) != 0; ++n) app.id = derived_app_id(app, n);
    used.insert(app.id);
  }
  // Validation runs even after parse errors so that one pass reports everything; a validation
  // error on a field that already failed to parse would only repeat it, so it is dropped.
  std::vector<ConfigError> semantic;
  validate(cfg, semantic);
  size_t parse_errors = result.errors.size();
  for (auto& e : semantic) {
    bool repeated = false;
    for (size_t i = 0; i < parse_errors && !repeated; ++i)
      repeated = result.errors[i].path == e.path;
    if (!repeated && result.errors.size() <= YamlReader::kMaxErrors)
      result.errors.push_back(std::move(e));
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return document_order(a.path) < document_order(b.path);
                   });
  const bool only_unavailable = std::all_of(result.errors.begin(), result.errors.end(),
                                            [](const ConfigError& e) { return e.unavailable; });
  if (result.errors.empty() || (tolerate_unavailable && only_unavailable))
    result.config = std::move(cfg);
  return result;
}

LoadResult load_file(const std::string& path, bool tolerate_unavailable) {
  LoadResult result;
  std::string text, error;
  // Bounded: /dev/zero, a FIFO or a huge file is refused at once instead of read without end.
  if (!read_regular_file(path, kMaxConfigFileBytes, &text, &error)) {
    result.errors.push_back({path, "cannot use the config file: " + error});
    return result;
  }
  result = parse_yaml(text, tolerate_unavailable);
  for (auto& e : result.errors)
    if (e.path.empty()) e.path = path;
  return result;
}

}  // namespace rampart::config
