#include "guard/validate.h"

namespace rampart::guard {

// RFC 8446 §5.1 / §4: a handshake record (0x16), legacy record version 0x0300-0x0304, a length
// of 1..2^14+2048, then a handshake message of type client_hello (1) whose legacy_version is
// 0x0300-0x0304. The ClientHello may continue in later records, so its own length is only
// bounded, not compared with the record's.
Validation validate_tls(const uint8_t* p, size_t n) {
  if (n >= 1 && p[0] != 0x16) return Validation::kFail;
  if (n >= 2 && p[1] != 0x03) return Validation::kFail;
  if (n >= 3 && p[2] > 0x04) return Validation::kFail;
  if (n >= 5) {
    uint32_t len = uint32_t{p[3]} << 8 | p[4];
    if (len < 4 || len > 16384 + 2048) return Validation::kFail;
  }
  if (n >= 6 && p[5] != 0x01) return Validation::kFail;
  if (n >= 9) {
    uint32_t hs_len = uint32_t{p[6]} << 16 | uint32_t{p[7]} << 8 | p[8];
    if (hs_len < 38 || hs_len > 65536) return Validation::kFail;  // version + random + ... > 38
  }
  if (n >= 10 && p[9] != 0x03) return Validation::kFail;
  if (n >= 11 && p[10] > 0x04) return Validation::kFail;
  return n >= 11 ? Validation::kPass : Validation::kNeedMore;
}

}  // namespace rampart::guard
