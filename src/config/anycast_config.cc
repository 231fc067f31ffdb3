// The `edge.anycast` section: YAML parsing and validation.
#include "config/anycast_config.h"

#include "config/duration.h"

namespace rampart::config {
namespace {

constexpr size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

void parse_addresses(YamlReader& rd, const YAML::Node& node, const std::string& path,
                     std::vector<net::IpAddr>* out) {
  if (!rd.check_list(node, path, "a list of IP addresses such as [\"192.0.2.1\"]")) return;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = index_path(path, i);
    auto text = rd.scalar(node[i], item_path, "an IP address");
    if (!text) continue;
    if (auto ip = net::IpAddr::parse(*text)) {
      out->push_back(*ip);
    } else {
      rd.error(item_path, "\"" + *text +
                              "\" is not an IP address; expected e.g. 192.0.2.1 or 2001:db8::1 "
                              "(one address, announced as a /32 or /128)");
    }
  }
}

// A BIRD protocol name, or a pattern of names with * and ? (one static protocol per address
// family: "rampart_anycast*" for rampart_anycast4 and rampart_anycast6).
bool is_protocol_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  if (s[0] >= '0' && s[0] <= '9') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '*' || c == '?'))
      return false;
  return true;
}

// True when an app listening on `listen` (edge_ips dynamic) or on its static ips accepts
// connections to `ip`.
bool accepted_on(const Config& cfg, const net::IpAddr& ip) {
  for (const auto& l : cfg.edge.listen)
    if (l == ip || (l.is_unspecified() && l.is_v4() == ip.is_v4())) return true;
  for (const auto& app : cfg.apps)
    if (app.edge_ips.type == EdgeIpsType::kStatic)
      for (const auto& s : app.edge_ips.ips)
        if (s == ip) return true;
  return false;
}

}  // namespace

void parse_anycast(YamlReader& rd, const YAML::Node& node, const std::string& path,
                   AnycastConfig* out) {
  if (!YamlReader::present(node)) return;
  if (node.IsSequence()) {
    parse_addresses(rd, node, path, &out->addresses);
    return;
  }
  if (!rd.check_map(node, path,
                    {"addresses", "bird_socket", "protocol", "check_interval", "convergence_wait"}))
    return;
  if (const YAML::Node a = node["addresses"]; YamlReader::present(a))
    parse_addresses(rd, a, child_path(path, "addresses"), &out->addresses);
  rd.get_string(node, "bird_socket", path, &out->bird_socket);
  rd.get_string(node, "protocol", path, &out->protocol);
  rd.get_duration(node, "check_interval", path, &out->check_interval);
  rd.get_duration(node, "convergence_wait", path, &out->convergence_wait);
}

void validate_anycast(const Config& cfg, std::vector<ConfigError>& errors) {
  const AnycastConfig& a = cfg.edge.anycast;
  const std::string path = "edge.anycast";
  for (size_t i = 0; i < a.addresses.size(); ++i) {
    const net::IpAddr& ip = a.addresses[i];
    const std::string item = index_path(child_path(path, "addresses"), i);
    bool duplicate = false;
    for (size_t j = 0; j < i; ++j) duplicate = duplicate || a.addresses[j] == ip;
    if (duplicate) {
      errors.push_back({item, ip.to_string() + " is listed twice; give each address once"});
    } else if (ip.is_unspecified() || ip.is_loopback()) {
      errors.push_back({item, ip.to_string() +
                                  " cannot be announced; expected the service address that "
                                  "clients connect to, e.g. 192.0.2.1"});
    } else if (!accepted_on(cfg, ip)) {
      errors.push_back(
          {item, ip.to_string() + " is not an address the edge listens on; add it (or " +
                     (ip.is_v4() ? "0.0.0.0" : "::") +
                     ") to edge.listen, or routers would send clients to a closed address"});
    }
  }
  if (a.addresses.empty()) return;  // the rest matters only when anycast is on
  if (a.bird_socket.empty() || a.bird_socket.front() != '/')
    errors.push_back({child_path(path, "bird_socket"),
                      "\"" + a.bird_socket +
                          "\" is not an absolute path; expected BIRD's control socket, e.g. "
                          "/run/bird/bird.ctl"});
  else if (a.bird_socket.size() > kMaxUnixPath)
    errors.push_back({child_path(path, "bird_socket"),
                      "longer than 107 bytes (a unix socket "
                      "path limit)"});
  if (!is_protocol_name(a.protocol))
    errors.push_back({child_path(path, "protocol"),
                      "\"" + a.protocol +
                          "\" is not a BIRD protocol name; expected letters, digits and '_' (a "
                          "pattern may use * and ?), e.g. rampart_anycast"});
  if (a.check_interval < kMinAnycastCheckInterval || a.check_interval > kMaxAnycastCheckInterval)
    errors.push_back(
        {child_path(path, "check_interval"),
         "expected 100ms to 60s, e.g. 500ms; got " + format_duration(a.check_interval)});
  if (a.convergence_wait.count() < 0 || a.convergence_wait > kMaxConvergenceWait)
    errors.push_back({child_path(path, "convergence_wait"),
                      "expected 0s to 5m, e.g. 2s; got " + format_duration(a.convergence_wait)});
}

std::string anycast_prefix(const net::IpAddr& ip) {
  return ip.to_string() + (ip.is_v4() ? "/32" : "/128");
}

}  // namespace rampart::config
