// validate(): zone-wide checks and the cross-app ones. Per-app rules are in validate_app.cc.
#include "config/validate.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <random>
#include <set>

#include "config/anycast_config.h"
#include "config/dns_publish_config.h"
#include "config/enum_names.h"
#include "config/events_config.h"
#include "config/file_read.h"
#include "config/parse.h"
#include "config/safety.h"
#include "config/yaml_reader.h"

namespace rampart::config {
namespace {

void add(std::vector<ConfigError>& errors, const std::string& path, std::string message,
         int code = 0) {
  errors.push_back({path, std::move(message), code});
}

bool is_upper_letter(char c) {
  return c >= 'A' && c <= 'Z';
}

void validate_edge(EdgeConfig& e, std::vector<ConfigError>& errors) {
  if (e.colo.empty()) add(errors, "edge.colo", "empty; expected a short name such as LAB1");
  for (char c : e.colo)
    if (c == ' ' || c == '\t' || c == '\n' || c == '"') {
      add(errors, "edge.colo", "\"" + e.colo + "\" has spaces or quotes; expected e.g. LAB1");
      break;
    }
  if (e.listen.empty()) e.listen = {*net::IpAddr::parse("0.0.0.0"), *net::IpAddr::parse("::")};
  for (size_t i = 0; i < e.listen.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (e.listen[i] == e.listen[j])
        add(errors, index_path("edge.listen", i),
            e.listen[i].to_string() + " is listed twice; give each address once");
  for (size_t i = 0; i < e.egress_ips.size(); ++i) {
    const std::string& v = e.egress_ips[i];
    std::string why;
    if (net::IpAddr::parse(v)) continue;
    if (v.find('/') != std::string::npos && !parse_cidr(v, nullptr, nullptr, &why)) {
      add(errors, index_path("edge.egress_ips", i), why);
    } else if (v.find('/') == std::string::npos) {
      add(errors, index_path("edge.egress_ips", i),
          "\"" + v + "\" is not an IP address or CIDR; expected e.g. 192.0.2.10 or 192.0.2.0/28");
    }
  }
  for (size_t i = 0; i < e.kernel_relay_interfaces.size(); ++i) {
    const std::string& v = e.kernel_relay_interfaces[i];
    if (v.empty() || v.size() > 15 || v.find_first_of("/ \t") != std::string::npos)
      add(errors, index_path("edge.kernel_relay_interfaces", i),
          "\"" + v + "\" is not an interface name; expected e.g. eth0 (at most 15 characters)");
  }
  if (e.workers < 0)
    add(errors, "edge.workers",
        "must be 0 (one per CPU) or more, got " + std::to_string(e.workers));
  if (e.data_dir.empty()) add(errors, "edge.data_dir", "empty; expected a directory such as ./var");
  if (e.drain_timeout.count() < 0) add(errors, "edge.drain_timeout", "must not be negative");
  // The names are looked up now: an unknown one is a config error, not a failure at startup.
  if (!e.user.empty() && ::getpwnam(e.user.c_str()) == nullptr)
    add(errors, "edge.user",
        "no user \"" + e.user + "\" on this host; expected an existing user such as rampart");
  if (!e.group.empty() && ::getgrnam(e.group.c_str()) == nullptr)
    add(errors, "edge.group",
        "no group \"" + e.group + "\" on this host; expected an existing group such as rampart");
  if (!e.group.empty() && e.user.empty())
    add(errors, "edge.group", "needs edge.user (the group is switched to with the user)");
  if (!e.pid_file.empty() && e.pid_file.back() == '/')
    add(errors, "edge.pid_file", "\"" + e.pid_file + "\" is a directory; expected a file path");
}

// api.tokens: each named once, with a token or a token file (their contents are checked by
// resolve_credentials, which reads the files).
void validate_api_tokens(const ApiConfig& a, std::vector<ConfigError>& errors) {
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    const ApiToken& t = a.tokens[i];
    const std::string p = index_path("api.tokens", i);
    if (t.name.empty())
      add(errors, p + ".name", "missing; expected a name for logs and audit lines, e.g. viewer");
    else if (!is_valid_id(t.name))
      add(errors, p + ".name",
          "\"" + t.name +
              "\" is not a valid name; expected 1-64 of letters, digits, '_', '.', '-'");
    for (size_t j = 0; j < i; ++j)
      if (!t.name.empty() && a.tokens[j].name == t.name)
        add(errors, p + ".name",
            "\"" + t.name + "\" is listed twice (also api.tokens[" + std::to_string(j) + "])");
    if (!t.token.empty() && !t.token_file.empty())
      add(errors, p + ".token_file", "both token and token_file are set; give only one of them");
    if (std::string why; !t.token_file.empty() && ::access(t.token_file.c_str(), R_OK) == 0 &&
                         !check_regular_file(t.token_file, kMaxSecretFileBytes, &why))
      add(errors, p + ".token_file", "cannot use " + t.token_file + ": " + why);
  }
}

void validate_api(const ApiConfig& a, std::vector<ConfigError>& errors) {
  auto addr = net::SockAddr::parse(a.listen);
  if (!addr || addr->port() == 0)
    add(errors, "api.listen",
        "\"" + a.listen + "\" is not IP:PORT; expected e.g. 127.0.0.1:8788 or [::1]:8788");
  if (!a.token.empty() && !a.token_file.empty())
    add(errors, "api.token_file", "both token and token_file are set; give only one of them");
  // Read whole at startup: /dev/zero or a FIFO would never end (nor would a line without '\n').
  if (std::string why; !a.token_file.empty() && ::access(a.token_file.c_str(), R_OK) == 0 &&
                       !check_regular_file(a.token_file, kMaxSecretFileBytes, &why))
    add(errors, "api.token_file", "cannot use " + a.token_file + ": " + why);
  const bool has_cert = !a.tls_certificate.empty(), has_key = !a.tls_private_key.empty();
  if (has_cert != has_key)
    add(errors, has_cert ? "api.tls.private_key" : "api.tls.certificate",
        "api.tls needs both certificate and private_key (PEM files)");
  for (const auto& [field, file] : {std::pair{"api.tls.certificate", &a.tls_certificate},
                                    std::pair{"api.tls.private_key", &a.tls_private_key}}) {
    // Bounded like the apps' PEM files (OpenSSL reads them whole: /dev/zero would never end).
    if (std::string why; !file->empty() && !check_regular_file(*file, kMaxPemFileBytes, &why))
      add(errors, field, "cannot read " + *file + ": " + why + "; expected a readable PEM file");
  }
  if (a.request_timeout < std::chrono::seconds(1) || a.request_timeout > std::chrono::minutes(10))
    add(errors, "api.request_timeout", "must be from 1s to 10m; expected e.g. 10s");
  if (a.keepalive_timeout.count() < 0 || a.keepalive_timeout > std::chrono::minutes(10))
    add(errors, "api.keepalive_timeout",
        "must be from 0s (no keep-alive) to 10m; expected e.g. 5s");
  if (a.session_timeout < std::chrono::minutes(1) || a.session_timeout > std::chrono::days(30))
    add(errors, "api.session_timeout", "must be from 1m to 30d; expected e.g. 12h");
  if (a.session_idle_timeout.count() < 0 || a.session_idle_timeout > std::chrono::days(30) ||
      (a.session_idle_timeout.count() > 0 && a.session_idle_timeout < std::chrono::seconds(1)))
    add(errors, "api.session_idle_timeout",
        "must be 0 (no idle timeout) or from 1s to 30d; expected e.g. 1h");
  validate_api_tokens(a, errors);
  if (a.max_connections < 8)
    add(errors, "api.max_connections",
        "must be 8 or more (the API, /metrics and the dashboard share it); expected e.g. 256");
  for (size_t i = 0; i < a.server_name.size(); ++i) {
    const std::string& n = a.server_name[i];
    bool ok = !n.empty() && n.size() <= 253;
    for (char c : n)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '*');
    if (n.find('*') != std::string::npos &&
        (n.rfind("*.", 0) != 0 || n.find('*', 1) != std::string::npos))
      ok = false;
    if (!ok)
      add(errors, index_path("api.server_name", i),
          "\"" + n +
              "\" is not a host name; expected e.g. edge1.example.net or *.example.net "
              "(no port, no scheme)");
  }
}

void validate_api_zones(const std::vector<ApiZone>& zones, std::vector<ConfigError>& errors) {
  for (size_t i = 0; i < zones.size(); ++i) {
    const ApiZone& z = zones[i];
    const std::string p = index_path("api.zones", i);
    bool hex = z.id.size() == 32;
    for (char c : z.id) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex)
      add(errors, p + ".id",
          "\"" + z.id +
              "\" is not a zone id; expected Cloudflare's form, 32 lower-case hex digits such as "
              "023e105f4ecef8ad9ca31a8372d0c353");
    bool name_ok = z.name.size() <= 253;
    for (char c : z.name)
      name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.');
    if (!name_ok)
      add(errors, p + ".name", "\"" + z.name + "\" is not a zone name; expected e.g. example.com");
    for (size_t j = 0; j < i; ++j)
      if (zones[j].id == z.id)
        add(errors, p + ".id",
            "\"" + z.id + "\" is listed twice (also api.zones[" + std::to_string(j) + "])");
  }
}

