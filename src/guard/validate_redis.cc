#include "guard/validate.h"

namespace rampart::guard {

namespace {

// "*N\r\n$" : a RESP array of bulk strings, which is what every client library sends.
Validation resp_array(const uint8_t* p, size_t n) {
  size_t i = 1;
  size_t digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    if (++digits > 7) return Validation::kFail;  // redis caps multibulk length at 1M (proto-max)
    ++i;
  }
  if (i == n) return Validation::kNeedMore;
  if (digits == 0 || p[i] != '\r') return Validation::kFail;
  if (++i == n) return Validation::kNeedMore;
  if (p[i] != '\n') return Validation::kFail;
  if (++i == n) return Validation::kNeedMore;
  return p[i] == '$' ? Validation::kPass : Validation::kFail;
}

// An inline command ("PING\r\n", used by telnet and redis-benchmark -I): a word of letters, then
// printable ASCII up to the end of the line.
Validation inline_command(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n && ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')) ++i;
  if (i > 32) return Validation::kFail;  // no command name is that long
  if (i == n) return Validation::kNeedMore;
  if (p[i] != ' ' && p[i] != '\r' && p[i] != '\n') return Validation::kFail;
  for (; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == '\n') return Validation::kPass;
    if (c == '\r' && i + 1 < n && p[i + 1] != '\n') return Validation::kFail;
    if (c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e)) return Validation::kFail;
  }
  return Validation::kNeedMore;
}

}  // namespace

Validation validate_redis(const uint8_t* p, size_t n) {
  if (n == 0) return Validation::kNeedMore;
  if (p[0] == '*') return resp_array(p, n);
  if ((p[0] | 0x20) < 'a' || (p[0] | 0x20) > 'z') return Validation::kFail;
  return inline_command(p, n);
}

}  // namespace rampart::guard
