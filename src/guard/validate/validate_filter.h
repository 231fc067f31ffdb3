// The first-bytes filter (an app's `validate:`): the session runs the protocol validator
// (guard/validate.h, pure functions) on the client's first bytes; a failure or a handshake
// timeout walks this filter, which counts an autoban violation and drops. It keeps per-source
// state only through autoban. Stateless; any worker thread.
#pragma once

#include "guard/filter.h"

namespace rampart::guard::validate {

inline constexpr ReasonDecl kReasons[] = {
    {Reason::kValidate, "validate", "VALIDATE", false},
    {Reason::kHandshakeTimeout, "handshake_timeout", "HANDSHAKE_TIMEOUT", false},
};
inline constexpr FilterDecl kDecl{FilterId::kValidate, kReasons, kOnFirstBytes, true, false};

class ValidateFilter final : public Filter {
 public:
  constexpr ValidateFilter() : Filter(kDecl) {}
  bool configured(const AppPolicy& p) const override;
  bool keeps_source_state(const AppPolicy& p) const override;
  Verdict on_first_bytes(Call& c) const override {
    c.violation(c.reason);
    return Verdict::kDrop;
  }
};

}  // namespace rampart::guard::validate
