// Human output of `rampart top`: one line per app from the API's live analytics
// (GET .../spectrum/analytics/live). Pure functions: JSON in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rampart::apiclient {

// Per-second rates of one app over its last `window` samples (each sample holds the deltas of one
// finished interval of `interval_ms`, stamped with its end time).
struct AppRates {
  double connects = 0, bytes_in = 0, bytes_out = 0, errors = 0;
};
AppRates app_rates(const nlohmann::json& app, long long interval_ms, int window);

// "512 B/s", "1.5 KiB/s", "12 MiB/s".
std::string human_rate(double bytes_per_second);

// The table: APP PROTO ACTIVE CONN/S IN/S OUT/S ERR/S CONNS DROPS, header first, columns padded,
// apps by active connections (most first), then by id. `live` is the endpoint's result object.
std::string top_table(const nlohmann::json& live, int window);

}  // namespace rampart::apiclient
