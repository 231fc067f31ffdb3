#include "config/safety.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <optional>

#include "config/validate.h"
#include "config/yaml_reader.h"

namespace rampart::config {
namespace {

bool ports_overlap(const PortRange& a, const PortRange& b) {
  return a.first != 0 && b.first != 0 && !(a.last < b.first || b.last < a.first);
}

// Host addresses asked once, and only when a wildcard listener makes them matter.
class LazyHost {
 public:
  explicit LazyHost(const HostAddresses& provider) : provider_(provider) {}
  bool has(const net::IpAddr& ip) {
    if (!addrs_) addrs_ = provider_ ? provider_() : std::vector<net::IpAddr>{};
    for (const auto& a : *addrs_)
      if (a.unmapped() == ip) return true;
    return false;
  }

 private:
  const HostAddresses& provider_;
  std::optional<std::vector<net::IpAddr>> addrs_;
};

// Whether a connection to `origin` reaches a socket bound to `listen`: the same address, or any
// local address (loopback, one of the host's) for a wildcard of its family.
bool reaches(const net::IpAddr& listen, const net::IpAddr& origin_ip, LazyHost& host) {
  const net::IpAddr o = origin_ip.unmapped();
  if (!listen.is_unspecified()) return listen.unmapped() == o;
  if (listen.family() != o.family()) return false;
  return o.is_loopback() || o.is_unspecified() || host.has(o);
}

// The API binds [::] dual-stack: a wildcard IPv6 API also takes IPv4 connections.
bool api_reaches(const net::IpAddr& api, const net::IpAddr& origin_ip, LazyHost& host) {
  const net::IpAddr o = origin_ip.unmapped();
  if (api.is_unspecified() && api.is_v6() && o.is_v4())
    return o.is_loopback() || o.is_unspecified() || host.has(o);
  return reaches(api, o, host);
}

void check_api_listen(const Config& cfg, std::vector<ConfigError>& errors) {
  auto api = net::SockAddr::parse(cfg.api.listen);
  if (!api || api->port() == 0) return;  // validate_api says why
  const net::IpAddr api_ip = api->ip().unmapped();
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const App& app = cfg.apps[i];
    if (app.proto != Proto::kTcp || !app.ports.contains(api->port())) continue;
    for (const auto& ip : edge_addresses(app, cfg.edge.listen)) {
      const net::IpAddr a = ip.unmapped();
      // The API binds [::] dual-stack: it then holds the port on IPv4 too.
      const bool api_any = api_ip.is_unspecified() && (api_ip.is_v6() || a.is_v4());
      const bool collide =
          api_any || (a.family() == api_ip.family() && (a == api_ip || a.is_unspecified()));
      if (!collide) continue;
      errors.push_back(
          {child_path(index_path("apps", i), "protocol"),
           "tcp/" + std::to_string(api->port()) + " on " + a.to_string() +
               " collides with api.listen (" + cfg.api.listen +
               "), the edge's own REST API: the kernel would share the port between the two "
               "and hand API requests, bearer token included, to the app's origin; use another "
               "port for the app or move api.listen",
           kErrListenConflict});
      break;
    }
  }
}

void check_self_loops(const Config& cfg, LazyHost& host, std::vector<ConfigError>& errors) {
  auto api = net::SockAddr::parse(cfg.api.listen);
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const App& app = cfg.apps[i];
    for (size_t k = 0; k < app.origin_direct.size(); ++k) {
      const OriginDirect& o = app.origin_direct[k];
      if (o.ports.first == 0 || o.ip.is_unspecified()) continue;  // validate_app says why
      const std::string path = index_path(child_path(index_path("apps", i), "origin_direct"), k);
      std::string why;
      if (app.proto == Proto::kTcp && api && o.ports.contains(api->port()) &&
          api_reaches(api->ip(), o.ip, host)) {
        why = "is this edge's own API (api.listen " + cfg.api.listen +
              "): the app would expose the API to its clients";
      }
      for (size_t j = 0; j < cfg.apps.size() && why.empty(); ++j) {
        const App& other = cfg.apps[j];
        if (other.proto != app.proto || !ports_overlap(other.ports, o.ports)) continue;
        for (const auto& ip : edge_addresses(other, cfg.edge.listen)) {
          if (!reaches(ip, o.ip, host)) continue;
          why = "is this edge's own listener (app \"" + other.id + "\", " + protocol_text(other) +
                " on " + ip.to_string() +
                "): every connection would loop through the edge until its descriptors run out";
          break;
        }
      }
      if (!why.empty())
        errors.push_back({path,
                          "origin \"" + o.text + "\" " + why + "; point the app at the service",
                          kErrOriginAddress});
    }
  }
}