void validate_fleet(const FleetConfig& f, const StoreConfig& s, std::vector<ConfigError>& errors) {
  if (f == FleetConfig{}) return;
  if (!s.is_etcd())
    add(errors, "fleet",
        "only used with store: etcd://... (a fleet of edges); the store is " + s.url);
  if (!f.token.empty() && !f.token_file.empty())
    add(errors, "fleet.token_file", "both token and token_file are set; give only one of them");
  if (std::string why; !f.ca_file.empty() && !check_regular_file(f.ca_file, kMaxPemFileBytes, &why))
    add(errors, "fleet.ca_file",
        "cannot read " + f.ca_file + ": " + why + "; expected a readable PEM CA bundle");
}

void validate_store(const StoreConfig& s, std::vector<ConfigError>& errors) {
  const bool tls = !s.tls_ca.empty() || !s.tls_certificate.empty() || !s.tls_private_key.empty();
  if (s.url == "sqlite") {
    if (tls) add(errors, "store_tls", "only used with store: etcd://...; the store is sqlite");
    return;
  }
  if (!s.is_etcd()) {
    add(errors, "store", "\"" + s.url + "\" is not sqlite or etcd://HOST:PORT[,HOST:PORT...]");
    return;
  }
  std::string rest = s.url.substr(7);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = std::min(rest.find(',', start), rest.size());
    std::string ep = rest.substr(start, comma - start);
    size_t colon = ep.rfind(':');
    std::string port = colon == std::string::npos ? "" : ep.substr(colon + 1);
    bool ok = colon != std::string::npos && colon > 0 && !port.empty() && port.size() <= 5 &&
              port.find_first_not_of("0123456789") == std::string::npos && std::stoi(port) > 0 &&
              std::stoi(port) < 65536 && ep.find('/') == std::string::npos;
    if (!ok) {
      add(errors, "store",
          "\"" + ep +
              "\" is not HOST:PORT; expected etcd://HOST:PORT[,HOST:PORT...] such as "
              "etcd://127.0.0.1:2379");
      return;
    }
    start = comma + 1;
  }
  if (s.tls_certificate.empty() != s.tls_private_key.empty())
    add(errors, s.tls_certificate.empty() ? "store_tls.certificate" : "store_tls.private_key",
        "a client certificate needs both certificate and private_key (PEM files)");
  for (const auto& [field, file] : {std::pair{"store_tls.ca", &s.tls_ca},
                                    std::pair{"store_tls.certificate", &s.tls_certificate},
                                    std::pair{"store_tls.private_key", &s.tls_private_key}}) {
    // Bounded like the apps' PEM files (OpenSSL reads them whole: /dev/zero would never end).
    if (std::string why; !file->empty() && !check_regular_file(*file, kMaxPemFileBytes, &why))
      add(errors, field, "cannot read " + *file + ": " + why + "; expected a readable PEM file");
  }
}

