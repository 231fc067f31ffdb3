// libFuzzer target for the API's request pipeline without sockets (control/http_parse.h): the
// request head, body framing and Content-Encoding refusal, the chunked decoder fed in two pieces
// split where the input says, the Host check, and the credentials' syntax (bearer header,
// cookies, the sign-in form), the dashboard's browser checks (Origin, Sec-Fetch-Site, the CSRF
// token: control/csrf.h), plus query decoding and the response's wire form. Checks that
// nothing crashes or overflows, that the parser never consumes more than it was given, that a
// chunked body never passes its limit, and that splitting the input changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/csrf.h"
#include "control/http_parse.h"

using namespace rampart::control;

namespace {

void check_chunked(std::string_view body, size_t split) {
  constexpr size_t kLimit = 4096;
  ChunkedDecoder whole(kLimit), parts(kLimit);
  std::string a, b;
  size_t used_a = 0, used_b1 = 0, used_b2 = 0;
  ParseStatus sa = whole.feed(body, &used_a, &a);
  split = std::min(split, body.size());
  ParseStatus sb = parts.feed(body.substr(0, split), &used_b1, &b);
  if (used_a > body.size() || used_b1 > split || a.size() > kLimit) std::abort();
  if (sb == ParseStatus::kIncomplete) {
    if (used_b1 != split) std::abort();
    sb = parts.feed(body.substr(split), &used_b2, &b);
  }
  // Feeding in two pieces gives the same verdict and body as feeding at once.
  if (sa != sb || a != b || (sa == ParseStatus::kComplete && used_a != used_b1 + used_b2))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t split = size > 0 ? data[0] : 0;
  HttpRequest req;
  HeadResult head = parse_request_head(text, &req);
  if (head.status == ParseStatus::kComplete) {
    if (head.consumed == 0 || head.consumed > size || head.consumed > kMaxHeadBytes) std::abort();
    if (req.path.empty() || req.path[0] != '/' || req.headers.size() > kMaxHeaderCount)
      std::abort();
    BodyFraming framing;
    int status = 0;
    std::string why;
    if (!body_framing(req, &framing, &status, &why) && status != 400 && status != 501) std::abort();
    (void)content_coding_allowed(req);
    (void)wants_keep_alive(req);
    (void)host_allowed(req.get_header_value("Host"), "127.0.0.1", {"api.example.net", "*.x.y"});
    const std::string authorization = req.get_header_value("Authorization");
    if (auto token = bearer_token(authorization); token && token->empty()) std::abort();
    std::vector<std::string> cookies;
    for (size_t i = 0; i < req.get_header_value_count("Cookie"); ++i)
      cookies.push_back(req.get_header_value("Cookie", i));
    (void)cookie_value(cookies, "rampart_session");
    // The browser checks: a write that passes them carries the session's token, and a read
    // session never passes.
    const std::string csrf(64, 'a');
    if (check_cookie_write(req, csrf, rampart::config::TokenScope::kWrite) == BrowserCheck::kOk &&
        req.get_header_value("X-CSRF-Token") != csrf)
      std::abort();
    if (check_cookie_write(req, csrf, rampart::config::TokenScope::kRead) == BrowserCheck::kOk)
      std::abort();
    (void)check_sign_in(req);
    (void)same_origin(req.get_header_value("Origin"), own_origin(req));
    std::string_view rest = text.substr(head.consumed);
    (void)form_field(rest, "token");
    check_chunked(rest, split);
    HttpResponse res;
    res.status = 200 + static_cast<int>(split % 400);
    res.set_header(req.method, authorization);
    res.set_content(std::string(rest.substr(0, 64)), req.get_header_value("Content-Type"));
    std::string wire = serialize_response(res, req.method == "HEAD", wants_keep_alive(req));
    // Header injection: CR/LF in a header value never reaches the wire.
    if (wire.find("\r\n\r\n") < wire.find("Content-Type")) std::abort();
  } else if (head.status == ParseStatus::kInvalid) {
    if (head.error_status < 400 || head.error_status > 505 || head.error.empty()) std::abort();
  }
  // The same bytes through the other parsers, as a Host, a cookie header, a form, a query.
  (void)host_allowed(text, "::1", {"*.example.net"});
  std::string name, port;
  if (split_host(text, &name, &port) && (name.empty() || port.size() > 5)) std::abort();
  (void)bearer_token(text);
  (void)cookie_value({std::string(text)}, "rampart_session");
  (void)form_field(text, "token");
  (void)parse_query(text);
  (void)same_origin(text, "http://127.0.0.1:8788");
  (void)same_origin(text.substr(std::min(split, text.size())),
                    text.substr(0, std::min(split, text.size())));
  check_chunked(text, split);
  return 0;
}
