// The `events` and `analytics` sections: value parsers (sizes, syslog addresses and
// facilities) shared by the YAML parser and the event log, and their validation.
// Pure functions: any thread may call them; none throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::config {

inline constexpr uint64_t kMinEventLogSize = 64 << 10;  // events.max_size
inline constexpr int kMaxKeepFiles = 1000;              // events.keep_files
inline constexpr Duration kMinProgressInterval = std::chrono::seconds(1);
inline constexpr Duration kMinRetention = std::chrono::hours(1);  // analytics.retention

// "65536", "64KiB", "256MiB", "1GiB" -> bytes; nullopt (with *error) for anything else.
std::optional<uint64_t> parse_byte_size(std::string_view text, std::string* error = nullptr);

// Where syslog messages go: a UDP address or a unix datagram socket path.
struct SyslogAddress {
  bool is_unix = false;
  net::SockAddr udp;      // when !is_unix
  std::string unix_path;  // when is_unix
};
// "udp://127.0.0.1:514", "udp://[::1]:514", "unix:///dev/log".
std::optional<SyslogAddress> parse_syslog_address(std::string_view text,
                                                  std::string* error = nullptr);
// syslog(3) facility names (kern, user, ..., local7) -> facility number (0-23); nullopt if unknown.
std::optional<int> syslog_facility_code(std::string_view name);

// Append every problem of the sections to `errors` (paths "events.*", "analytics.*").
void validate_events(const EventsConfig& e, std::vector<ConfigError>& errors);
void validate_analytics(const AnalyticsConfig& a, std::vector<ConfigError>& errors);

}  // namespace rampart::config
