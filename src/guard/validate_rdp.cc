#include "guard/validate.h"

namespace rampart::guard {

// MS-RDPBCGR 2.2.1.1: the client's first PDU is a TPKT header (version 3, reserved 0, total
// length) around an X.224 Connection Request TPDU: length indicator (= TPKT length - 5) and
// the CR code 0xE0 (high nibble 0xE, credit 0).
Validation validate_rdp(const uint8_t* p, size_t n) {
  if (n >= 1 && p[0] != 0x03) return Validation::kFail;
  if (n >= 2 && p[1] != 0x00) return Validation::kFail;
  uint32_t tpkt_len = 0;
  if (n >= 4) {
    tpkt_len = uint32_t{p[2]} << 8 | p[3];
    if (tpkt_len < 11 || tpkt_len > 4096) return Validation::kFail;
  }
  if (n >= 5 && uint32_t{p[4]} != tpkt_len - 5) return Validation::kFail;
  if (n >= 6 && p[5] != 0xE0) return Validation::kFail;
  return n >= 6 ? Validation::kPass : Validation::kNeedMore;
}

}  // namespace rampart::guard