void check_duplicate_ids(const std::vector<std::string>& ids, const std::string& list_path,
                         const char* what, std::vector<ConfigError>& errors) {
  for (size_t i = 0; i < ids.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (!ids[i].empty() && ids[i] == ids[j]) {
        add(errors, child_path(index_path(list_path, i), "id"),
            std::string("duplicate ") + what + " id \"" + ids[i] + "\" (also " +
                index_path(list_path, j) + "); ids must be unique");
        break;
      }
}

void check_connectivity(const App& app, const std::vector<net::IpAddr>& listen,
                        const std::string& path, std::vector<ConfigError>& errors) {
  if (app.edge_ips.type != EdgeIpsType::kDynamic || !edge_addresses(app, listen).empty()) return;
  add(errors, child_path(path, "edge_ips.connectivity"),
      std::string("connectivity ") + to_string(app.edge_ips.connectivity) +
          " matches no address in edge.listen; add one of that family to edge.listen or use "
          "connectivity: all");
}

bool covers(const net::IpAddr& a, const net::IpAddr& b) {
  if (a.family() != b.family()) return false;
  return a == b || a.is_unspecified() || b.is_unspecified();
}

}  // namespace

std::string generate_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id;
  id.reserve(32);
  for (int i = 0; i < 4; ++i) {
    uint32_t r = rd();
    for (int j = 0; j < 8; ++j) {
      id += kHex[r & 0xf];
      r >>= 4;
    }
  }
  return id;
}

