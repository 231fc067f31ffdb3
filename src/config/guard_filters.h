// The names of the guard's filters as `protection.dry_run` spells them, in the order of
// guard::FilterId (src/guard/reasons.h, which static_asserts the count). The one list both the
// config parser (which validates dry_run entries) and the guard (whose filter declarations take
// their names from it) can see: config is below guard in the link order. Any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace rampart::config {

inline constexpr std::array<std::string_view, 7> kGuardFilterNames = {
    "acl", "conn_limit", "rate_limit", "autoban", "validate", "reflection", "table"};
// Every filter at once.
inline constexpr std::string_view kGuardFilterAll = "all";

// What `protection.dry_run` accepts: every filter name, then "all".
inline constexpr auto kDryRunKeys = [] {
  std::array<std::string_view, kGuardFilterNames.size() + 1> keys{};
  for (size_t i = 0; i < kGuardFilterNames.size(); ++i) keys[i] = kGuardFilterNames[i];
  keys[kGuardFilterNames.size()] = kGuardFilterAll;
  return keys;
}();

}  // namespace rampart::config
