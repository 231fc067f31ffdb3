// First-bytes protocol validators: pure functions over the bytes a client sent first (peeked,
// not consumed). Each answers kPass (a real client of that protocol starts like this), kFail
// (it cannot be one) or kNeedMore (a prefix of a valid start: wait for more bytes). They never
// read past `len` and keep no state; any thread may call them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "config/model.h"

namespace rampart::guard {

// A validator's verdict on the first bytes (not a guard Verdict: the validate filter turns a
// kFail into a drop, guard/validate/validate_filter.h).
enum class Validation { kNeedMore, kPass, kFail };

// The most bytes any validator needs to decide (a Minecraft handshake with a long host name);
// a validator still answering kNeedMore at this size has failed.
inline constexpr size_t kValidateMaxBytes = 1100;

Validation validate_ssh(const uint8_t* p, size_t n);        // "SSH-2.0-" / "SSH-1.99-"
Validation validate_tls(const uint8_t* p, size_t n);        // TLS record holding a ClientHello
Validation validate_rdp(const uint8_t* p, size_t n);        // TPKT + X.224 Connection Request
Validation validate_minecraft(const uint8_t* p, size_t n);  // Java Edition handshake / legacy ping
Validation validate_mqtt(const uint8_t* p, size_t n);       // CONNECT, protocol MQTT / MQIsdp
Validation validate_postgres(const uint8_t* p, size_t n);  // startup 3.0, SSL/GSSENC/cancel request
Validation validate_redis(const uint8_t* p, size_t n);     // RESP array or inline command

// Dispatches on the app's `validate:` setting; kPass for Validator::kNone.
Validation validate_first_bytes(config::Validator v, const uint8_t* p, size_t n);

const char* to_string(Validation r);

// A client that closed while its first bytes were awaited, without having sent any: a port
// check (nc -z, Nagios check_tcp, a load balancer's TCP check), not a client of the wrong
// protocol. It is logged as a disconnect (200 for a FIN, 499 for a reset) and counted as a
// probe, never as a validator violation (which would count toward autoban).
enum class Probe { kNone, kFin, kRst };
// From the MSG_PEEK of the first bytes: `peeked` is recv's result and `err` its errno when it
// is negative. 0 bytes = the client's FIN with nothing before it; ECONNRESET = its reset (the
// kernel drops unread bytes on a reset, so a reset is a probe whatever came before it).
Probe probe_kind(long peeked, int err);

namespace detail {
// Compares the first min(n, len(lit)) bytes with `lit`: kPass when all of lit matched, kNeedMore
// when the bytes so far are a prefix of it, kFail otherwise.
Validation match_prefix(const uint8_t* p, size_t n, const char* lit, size_t lit_len);
// A protobuf/Minecraft/MQTT-style base-128 varint of at most `max_bytes` bytes at p[*off].
// kPass advances *off and sets *value.
Validation read_varint(const uint8_t* p, size_t n, size_t* off, size_t max_bytes, uint32_t* value);
}  // namespace detail

}  // namespace rampart::guard
