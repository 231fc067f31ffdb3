#include "guard/validate.h"

namespace rampart::guard {

// RFC 4253 §4.2: the client sends "SSH-protoversion-softwareversion" first (only servers may
// send other lines before it). 1.99 announces a server/client that also speaks 2.0.
Validation validate_ssh(const uint8_t* p, size_t n) {
  static constexpr char k2[] = "SSH-2.0-";
  static constexpr char k199[] = "SSH-1.99-";
  Validation a = detail::match_prefix(p, n, k2, sizeof k2 - 1);
  if (a != Validation::kFail) return a;
  return detail::match_prefix(p, n, k199, sizeof k199 - 1);
}

}  // namespace rampart::guard
