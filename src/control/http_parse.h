// The pieces of reading an HTTP/1.x request that need no socket: the request head, the body's
// framing (Content-Length, chunked; request Content-Encoding refused), the chunked decoder, the
// Host check, and the credentials' syntax (bearer header, cookies, sign-in form), plus URL and
// query decoding. Pure functions and one small state machine, so that tests and the fuzzer
// (tests/fuzz/http_api_fuzz.cc) drive them without sockets. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/http_message.h"

namespace rampart::control {

inline constexpr size_t kMaxHeadBytes = 16 * 1024;  // request line + headers
inline constexpr size_t kMaxHeaderCount = 100;

enum class ParseStatus { kIncomplete, kComplete, kInvalid };

struct HeadResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;   // kComplete: bytes of the head, blank line included
  int error_status = 0;  // kInvalid: 400, 414, 431, 501 or 505
  std::string error;     // kInvalid: why, for the answer's message
};

// Parses the request line and headers at the start of `buf` into *req (method, target, path,
// query, params, version, headers). kIncomplete until the blank line has arrived; kInvalid when
// the head is malformed or past kMaxHeadBytes / kMaxHeaderCount.
HeadResult parse_request_head(std::string_view buf, HttpRequest* req);

// How a request's body is delimited.
struct BodyFraming {
  enum class Kind { kNone, kLength, kChunked } kind = Kind::kNone;
  uint64_t length = 0;  // kLength
};

// Reads Content-Length / Transfer-Encoding; false with *status (400, 501) and *why for a request
// that cannot be framed safely (both headers, several different lengths, a coding other than
// chunked): the answer closes the connection.
bool body_framing(const HttpRequest& req, BodyFraming* out, int* status, std::string* why);

// A request body may not be compressed (the API never inflates: a small gzip or brotli body can
// stand for gigabytes). True when the request has no Content-Encoding or only "identity".
bool content_coding_allowed(const HttpRequest& req);

// Whether the connection may carry another request after this one's answer.
bool wants_keep_alive(const HttpRequest& req);

// Decodes a chunked body incrementally. feed() may be called with any split of the input.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(size_t max_body) : max_body_(max_body) {}
  // Consumes a prefix of `in` (*used bytes), appending the payload to *body. kComplete once the
  // last chunk and the trailers are read; kInvalid on bad syntax or a body over max_body
  // (too_large() tells which).
  ParseStatus feed(std::string_view in, size_t* used, std::string* body);
  bool too_large() const { return too_large_; }

 private:
  enum class State { kSize, kSizeLine, kData, kDataCr, kDataLf, kTrailer };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  size_t line_bytes_ = 0;  // size line or trailer line length so far (bounded)
  size_t trailer_bytes_ = 0;
  bool saw_digit_ = false;
  bool line_empty_ = true;  // kTrailer: the current line has no bytes yet
  size_t max_body_;
  bool too_large_ = false;
};

// The Host check that defeats DNS rebinding (docs/hardening.md, "API"). `host` is the Host
// header's value; allowed are: an IP literal equal to the address the connection reached
// (`local_addr`) or a loopback address, "localhost", and the names of api.server_name ("*.x.y"
// covers subdomains of x.y). The port is not compared (tunnels and port forwarding change it).
bool host_allowed(std::string_view host, std::string_view local_addr,
                  const std::vector<std::string>& server_names);
// Splits a Host value into a lowercase name (IPv6 without brackets) and port; false when it is
// not a host[:port] (empty, spaces, bad brackets, a non-numeric port).
bool split_host(std::string_view host, std::string* name, std::string* port);

// The token of an "Authorization: Bearer TOKEN" value (scheme without case, RFC 7235), or
// nullopt for another scheme or an empty token.
std::optional<std::string_view> bearer_token(std::string_view authorization);
// The value of cookie `name` in the Cookie header values `headers` ("" when absent).
std::string cookie_value(const std::vector<std::string>& headers, std::string_view name);
// Field `name` of an application/x-www-form-urlencoded body, decoded; nullopt when absent.
std::optional<std::string> form_field(std::string_view body, std::string_view name);
// %XX decoding (and '+' as a space when `plus_as_space`, for query strings and forms); malformed
// escapes are kept as they are.
std::string url_decode(std::string_view s, bool plus_as_space);
// A query string's parameters, split at the first '=' of each (filter values contain '=').
std::multimap<std::string, std::string> parse_query(std::string_view query);

// The wire form of a response. `head_request`: no body (the length stays); `keep_alive`: the
// connection stays open for another request (else "Connection: close").
std::string serialize_response(const HttpResponse& res, bool head_request, bool keep_alive);

}  // namespace rampart::control
