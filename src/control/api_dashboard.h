// The dashboard on the API listener: the embedded single-page app (web/) at /dashboard, sign-in
// with the API token into a session cookie, sign-out. The cookie is read-only authentication:
// ApiServer's pre-routing check accepts it for GET/HEAD requests only; every write still needs
// "Authorization: Bearer TOKEN". The token is taken from a POST body only, never from a URL.
// Owns the session store. install_routes() is called once before the server starts; the other
// methods run on the API's handler threads.
#pragma once

#include <string>
#include <string_view>

#include "control/session_store.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace rampart::control {

inline constexpr const char* kSessionCookie = "rampart_session";

class Dashboard {
 public:
  // `https`: the API is served over TLS, so the cookie gets the Secure flag.
  Dashboard(std::string token, bool https);

  void install_routes(httplib::Server& server);

  // /dashboard and /dashboard/...: these routes check sessions themselves (the sign-in page and
  // its assets are public), so the bearer check lets them through.
  static bool is_dashboard_path(const std::string& path);
  // A GET or HEAD request carrying a valid session cookie.
  bool cookie_authorizes(const httplib::Request& req);

  // Constant-time comparison of `given` with the API token (both hashed first, so the length
  // does not leak either).
  bool token_ok(std::string_view given) const;
  // The value of the rampart_session cookie of `req`, or "".
  static std::string session_cookie(const httplib::Request& req);
  // The Set-Cookie value for a new session id (or, with an empty id, one that clears it).
  std::string cookie_header(const std::string& id) const;

  SessionStore& sessions() { return sessions_; }

 private:
  std::string token_;
  bool https_;
  SessionStore sessions_;
};

}  // namespace rampart::control
