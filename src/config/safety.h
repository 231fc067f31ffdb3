// Config safety (docs/hardening.md, "Config safety"): the checks that keep a config from turning
// the edge against itself. An app on the API's own port (both sockets use SO_REUSEPORT, so the
// kernel would share the port and hand API requests, bearer token included, to the app's
// origin); an origin that is one of the edge's own listeners (every connection loops through the
// edge until its descriptors run out); origins on the edge host or its cloud's metadata service
// written through the API; port ranges that would take every descriptor. Pure functions over
// caller-owned values, except host_addresses(), which reads the interfaces; any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/api_errors.h"
#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::config {

// The API's conflict code (409) for an edge address and port claimed twice: kErrListenConflict
// (config/api_errors.h).

// What an origin address is, for the rules below. kUnicast includes RFC 1918 and ULA ranges:
// private networks are where origins normally live.
enum class OriginScope {
  kUnicast,
  kLoopback,     // 127.0.0.0/8, ::1: the edge host itself
  kLinkLocal,    // 169.254.0.0/16, fe80::/10
  kMetadata,     // cloud metadata services: 169.254.169.254, fd00:ec2::254, 100.100.100.200
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kBroadcast,    // 255.255.255.255
  kThisNetwork,  // 0.0.0.0/8 (Linux connects 0.0.0.0 to itself)
};
// IPv4-mapped IPv6 addresses are judged as the IPv4 address.
OriginScope origin_scope(const net::IpAddr& ip);
// "a loopback address", "the cloud metadata service", ...
const char* scope_text(OriginScope s);
// Multicast, broadcast and 0.0.0.0/8 can never be an origin (TCP cannot connect to them; UDP
// would fan a client's datagrams out to a network): refused everywhere.
inline bool never_an_origin(OriginScope s) {
  return s == OriginScope::kMulticast || s == OriginScope::kBroadcast ||
         s == OriginScope::kThisNetwork;
}

// The addresses of this host's interfaces (getifaddrs); empty when they cannot be read.
std::vector<net::IpAddr> host_addresses();
using HostAddresses = std::function<std::vector<net::IpAddr>()>;

// Appends the zone-wide safety errors of `cfg` (whose edge.listen is filled in):
// - a TCP app listener on api.listen's address and port (a wildcard on either side collides
//   with every address of its family; [::] also with IPv4, as the API binds it dual-stack):
//   apps[i].protocol, code 10009;
// - an origin that is one of the edge's own listeners, or api.listen (an origin at any address
//   of this host, `host` asked only when needed, reaches a wildcard listener):
//   apps[i].origin_direct[k], code 11002;
// - an app's port range over edge.max_ports_per_app, and all apps' ports (each counted once per
//   edge address) over edge.max_ports: apps[i].protocol.
void check_safety(const Config& cfg, const HostAddresses& host, std::vector<ConfigError>& errors);

// The API's rule (api.allow_private_origins off): origins of an app written through the API may
// not be on the edge host (loopback, an address of this host) or link-local (metadata
// included). Appends one error per origin (path "origin_direct[k]", code 11002).
bool check_api_origins(const App& app, const HostAddresses& host, std::vector<ConfigError>& errors);

// Notes for `rampart check` (not errors): file apps whose origins the API would refuse for being
// link-local or a metadata service. Loopback origins are not noted: an origin on the edge host is
// a normal setup in the operator's own file.
std::vector<std::string> safety_notes(const Config& cfg);

}  // namespace rampart::config
