// Durations as written in the config: "250ms", "30s", "5m", "1h", "1h30m", "2d"; a bare integer
// is seconds. Pure functions: any thread may call them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace rampart::config {

// nullopt for anything else (empty, negative, fractions, unknown units, over ~100 years).
std::optional<Duration> parse_duration(std::string_view text);
// A form parse_duration() reads back: "0s", "250ms", "1h30m"; not a whole second -> all in ms.
std::string format_duration(Duration d);

}  // namespace rampart::config
