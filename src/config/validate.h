// Semantic checks of a Config or App (from YAML or the JSON API), with Spectrum's error codes.
// Free functions over caller-owned values: any thread may call them on its own objects.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/api_errors.h"
#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::config {

// Spectrum's error codes (kErrOriginConfig, kErrOriginDns, ...): config/api_errors.h.

// Appends every problem to `errors`; fills defaults (edge.listen = 0.0.0.0 and :: when empty,
// missing app and rule ids). True when nothing was appended.
bool validate(Config& cfg, std::vector<ConfigError>& errors);
// One app on its own (no cross-app checks). path_prefix is "apps[3]" or "" for the API.
bool validate_app(App& app, const std::string& path_prefix, std::vector<ConfigError>& errors);
// protection.source_table_size bounds (entries per worker).
inline constexpr uint64_t kMinSourceTableSize = 1000;
inline constexpr uint64_t kMaxSourceTableSize = 10'000'000;
bool validate_protection(const ProtectionConfig& p, const std::string& path,
                         std::vector<ConfigError>& errors);
bool validate_access_rule(IpAccessRule& rule, const std::string& path,
                          std::vector<ConfigError>& errors);

// 32 lowercase hex characters from std::random_device.
std::string generate_id();
// A 32-hex id derived from what identifies an app at the edge (protocol, ports, edge_ips), for
// apps from the config file: it stays the same across reloads and restarts, so sessions,
// origin health and analytics keep following the app. Unique among valid apps, since two apps
// with the same protocol, ports and edge addresses overlap.
// `variant` > 0 gives another id for the same app (to step around a collision).
std::string derived_app_id(const App& app, int variant = 0);
// Ids written by users: 1-64 characters of [A-Za-z0-9_.-].
bool is_valid_id(std::string_view id);

// The addresses an app listens on: its static ips, or edge.listen filtered by connectivity.
std::vector<net::IpAddr> edge_addresses(const App& app, const std::vector<net::IpAddr>& listen);
// When `a` and `b` would listen on the same protocol, port and address (0.0.0.0 covers every
// IPv4 address, :: every IPv6 one), a description such as "tcp/22 on 0.0.0.0"; else nullopt.
std::optional<std::string> find_conflict(const App& a, const App& b,
                                         const std::vector<net::IpAddr>& listen);

}  // namespace rampart::config
