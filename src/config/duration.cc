#include "config/duration.h"

#include <cstdint>

namespace rampart::config {
namespace {

// About a hundred years: large enough for any timeout, small enough to never overflow.
constexpr uint64_t kMaxMs = 100ull * 365 * 24 * 3600 * 1000;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Milliseconds per unit, 0 when the unit is unknown.
uint64_t unit_ms(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 3600 * 1000;
  if (unit == "d") return 24 * 3600 * 1000;
  return 0;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t total = 0;
  size_t i = 0;
  bool bare = true;
  while (i < text.size()) {
    size_t start = i;
    uint64_t n = 0;
    while (i < text.size() && is_digit(text[i])) {
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
      if (n > kMaxMs) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;  // a unit without a number, or a sign
    size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    uint64_t mult;
    if (unit.empty()) {
      // A bare integer means seconds, but only on its own: "1h30" is ambiguous.
      if (!bare || i != text.size() || start != 0) return std::nullopt;
      mult = 1000;
    } else {
      mult = unit_ms(unit);
      if (mult == 0) return std::nullopt;
    }
    bare = false;
    if (n > kMaxMs / mult) return std::nullopt;
    total += n * mult;
    if (total > kMaxMs) return std::nullopt;
  }
  return Duration(static_cast<int64_t>(total));
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms <= 0) return ms == 0 ? "0s" : std::to_string(ms) + "ms";
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  std::string out;
  if (int64_t h = s / 3600; h > 0) out += std::to_string(h) + "h";
  if (int64_t m = (s / 60) % 60; m > 0) out += std::to_string(m) + "m";
  if (int64_t rest = s % 60; rest > 0) out += std::to_string(rest) + "s";
  return out;
}

}  // namespace rampart::config
