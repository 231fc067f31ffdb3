// libFuzzer target for a fleet peer's events rows (control/analytics_rows.h): the input is the
// JSON a peer answers with to `scope=local&format=rows`. Checks that a refused answer leaves the
// rows untouched, that an accepted one holds rows of the asked dimension count with histograms of
// the fixed bucket count, and that the merge (analytics_result) over them never crashes or
// overflows (UBSan), for a summary and a bytime query asking every metric. With the first byte's
// top bit set, the input is a peer's drops/bytime rows (control/analytics_drops.h) instead: a
// refused answer leaves the rows untouched, an accepted one is summed into drops_result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/analytics_drops.h"
#include "control/analytics_rows.h"
#include "telemetry/app_stats.h"

using namespace rampart::control;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool bytime = (data[0] & 1) != 0;
  const size_t dims = (data[0] >> 1) % 3;
  nlohmann::json j =
      nlohmann::json::parse(reinterpret_cast<const char*>(data) + 1,
                            reinterpret_cast<const char*>(data) + size, nullptr, false);
  if (j.is_discarded()) return 0;
  std::string error;
  if ((data[0] & 0x80) != 0) {
    std::vector<DropRow> drops(1, DropRow{1, "kept", "rate_limit", 1});
    if (!drop_rows_from_json(j, &drops, &error)) {
      if (error.empty() || drops.size() != 1) std::abort();
      return 0;
    }
    DropsQuery dq;
    if (!parse_drops_query({{"since", "-60"}, {"time_delta", bytime ? "minute" : "hour"}},
                           1795744800, &dq, &error))
      std::abort();
    (void)drops_result(dq, drops).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
  }
  std::vector<AnalyticsRow> rows(1);
  rows[0].dims.assign(dims, "kept");
  int64_t lag = 0;
  if (!rows_from_json(j, dims, &rows, &lag, &error)) {
    if (error.empty() || rows.size() != 1) std::abort();
    return 0;
  }
  for (const AnalyticsRow& r : rows) {
    if (r.dims.size() != dims) std::abort();
    if (!r.durations.empty() && r.durations.size() != rampart::telemetry::kDurationBuckets)
      std::abort();
  }
  AnalyticsQuery q;
  std::multimap<std::string, std::string> params{
      {"metrics",
       "count,bytesIngress,bytesEgress,durationAvg,durationMedian,duration90th,"
       "duration99th"},
      {"since", "-60"},
      {"sort", "-count"},
      {"limit", "3"}};
  if (dims > 0) params.emplace("dimensions", dims == 1 ? "appID" : "appID,coloName");
  if (!parse_analytics_query(params, 1795744800, bytime, &q, &error)) std::abort();
  (void)analytics_result(q, collapse_rows(q, rows, bytime), bytime, lag)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
