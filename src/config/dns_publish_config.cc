// The `dns_publish` section: YAML parsing, validation, name rules.
#include "config/dns_publish_config.h"

#include <algorithm>
#include <cctype>

#include "config/file_read.h"

namespace rampart::config {
namespace {

constexpr const char* kAlgorithms[] = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
                                       "hmac-sha256", "hmac-sha384", "hmac-sha512"};

bool is_base64(const std::string& s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // '=' only at the end
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return false;
  }
  return pad <= 2;
}

}  // namespace

void parse_dns_publish(YamlReader& rd, const YAML::Node& node, const std::string& path,
                       DnsPublishConfig* out) {
  if (!YamlReader::present(node) || !rd.check_map(node, path, {"server", "zone", "tsig", "ttl"}))
    return;
  rd.get_string(node, "server", path, &out->server);
  rd.get_string(node, "zone", path, &out->zone);
  rd.get_uint(node, "ttl", path, &out->ttl, kMaxDnsPublishTtl);
  const YAML::Node tsig = node["tsig"];
  const std::string tsig_path = child_path(path, "tsig");
  if (YamlReader::present(tsig) &&
      rd.check_map(tsig, tsig_path, {"name", "algorithm", "secret_file"})) {
    rd.get_string(tsig, "name", tsig_path, &out->tsig_name);
    rd.get_string(tsig, "algorithm", tsig_path, &out->tsig_algorithm);
    rd.get_string(tsig, "secret_file", tsig_path, &out->tsig_secret_file);
  }
  if (out->server.empty())
    rd.error(child_path(path, "server"),
             "missing; expected the zone's primary, e.g. 192.0.2.53:53 (or leave dns_publish out)");
}

void validate_dns_publish(const DnsPublishConfig& d, std::vector<ConfigError>& errors) {
  if (!d.enabled()) return;
  const std::string path = "dns_publish";
  if (!parse_dns_server(d.server))
    errors.push_back({child_path(path, "server"),
                      "\"" + d.server +
                          "\" is not an address with an optional port; expected e.g. "
                          "192.0.2.53:53 or [2001:db8::53]:53"});
  if (d.zone.empty() || !is_dns_name(d.zone) || d.zone.find('*') != std::string::npos)
    errors.push_back({child_path(path, "zone"),
                      "\"" + d.zone + "\" is not a zone name; expected e.g. example.com."});
  const std::string tsig = child_path(path, "tsig");
  if (d.tsig_name.empty() || !is_dns_name(d.tsig_name))
    errors.push_back({child_path(tsig, "name"),
                      "\"" + d.tsig_name +
                          "\" is not a key name; expected the name of the TSIG key the server "
                          "knows, e.g. rampart"});
  if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), d.tsig_algorithm) ==
      std::end(kAlgorithms))
    errors.push_back({child_path(tsig, "algorithm"),
                      "\"" + d.tsig_algorithm +
                          "\" is not a TSIG algorithm; expected hmac-sha256 (or hmac-sha512, "
                          "hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5)"});
  if (d.tsig_secret_file.empty())
    errors.push_back({child_path(tsig, "secret_file"),
                      "missing; expected the file holding the key's base64 secret alone"});
  if (d.ttl == 0)
    errors.push_back({child_path(path, "ttl"), "expected 1-86400 seconds, e.g. 60; got 0"});
}

std::string fqdn(const std::string& name) {
  if (name.empty()) return name;
  std::string out = name;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.back() != '.') out += '.';
  return out;
}

bool is_dns_name(const std::string& name) {
  std::string n = name;
  if (!n.empty() && n.back() == '.') n.pop_back();
  if (n.empty() || n.size() > 253) return false;
  if (n.rfind("*.", 0) == 0) n = n.substr(2);
  size_t start = 0;
  while (start <= n.size()) {
    size_t end = n.find('.', start);
    if (end == std::string::npos) end = n.size();
    const size_t len = end - start;
    if (len == 0 || len > 63) return false;
    for (size_t i = start; i < end; ++i) {
      const unsigned char c = static_cast<unsigned char>(n[i]);
      if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
    }
    start = end + 1;
  }
  return true;
}

bool in_zone(const std::string& name, const std::string& zone) {
  const std::string n = fqdn(name), z = fqdn(zone);
  if (z.empty() || n.size() < z.size()) return false;
  if (n == z) return true;
  return n.size() > z.size() && n.compare(n.size() - z.size(), z.size(), z) == 0 &&
         n[n.size() - z.size() - 1] == '.';
}

std::optional<DnsServer> parse_dns_server(const std::string& text) {
  DnsServer s;
  std::string host = text, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
    if (port.empty()) return std::nullopt;
  }
  auto ip = net::IpAddr::parse(host);
  if (!ip || ip->is_unspecified()) return std::nullopt;
  s.ip = *ip;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return std::nullopt;
    const unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return std::nullopt;
    s.port = static_cast<uint16_t>(p);
  }
  return s;
}

bool read_tsig_secret(const std::string& path, std::string* secret, std::string* error) {
  std::string text;
  if (!read_regular_file(path, kMaxSecretFileBytes, &text, error)) {
    *error = "dns_publish.tsig.secret_file " + path + ": " + *error;
    return false;
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  const size_t last = text.find_last_not_of(" \t\r\n");
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (!is_base64(text)) {
    *error = "dns_publish.tsig.secret_file " + path +
             ": expected the key's base64 secret alone (as keymgr or tsig-keygen print it), "
             "e.g. 2Rzb2...Q==";
    return false;
  }
  *secret = std::move(text);
  return true;
}

std::vector<std::string> dns_publish_notes(const Config& cfg) {
  std::vector<std::string> notes;
  const DnsPublishConfig& d = cfg.dns_publish;
  if (!d.enabled()) return notes;
  bool dynamic = false;
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const App& app = cfg.apps[i];
    if (app.dns.name.empty()) continue;
    if (!in_zone(app.dns.name, d.zone))
      notes.push_back("apps[" + std::to_string(i) + "] (" + app.id + "): dns.name " + app.dns.name +
                      " is outside dns_publish.zone " + fqdn(d.zone) + "; it is not published");
    dynamic = dynamic || app.edge_ips.type == EdgeIpsType::kDynamic;
  }
  if (dynamic && cfg.edge.public_ips.empty())
    notes.push_back(
        "edge.public_ips is empty: apps with dynamic edge_ips publish no address (set the "
        "addresses clients reach this edge on)");
  return notes;
}

}  // namespace rampart::config
