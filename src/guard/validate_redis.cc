#include "guard/validate.h"

namespace rampart::guard {

namespace {

// "*N\r\n$" : a RESP array of bulk strings, which is what every client library sends.
Result resp_array(const uint8_t* p, size_t n) {
  size_t i = 1;
  size_t digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    if (++digits > 7) return Result::kFail;  // redis caps multibulk length at 1M (proto-max)
    ++i;
  }
  if (i == n) return Result::kNeedMore;
  if (digits == 0 || p[i] != '\r') return Result::kFail;
  if (++i == n) return Result::kNeedMore;
  if (p[i] != '\n') return Result::kFail;
  if (++i == n) return Result::kNeedMore;
  return p[i] == '$' ? Result::kPass : Result::kFail;
}

// An inline command ("PING\r\n", used by telnet and redis-benchmark -I): a word of letters, then
// printable ASCII up to the end of the line.
Result inline_command(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')) ++i;
  if (i > 32) return Result::kFail;  // no command name is that long
  if (i == n) return Result::kNeedMore;
  if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n') return Result::kFail;
  for (; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == '\n') return Result::kPass;
    if (c == '\r' && i + 1 < n && p[i + 1] != '\n') return Result::kFail;
    if (c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e)) return Result::kFail;
  }
  return Result::kNeedMore;
}

}  // namespace

Result validate_redis(const uint8_t* p, size_t n) {
  if (n == 0) return Result::kNeedMore;
  if (p[0] == '*') return resp_array(p, n);
  if ((p[0] | 0x20) < 'a' || (p[0] | 0x20) > 'z') return Result::kFail;
  return inline_command(p, n);
}

}  // namespace rampart::guard
