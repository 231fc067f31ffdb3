#include "publish/plan.h"

#include <algorithm>

#include "config/dns_publish_config.h"

namespace rampart::publish {

std::string Record::to_string() const {
  return name + (ip.is_v4() ? " A " : " AAAA ") + ip.to_string();
}

Plan plan_records(const config::Config& cfg, const std::set<std::string>& disabled,
                  const std::string& zone) {
  Plan plan;
  for (const config::App& app : cfg.apps) {
    if (app.dns.name.empty() || disabled.count(app.id) != 0) continue;
    const std::string name = config::fqdn(app.dns.name);
    if (!config::in_zone(name, zone)) {
      plan.outside.push_back("app " + app.id + ": dns.name " + name + " is outside the zone " +
                             config::fqdn(zone));
      continue;
    }
    const bool fixed = app.edge_ips.type == config::EdgeIpsType::kStatic;
    const std::vector<net::IpAddr>& ips = fixed ? app.edge_ips.ips : cfg.edge.public_ips;
    for (const net::IpAddr& ip : ips) {
      if (ip.is_unspecified()) continue;
      if (!fixed && app.edge_ips.connectivity == config::Connectivity::kIpv4 && !ip.is_v4())
        continue;
      if (!fixed && app.edge_ips.connectivity == config::Connectivity::kIpv6 && ip.is_v4())
        continue;
      plan.records.insert({name, ip});
    }
  }
  return plan;
}

Diff diff_records(const std::set<Record>& published, const std::set<Record>& desired) {
  Diff d;
  std::set_difference(desired.begin(), desired.end(), published.begin(), published.end(),
                      std::back_inserter(d.add));
  std::set_difference(published.begin(), published.end(), desired.begin(), desired.end(),
                      std::back_inserter(d.remove));
  return d;
}

}  // namespace rampart::publish
