// libFuzzer target for the analytics query parser (control/analytics_query.h): the input is a
// query string (key=value&...), as events/summary and events/bytime receive it, parsed at a fixed
// "now" and then answered over an empty and a one-row result. Checks that nothing crashes or
// overflows (UBSan: since/until/time_delta/limit at int64's ends), that an accepted query is
// within its documented bounds, and that the interval count of bytime stays capped. The raw
// text is also given to the `filters` grammar (control/analytics_filter.h) alone: an accepted
// expression has no empty AND-list and no empty or blank-holding value, and a refusal says why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/analytics_query.h"
#include "control/http_parse.h"

using namespace rampart::control;

namespace {

void fuzz_filters(std::string_view text) {
  FilterExpr expr;
  std::string error;
  if (!parse_filter_expr(text, &expr, &error)) {
    if (error.rfind("filters: ", 0) != 0) std::abort();
    return;
  }
  if (expr.empty()) std::abort();
  for (const auto& all : expr) {
    if (all.empty()) std::abort();
    for (const FilterTerm& t : all)
      if (t.value.empty() || t.value.find(' ') != std::string::npos) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  fuzz_filters(std::string_view(reinterpret_cast<const char*>(data), size));
  const bool bytime = (data[0] & 1) != 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr int64_t kNow = 1795744800;  // 2026-11-27T02:00:00Z
  AnalyticsQuery q;
  std::string error;
  if (!parse_analytics_query(parse_query(text), kNow, bytime, &q, &error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  if (q.since >= q.until || q.since < kMinQueryTime || q.until > kMaxQueryTime) std::abort();
  if (q.limit == 0 || q.limit > kMaxLimit || q.metrics.empty()) std::abort();
  if (bytime) {
    if (!q.time_delta) std::abort();
    size_t n = 0;
    for (int64_t t = bucket_start(*q.time_delta, q.since); t < q.until;
         t = bucket_next(*q.time_delta, t))
      if (++n > kMaxIntervals) std::abort();
  }
  (void)rfc3339(q.since);
  (void)parse_rfc3339(std::string(text));
  std::vector<AnalyticsRow> rows;
  (void)analytics_result(q, rows, bytime, 0);
  AnalyticsRow r;
  r.dims.assign(q.dimensions.size(), "x");
  r.minute = q.since / 60;
  r.count = 3;
  r.duration_sum_ms = 30;
  r.durations_count = 3;
  rows.push_back(r);
  // As the API sends it (send_outcome): bytes of the query that are not UTF-8 are replaced.
  (void)analytics_result(q, rows, bytime, 1)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
