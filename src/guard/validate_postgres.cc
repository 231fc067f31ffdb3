#include "guard/validate.h"

namespace rampart::guard {

// PostgreSQL frontend/backend protocol, "Message Formats": a client's first message has no type
// byte: int32 length (itself included), int32 code. StartupMessage (protocol 3.0 = 196608) carries
// parameters; SSLRequest (80877103), GSSENCRequest (80877104) and CancelRequest (80877102) are
// fixed-size.
Validation validate_postgres(const uint8_t* p, size_t n) {
  // The length's top bytes are 0 for every legal message (at most 10000 bytes).
  if (n >= 1 && p[0] != 0) return Validation::kFail;
  if (n >= 2 && p[1] != 0) return Validation::kFail;
  if (n < 8) return Validation::kNeedMore;
  const uint32_t len = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  const uint32_t code = uint32_t{p[4]} << 24 | uint32_t{p[5]} << 16 | uint32_t{p[6]} << 8 | p[7];
  switch (code) {
    case 196608:  // 3.0 startup: "user" is mandatory, so more than the 8-byte header
      return len > 8 && len <= 10000 ? Validation::kPass : Validation::kFail;
    case 80877103:  // SSLRequest
    case 80877104:  // GSSENCRequest
      return len == 8 ? Validation::kPass : Validation::kFail;
    case 80877102:  // CancelRequest
      return len == 16 ? Validation::kPass : Validation::kFail;
    default:
      return Validation::kFail;
  }
}

}  // namespace rampart::guard
