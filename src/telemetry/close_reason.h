// Why a connection ended, as the side that ended it and the cause (pingora's error source idea),
// and the one table that turns that pair into Spectrum's status code (SPEC §5). Every place that
// closes a TCP session or a UDP flow names a CloseReason; only status_of() picks a status, and
// only close_reason_of_errno() / connect_failure() turn an errno into a reason. Pure values and
// constexpr functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "telemetry/conn_event.h"

namespace rampart::telemetry {

// Who ended the connection: the client, the origin, or the edge itself (shutdown, drain, its own
// resources).
enum class Side : uint8_t { kClient, kOrigin, kEdge };

enum class Cause : uint8_t {
  kNormal,          // both ways finished (FIN/close_notify), or the edge closed on purpose
  kDenied,          // refused by the guard
  kTimeout,         // nothing moved for the idle (or handshake) timeout
  kReset,           // the side reset the connection
  kBrokenPipe,      // writing to the side failed: it was gone
  kTlsHandshake,    // the side's TLS handshake failed or timed out
  kTlsError,        // the side's TLS stream broke mid-way (bad record, bad MAC...)
  kTlsCertificate,  // the origin's certificate did not verify (tls: strict)
  kRefused,         // the origin refused the connection
  kConnectTimeout,  // the origin did not answer the connect in time
  kUnreachable,     // no origin could be reached (or none is healthy)
  kUnresolved,      // the app has no origin address
  kUnknown,         // an error no row names
};

struct CloseReason {
  Side side = Side::kEdge;
  Cause cause = Cause::kNormal;
  constexpr bool operator==(const CloseReason&) const = default;
};

struct CloseRow {
  CloseReason reason;
  uint16_t status;
};

// The table: every (side, cause) that has a Spectrum status. A pair not listed is kUnknown (999).
inline constexpr CloseRow kCloseTable[] = {
    {{Side::kEdge, Cause::kNormal}, status::kNormal},
    {{Side::kClient, Cause::kNormal}, status::kNormal},
    {{Side::kOrigin, Cause::kNormal}, status::kNormal},
    {{Side::kClient, Cause::kDenied}, status::kDenied},
    {{Side::kClient, Cause::kTlsHandshake}, status::kClientTlsHandshake},
    {{Side::kOrigin, Cause::kReset}, status::kOriginReset},
    {{Side::kOrigin, Cause::kTimeout}, status::kOriginTimeout},
    {{Side::kOrigin, Cause::kBrokenPipe}, status::kOriginBrokenPipe},
    {{Side::kClient, Cause::kTlsError}, status::kClientTlsError},
    {{Side::kClient, Cause::kTimeout}, status::kClientTimeout},
    {{Side::kClient, Cause::kBrokenPipe}, status::kClientBrokenPipe},
    {{Side::kClient, Cause::kReset}, status::kClientReset},
    {{Side::kOrigin, Cause::kRefused}, status::kOriginRefused},
    {{Side::kOrigin, Cause::kConnectTimeout}, status::kOriginConnectTimeout},
    {{Side::kOrigin, Cause::kUnreachable}, status::kOriginUnreachable},
    {{Side::kOrigin, Cause::kUnresolved}, status::kOriginUnresolved},
    {{Side::kOrigin, Cause::kTlsHandshake}, status::kOriginTlsHandshake},
    // A broken TLS stream from the origin mid-way: Cloudflare's 525 as for its handshake.
    {{Side::kOrigin, Cause::kTlsError}, status::kOriginTlsHandshake},
    {{Side::kOrigin, Cause::kTlsCertificate}, status::kOriginTlsCertificate},
    {{Side::kEdge, Cause::kUnknown}, status::kUnknown},
};

// Spectrum's status for `r` (SPEC §5).
constexpr uint16_t status_of(CloseReason r) {
  for (const CloseRow& row : kCloseTable)
    if (row.reason == r) return row.status;
  return status::kUnknown;
}

// The first reason the table gives `status` (for callers that only have a status, such as a
// shutdown requested with one); {edge, unknown} when none.
constexpr CloseReason close_reason_of(uint16_t status) {
  for (const CloseRow& row : kCloseTable)
    if (row.status == status) return row.reason;
  return {Side::kEdge, Cause::kUnknown};
}

// A socket error while reading from (or, `writing`, writing to) `side`.
CloseReason close_reason_of_errno(int err, Side side, bool writing);
// A failed connect to an origin (the socket's errno, ETIMEDOUT for the connect timeout).
CloseReason connect_failure(int err);

static_assert(status_of({Side::kOrigin, Cause::kConnectTimeout}) == 522);
static_assert(status_of({Side::kClient, Cause::kTimeout}) == 497);
static_assert(status_of({Side::kClient, Cause::kRefused}) == status::kUnknown);
static_assert(close_reason_of(status::kNormal) == CloseReason{Side::kEdge, Cause::kNormal});

}  // namespace rampart::telemetry
