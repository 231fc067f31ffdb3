#include "guard/declarations.h"

#include <cstring>

namespace rampart::guard {

namespace {

const acl::AclFilter kAcl;
const autoban::BanFilter kBans;
const conn_limit::ConnLimitFilter kConnLimit;
const rate_limit::RateLimitFilter kRateLimit;
const reflection::ReflectionFilter kReflection;
const validate::ValidateFilter kValidate;

const Filter* const kChainOrder[] = {&kReflection, &kAcl,       &kBans,
                                     &kConnLimit,  &kRateLimit, &kValidate};

}  // namespace

std::span<const Filter* const> filter_chain_order() {
  return kChainOrder;
}

const char* reason_name(Reason r) {
  if (r == Reason::kNone) return "none";
  const ReasonDecl* d = reason_decl(r);
  return d != nullptr ? d->label : "unknown";
}

const char* reason_rule(Reason r) {
  if (r == Reason::kNone) return "NONE";
  const ReasonDecl* d = reason_decl(r);
  return d != nullptr ? d->rule : "UNKNOWN";
}

FilterId filter_of(Reason r) {
  if (reason_decl(r) == nullptr) return FilterId::kValidate;  // kNone: never dropped for
  return kReasonRows[static_cast<size_t>(r)].filter;
}

uint32_t filter_bit_from_name(std::string_view name) {
  if (name == config::kGuardFilterAll) return ~uint32_t{0};
  for (const FilterDecl* f : kFilterDecls)
    if (f->name() == name) return uint32_t{1} << static_cast<unsigned>(f->id);
  return 0;
}

}  // namespace rampart::guard
