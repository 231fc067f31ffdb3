// Shared by the analytics tests (analytics_query, analytics_rows, rollup_store): one fixed "now"
// and queries parsed against it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

#include "control/analytics_query.h"

namespace rampart::control {

// A query's parameters, as the API hands them to parse_analytics_query.
using Params = std::multimap<std::string, std::string>;

constexpr int64_t kNow = 1795744800;  // 2026-11-27T02:00:00Z, a Friday, minute-aligned
constexpr int64_t kMin = kNow / 60;   // the unix minute of kNow

// The query `p` asks for at kNow; fails the test if it does not parse.
inline AnalyticsQuery query(const Params& p, bool bytime = false) {
  AnalyticsQuery q;
  std::string error;
  EXPECT_TRUE(parse_analytics_query(p, kNow, bytime, &q, &error)) << error;
  return q;
}

}  // namespace rampart::control
