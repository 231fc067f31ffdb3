#include "edge/limitations.h"

namespace rampart::edge {

namespace {

bool limits_set(const config::PerIpLimits& l) {
  return l.max_connections > 0 || l.new_connections_per_second > 0 || l.udp_packets_per_second > 0;
}

}  // namespace

std::vector<std::string> unenforced_settings(const config::Config& cfg) {
  std::vector<std::string> out;
  const std::string tail = " is accepted but not enforced by this build";
  if (!cfg.ip_access_rules.empty()) out.push_back("ip_access_rules" + tail);
  if (!cfg.geoip.country_db.empty() || !cfg.geoip.asn_db.empty()) out.push_back("geoip" + tail);
  if (limits_set(cfg.protection.per_ip)) out.push_back("protection.per_ip" + tail);
  if (cfg.protection.xdp.mode != config::XdpMode::kOff) out.push_back("protection.xdp" + tail);
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const config::App& app = cfg.apps[i];
    const std::string path = "apps[" + std::to_string(i) + "] (" + app.id + ")";
    if (app.validate != config::Validator::kNone) out.push_back(path + ".validate" + tail);
    if (app.protection && limits_set(app.protection->per_ip))
      out.push_back(path + ".protection.per_ip" + tail);
    if (app.tls != config::TlsMode::kOff) {
      out.push_back(path +
                    ".tls: TLS is not terminated by this build; bytes pass through unchanged "
                    "(the client's TLS session reaches the origin)");
    }
    if (app.origin_dns) {
      out.push_back(path +
                    ".origin_dns: DNS origins are not resolved by this build; the app "
                    "has no origin and refuses connections");
    }
  }
  return out;
}

}  // namespace rampart::edge
