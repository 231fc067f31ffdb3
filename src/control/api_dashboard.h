// The dashboard on the API listener: the embedded single-page app (web/) at /dashboard, sign-in
// with an API token (api.token or one of api.tokens) into a session cookie, the session's state
// (GET /dashboard/session: its CSRF token, scope and timeouts), sign-out and sign-out everywhere.
// The cookie authenticates GET/HEAD requests; a write by cookie must pass the browser checks of
// csrf.h (ApiServer's pre-routing check applies them). The token is taken from a POST body only,
// never from a URL. A wrong token at sign-in counts toward the source's backoff (api_auth.h) like
// a wrong bearer token. The token is checked by the API's ApiSecrets (api_auth.h), the same check
// as bearer tokens. Owns the session store. install_routes() is called once before the server
// starts; the other methods run on the API's threads (credentials_changed and set_timeouts on
// serve's thread at a reload).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "control/session_store.h"

namespace rampart::control {

class ApiSecrets;
class AuthThrottle;
class HttpRouter;
class RateLimitedLog;
struct HttpRequest;

inline constexpr const char* kSessionCookie = "rampart_session";
// The sign-in form carries only the token: its body is refused past this (413).
inline constexpr size_t kMaxSignInBody = 8 * 1024;

class Dashboard {
 public:
  // `secrets`: the API's credentials (outlive the dashboard). `https`: the API is served over
  // TLS, so the cookie gets the Secure flag. `throttle` and `log` (may be null in tests) are the
  // API's backoff and failure log.
  Dashboard(const ApiSecrets* secrets, bool https, AuthThrottle* throttle = nullptr,
            RateLimitedLog* log = nullptr, SessionStore::Options sessions = {});

  void install_routes(HttpRouter& router);

  // /dashboard and /dashboard/...: these routes check sessions themselves (the sign-in page and
  // its assets are public), so the bearer check lets them through.
  static bool is_dashboard_path(const std::string& path);
  // A GET or HEAD request carrying a valid session cookie (its idle timeout starts again).
  bool cookie_authorizes(const HttpRequest& req);

  // `given` is an API token (ApiSecrets: constant time; the fleet token does not sign in).
  bool token_ok(std::string_view given) const;
  // The API's tokens changed (SIGHUP; the ApiSecrets already hold the new ones): the sessions
  // signed in with a token that is gone (or whose scope changed) end; returns how many.
  size_t credentials_changed();
  // api.session_timeout and api.session_idle_timeout (start, SIGHUP).
  void set_timeouts(std::chrono::seconds lifetime, std::chrono::seconds idle) {
    sessions_.set_timeouts(lifetime, idle);
  }
  // "dashboard session:1a2b3c4d": who a session is in logs and audit lines.
  static std::string who_of(std::string_view session_id);
  // The value of the rampart_session cookie of `req`, or "".
  static std::string session_cookie(const HttpRequest& req);
  // The Set-Cookie value for a new session id (or, with an empty id, one that clears it).
  std::string cookie_header(const std::string& id) const;

  SessionStore& sessions() { return sessions_; }
  // Wrong tokens posted to the sign-in form since start.
  uint64_t sign_in_failures() const { return sign_in_failures_.load(); }

 private:
  const ApiSecrets* secrets_;
  bool https_;
  AuthThrottle* throttle_;
  RateLimitedLog* log_;
  SessionStore sessions_;
  std::atomic<uint64_t> sign_in_failures_{0};
};

}  // namespace rampart::control
