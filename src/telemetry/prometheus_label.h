// Prometheus text exposition: a label value escaped as the format requires (backslash, double
// quote and line feed). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace rampart::telemetry {

inline std::string prometheus_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace rampart::telemetry
