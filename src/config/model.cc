#include "config/model.h"

#include "config/enum_names.h"

namespace rampart::config {

ProtectionConfig ProtectionOverride::resolve(const ProtectionConfig& zone) const {
  ProtectionConfig p = zone;
  auto set = [](auto& out, const auto& v) {
    if (v) out = *v;
  };
  set(p.per_ip.max_connections, per_ip.max_connections);
  set(p.per_ip.new_connections_per_second, per_ip.new_connections_per_second);
  set(p.per_ip.burst, per_ip.burst);
  set(p.per_ip.udp_packets_per_second, per_ip.udp_packets_per_second);
  set(p.per_ip.udp_burst, per_ip.udp_burst);
  set(p.max_connections, max_connections);
  set(p.autoban.violations, autoban.violations);
  set(p.autoban.window, autoban.window);
  set(p.autoban.duration, autoban.duration);
  set(p.handshake_timeout, handshake_timeout);
  set(p.udp_reflection_ports, udp_reflection_ports);
  set(p.dry_run, dry_run);
  set(p.ipv6_prefix, ipv6_prefix);
  return p;
}

std::string protocol_text(const App& app) {
  std::string out = std::string(to_string(app.proto)) + "/" + std::to_string(app.ports.first);
  if (app.ports.last != app.ports.first) out += "-" + std::to_string(app.ports.last);
  return out;
}

const char* to_string(Proto p) {
  return enum_to_string(kProtoNames, p);
}
const char* to_string(ProxyProtocol p) {
  return enum_to_string(kProxyProtocolNames, p);
}
const char* to_string(LbPolicy p) {
  return enum_to_string(kLbPolicyNames, p);
}
const char* to_string(ProxyProtocolUdp p) {
  return enum_to_string(kProxyProtocolUdpNames, p);
}
const char* to_string(KernelRelay k) {
  return enum_to_string(kKernelRelayNames, k);
}
const char* to_string(TlsMode m) {
  return enum_to_string(kTlsModeNames, m);
}
const char* to_string(EdgeIpsType t) {
  return enum_to_string(kEdgeIpsTypeNames, t);
}
const char* to_string(Connectivity c) {
  return enum_to_string(kConnectivityNames, c);
}
const char* to_string(Validator v) {
  return enum_to_string(kValidatorNames, v);
}
const char* to_string(AccessMode m) {
  return enum_to_string(kAccessModeNames, m);
}
const char* to_string(AccessTarget t) {
  return enum_to_string(kAccessTargetNames, t);
}
const char* to_string(XdpMode m) {
  return enum_to_string(kXdpModeNames, m);
}
const char* to_string(TokenScope s) {
  return enum_to_string(kTokenScopeNames, s);
}

std::string ConfigError::to_string() const {
  std::string out = path.empty() ? message : path + ": " + message;
  if (code != 0) out += " (error " + std::to_string(code) + ")";
  return out;
}

uint16_t origin_port_for(const PortRange& edge, const PortRange& origin, uint16_t edge_port) {
  // A single origin port takes every edge port; a range maps at the same offset. Out-of-range
  // input (which validate() rules out) falls back to the first origin port rather than wrapping.
  if (origin.size() == 1 || !edge.contains(edge_port)) return origin.first;
  uint32_t offset = uint32_t{edge_port} - edge.first;
  if (offset >= origin.size()) return origin.first;
  return static_cast<uint16_t>(origin.first + offset);
}

}  // namespace rampart::config
