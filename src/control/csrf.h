// The checks of a browser's writes (docs/dashboard.md, "Writes from the browser"): a write that a
// session cookie authenticates must carry the session's CSRF token (X-CSRF-Token, a synchronizer
// token kept with the session) and come from this API's own origin (Sec-Fetch-Site, Origin); a
// sign-in or sign-out must not come from another site (login CSRF). Pure functions of the
// request: ApiServer (I/O thread) and the dashboard's routes (handler threads) call them.
#pragma once

#include <string>
#include <string_view>

#include "config/model.h"

namespace rampart::control {

struct HttpRequest;

enum class BrowserCheck : uint8_t {
  kOk,
  kCrossSite,      // Sec-Fetch-Site is cross-site or same-site
  kForeignOrigin,  // Origin is not this API's (or "null")
  kNoOrigin,       // a cookie write with neither Origin nor Sec-Fetch-Site (not from a browser)
  kNoToken,        // no X-CSRF-Token
  kWrongToken,     // X-CSRF-Token is not the session's
  kReadScope,      // the session signed in with a read token
};

// This API's origin as a browser names it, "http://host[:port]" ("https://" over TLS), from the
// request's Host header; "" without one (HTTP/1.0).
std::string own_origin(const HttpRequest& req);
// Whether `origin` (an Origin header's value) is `own` (own_origin()): scheme, host and port
// equal, a default port (80, 443) written or not.
bool same_origin(std::string_view origin, std::string_view own);

// A write (any method but GET and HEAD) authenticated by a session cookie whose CSRF token is
// `csrf_token` and scope `scope`. The token is compared in constant time.
BrowserCheck check_cookie_write(const HttpRequest& req, std::string_view csrf_token,
                                config::TokenScope scope);
// A POST to /dashboard/login or /dashboard/logout: refused only when the browser says it comes
// from another site or origin (requests without Origin and Sec-Fetch-Site, e.g. curl, pass).
BrowserCheck check_sign_in(const HttpRequest& req);

// The 403's message and v4 error code for a refusal (kOk: "", 0).
std::string browser_check_message(BrowserCheck c);
int browser_check_code(BrowserCheck c);

}  // namespace rampart::control