std::string derived_app_id(const App& app, int variant) {
  std::string key = std::string(to_string(app.proto)) + "/" + std::to_string(app.ports.first) +
                    "-" + std::to_string(app.ports.last) + "|" + to_string(app.edge_ips.type) +
                    "|" + to_string(app.edge_ips.connectivity);
  for (const auto& ip : app.edge_ips.ips) key += "|" + ip.to_string();
  if (variant > 0) key += "#" + std::to_string(variant);
  // Two FNV-1a passes with different offsets: 128 bits, stable across builds and platforms.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (uint64_t h : {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull}) {
    for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
    for (int i = 0; i < 16; ++i, h >>= 4) id += kHex[h & 0xf];
  }
  return id;
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<net::IpAddr> edge_addresses(const App& app, const std::vector<net::IpAddr>& listen) {
  if (app.edge_ips.type == EdgeIpsType::kStatic) return app.edge_ips.ips;
  std::vector<net::IpAddr> out;
  for (const auto& ip : listen) {
    if (app.edge_ips.connectivity == Connectivity::kIpv4 && !ip.is_v4()) continue;
    if (app.edge_ips.connectivity == Connectivity::kIpv6 && !ip.is_v6()) continue;
    out.push_back(ip);
  }
  return out;
}

std::optional<std::string> find_conflict(const App& a, const App& b,
                                         const std::vector<net::IpAddr>& listen) {
  if (a.proto != b.proto || a.ports.first == 0 || b.ports.first == 0) return std::nullopt;
  if (a.ports.last < b.ports.first || b.ports.last < a.ports.first) return std::nullopt;
  uint16_t port = std::max(a.ports.first, b.ports.first);
  for (const auto& x : edge_addresses(a, listen))
    for (const auto& y : edge_addresses(b, listen))
      if (covers(x, y)) {
        // Name the more specific address: "127.0.0.1" says more than "0.0.0.0".
        const net::IpAddr& shown = x.is_unspecified() ? y : x;
        return std::string(to_string(a.proto)) + "/" + std::to_string(port) + " on " +
               shown.to_string();
      }
  return std::nullopt;
}

bool validate_protection(const ProtectionConfig& p, const std::string& path,
                         std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  const AutobanConfig& ab = p.autoban;
  if (ab.violations > 0 && ab.window.count() <= 0)
    add(errors, child_path(path, "autoban.window"),
        "must be more than 0 when violations is set; expected e.g. 10s");
  if (ab.violations > 0 && ab.duration.count() <= 0)
    add(errors, child_path(path, "autoban.duration"),
        "must be more than 0 when violations is set; expected e.g. 10m (violations: 0 turns "
        "autoban off)");
  if (p.handshake_timeout.count() < 0)
    add(errors, child_path(path, "handshake_timeout"), "must not be negative (0 = no limit)");
  if (p.ipv6_prefix < 1 || p.ipv6_prefix > 128)
    add(errors, child_path(path, "ipv6_prefix"),
        std::to_string(p.ipv6_prefix) +
            " is out of range; expected a prefix length 1-128, e.g. 64 (one source per /64) or "
            "128 (one per address)");
  for (size_t i = 0; i < p.udp_reflection_ports.size(); ++i)
    if (p.udp_reflection_ports[i] == 0)
      add(errors, index_path(child_path(path, "udp_reflection_ports"), i),
          "port 0 is out of range; expected 1-65535");
  const XdpConfig& x = p.xdp;
  if (x.mode != XdpMode::kOff && x.interface.empty())
    add(errors, child_path(path, "xdp.interface"),
        std::string("missing; xdp mode ") + to_string(x.mode) +
            " needs the interface to attach to, e.g. eth0");
  if (!x.interface.empty() &&
      (x.interface.size() > 15 || x.interface.find_first_of(" /\t") != std::string::npos))
    add(errors, child_path(path, "xdp.interface"),
        "\"" + x.interface + "\" is not an interface name; expected e.g. eth0 (at most 15 chars)");
  return errors.size() == before;
}

