// An app's `protection` override in the API's JSON (see json_reader.h): the YAML schema of a
// per-app `protection:` block (parse_apps.cc, parse_protection), read field by field into a
// ProtectionOverride that keeps which fields were given.
#include <limits>

#include "config/guard_filters.h"
#include "config/json_reader.h"

namespace rampart::config::json_detail {
namespace {

template <typename T>
void get_opt_uint(JsonReader& rd, const json& o, const char* key, const std::string& path,
                  std::optional<T>* out) {
  if (!JsonReader::member(o, key)) return;
  T v{};
  size_t before = rd.error_count();
  rd.get_uint(o, key, path, &v, std::numeric_limits<T>::max());
  if (rd.error_count() == before) *out = v;
}

void get_opt_duration(JsonReader& rd, const json& o, const char* key, const std::string& path,
                      std::optional<Duration>* out) {
  if (!JsonReader::member(o, key)) return;
  Duration d{};
  size_t before = rd.error_count();
  rd.get_duration(o, key, path, &d);
  if (rd.error_count() == before) *out = d;
}

}  // namespace

void read_protection(JsonReader& rd, const json& v, ProtectionOverride* out) {
  const std::string path = "protection";
  if (!rd.check_object(
          v, path,
          {"per_ip", "max_connections", "autoban", "handshake_timeout", "udp_reflection_ports",
           "dry_run", "ipv6_prefix", "xdp", "source_table_size"}))
    return;
  // The same messages as the file's per-app block (parse_protection with zone = false).
  if (JsonReader::member(v, "source_table_size"))
    rd.error(join(path, "source_table_size"),
             "source_table_size is zone-wide (one table per worker, shared by all apps); set it "
             "under the top-level protection");
  if (JsonReader::member(v, "xdp"))
    rd.error(join(path, "xdp"),
             "xdp is zone-wide (one program per interface); set it under the top-level "
             "protection");
  get_opt_uint(rd, v, "ipv6_prefix", path, &out->ipv6_prefix);
  if (const json* p = JsonReader::member(v, "per_ip")) {
    const std::string pp = join(path, "per_ip");
    if (rd.check_object(*p, pp,
                        {"max_connections", "new_connections_per_second", "burst",
                         "udp_packets_per_second", "udp_burst"})) {
      get_opt_uint(rd, *p, "max_connections", pp, &out->per_ip.max_connections);
      get_opt_uint(rd, *p, "new_connections_per_second", pp,
                   &out->per_ip.new_connections_per_second);
      get_opt_uint(rd, *p, "burst", pp, &out->per_ip.burst);
      get_opt_uint(rd, *p, "udp_packets_per_second", pp, &out->per_ip.udp_packets_per_second);
      get_opt_uint(rd, *p, "udp_burst", pp, &out->per_ip.udp_burst);
    }
  }
  get_opt_uint(rd, v, "max_connections", path, &out->max_connections);
  if (const json* a = JsonReader::member(v, "autoban")) {
    const std::string ap = join(path, "autoban");
    if (rd.check_object(*a, ap, {"violations", "window", "duration"})) {
      get_opt_uint(rd, *a, "violations", ap, &out->autoban.violations);
      get_opt_duration(rd, *a, "window", ap, &out->autoban.window);
      get_opt_duration(rd, *a, "duration", ap, &out->autoban.duration);
    }
  }
  get_opt_duration(rd, v, "handshake_timeout", path, &out->handshake_timeout);
  if (const json* u = JsonReader::member(v, "udp_reflection_ports")) {
    const std::string up = join(path, "udp_reflection_ports");
    if (!u->is_array()) {
      rd.error(up,
               std::string("expected a list of ports such as [19, 53, 123], got ") + type_name(*u));
    } else {
      std::vector<uint16_t> ports;
      for (size_t i = 0; i < u->size(); ++i) {
        const json& e = (*u)[i];
        if (e.is_number_unsigned() && e.get<uint64_t>() >= 1 && e.get<uint64_t>() <= 65535)
          ports.push_back(static_cast<uint16_t>(e.get<uint64_t>()));
        else if (e.is_number_unsigned() && e.get<uint64_t>() == 0)
          rd.error(at(up, i), "port 0 is out of range; expected 1-65535");
        else
          rd.error(at(up, i), "expected a port 1-65535, got " +
                                  (e.is_number() ? e.dump() : std::string(type_name(e))));
      }
      out->udp_reflection_ports = std::move(ports);
    }
  }
  if (const json* d = JsonReader::member(v, "dry_run")) {
    const std::string dp = join(path, "dry_run");
    std::string choices;
    for (auto k : kDryRunKeys) choices += (choices.empty() ? "" : ", ") + std::string(k);
    if (!d->is_array()) {
      rd.error(dp, std::string("expected a list of guard filters such as [acl, rate_limit], got ") +
                       type_name(*d));
    } else {
      std::vector<std::string> filters;
      for (size_t i = 0; i < d->size(); ++i) {
        auto s = rd.string((*d)[i], at(dp, i), "one of: " + choices);
        if (!s) continue;
        bool known = false;
        for (auto k : kDryRunKeys) known = known || k == *s;
        if (known)
          filters.push_back(*s);
        else
          rd.error(at(dp, i), "invalid value \"" + *s + "\"; expected one of: " + choices);
      }
      out->dry_run = std::move(filters);
    }
  }
}

json protection_override_to_json(const ProtectionOverride& p) {
  json j = json::object();
  json per_ip = json::object();
  auto put = [](json& o, const char* key, const auto& v) {
    if (v) o[key] = *v;
  };
  auto put_duration = [](json& o, const char* key, const std::optional<Duration>& v) {
    if (v) o[key] = format_duration(*v);
  };
  put(per_ip, "max_connections", p.per_ip.max_connections);
  put(per_ip, "new_connections_per_second", p.per_ip.new_connections_per_second);
  put(per_ip, "burst", p.per_ip.burst);
  put(per_ip, "udp_packets_per_second", p.per_ip.udp_packets_per_second);
  put(per_ip, "udp_burst", p.per_ip.udp_burst);
  if (!per_ip.empty()) j["per_ip"] = std::move(per_ip);
  put(j, "max_connections", p.max_connections);
  json autoban = json::object();
  put(autoban, "violations", p.autoban.violations);
  put_duration(autoban, "window", p.autoban.window);
  put_duration(autoban, "duration", p.autoban.duration);
  if (!autoban.empty()) j["autoban"] = std::move(autoban);
  put_duration(j, "handshake_timeout", p.handshake_timeout);
  put(j, "udp_reflection_ports", p.udp_reflection_ports);
  put(j, "dry_run", p.dry_run);
  put(j, "ipv6_prefix", p.ipv6_prefix);
  return j;
}

json protection_to_json(const ProtectionConfig& p) {
  json ports = json::array();
  for (uint16_t port : p.udp_reflection_ports) ports.push_back(port);
  return {{"per_ip",
           {{"max_connections", p.per_ip.max_connections},
            {"new_connections_per_second", p.per_ip.new_connections_per_second},
            {"burst", p.per_ip.burst},
            {"udp_packets_per_second", p.per_ip.udp_packets_per_second},
            {"udp_burst", p.per_ip.udp_burst}}},
          {"max_connections", p.max_connections},
          {"autoban",
           {{"violations", p.autoban.violations},
            {"window", format_duration(p.autoban.window)},
            {"duration", format_duration(p.autoban.duration)}}},
          {"handshake_timeout", format_duration(p.handshake_timeout)},
          {"udp_reflection_ports", std::move(ports)},
          {"dry_run", p.dry_run},
          {"ipv6_prefix", p.ipv6_prefix}};
}

}  // namespace rampart::config::json_detail
