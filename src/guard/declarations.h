// The registry of the guard's filters: every declaration, and the order in which an app's
// chains run them (policy.cc flattens the configured ones into AppPolicy). Everything that used
// to be a hand-kept table is computed here at compile time from the declarations: the reason
// tables (reason_name / reason_rule / filter_of), the dry-run names (config::kGuardFilterNames),
// the XDP reasons (xdp/counters.cc checks its counter slots against reason_has_xdp_twin), with
// static_asserts that every reason is declared by exactly one filter and every filter once.
// Any thread.
#pragma once

#include <array>
#include <cstddef>

#include "guard/acl/acl.h"
#include "guard/autoban/autoban.h"
#include "guard/conn_limit/conn_limit.h"
#include "guard/filter.h"
#include "guard/rate_limit/rate_limit.h"
#include "guard/reflection/reflection.h"
#include "guard/table/table.h"
#include "guard/validate/validate_filter.h"

namespace rampart::guard {

// Every declaration, one per FilterId.
inline constexpr const FilterDecl* kFilterDecls[] = {
    &acl::kDecl,      &conn_limit::kDecl, &rate_limit::kDecl, &autoban::kDecl,
    &validate::kDecl, &reflection::kDecl, &table::kDecl,
};

// The filter objects in chain order (reflection before the ACL, so a whitelist does not lift
// it; the bans after the ACL, so a whitelist does; the app cap before the per-source filters).
// Defined in declarations.cc.
std::span<const Filter* const> filter_chain_order();

namespace detail {

struct ReasonRow {
  ReasonDecl decl{Reason::kNone, "", "", false};
  FilterId filter = FilterId::kCount;
  int declared = 0;
};

consteval std::array<ReasonRow, kReasonCount> reason_rows() {
  std::array<ReasonRow, kReasonCount> rows{};
  for (const FilterDecl* f : kFilterDecls)
    for (const ReasonDecl& r : f->reasons) {
      ReasonRow& row = rows[static_cast<size_t>(r.reason)];
      row.decl = r;
      row.filter = f->id;
      ++row.declared;
    }
  return rows;
}

consteval bool every_reason_declared_once() {
  const auto rows = reason_rows();
  if (rows[0].declared != 0) return false;  // kNone belongs to no filter
  for (size_t i = 1; i < kReasonCount; ++i)
    if (rows[i].declared != 1) return false;
  return true;
}

consteval bool every_filter_declared_once() {
  int seen[kFilterCount] = {};
  for (const FilterDecl* f : kFilterDecls) {
    if (f->id >= FilterId::kCount) return false;
    ++seen[static_cast<size_t>(f->id)];
  }
  for (int n : seen)
    if (n != 1) return false;
  return true;
}

}  // namespace detail

static_assert(detail::every_reason_declared_once(),
              "every guard::Reason but kNone is declared by exactly one filter");
static_assert(detail::every_filter_declared_once(), "every FilterId has exactly one declaration");
static_assert(std::size(kFilterDecls) == kFilterCount);

inline constexpr std::array<detail::ReasonRow, kReasonCount> kReasonRows = detail::reason_rows();

// The declaration of r (null for kNone).
constexpr const ReasonDecl* reason_decl(Reason r) {
  const size_t i = static_cast<size_t>(r);
  return i < kReasonCount && kReasonRows[i].declared == 1 ? &kReasonRows[i].decl : nullptr;
}
// Whether the XDP program drops for r too (its twin).
constexpr bool reason_has_xdp_twin(Reason r) {
  const size_t i = static_cast<size_t>(r);
  return i < kReasonCount && kReasonRows[i].declared == 1 && kReasonRows[i].decl.xdp_twin;
}
// How many reasons have an XDP twin.
consteval size_t xdp_twin_count() {
  size_t n = 0;
  for (size_t i = 0; i < kReasonCount; ++i) n += reason_has_xdp_twin(static_cast<Reason>(i));
  return n;
}
constexpr const FilterDecl& filter_decl(FilterId f) {
  return *kFilterDecls[static_cast<size_t>(f)];
}

}  // namespace rampart::guard