bool validate_access_rule(IpAccessRule& rule, const std::string& path,
                          std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  if (rule.id.empty()) {
    rule.id = generate_id();
  } else if (!is_valid_id(rule.id)) {
    add(errors, child_path(path, "id"),
        "\"" + rule.id + "\" is not a valid id; expected 1-64 of letters, digits, '_', '.', '-'");
  }
  const std::string vpath = child_path(path, "configuration.value");
  const std::string& v = rule.value;
  auto ip = net::IpAddr::parse(v);
  switch (rule.target) {
    case AccessTarget::kIp:
      if (!ip || !ip->is_v4())
        add(errors, vpath,
            "\"" + v +
                "\" is not an IPv4 address; target ip takes e.g. "
                "198.51.100.4 (ip6 for IPv6, ip_range for a CIDR)");
      break;
    case AccessTarget::kIp6:
      if (!ip || !ip->is_v6())
        add(errors, vpath,
            "\"" + v +
                "\" is not an IPv6 address; target ip6 takes e.g. "
                "2001:db8::1 (ip for IPv4, ip_range for a CIDR)");
      break;
    case AccessTarget::kIpRange: {
      std::string why;
      if (!parse_cidr(v, nullptr, nullptr, &why)) add(errors, vpath, why);
      break;
    }
    case AccessTarget::kCountry:
      if (v.size() != 2 || !is_upper_letter(v[0]) || !is_upper_letter(v[1]))
        add(errors, vpath,
            "\"" + v +
                "\" is not a country code; expected two upper-case "
                "letters (ISO 3166-1 alpha-2) such as US or DE");
      break;
    case AccessTarget::kAsn: {
      std::string_view digits = v;
      if (digits.size() > 2 && (digits.substr(0, 2) == "AS" || digits.substr(0, 2) == "as"))
        digits.remove_prefix(2);
      uint64_t n = 0;
      bool ok = !digits.empty() && digits.size() <= 10;
      for (char c : digits) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (!ok || n == 0 || n > 4294967295ull)
        add(errors, vpath, "\"" + v + "\" is not an AS number; expected e.g. AS13335 or 13335");
      break;
    }
  }
  return errors.size() == before;
}

bool validate(Config& cfg, std::vector<ConfigError>& errors) {
  size_t before = errors.size();
  validate_edge(cfg.edge, errors);
  validate_api(cfg.api, errors);
  validate_api_zones(cfg.api.zones, errors);
  validate_store(cfg.store, errors);
  validate_fleet(cfg.fleet, cfg.store, errors);
  std::vector<std::string> ids;
  for (size_t i = 0; i < cfg.ip_access_rules.size(); ++i) {
    bool had_id = !cfg.ip_access_rules[i].id.empty();
    validate_access_rule(cfg.ip_access_rules[i], index_path("ip_access_rules", i), errors);
    ids.push_back(had_id ? cfg.ip_access_rules[i].id : "");
  }
  check_duplicate_ids(ids, "ip_access_rules", "rule", errors);
  validate_protection(cfg.protection, "protection", errors);
  // Zone-wide only (an app override cannot set it), so checked here rather than per app.
  if (cfg.protection.source_table_size < kMinSourceTableSize ||
      cfg.protection.source_table_size > kMaxSourceTableSize)
    add(errors, "protection.source_table_size",
        std::to_string(cfg.protection.source_table_size) + " is out of range; expected " +
            std::to_string(kMinSourceTableSize) + "-" + std::to_string(kMaxSourceTableSize) +
            " entries per worker (about 200 bytes each), e.g. 100000");
  validate_events(cfg.events, errors);
  validate_analytics(cfg.analytics, errors);
  ids.clear();
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    App& app = cfg.apps[i];
    std::string path = index_path("apps", i);
    validate_app(app, path, errors);
    check_connectivity(app, cfg.edge.listen, path, errors);
    ids.push_back(app.id);
  }
  check_duplicate_ids(ids, "apps", "app", errors);
  validate_anycast(cfg, errors);
  validate_dns_publish(cfg.dns_publish, errors);
  for (size_t i = 0; i < cfg.apps.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (auto where = find_conflict(cfg.apps[i], cfg.apps[j], cfg.edge.listen)) {
        add(errors, child_path(index_path("apps", i), "protocol"),
            protocol_text(cfg.apps[i]) + " overlaps app \"" + cfg.apps[j].id + "\" (" +
                index_path("apps", j) + ", " + protocol_text(cfg.apps[j]) + ") at " + *where +
                "; two apps cannot share an edge address and port");
        break;
      }
  check_safety(cfg, host_addresses, errors);
  return errors.size() == before;
}

}  // namespace rampart::config
