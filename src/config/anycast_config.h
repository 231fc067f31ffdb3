// The `edge.anycast` section: which addresses a local BIRD announces while this edge is healthy
// (docs/anycast.md). Pure functions: any thread may call them; none throws.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "config/yaml_reader.h"

namespace rampart::config {

inline constexpr Duration kMinAnycastCheckInterval = std::chrono::milliseconds(100);
inline constexpr Duration kMaxAnycastCheckInterval = std::chrono::seconds(60);
inline constexpr Duration kMaxConvergenceWait = std::chrono::minutes(5);

// `edge.anycast` is either a list of addresses (the short form) or a map with `addresses`,
// `bird_socket`, `protocol`, `check_interval` and `convergence_wait`.
void parse_anycast(YamlReader& rd, const YAML::Node& node, const std::string& path,
                   AnycastConfig* out);

// Appends the problems of cfg.edge.anycast (paths "edge.anycast.*"). Needs the whole config: an
// anycast address must be one the edge listens on (edge.listen, a wildcard of its family, or an
// app's static edge_ips), or routers would send clients to an address nothing accepts on.
void validate_anycast(const Config& cfg, std::vector<ConfigError>& errors);

// "10.77.9.1/32", "2001:db8::1/128": the prefix BIRD's static protocol should hold for `ip`.
std::string anycast_prefix(const net::IpAddr& ip);

}  // namespace rampart::config
