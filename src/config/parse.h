// Config parsing: YAML text -> Config (with ${ENV} expansion, defaults and validation), plus the
// value parsers that the JSON API reuses. Pure functions: any thread may call them; none throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/duration.h"
#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::config {

struct LoadResult {
  // Set when errors is empty, or (tolerate_unavailable) when every error is `unavailable`.
  std::optional<Config> config;
  std::vector<ConfigError> errors;  // every problem found, in document order
  bool ok() const { return config.has_value(); }
};

// Parses YAML text, expands ${ENV_VAR} and ${ENV_VAR:-default} in scalars, fills defaults, then
// validates (validate.h). A YAML syntax error is one error naming line and column.
// tolerate_unavailable (rampart serve, at start and on SIGHUP): a config whose only problems are
// files that cannot be used now (ConfigError::unavailable: a removed certificate) is still
// returned, its errors listed; the data plane then disables those apps, never the edge.
LoadResult parse_yaml(std::string_view text, bool tolerate_unavailable = false);
// As parse_yaml(), reading `path` (a regular file of at most 4 MiB: /dev/zero, a FIFO or a
// larger file is refused at once); a file that cannot be used is one error whose path is the
// file name, and errors that have no config path (syntax errors) get the file name as path.
LoadResult load_file(const std::string& path, bool tolerate_unavailable = false);

// The value parsers below return nullopt/false on bad input; when `error` is given it receives
// a message saying what was wrong and what was expected (without the field path).

// "22" or "1000-2000"; ports 1-65535, first <= last.
std::optional<PortRange> parse_port_range(std::string_view text, std::string* error = nullptr);
// "tcp/22", "udp/1000-2000".
bool parse_protocol(std::string_view text, Proto* proto, PortRange* ports,
                    std::string* error = nullptr);
// "tcp://1.2.3.4:22", "tcp://[2001:db8::1]:22", "udp://1.2.3.4:3000-4000". The scheme must be
// `expected`; IPv6 must be bracketed; hostnames and the unspecified address are refused.
std::optional<OriginDirect> parse_origin_direct(std::string_view text, Proto expected,
                                                std::string* error = nullptr);
// "198.51.100.0/24", "2001:db8::/32"; host bits must be zero. prefix_len may be null.
bool parse_cidr(std::string_view text, net::IpAddr* network, int* prefix_len,
                std::string* error = nullptr);
// A DNS name: labels of letters, digits, '-' and '_' (1-63 chars each), 253 chars at most,
// optional trailing dot; `allow_wildcard` accepts a leading "*.".
bool is_valid_hostname(std::string_view name, bool allow_wildcard = false);
// Replaces ${NAME} with the environment variable's value ("" when unset) and ${NAME:-default}
// with the default when the variable is unset or empty; "$${" is a literal "${".
std::optional<std::string> expand_env(std::string_view text, std::string* error = nullptr);

}  // namespace rampart::config
