#include "config/model.h"

#include "config/enum_names.h"

namespace rampart::config {

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