void check_port_caps(const Config& cfg, std::vector<ConfigError>& errors) {
  const EdgeConfig& e = cfg.edge;
  uint64_t total = 0;
  bool total_reported = false;
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const App& app = cfg.apps[i];
    if (app.ports.first == 0 || app.ports.first > app.ports.last) continue;
    const std::string path = child_path(index_path("apps", i), "protocol");
    if (e.max_ports_per_app > 0 && app.ports.size() > e.max_ports_per_app) {
      errors.push_back({path, "port range of " + std::to_string(app.ports.size()) +
                                  " ports exceeds edge.max_ports_per_app (" +
                                  std::to_string(e.max_ports_per_app) +
                                  "); every port is a listening socket per worker"});
      continue;  // counted in the total neither: one error per app
    }
    total += uint64_t{app.ports.size()} * edge_addresses(app, e.listen).size();
    if (e.max_ports > 0 && total > e.max_ports && !total_reported) {
      total_reported = true;
      errors.push_back({path, "the apps' listening ports reach " + std::to_string(total) +
                                  " with this app (each port counted once per edge address), "
                                  "over edge.max_ports (" +
                                  std::to_string(e.max_ports) + ")"});
    }
  }
}

}  // namespace

OriginScope origin_scope(const net::IpAddr& addr) {
  const net::IpAddr ip = addr.unmapped();
  const uint8_t* b = ip.bytes();
  if (ip.is_v4()) {
    if (b[0] == 0) return OriginScope::kThisNetwork;
    if (b[0] == 127) return OriginScope::kLoopback;
    if (b[0] == 169 && b[1] == 254)
      return b[2] == 169 && b[3] == 254 ? OriginScope::kMetadata : OriginScope::kLinkLocal;
    if (b[0] == 100 && b[1] == 100 && b[2] == 100 && b[3] == 200) return OriginScope::kMetadata;
    if ((b[0] & 0xf0) == 224) return OriginScope::kMulticast;
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return OriginScope::kBroadcast;
    return OriginScope::kUnicast;
  }
  if (ip.is_loopback()) return OriginScope::kLoopback;
  if (ip.is_unspecified()) return OriginScope::kThisNetwork;
  if (b[0] == 0xff) return OriginScope::kMulticast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return OriginScope::kLinkLocal;
  // fd00:ec2::254 (AWS's IMDS over IPv6).
  static constexpr uint8_t kAwsV6[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                         0,    0, 0,    0,    0, 0, 0x02, 0x54};
  bool aws = true;
  for (int i = 0; i < 16 && aws; ++i) aws = b[i] == kAwsV6[i];
  return aws ? OriginScope::kMetadata : OriginScope::kUnicast;
}

const char* scope_text(OriginScope s) {
  switch (s) {
    case OriginScope::kUnicast:
      return "a unicast address";
    case OriginScope::kLoopback:
      return "a loopback address (the edge host itself)";
    case OriginScope::kLinkLocal:
      return "a link-local address";
    case OriginScope::kMetadata:
      return "a cloud metadata service address";
    case OriginScope::kMulticast:
      return "a multicast address";
    case OriginScope::kBroadcast:
      return "the broadcast address";
    case OriginScope::kThisNetwork:
      return "an address of 0.0.0.0/8 (\"this network\")";
  }
  return "an address";
}

std::vector<net::IpAddr> host_addresses() {
  std::vector<net::IpAddr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    const int family = it->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    out.push_back(net::SockAddr::from(it->ifa_addr, len).ip().unmapped());
  }
  freeifaddrs(list);
  return out;
}

void check_safety(const Config& cfg, const HostAddresses& host, std::vector<ConfigError>& errors) {
  LazyHost lazy(host);
  check_api_listen(cfg, errors);
  check_self_loops(cfg, lazy, errors);
  check_port_caps(cfg, errors);
}

bool check_api_origins(const App& app, const HostAddresses& host,
                       std::vector<ConfigError>& errors) {
  const size_t before = errors.size();
  LazyHost lazy(host);
  for (size_t k = 0; k < app.origin_direct.size(); ++k) {
    const OriginDirect& o = app.origin_direct[k];
    const OriginScope s = origin_scope(o.ip);
    std::string what;
    if (s == OriginScope::kLoopback || s == OriginScope::kLinkLocal || s == OriginScope::kMetadata)
      what = scope_text(s);
    else if (s == OriginScope::kUnicast && lazy.has(o.ip.unmapped()))
      what = "an address of the edge host itself";
    if (what.empty()) continue;
    errors.push_back({index_path("origin_direct", k),
                      "origin \"" + o.text + "\" is " + what +
                          ": apps written through the API may not point at the edge host, "
                          "link-local addresses or cloud metadata services; set "
                          "api.allow_private_origins: true in the config file to allow it",
                      kErrOriginAddress});
  }
  return errors.size() == before;
}

std::vector<std::string> safety_notes(const Config& cfg) {
  std::vector<std::string> notes;
  for (size_t i = 0; i < cfg.apps.size(); ++i)
    for (size_t k = 0; k < cfg.apps[i].origin_direct.size(); ++k) {
      const OriginDirect& o = cfg.apps[i].origin_direct[k];
      const OriginScope s = origin_scope(o.ip);
      if (s != OriginScope::kLinkLocal && s != OriginScope::kMetadata) continue;
      notes.push_back(index_path(child_path(index_path("apps", i), "origin_direct"), k) +
                      ": origin \"" + o.text + "\" is " + scope_text(s) +
                      "; accepted in the config file, refused through the API unless "
                      "api.allow_private_origins is true");
    }
  return notes;
}

}  // namespace rampart::config
