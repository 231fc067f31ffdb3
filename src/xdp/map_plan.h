// What the XDP maps should hold: one profile per serving app (its protection as the kernel
// program needs it), the app ports pointing at their profiles, and the zone's ip/ip6/ip_range
// access rules as LPM trie entries. Planned once per config change from the compiled apps
// (edge::compile_config), never from the raw config by the Loader, which writes the plan into
// the maps. A pure function, so it is tested without BPF. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "xdp/shared_types.h"

namespace rampart::xdp {

struct MapPlan {
  std::vector<rxdp_profile> profiles;                    // profile id = index + 1
  std::vector<std::pair<uint16_t, rxdp_port>> ports;     // ports with an app, ascending
  std::vector<std::pair<rxdp_lpm_v4, uint32_t>> acl_v4;  // key, RXDP_ACL_*
  std::vector<std::pair<rxdp_lpm_v6, uint32_t>> acl_v6;
  // What only weakens the fast path (too many apps); the Loader logs them when it syncs.
  std::vector<std::string> warnings;
};

// One app as the kernel program judges it: its protocol, edge ports and effective protection
// (its own or the zone's: tcp::AppRuntime::protection).
struct PlanApp {
  config::Proto proto = config::Proto::kTcp;
  config::PortRange ports;
  const config::ProtectionConfig* protection = nullptr;  // not owned; outlives plan_maps()
  bool ip_firewall = false;
};

// The profile of an app whose effective protection is `p` (ip_firewall from the app); bans are
// keyed at the zone's IPv6 prefix `ban_v6_prefix`, the guard's granularity for them.
rxdp_profile make_profile(const config::ProtectionConfig& p, bool ip_firewall,
                          uint32_t ban_v6_prefix = 64);

// Two apps on one port (different edge addresses): the kernel sees only the port, so it applies
// what both would: a filter only when both have it, the higher rate, reflection ports of both.
rxdp_profile merge_profiles(const rxdp_profile& a, const rxdp_profile& b);

// The plan of `apps` (in config order) under the zone's IPv6 ban prefix (protection.ipv6_prefix)
// and ip access rules.
MapPlan plan_maps(const std::vector<PlanApp>& apps, uint32_t ban_v6_prefix,
                  const std::vector<config::IpAccessRule>& access_rules);

}  // namespace rampart::xdp
