// UTF-8 checks for text that came from clients (a TLS server name, anything logged): which bytes
// form valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), so that
// writers can escape the rest. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rampart::core {

// The length (1-4) of the valid UTF-8 sequence that starts at p[0], or 0 when p[0] does not
// start one within n bytes (a stray continuation byte, an overlong form, a truncated sequence).
size_t utf8_sequence(const unsigned char* p, size_t n);

// `text` made safe for a one-line log: control characters (newlines included), DEL and bytes
// that are not valid UTF-8 become \xNN, so a client's bytes can neither forge a log line nor
// put invalid UTF-8 into it.
std::string log_safe(std::string_view text);

}  // namespace rampart::core
