// Counters declared once per area (Envoy's ALL_*_STATS idea): an area writes one list macro
//
//   #define RAMPART_FOO_STATS(FAMILY, COUNTER)
//     FAMILY("rampart_foo_total", "Help text of the Prometheus family.")
//     COUNTER(foo_a, "kind", "a") /* what foo_a counts */
//     COUNTER(foo_b, "kind", "b")
//
// (each line but the last ending in a backslash)
// and expands it twice: into the struct's fields (RAMPART_STAT_FIELDS: one telemetry::Counter
// per COUNTER, nothing per FAMILY) and into a constexpr table (RAMPART_STAT_TABLE) that the
// Prometheus exposition walks: a FAMILY row opens a family (# HELP / # TYPE), each COUNTER row
// after it is one series of that family, with one optional label (null key: no label). The
// data path keeps plain fields (relaxed load + store); only readers walk the table. Comments
// inside a list macro must be /* */ (a // comment would swallow the line continuations).
#pragma once

#include <array>
#include <cstddef>

#include "telemetry/counter.h"

namespace rampart::telemetry {

// One row of a declaration table of struct S: a family (name set) or a series (field set).
template <typename S>
struct StatDecl {
  const char* name = nullptr;   // family: Prometheus name ("rampart_..._total")
  const char* help = nullptr;   // family: # HELP text
  Counter S::*field = nullptr;  // series: the counter
  const char* label = nullptr;  // series: label key, or null for none
  const char* value = nullptr;  // series: label value

  static constexpr StatDecl family(const char* n, const char* h) { return {n, h, nullptr, {}, {}}; }
  static constexpr StatDecl series(Counter S::*f, const char* l, const char* v) {
    return {nullptr, nullptr, f, l, v};
  }
  constexpr bool is_family() const { return field == nullptr; }
};

// Every series row belongs to a family row before it: checked at compile time.
template <typename S, size_t N>
constexpr bool starts_with_family(const std::array<StatDecl<S>, N>& t) {
  return N > 0 && t[0].is_family() && t[0].name != nullptr;
}

}  // namespace rampart::telemetry

#define RAMPART_STAT_NO_FIELD(name, help)
#define RAMPART_STAT_FIELD(field, label, value) ::rampart::telemetry::Counter field;
// Inside a struct: one telemetry::Counter per COUNTER row of LIST.
#define RAMPART_STAT_FIELDS(LIST) LIST(RAMPART_STAT_NO_FIELD, RAMPART_STAT_FIELD)

#define RAMPART_STAT_FAMILY_ROW(name, help) \
  ::rampart::telemetry::StatDecl<Self>::family(name, help),
#define RAMPART_STAT_SERIES_ROW(field, label, value) \
  ::rampart::telemetry::StatDecl<Self>::series(&Self::field, label, value),
// At namespace scope after struct S: `kName`, the constexpr table of LIST for S.
#define RAMPART_STAT_TABLE(S, kName, LIST)                                     \
  template <typename Self>                                                     \
  constexpr auto kName##_of() {                                                \
    return std::array{LIST(RAMPART_STAT_FAMILY_ROW, RAMPART_STAT_SERIES_ROW)}; \
  }                                                                            \
  inline constexpr auto kName = kName##_of<S>();                               \
  static_assert(::rampart::telemetry::starts_with_family(kName), #kName ": a FAMILY first")
