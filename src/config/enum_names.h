// The text names of the config enums, shared by the YAML parser, the JSON API and to_string().
// Constant tables only: any thread may use them.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace rampart::config {

template <typename E>
struct EnumName {
  std::string_view name;  // always a string literal, so name.data() is NUL-terminated
  E value;
};

inline constexpr std::array<EnumName<Proto>, 2> kProtoNames{{
    {"tcp", Proto::kTcp},
    {"udp", Proto::kUdp},
}};
inline constexpr std::array<EnumName<ProxyProtocol>, 4> kProxyProtocolNames{{
    {"off", ProxyProtocol::kOff},
    {"v1", ProxyProtocol::kV1},
    {"v2", ProxyProtocol::kV2},
    {"simple", ProxyProtocol::kSimple},
}};
inline constexpr std::array<EnumName<ProxyProtocolUdp>, 2> kProxyProtocolUdpNames{{
    {"every", ProxyProtocolUdp::kEvery},
    {"first", ProxyProtocolUdp::kFirst},
}};
inline constexpr std::array<EnumName<KernelRelay>, 3> kKernelRelayNames{{
    {"auto", KernelRelay::kAuto},
    {"on", KernelRelay::kOn},
    {"off", KernelRelay::kOff},
}};
inline constexpr std::array<EnumName<TlsMode>, 4> kTlsModeNames{{
    {"off", TlsMode::kOff},
    {"flexible", TlsMode::kFlexible},
    {"full", TlsMode::kFull},
    {"strict", TlsMode::kStrict},
}};
inline constexpr std::array<EnumName<LbPolicy>, 3> kLbPolicyNames{{
    {"round_robin", LbPolicy::kRoundRobin},
    {"least_connections", LbPolicy::kLeastConnections},
    {"hash", LbPolicy::kHash},
}};
inline constexpr std::array<EnumName<EdgeIpsType>, 2> kEdgeIpsTypeNames{{
    {"dynamic", EdgeIpsType::kDynamic},
    {"static", EdgeIpsType::kStatic},
}};
inline constexpr std::array<EnumName<Connectivity>, 3> kConnectivityNames{{
    {"all", Connectivity::kAll},
    {"ipv4", Connectivity::kIpv4},
    {"ipv6", Connectivity::kIpv6},
}};
inline constexpr std::array<EnumName<Validator>, 8> kValidatorNames{{
    {"none", Validator::kNone},
    {"ssh", Validator::kSsh},
    {"tls", Validator::kTls},
    {"rdp", Validator::kRdp},
    {"minecraft", Validator::kMinecraft},
    {"mqtt", Validator::kMqtt},
    {"postgres", Validator::kPostgres},
    {"redis", Validator::kRedis},
}};
inline constexpr std::array<EnumName<AccessMode>, 2> kAccessModeNames{{
    {"block", AccessMode::kBlock},
    {"whitelist", AccessMode::kWhitelist},
}};
inline constexpr std::array<EnumName<AccessTarget>, 5> kAccessTargetNames{{
    {"ip", AccessTarget::kIp},
    {"ip6", AccessTarget::kIp6},
    {"ip_range", AccessTarget::kIpRange},
    {"country", AccessTarget::kCountry},
    {"asn", AccessTarget::kAsn},
}};
inline constexpr std::array<EnumName<XdpMode>, 3> kXdpModeNames{{
    {"native", XdpMode::kNative},
    {"generic", XdpMode::kGeneric},
    {"off", XdpMode::kOff},
}};
inline constexpr std::array<EnumName<TokenScope>, 2> kTokenScopeNames{{
    {"read", TokenScope::kRead},
    {"write", TokenScope::kWrite},
}};

// Spectrum's string-valued fields (kept as strings in the model).
// http, https and worker are Spectrum's HTTP pipeline and Workers: stored and echoed, proxied as
// direct here, and said so in the API's `messages` (docs/api.md "Fields with no effect").
inline constexpr std::array<std::string_view, 4> kTrafficTypes{"direct", "http", "https", "worker"};
inline constexpr std::array<std::string_view, 2> kDnsTypes{"CNAME", "ADDRESS"};
inline constexpr std::array<std::string_view, 3> kOriginDnsTypes{"", "A", "AAAA"};

template <typename E, size_t N>
std::optional<E> enum_from_string(const std::array<EnumName<E>, N>& table, std::string_view text) {
  for (const auto& e : table)
    if (e.name == text) return e.value;
  return std::nullopt;
}

template <typename E, size_t N>
const char* enum_to_string(const std::array<EnumName<E>, N>& table, E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name.data();
  return "?";
}

// "off, v1, v2, simple": the accepted values, for error messages.
template <typename E, size_t N>
std::string enum_choices(const std::array<EnumName<E>, N>& table) {
  std::string out;
  for (const auto& e : table) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

}  // namespace rampart::config
