#include "guard/reasons.h"

#include <cstring>

namespace rampart::guard {

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "none";
    case Reason::kBlockIp:
      return "block_ip";
    case Reason::kBlockCountry:
      return "block_country";
    case Reason::kBlockAsn:
      return "block_asn";
    case Reason::kBanned:
      return "banned";
    case Reason::kConnLimit:
      return "conn_limit";
    case Reason::kAppConnLimit:
      return "app_conn_limit";
    case Reason::kRateLimit:
      return "rate_limit";
    case Reason::kUdpRateLimit:
      return "udp_rate_limit";
    case Reason::kReflection:
      return "reflection";
    case Reason::kTableFull:
      return "table_full";
    case Reason::kValidate:
      return "validate";
    case Reason::kHandshakeTimeout:
      return "handshake_timeout";
    case Reason::kCount:
      break;
  }
  return "unknown";
}

const char* reason_rule(Reason r) {
  switch (r) {
    case Reason::kNone:
      return "NONE";
    case Reason::kBlockIp:
      return "BLOCK_IP";
    case Reason::kBlockCountry:
      return "BLOCK_COUNTRY";
    case Reason::kBlockAsn:
      return "BLOCK_ASN";
    case Reason::kBanned:
      return "BANNED";
    case Reason::kConnLimit:
      return "CONN_LIMIT";
    case Reason::kAppConnLimit:
      return "APP_CONN_LIMIT";
    case Reason::kRateLimit:
      return "RATE_LIMIT";
    case Reason::kUdpRateLimit:
      return "UDP_RATE_LIMIT";
    case Reason::kReflection:
      return "REFLECTION";
    case Reason::kTableFull:
      return "TABLE_FULL";
    case Reason::kValidate:
      return "VALIDATE";
    case Reason::kHandshakeTimeout:
      return "HANDSHAKE_TIMEOUT";
    case Reason::kCount:
      break;
  }
  return "UNKNOWN";
}

Filter filter_of(Reason r) {
  switch (r) {
    case Reason::kBlockIp:
    case Reason::kBlockCountry:
    case Reason::kBlockAsn:
      return Filter::kAcl;
    case Reason::kBanned:
      return Filter::kAutoban;
    case Reason::kConnLimit:
    case Reason::kAppConnLimit:
      return Filter::kConnLimit;
    case Reason::kRateLimit:
    case Reason::kUdpRateLimit:
      return Filter::kRateLimit;
    case Reason::kReflection:
      return Filter::kReflection;
    case Reason::kTableFull:
      return Filter::kTable;
    case Reason::kValidate:
    case Reason::kHandshakeTimeout:
    case Reason::kNone:
    case Reason::kCount:
      break;
  }
  return Filter::kValidate;
}

uint32_t filter_bit_from_name(const char* name) {
  struct Entry {
    const char* name;
    Filter f;
  };
  static constexpr Entry kNames[] = {
      {"acl", Filter::kAcl},
      {"conn_limit", Filter::kConnLimit},
      {"rate_limit", Filter::kRateLimit},
      {"autoban", Filter::kAutoban},
      {"validate", Filter::kValidate},
      {"reflection", Filter::kReflection},
      {"table", Filter::kTable},
  };
  if (std::strcmp(name, "all") == 0) return ~uint32_t{0};
  for (const auto& e : kNames)
    if (std::strcmp(name, e.name) == 0) return uint32_t{1} << static_cast<unsigned>(e.f);
  return 0;
}

}  // namespace rampart::guard
