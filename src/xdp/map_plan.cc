#include "xdp/map_plan.h"

#include <cstring>
#include <map>

#include "guard/reasons.h"
#include "net/cidr.h"

namespace rampart::xdp {

namespace {

uint32_t higher_rate(uint32_t a, uint32_t b) {
  if (a == 0 || b == 0) return 0;  // 0 = no limit
  return a > b ? a : b;
}

}  // namespace

rxdp_profile make_profile(const config::ProtectionConfig& p, bool ip_firewall,
                          uint32_t ban_v6_prefix) {
  rxdp_profile out;
  std::memset(&out, 0, sizeof out);
  out.v6_prefix =
      static_cast<uint8_t>(p.ipv6_prefix >= 1 && p.ipv6_prefix <= 128 ? p.ipv6_prefix : 128);
  out.ban_v6_prefix =
      static_cast<uint8_t>(ban_v6_prefix >= 1 && ban_v6_prefix <= 128 ? ban_v6_prefix : 128);
  const uint32_t dry_mask = guard::dry_run_mask(p.dry_run);
  // A filter in dry-run only counts in userspace: the kernel must let its packets through.
  if (ip_firewall && !guard::dry(dry_mask, guard::FilterId::kAcl)) out.flags |= RXDP_F_ACL;
  if (!guard::dry(dry_mask, guard::FilterId::kAutoban)) out.flags |= RXDP_F_BANS;
  if (!guard::dry(dry_mask, guard::FilterId::kRateLimit)) {
    if (p.per_ip.new_connections_per_second > 0) {
      out.flags |= RXDP_F_SYN_RATE;
      out.syn_rate = p.per_ip.new_connections_per_second;
      out.syn_burst = p.per_ip.burst;
    }
    if (p.per_ip.udp_packets_per_second > 0) {
      out.flags |= RXDP_F_UDP_RATE;
      out.udp_rate = p.per_ip.udp_packets_per_second;
      out.udp_burst = p.per_ip.udp_burst;
    }
  }
  if (!p.udp_reflection_ports.empty() && !guard::dry(dry_mask, guard::FilterId::kReflection)) {
    out.flags |= RXDP_F_REFLECTION;
    for (uint16_t port : p.udp_reflection_ports)
      out.reflect[port >> 3] = static_cast<uint8_t>(out.reflect[port >> 3] | (1u << (port & 7)));
  }
  return out;
}

rxdp_profile merge_profiles(const rxdp_profile& a, const rxdp_profile& b) {
  rxdp_profile out;
  std::memset(&out, 0, sizeof out);
  out.flags = a.flags & b.flags;
  // The longer prefix is the more lenient one (fewer addresses share a bucket); bans are the
  // zone's granularity, the same in both.
  out.v6_prefix = a.v6_prefix > b.v6_prefix ? a.v6_prefix : b.v6_prefix;
  out.ban_v6_prefix = a.ban_v6_prefix;
  if (out.flags & RXDP_F_SYN_RATE) {
    out.syn_rate = higher_rate(a.syn_rate, b.syn_rate);
    out.syn_burst = a.syn_burst > b.syn_burst ? a.syn_burst : b.syn_burst;
  }
  if (out.flags & RXDP_F_UDP_RATE) {
    out.udp_rate = higher_rate(a.udp_rate, b.udp_rate);
    out.udp_burst = a.udp_burst > b.udp_burst ? a.udp_burst : b.udp_burst;
  }
  if (out.flags & RXDP_F_REFLECTION) {
    // A port dropped only where both apps drop it.
    for (size_t i = 0; i < sizeof out.reflect; ++i)
      out.reflect[i] = static_cast<uint8_t>(a.reflect[i] & b.reflect[i]);
  }
  return out;
}

MapPlan plan_maps(const std::vector<PlanApp>& apps, uint32_t ban_v6_prefix,
                  const std::vector<config::IpAccessRule>& access_rules) {
  MapPlan plan;
  // Per protocol and port: the profile id (1-based) of the app there.
  std::map<uint16_t, uint8_t> tcp, udp;
  std::map<std::pair<uint8_t, uint8_t>, uint8_t> merged;
  auto add_profile = [&](const rxdp_profile& p) -> uint8_t {
    if (plan.profiles.size() >= RXDP_MAX_PROFILES) return 0;
    plan.profiles.push_back(p);
    return static_cast<uint8_t>(plan.profiles.size());
  };
  size_t unfiltered = 0;
  for (const PlanApp& app : apps) {
    const uint8_t id = add_profile(make_profile(*app.protection, app.ip_firewall, ban_v6_prefix));
    if (id == 0) {
      ++unfiltered;
      continue;
    }
    auto& table = app.proto == config::Proto::kTcp ? tcp : udp;
    for (uint32_t port = app.ports.first; port <= app.ports.last; ++port) {
      auto [it, fresh] = table.emplace(static_cast<uint16_t>(port), id);
      if (fresh || it->second == id) continue;
      auto key = std::make_pair(it->second, id);
      auto m = merged.find(key);
      uint8_t mid = 0;
      if (m != merged.end()) {
        mid = m->second;
      } else {
        mid = add_profile(merge_profiles(plan.profiles[it->second - 1], plan.profiles[id - 1]));
        merged.emplace(key, mid);
      }
      it->second = mid;  // 0 when out of profiles: the port is left to userspace
    }
  }
  if (unfiltered > 0) {
    plan.warnings.push_back("protection.xdp: more than " + std::to_string(RXDP_MAX_PROFILES) +
                            " apps; " + std::to_string(unfiltered) +
                            " are guarded in userspace only");
  }
  std::map<uint16_t, rxdp_port> ports;
  for (const auto& [port, id] : tcp) ports[port].tcp_profile = id;
  for (const auto& [port, id] : udp) ports[port].udp_profile = id;
  for (const auto& [port, entry] : ports)
    if (entry.tcp_profile != 0 || entry.udp_profile != 0) plan.ports.emplace_back(port, entry);

  // Longest-prefix rules, as compile_zone() builds them: the same prefix twice is a block if
  // either says block (fail closed).
  std::map<std::pair<std::string, int>, std::pair<net::Cidr, uint32_t>> rules;
  for (const auto& rule : access_rules) {
    if (rule.target != config::AccessTarget::kIp && rule.target != config::AccessTarget::kIp6 &&
        rule.target != config::AccessTarget::kIpRange)
      continue;
    auto c = net::Cidr::parse(rule.value);
    if (!c) continue;
    const uint32_t mode =
        rule.mode == config::AccessMode::kBlock ? RXDP_ACL_BLOCK : RXDP_ACL_WHITELIST;
    auto [it, fresh] = rules.emplace(std::make_pair(c->base().to_string(), c->prefix_len()),
                                     std::make_pair(*c, mode));
    if (!fresh && mode == RXDP_ACL_BLOCK) it->second.second = RXDP_ACL_BLOCK;
  }
  for (const auto& [_, value] : rules) {
    const auto& [cidr, mode] = value;
    if (cidr.base().is_v4()) {
      rxdp_lpm_v4 k{};
      k.prefixlen = static_cast<uint32_t>(cidr.prefix_len());
      std::memcpy(k.addr, cidr.base().bytes(), 4);
      plan.acl_v4.emplace_back(k, mode);
    } else {
      rxdp_lpm_v6 k{};
      k.prefixlen = static_cast<uint32_t>(cidr.prefix_len());
      std::memcpy(k.addr, cidr.base().bytes(), 16);
      plan.acl_v6.emplace_back(k, mode);
    }
  }
  return plan;
}

}  // namespace rampart::xdp
