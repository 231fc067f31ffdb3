// A connection event as it leaves a worker: a fixed-size value, so that pushing it costs a copy
// and no allocation. Turned into one NDJSON line (Spectrum's spectrum_events fields) by EventLog.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "net/ip_addr.h"

namespace rampart::telemetry {

// Spectrum's event types, declared once: X(enumerator, name in the event log and the API).
#define RAMPART_EVENT_TYPES(X)         \
  X(kConnect, "connect")               \
  X(kDisconnect, "disconnect")         \
  X(kClientFiltered, "clientFiltered") \
  X(kTlsError, "tlsError")             \
  X(kResolveOrigin, "resolveOrigin")   \
  X(kOriginError, "originError")       \
  X(kProgress, "progress")

#define RAMPART_EVENT_TYPE_ENUM(e, name) e,
enum class EventType : uint8_t { RAMPART_EVENT_TYPES(RAMPART_EVENT_TYPE_ENUM) };
#undef RAMPART_EVENT_TYPE_ENUM
#define RAMPART_EVENT_TYPE_ONE(e, name) +1
inline constexpr size_t kEventTypes = 0 RAMPART_EVENT_TYPES(RAMPART_EVENT_TYPE_ONE);
#undef RAMPART_EVENT_TYPE_ONE
static_assert(static_cast<size_t>(EventType::kProgress) + 1 == kEventTypes);
// "connect", "disconnect", ...; "unknown" for a value outside the enum.
const char* to_string(EventType t);

// Spectrum's status codes (SPEC §5); every place that closes a connection picks one of these.
namespace status {
inline constexpr uint16_t kOpened = 0;
inline constexpr uint16_t kNormal = 200;
inline constexpr uint16_t kDenied = 403;
inline constexpr uint16_t kClientTlsHandshake = 443;
inline constexpr uint16_t kOriginReset = 444;
inline constexpr uint16_t kOriginTimeout = 445;
inline constexpr uint16_t kOriginBrokenPipe = 448;
inline constexpr uint16_t kClientTlsError = 490;
inline constexpr uint16_t kClientTimeout = 497;
inline constexpr uint16_t kClientBrokenPipe = 498;
inline constexpr uint16_t kClientReset = 499;
inline constexpr uint16_t kOriginRefused = 521;
inline constexpr uint16_t kOriginConnectTimeout = 522;
inline constexpr uint16_t kOriginUnreachable = 523;
inline constexpr uint16_t kOriginUnresolved = 531;
// Rampart's (Cloudflare's HTTP codes for the same faults; SPEC §5 has no TCP code for them):
// the TLS handshake with the origin failed (tls: full/strict), or the origin's certificate did
// not verify (tls: strict).
inline constexpr uint16_t kOriginTlsHandshake = 525;
inline constexpr uint16_t kOriginTlsCertificate = 526;
inline constexpr uint16_t kUnknown = 999;
}  // namespace status

// ClientTlsStatus values (Spectrum's names).
enum class TlsStatus : uint8_t { kUnknown, kOk, kInternalError, kInvalidConfig, kHandshakeFailed };
const char* to_string(TlsStatus s);

struct ConnEvent {
  EventType type = EventType::kConnect;
  uint16_t status = 0;
  bool udp = false;
  bool ip_firewall = false;
  uint8_t proxy_protocol = 0;  // config::ProxyProtocol as an integer
  // A port probe's disconnect (a client that closed before sending anything to an app with a
  // validator): no connect event came before it, so it moves no open/closed counter.
  bool probe = false;
  char app[64] = {};
  char matched_rule[24] = {};  // ClientMatchedIpFirewall, empty when none
  char country[3] = {};        // ClientCountry: ISO 3166 alpha-2 from the GeoIP db, or empty
  uint32_t asn = 0;            // ClientAsn: 0 when unknown
  net::IpAddr client_ip;
  uint16_t client_port = 0;
  net::IpAddr origin_ip;
  uint16_t origin_port = 0;
  uint64_t client_bytes = 0;  // read from the client
  uint64_t origin_bytes = 0;  // read from the origin
  uint32_t client_rtt_us = 0;
  uint32_t origin_rtt_us = 0;
  int64_t connect_ns = 0;  // wall clock (CLOCK_REALTIME)
  int64_t disconnect_ns = 0;
  int64_t timestamp_ns = 0;
  // TLS apps only (tls != off): the ClientTls* fields are written when `tls` is set.
  bool tls = false;
  TlsStatus tls_status = TlsStatus::kUnknown;
  // Static strings of OpenSSL's tables (they live as long as the process): no copy per event.
  const char* tls_protocol = nullptr;  // ClientTlsProtocol: "TLSv1.3"; null = "unknown"
  const char* tls_cipher = nullptr;    // ClientTlsCipher (OpenSSL's name); null = "UNK"
  char tls_sni[96] = {};               // ClientTlsClientHelloServerName (longer names are cut)

  static void copy_text(char* dst, size_t cap, std::string_view text) {
    size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
    std::memcpy(dst, text.data(), n);
    dst[n] = '\0';
  }

  void set_matched_rule(std::string_view rule) {
    copy_text(matched_rule, sizeof matched_rule, rule);
  }
  void set_app(std::string_view id) { copy_text(app, sizeof app, id); }
  // How long the connection lasted, for a disconnect event (0 if the clock stepped back).
  uint64_t duration_ms() const {
    const int64_t ms = (disconnect_ns - connect_ns) / 1'000'000;
    return ms > 0 ? static_cast<uint64_t>(ms) : 0;
  }
};

}  // namespace rampart::telemetry
