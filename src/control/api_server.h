// The REST API (Spectrum-compatible paths and envelope), /metrics, /healthz and the dashboard,
// on the API's own HTTP server (control/http_server.h: its own I/O thread and handler pools,
// never the data-plane workers). Owns the routes, the credentials and their checks: the admin
// tokens (bearer, or the dashboard's session cookie with the CSRF checks of csrf.h for writes;
// api.tokens of scope read only GET and HEAD), the fleet credential (accepted only
// over HTTPS and only on the analytics fan-out's read endpoint), the Host check, the per-source
// backoff of wrong credentials, and the audit line of every write (docs/hardening.md, "API").
// Forwards the apps and access-rule requests to AppsApi. start()/stop() are called by the thread
// that owns the ApiServer (serve's main thread); set_credentials() by any thread; handlers run on
// the pools.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/credentials.h"
#include "config/model.h"
#include "control/api_auth.h"
#include "control/apps_api.h"
#include "control/http_router.h"
#include "control/http_server.h"

namespace rampart::control {

class Analytics;
class Dashboard;

// Writes `o` as the v4 envelope (status, JSON body).
void send_outcome(HttpResponse& res, const Outcome& o);
// A route under /client/v4/zones/<zone>/ (the zone is the first match): an unknown zone answers
// 404 7003 without calling `fn`, an exception of `fn` 500 10002 (logged); otherwise `fn`'s
// outcome, as the v4 envelope. The one zone check of every zone route.
HttpRouter::Handler zoned(AppsApi* api, std::function<Outcome(const HttpRequest&)> fn);
// Installs the analytics routes and /metrics (api_analytics.cc).
void install_analytics_routes(HttpRouter& router, AppsApi* api, Analytics* analytics);

inline constexpr size_t kMaxBodyBytes = 1 << 20;

// The credentials the API needs (api.token or api.token_file, fleet.token or fleet.token_file:
// config/credentials.h) and the listen rule: a non-loopback api.listen needs api.tls unless
// api.allow_insecure_remote is set. False with *error (one line per problem).
bool resolve_api_settings(const config::Config& cfg, config::Credentials* creds,
                          std::string* error);

class ApiServer {
 public:
  ApiServer(AppsApi* apps, const config::ApiConfig& api, const config::Credentials& credentials);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Serves the analytics endpoints and /metrics from `analytics` (call before start()).
  void set_analytics(Analytics* analytics) { analytics_ = analytics; }
  // Serves GET .../rampart/edges (the fleet's live edges) from `edges` (call before start()).
  void set_edges(std::function<nlohmann::json()> edges) { edges_ = std::move(edges); }
  // Before start(): serve on this listening socket (handed over by an upgrade, owned from then
  // on) instead of binding api.listen.
  void set_inherited_listener(int fd) { inherited_fd_ = fd; }
  // The listening socket while serving (-1 otherwise): what an upgrade hands on.
  int listener_fd() const { return server_ ? server_->listen_fd() : -1; }
  // Loads api.tls, binds api.listen and starts serving; false with *error.
  bool start(std::string* error);
  // Stops accepting, finishes requests in flight and joins the threads. Idempotent.
  void stop();

  // New tokens (a SIGHUP reload): the previous ones are refused from the next request on, and
  // the dashboard sessions signed in with a token that is gone (or changed scope) end; returns
  // how many. Any thread.
  size_t set_credentials(const config::Credentials& credentials);
  // api.session_timeout and api.session_idle_timeout (a SIGHUP reload: also for open sessions).
  void set_session_timeouts(const config::ApiConfig& api);
  // rampart_api_* series (connections, refusals, timeouts, credential failures); any thread.
  std::string metrics() const;
  bool https() const { return !api_.tls_certificate.empty(); }

 private:
  HttpServer::HeadDecision on_head(HttpRequest& req, HttpResponse& res);
  HttpServer::HeadDecision check_bearer(HttpRequest& req, HttpResponse& res,
                                        std::string_view token);
  void install_routes();

  AppsApi* apps_;
  Analytics* analytics_ = nullptr;
  std::function<nlohmann::json()> edges_;
  config::ApiConfig api_;
  ApiSecrets secrets_;  // the one token check (bearer and dashboard sign-in)
  AuthThrottle throttle_;
  RateLimitedLog failure_log_{10};
  std::atomic<uint64_t> bearer_failures_{0};
  std::atomic<uint64_t> forbidden_writes_{0};  // 403s of the pre-routing check
  HttpRouter router_;
  std::unique_ptr<Dashboard> dashboard_;  // /dashboard and its sessions (api_dashboard.h)
  std::unique_ptr<HttpServer> server_;
  int inherited_fd_ = -1;
};

}  // namespace rampart::control
