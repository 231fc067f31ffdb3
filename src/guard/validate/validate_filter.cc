#include "guard/validate/validate_filter.h"

#include "guard/policy.h"

namespace rampart::guard::validate {

bool ValidateFilter::configured(const AppPolicy& p) const {
  return p.proto == config::Proto::kTcp && p.validator != config::Validator::kNone;
}

bool ValidateFilter::keeps_source_state(const AppPolicy& p) const {
  return p.autoban.violations > 0;
}

}  // namespace rampart::guard::validate
