// The `dns_publish` section and the names it publishes (docs/dns_publish.md): YAML parsing,
// validation and the pure name rules the publisher and `rampart check` share. Pure functions
// (read_tsig_secret reads a file); any thread; none throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/yaml_reader.h"

namespace rampart::config {

inline constexpr uint32_t kMaxDnsPublishTtl = 86400;

// `dns_publish: {server, zone, tsig: {name, algorithm, secret_file}, ttl}`.
void parse_dns_publish(YamlReader& rd, const YAML::Node& node, const std::string& path,
                       DnsPublishConfig* out);
// Appends the problems of the section (paths "dns_publish.*"); nothing when it is absent.
void validate_dns_publish(const DnsPublishConfig& d, std::vector<ConfigError>& errors);

// "Ssh.Example.com" -> "ssh.example.com." (lower case, one trailing dot); "" stays "".
std::string fqdn(const std::string& name);
// A host name (letters, digits, '-', '_', a leading "*." wildcard), labels of 1-63 bytes, at most
// 253 bytes; with or without the trailing dot.
bool is_dns_name(const std::string& name);
// `name` is `zone` or below it (both as fqdn()).
bool in_zone(const std::string& name, const std::string& zone);

struct DnsServer {
  net::IpAddr ip;
  uint16_t port = 53;
};
// "192.0.2.53", "192.0.2.53:53", "[2001:db8::53]:5353", "2001:db8::53".
std::optional<DnsServer> parse_dns_server(const std::string& text);

// The TSIG secret of `path`: the base64 text alone (surrounding whitespace ignored). False with
// *error (unreadable, empty, not base64) otherwise; the secret itself never appears in *error.
bool read_tsig_secret(const std::string& path, std::string* secret, std::string* error);

// The problems of the apps' names for `d` (apps with a dns.name outside the zone: they are not
// published), one line each, for `rampart check` and the log.
std::vector<std::string> dns_publish_notes(const Config& cfg);

}  // namespace rampart::config
