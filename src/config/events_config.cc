// The `events` and `analytics` sections: YAML parsing, value parsers and validation.
#include "config/events_config.h"

#include <array>
#include <charconv>
#include <utility>

#include "config/duration.h"
#include "config/parse_internal.h"
#include "config/yaml_reader.h"

namespace rampart::config {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 20> kFacilities{{
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
}};

constexpr size_t kMaxTag = 48;  // RFC 5424 APP-NAME: 1*48 PRINTUSASCII

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string facility_list() {
  std::string out;
  for (const auto& [name, code] : kFacilities) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text, std::string* error) {
  static constexpr const char* kExpected =
      "; expected bytes or a size with KiB, MiB or GiB, e.g. 65536, 64KiB, 256MiB";
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (digits == 0 || ec != std::errc() || ptr != text.data() + digits) {
    fail(error, "invalid size \"" + std::string(text) + "\"" + kExpected);
    return std::nullopt;
  }
  int shift = 0;
  if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else if (!unit.empty() && unit != "B") {
    fail(error, "unknown unit \"" + std::string(unit) + "\" in size \"" + std::string(text) + "\"" +
                    kExpected);
    return std::nullopt;
  }
  if (n > (uint64_t{1} << 50) >> shift) {
    fail(error, "size \"" + std::string(text) + "\" is too large");
    return std::nullopt;
  }
  return n << shift;
}

std::optional<SyslogAddress> parse_syslog_address(std::string_view text, std::string* error) {
  static constexpr const char* kExpected =
      "; expected udp://127.0.0.1:514, udp://[::1]:514 or unix:///dev/log";
  SyslogAddress out;
  if (text.substr(0, 7) == "unix://") {
    std::string_view path = text.substr(7);
    if (path.empty() || path.front() != '/') {
      fail(error, "\"" + std::string(text) + "\" needs an absolute socket path" + kExpected);
      return std::nullopt;
    }
    if (path.size() >= 108) {  // sizeof(sockaddr_un::sun_path)
      fail(error, "socket path of \"" + std::string(text) + "\" is longer than 107 bytes");
      return std::nullopt;
    }
    out.is_unix = true;
    out.unix_path = std::string(path);
    return out;
  }
  if (text.substr(0, 6) != "udp://") {
    fail(error, "invalid syslog address \"" + std::string(text) + "\"" + kExpected);
    return std::nullopt;
  }
  auto addr = net::SockAddr::parse(text.substr(6));
  if (!addr || addr->port() == 0) {
    fail(error, "invalid syslog address \"" + std::string(text) + "\": \"" +
                    std::string(text.substr(6)) + "\" is not IP:PORT (IPv6 in brackets)" +
                    kExpected);
    return std::nullopt;
  }
  out.udp = *addr;
  return out;
}

std::optional<int> syslog_facility_code(std::string_view name) {
  for (const auto& [n, code] : kFacilities)
    if (n == name) return code;
  return std::nullopt;
}

void parse_events(YamlReader& rd, const YAML::Node& node, const std::string& path,
                  EventsConfig* e) {
  if (!YamlReader::present(node) ||
      !rd.check_map(node, path,
                    {"enabled", "max_size", "keep_files", "progress_interval", "syslog"}))
    return;
  rd.get_bool(node, "enabled", path, &e->enabled);
  if (const YAML::Node n = node["max_size"]; YamlReader::present(n)) {
    const std::string size_path = child_path(path, "max_size");
    if (auto text = rd.scalar(n, size_path, "a size such as 256MiB")) {
      std::string why;
      if (auto v = parse_byte_size(*text, &why))
        e->max_size = *v;
      else
        rd.error(size_path, why);
    }
  }
  rd.get_uint(node, "keep_files", path, &e->keep_files, kMaxKeepFiles);
  rd.get_duration(node, "progress_interval", path, &e->progress_interval);
  if (const YAML::Node s = node["syslog"]; YamlReader::present(s)) {
    const std::string syslog_path = child_path(path, "syslog");
    if (rd.check_map(s, syslog_path, {"address", "facility", "tag"})) {
      rd.get_string(s, "address", syslog_path, &e->syslog_address);
      rd.get_string(s, "facility", syslog_path, &e->syslog_facility);
      rd.get_string(s, "tag", syslog_path, &e->syslog_tag);
    }
  }
}

void parse_analytics(YamlReader& rd, const YAML::Node& node, const std::string& path,
                     AnalyticsConfig* a) {
  if (!YamlReader::present(node) || !rd.check_map(node, path, {"enabled", "retention"})) return;
  rd.get_bool(node, "enabled", path, &a->enabled);
  rd.get_duration(node, "retention", path, &a->retention);
}

void validate_events(const EventsConfig& e, std::vector<ConfigError>& errors) {
  if (e.max_size < kMinEventLogSize)
    errors.push_back({"events.max_size", std::to_string(e.max_size) +
                                             " bytes is below the minimum; expected 64KiB "
                                             "or more, e.g. 256MiB"});
  if (e.keep_files < 0 || e.keep_files > kMaxKeepFiles)
    errors.push_back({"events.keep_files", "expected 0 (delete on rotate) to " +
                                               std::to_string(kMaxKeepFiles) + ", got " +
                                               std::to_string(e.keep_files)});
  if (e.progress_interval.count() < 0 ||
      (e.progress_interval.count() > 0 && e.progress_interval < kMinProgressInterval))
    errors.push_back(
        {"events.progress_interval",
         "expected 0s (off) or at least 1s, e.g. 5m; got " + format_duration(e.progress_interval)});
  if (!e.syslog_address.empty()) {
    std::string why;
    if (!parse_syslog_address(e.syslog_address, &why))
      errors.push_back({"events.syslog.address", why});
  }
  if (!syslog_facility_code(e.syslog_facility))
    errors.push_back({"events.syslog.facility", "unknown facility \"" + e.syslog_facility +
                                                    "\"; expected one of: " + facility_list()});
  bool printable = !e.syslog_tag.empty() && e.syslog_tag.size() <= kMaxTag;
  for (char c : e.syslog_tag) printable = printable && c > ' ' && c < 127;
  if (!printable)
    errors.push_back({"events.syslog.tag",
                      "\"" + e.syslog_tag +
                          "\" is not a syslog APP-NAME; expected 1-48 printable ASCII characters "
                          "without spaces, e.g. rampart"});
}

void validate_analytics(const AnalyticsConfig& a, std::vector<ConfigError>& errors) {
  if (a.retention < kMinRetention)
    errors.push_back({"analytics.retention",
                      "expected at least 1h, e.g. 7d; got " + format_duration(a.retention)});
}

}  // namespace rampart::config
