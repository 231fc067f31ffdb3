// Every code the API puts in its v4 envelope (`errors[].code`, `messages[].code`), in one place:
// Cloudflare's v4 codes where Spectrum documents none (README "API"), Spectrum's own codes
// (developers.cloudflare.com/spectrum/reference/error-codes) and Rampart's notes. Constants only;
// config (validation) and control (the API) both use them: `config::kErrInvalidValue`,
// `control::kErrAuth` and unqualified inside either namespace.
#pragma once

namespace rampart::config::api_codes {

// The API's own refusals before a handler runs (docs/hardening.md, "API").
inline constexpr int kErrThrottled = 971;     // 429: too many wrong credentials from the source
inline constexpr int kErrRequestHead = 6003;  // 400/414/415/421/431/501/505: the request's head
inline constexpr int kErrBusy = 7010;         // 503: every API handler thread busy, queue full

// Cloudflare v4 codes where the request itself is wrong or nothing answers it.
inline constexpr int kErrMalformedJson = 6007;     // body is not JSON / not an object
inline constexpr int kErrNoRoute = 7000;           // 404: no such endpoint
inline constexpr int kErrMethodNotAllowed = 7001;  // 405
inline constexpr int kErrUnknownZone = 7003;       // 404: zone id the edge does not serve
inline constexpr int kErrAuth = 10000;             // 401: missing or wrong token
// 403: a token or dashboard session of scope read (api.tokens) asked for a write (Cloudflare's
// "Unauthorized to access requested resource").
inline constexpr int kErrReadOnlyToken = 9109;
// 403: a write by dashboard session cookie without the session's X-CSRF-Token, or from another
// site or origin (Sec-Fetch-Site, Origin), or a sign-in posted from another site.
inline constexpr int kErrCsrf = 10403;
inline constexpr int kErrInvalidValue = 10001;  // wrong type or bad value without a 11xxx code
inline constexpr int kErrInternal = 10002;      // 500
inline constexpr int kErrNotFound = 10007;      // 404: no app / rule with that id
inline constexpr int kErrConflict = 10009;      // 409: id taken, port overlap, file-sourced app
inline constexpr int kErrListenConflict = kErrConflict;  // 409: an edge address and port twice
inline constexpr int kErrUnknownField = 10012;           // field the API does not know
inline constexpr int kErrTooLarge = 10013;               // 413: body over 1 MiB
inline constexpr int kErrStoreUnavailable = 10503;  // 503: the fleet store unreachable, not made
inline constexpr int kErrOutcomeUnknown = 10504;    // 504: the store did not say if it applied it
inline constexpr int kErrEdgeUnreachable = 10502;   // 502: the fleet edge asked for (edge=) did
                                                    // not answer
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a key reused for another request
// (422), or sent again while its first request is still being answered (409).
inline constexpr int kErrIdempotencyKeyReused = 10422;
inline constexpr int kErrIdempotencyKeyInProgress = 10409;

// Spectrum's codes, for origin and dns problems.
inline constexpr int kErrOriginConfig = 11000;   // not exactly one of origin_direct / origin_dns
inline constexpr int kErrOriginDns = 11001;      // bad origin_dns (name, missing origin_port, ...)
inline constexpr int kErrOriginAddress = 11002;  // malformed origin / IPv6 without brackets
inline constexpr int kErrDns = 11004;            // bad dns record (type CNAME|ADDRESS, name)

// Codes of the notes in `messages` (setting accepted, see the message).
inline constexpr int kNoteSelfSignedCert = 11900;  // tls without a configured certificate
inline constexpr int kNoteNoEffect = 11901;        // argo_smart_routing
inline constexpr int kNoteNotEnforced = 11902;     // accepted, not acted on by this build yet
inline constexpr int kNoteFleetSum = 11903;        // aggregate/current summed over the fleet
inline constexpr int kNoteAppDisabled = 11904;     // GET: the data plane runs the app disabled
inline constexpr int kNoteAppLeftOut = 11905;      // GET: a stored app left out at startup

}  // namespace rampart::config::api_codes

namespace rampart::config {
using namespace api_codes;  // NOLINT: the codes are config::kErr...
}  // namespace rampart::config
