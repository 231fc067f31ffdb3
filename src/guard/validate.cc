#include "guard/validate.h"

#include <cerrno>
#include <cstring>

namespace rampart::guard {

namespace detail {

Validation match_prefix(const uint8_t* p, size_t n, const char* lit, size_t lit_len) {
  size_t k = n < lit_len ? n : lit_len;
  if (k > 0 && std::memcmp(p, lit, k) != 0) return Validation::kFail;
  return k == lit_len ? Validation::kPass : Validation::kNeedMore;
}

Validation read_varint(const uint8_t* p, size_t n, size_t* off, size_t max_bytes, uint32_t* value) {
  uint32_t v = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (*off + i >= n) return Validation::kNeedMore;
    uint8_t b = p[*off + i];
    v |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // Minimal encoding only: a trailing 0x00 continuation byte is padding no client writes.
      if (i > 0 && b == 0) return Validation::kFail;
      *off += i + 1;
      *value = v;
      return Validation::kPass;
    }
  }
  return Validation::kFail;
}

}  // namespace detail

Validation validate_first_bytes(config::Validator v, const uint8_t* p, size_t n) {
  using config::Validator;
  switch (v) {
    case Validator::kNone:
      return Validation::kPass;
    case Validator::kSsh:
      return validate_ssh(p, n);
    case Validator::kTls:
      return validate_tls(p, n);
    case Validator::kRdp:
      return validate_rdp(p, n);
    case Validator::kMinecraft:
      return validate_minecraft(p, n);
    case Validator::kMqtt:
      return validate_mqtt(p, n);
    case Validator::kPostgres:
      return validate_postgres(p, n);
    case Validator::kRedis:
      return validate_redis(p, n);
  }
  return Validation::kFail;
}

Probe probe_kind(long peeked, int err) {
  if (peeked == 0) return Probe::kFin;
  if (peeked < 0 && err == ECONNRESET) return Probe::kRst;
  return Probe::kNone;
}

const char* to_string(Validation r) {
  switch (r) {
    case Validation::kNeedMore:
      return "need_more";
    case Validation::kPass:
      return "pass";
    case Validation::kFail:
      return "fail";
  }
  return "fail";
}

}  // namespace rampart::guard
