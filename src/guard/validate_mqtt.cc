#include "guard/validate.h"

namespace rampart::guard {

// MQTT 3.1.1 §3.1 / 5.0 §3.1: CONNECT is fixed header 0x10, remaining length (varint, 1-4
// bytes), protocol name "MQTT" (level 4 or 5) or, for 3.1, "MQIsdp" (level 3), as a
// length-prefixed string, then the protocol level byte.
Validation validate_mqtt(const uint8_t* p, size_t n) {
  if (n == 0) return Validation::kNeedMore;
  if (p[0] != 0x10) return Validation::kFail;
  size_t off = 1;
  uint32_t remaining = 0;
  Validation r = detail::read_varint(p, n, &off, 4, &remaining);
  if (r != Validation::kPass) return r;
  if (remaining < 10) return Validation::kFail;  // name (6 or 8) + level + flags + keepalive
  static constexpr uint8_t kMqtt[] = {0x00, 0x04, 'M', 'Q', 'T', 'T'};
  static constexpr uint8_t kMqisdp[] = {0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p'};
  const uint8_t* rest = p + off;
  const size_t m = n - off;
  Validation a = detail::match_prefix(rest, m, reinterpret_cast<const char*>(kMqtt), sizeof kMqtt);
  size_t name_len = sizeof kMqtt;
  if (a == Validation::kFail) {
    a = detail::match_prefix(rest, m, reinterpret_cast<const char*>(kMqisdp), sizeof kMqisdp);
    name_len = sizeof kMqisdp;
  }
  if (a != Validation::kPass) return a;
  if (m <= name_len) return Validation::kNeedMore;
  const uint8_t level = rest[name_len];
  if (name_len == sizeof kMqtt)
    return level == 4 || level == 5 ? Validation::kPass : Validation::kFail;
  return level == 3 ? Validation::kPass : Validation::kFail;
}

}  // namespace rampart::guard
