// The browser-write checks: Sec-Fetch-Site, Origin and the session's CSRF token.
#include "control/csrf.h"

#include <openssl/crypto.h>

#include "config/api_errors.h"
#include "control/http_message.h"
#include "control/http_parse.h"

namespace rampart::control {
namespace {

// scheme, lowercase host (IPv6 without brackets) and port (the scheme's default when absent).
struct Origin {
  std::string scheme, host, port;
};

bool parse_origin(std::string_view text, Origin* out) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return false;
  std::string scheme;
  for (char c : text.substr(0, sep)) scheme.push_back(ascii_lower(c));
  if (scheme != "http" && scheme != "https") return false;
  std::string_view rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // tolerated, never sent
  if (rest.find('/') != std::string_view::npos) return false;
  std::string host, port;
  if (!split_host(rest, &host, &port)) return false;
  if (port.empty()) port = scheme == "https" ? "443" : "80";
  *out = {scheme, host, port};
  return true;
}

bool token_equal(std::string_view given, std::string_view expected) {
  return !expected.empty() && given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

}  // namespace

std::string own_origin(const HttpRequest& req) {
  if (!req.has_header("Host")) return "";
  return std::string(req.tls ? "https://" : "http://") + req.get_header_value("Host");
}

bool same_origin(std::string_view origin, std::string_view own) {
  Origin a, b;
  return parse_origin(origin, &a) && parse_origin(own, &b) && a.scheme == b.scheme &&
         a.host == b.host && a.port == b.port;
}

BrowserCheck check_sign_in(const HttpRequest& req) {
  if (req.has_header("Sec-Fetch-Site")) {
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (site != "same-origin" && site != "none") return BrowserCheck::kCrossSite;
  }
  if (req.has_header("Origin") && !same_origin(req.get_header_value("Origin"), own_origin(req)))
    return BrowserCheck::kForeignOrigin;
  return BrowserCheck::kOk;
}

BrowserCheck check_cookie_write(const HttpRequest& req, std::string_view csrf_token,
                                config::TokenScope scope) {
  if (BrowserCheck c = check_sign_in(req); c != BrowserCheck::kOk) return c;
  // Every browser sends one of them on a POST, PUT, PATCH or DELETE: without either, this is
  // not the dashboard, and a script has the bearer token.
  if (!req.has_header("Sec-Fetch-Site") && !req.has_header("Origin"))
    return BrowserCheck::kNoOrigin;
  if (!req.has_header("X-CSRF-Token")) return BrowserCheck::kNoToken;
  if (!token_equal(req.get_header_value("X-CSRF-Token"), csrf_token))
    return BrowserCheck::kWrongToken;
  if (scope != config::TokenScope::kWrite) return BrowserCheck::kReadScope;
  return BrowserCheck::kOk;
}

std::string browser_check_message(BrowserCheck c) {
  switch (c) {
    case BrowserCheck::kOk:
      return "";
    case BrowserCheck::kCrossSite:
      return "refused: Sec-Fetch-Site says this request comes from another site; the dashboard "
             "session only works from the dashboard's own pages";
    case BrowserCheck::kForeignOrigin:
      return "refused: the Origin header is not this API's origin; the dashboard session only "
             "works from the dashboard's own pages";
    case BrowserCheck::kNoOrigin:
      return "refused: a write with the dashboard session cookie needs the browser's Origin or "
             "Sec-Fetch-Site header and the X-CSRF-Token header; scripts use \"Authorization: "
             "Bearer TOKEN\"";
    case BrowserCheck::kNoToken:
      return "refused: a write with the dashboard session cookie needs the X-CSRF-Token header "
             "(csrf_token of GET /dashboard/session)";
    case BrowserCheck::kWrongToken:
      return "refused: X-CSRF-Token is not this session's CSRF token (GET /dashboard/session "
             "gives it)";
    case BrowserCheck::kReadScope:
      return "refused: this dashboard session signed in with a read-only token (api.tokens scope "
             "read); it may only read";
  }
  return "refused";
}

int browser_check_code(BrowserCheck c) {
  if (c == BrowserCheck::kOk) return 0;
  return c == BrowserCheck::kReadScope ? config::kErrReadOnlyToken : config::kErrCsrf;
}

}  // namespace rampart::control
