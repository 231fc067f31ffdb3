// What the XDP maps should hold for a config: one profile per app (its protection as the kernel
// program needs it), the app ports pointing at their profiles, and the zone's ip/ip6/ip_range
// access rules as LPM trie entries. A pure function of the config, so it is tested without BPF;
// the Loader writes the plan into the maps. Any thread.
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
};

// The profile of an app whose effective protection is `p` (ip_firewall from the app); bans are
// keyed at the zone's IPv6 prefix `ban_v6_prefix`, the guard's granularity for them.
rxdp_profile make_profile(const config::ProtectionConfig& p, bool ip_firewall,
                          uint32_t ban_v6_prefix = 64);

// Two apps on one port (different edge addresses): the kernel sees only the port, so it applies
// what both would: a filter only when both have it, the higher rate, reflection ports of both.
rxdp_profile merge_profiles(const rxdp_profile& a, const rxdp_profile& b);

// Problems that only weaken the fast path (too many apps) go to `warnings`.
MapPlan plan_maps(const config::Config& cfg, std::vector<std::string>* warnings);

}  // namespace rampart::xdp
