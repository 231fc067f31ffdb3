// Process log to stderr: one line per message, "2026-11-26T23:59:01.123Z LEVEL message".
// Thread-safe (one write(2) per line).
#pragma once

#include <string>
#include <string_view>

namespace rampart::core {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);
// "WHAT: strerror(errno)", read at the call: call it right after the failing call.
std::string errno_text(const char* what);

template <typename... Parts>
void log_parts(LogLevel level, const Parts&... parts);

}  // namespace rampart::core

#include <sstream>

namespace rampart::core {
template <typename... Parts>
void log_parts(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << parts);
  log_line(level, out.str());
}
}  // namespace rampart::core

#define RLOG_DEBUG(...) ::rampart::core::log_parts(::rampart::core::LogLevel::kDebug, __VA_ARGS__)
#define RLOG_INFO(...) ::rampart::core::log_parts(::rampart::core::LogLevel::kInfo, __VA_ARGS__)
#define RLOG_WARN(...) ::rampart::core::log_parts(::rampart::core::LogLevel::kWarn, __VA_ARGS__)
#define RLOG_ERROR(...) ::rampart::core::log_parts(::rampart::core::LogLevel::kError, __VA_ARGS__)
