// ApiServer: routes, credentials, the Host check, the audit line and the v4 envelope around the
// outcomes of AppsApi (apps, access rules), analytics and protection.
#include "control/api_server.h"

#include <array>
#include <regex>

#include "config/app_json.h"
#include "control/api_dashboard.h"
#include "control/api_tls.h"
#include "control/csrf.h"
#include "control/http_parse.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/ip_addr.h"

namespace rampart::control {

using nlohmann::json;

namespace {

constexpr const char* kZone = R"(/client/v4/zones/([^/]+))";
constexpr const char* kTooLarge =
    "the request body is larger than 1 MiB; an app is a few hundred bytes of JSON";
constexpr const char* kSignInTooLarge =
    "the sign-in form is larger than 8 KiB; it carries only the API token";

json error_list(const std::vector<ApiError>& list) {
  json out = json::array();
  for (const auto& e : list) {
    json item = {{"code", e.code}, {"message", e.message}};
    if (!e.pointer.empty()) item["source"] = {{"pointer", e.pointer}};
    out.push_back(std::move(item));
  }
  return out;
}

// Runs `fn` and sends its outcome; nothing thrown escapes to the server.
template <typename Fn>
Outcome guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    RLOG_ERROR("API handler failed: ", e.what());
  } catch (...) {
  }
  return Outcome::failure(500, kErrInternal, "internal error; see the edge log");
}

ListQuery list_query(const HttpRequest& req) {
  ListQuery q;
  q.page = req.get_param_value("page");
  q.per_page = req.get_param_value("per_page");
  q.order = req.get_param_value("order");
  q.direction = req.get_param_value("direction");
  q.mode = req.get_param_value("mode");
  q.target = req.get_param_value("configuration.target");
  q.value = req.get_param_value("configuration.value");
  q.notes = req.get_param_value("notes");
  q.match = req.get_param_value("match");
  return q;
}

int error_code_of(int status) {
  switch (status) {
    case 401:
      return kErrAuth;
    case 404:
      return kErrNoRoute;
    case 405:
      return kErrMethodNotAllowed;
    case 413:
      return kErrTooLarge;
    case 429:
      return kErrThrottled;
    case 500:
      return kErrInternal;
    case 503:
      return kErrBusy;
    default:
      return kErrRequestHead;
  }
}

// The analytics fan-out's endpoints (aggregate/current, events/summary, events/bytime and Rampart's
// drops/bytime, each with scope=local): the only ones a peer's fleet credential may call.
bool fleet_route(const HttpRequest& req) {
  static const std::regex kPath(
      R"(/client/v4/zones/[^/]+/(spectrum/analytics/(aggregate/current|events/summary|events/bytime)|rampart/analytics/drops/bytime))");
  return (req.method == "GET" || req.method == "HEAD") && req.tls &&
         req.get_param_value("scope") == "local" && std::regex_match(req.path, kPath);
}

HttpServer::HeadDecision respond_with(Refusal why) {
  HttpServer::HeadDecision d;
  d.respond = true;
  d.refusal = why;
  return d;
}

HttpServer::HeadDecision allow(size_t max_body, const char* too_large) {
  HttpServer::HeadDecision d;
  d.max_body = max_body;
  d.too_large_message = too_large;
  return d;
}

}  // namespace

HttpRouter::Handler zoned(AppsApi* ctl, std::function<Outcome(const HttpRequest&)> fn) {
  return [ctl, fn = std::move(fn)](const HttpRequest& req, HttpResponse& res) {
    send_outcome(res, guarded([&]() -> Outcome {
                   const std::string zone = req.matches[1];
                   if (!ctl->has_zone(zone))
                     return Outcome::failure(404, kErrUnknownZone, ctl->unknown_zone(zone));
                   return fn(req);
                 }));
  };
}

void send_outcome(HttpResponse& res, const Outcome& o) {
  json body = {{"success", o.ok()},
               {"errors", error_list(o.errors)},
               {"messages", error_list(o.messages)},
               {"result", o.ok() ? o.result : json()}};
  if (o.ok() && !o.result_info.is_null()) body["result_info"] = o.result_info;
  res.status = o.ok() ? 200 : o.status;
  // replace: error messages may quote bytes of a malformed request that are not UTF-8.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

bool resolve_api_settings(const config::Config& cfg, config::Credentials* creds,
                          std::string* error) {
  std::vector<config::ConfigError> errors;
  if (!config::resolve_credentials(cfg, creds, &errors)) {
    error->clear();
    for (const auto& e : errors) *error += (error->empty() ? "" : "\n") + e.to_string();
    return false;
  }
  const config::ApiConfig& api = cfg.api;
  auto addr = net::SockAddr::parse(api.listen);
  if (!addr) {
    *error = "api.listen: \"" + api.listen + "\" is not IP:PORT";
    return false;
  }
  if (!addr->ip().is_loopback() && api.tls_certificate.empty() && !api.allow_insecure_remote) {
    *error = "api.listen: " + api.listen +
             " is not a loopback address and api.tls is not set, so the token would cross the "
             "network in clear. Set api.tls: { certificate: PATH, private_key: PATH }, or listen "
             "on 127.0.0.1 / [::1] and tunnel, or set api.allow_insecure_remote: true to accept "
             "the risk";
    return false;
  }
  return true;
}

ApiServer::ApiServer(AppsApi* apps, const config::ApiConfig& api,
                     const config::Credentials& credentials)
    : apps_(apps),
      api_(api),
      dashboard_(std::make_unique<Dashboard>(&secrets_, !api.tls_certificate.empty(), &throttle_,
                                             &failure_log_)) {
  set_session_timeouts(api);
  set_credentials(credentials);
}

ApiServer::~ApiServer() {
  stop();
}

size_t ApiServer::set_credentials(const config::Credentials& c) {
  secrets_.set(c);
  return dashboard_->credentials_changed();
}

void ApiServer::set_session_timeouts(const config::ApiConfig& api) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  dashboard_->set_timeouts(duration_cast<seconds>(api.session_timeout),
                           duration_cast<seconds>(api.session_idle_timeout));
}

namespace {
bool reads(const HttpRequest& req) {
  return req.method == "GET" || req.method == "HEAD";
}
}  // namespace

HttpServer::HeadDecision ApiServer::on_head(HttpRequest& req, HttpResponse& res) {
  if (req.path == "/healthz") return allow(8 * 1024, "");
  // DNS rebinding: a page of another site whose name now resolves to this address must not
  // reach the API, so the Host must be this API's (absent only in HTTP/1.0 requests).
  if (req.has_header("Host") &&
      !host_allowed(req.get_header_value("Host"), req.local_addr, api_.server_name)) {
    send_outcome(res, Outcome::failure(
                          421, kErrRequestHead,
                          "the Host header names \"" + req.get_header_value("Host") +
                              "\", which is not this API: use its address, localhost, or a name "
                              "listed in api.server_name"));
    return respond_with(Refusal::kHost);
  }
  if (Dashboard::is_dashboard_path(req.path)) return allow(kMaxSignInBody, kSignInTooLarge);
  const std::string authorization = req.get_header_value("Authorization");
  if (auto token = bearer_token(authorization)) return check_bearer(req, res, *token);
  // The dashboard's session cookie: reads as before; a write only from the dashboard's own page
  // with the session's CSRF token, and only for a session of scope write (csrf.h).
  const std::string sid = Dashboard::session_cookie(req);
  if (const auto session = dashboard_->sessions().find(sid, false)) {
    req.who = Dashboard::who_of(sid);
    const BrowserCheck c = reads(req)
                               ? BrowserCheck::kOk
                               : check_cookie_write(req, session->csrf_token, session->scope);
    if (c == BrowserCheck::kOk) {
      dashboard_->sessions().touch(sid);
      return allow(kMaxBodyBytes, kTooLarge);
    }
    ++forbidden_writes_;
    failure_log_.warn("API: " + req.method + " " +
                          json(req.path).dump(-1, ' ', true, json::error_handler_t::replace) +
                          " by " + req.who + " from " + peer_of(req) + ": " +
                          browser_check_message(c),
                      core::coarse_ms());
    send_outcome(res, Outcome::failure(403, browser_check_code(c), browser_check_message(c)));
    return respond_with(Refusal::kForbidden);
  }
  send_outcome(res, Outcome::failure(401, kErrAuth,
                                     "authentication error: expected the header "
                                     "\"Authorization: Bearer TOKEN\" with the API token"));
  return respond_with(Refusal::kAuth);
}

HttpServer::HeadDecision ApiServer::check_bearer(HttpRequest& req, HttpResponse& res,
                                                 std::string_view token) {
  const auto source = net::IpAddr::parse(req.remote_addr);
  const int64_t now = core::coarse_ms();
  if (source) {
    if (int64_t wait = throttle_.wait_ms(*source, now); wait > 0) {
      const std::string secs = std::to_string((wait + 999) / 1000);
      res.set_header("Retry-After", secs);
      send_outcome(res, Outcome::failure(
                            429, kErrThrottled,
                            "too many wrong tokens from this address; retry in " + secs + " s"));
      failure_log_.warn(
          "API: bearer attempt from " + peer_of(req) + " throttled (" + req.method + " " +
              json(req.path).dump(-1, ' ', true, json::error_handler_t::replace) + ")",
          now);
      return respond_with(Refusal::kThrottled);
    }
  }
  const ApiSecrets::Identity id = secrets_.identify(token);
  if (id.match == ApiSecrets::Match::kApi) {
    if (source) throttle_.succeeded(*source);
    req.who = id.who;
    if (id.scope == config::TokenScope::kWrite || reads(req))
      return allow(kMaxBodyBytes, kTooLarge);
    ++forbidden_writes_;
    send_outcome(res, Outcome::failure(403, kErrReadOnlyToken,
                                       "refused: this token (" + id.who +
                                           ") has scope read in api.tokens; it may only GET "
                                           "and HEAD"));
    return respond_with(Refusal::kForbidden);
  }
  if (id.match == ApiSecrets::Match::kFleet && fleet_route(req)) {
    req.who = id.who;
    return allow(0, kTooLarge);
  }
  ++bearer_failures_;
  const int64_t wait = source ? throttle_.failed(*source, now) : 0;
  failure_log_.warn(
      "API: wrong bearer token from " + peer_of(req) + " for " + req.method + " " +
          json(req.path).dump(-1, ' ', true, json::error_handler_t::replace) +
          (wait > 0 ? "; its next attempt waits " + std::to_string((wait + 999) / 1000) + " s"
                    : ""),
      now);
  if (wait > 0) res.set_header("Retry-After", std::to_string((wait + 999) / 1000));
  send_outcome(res, Outcome::failure(401, kErrAuth,
                                     "authentication error: expected the header "
                                     "\"Authorization: Bearer TOKEN\" with the API token"));
  return respond_with(Refusal::kAuth);
}

void ApiServer::install_routes() {
  HttpRouter& s = router_;
  AppsApi* ctl = apps_;
  // Errors of the router itself (no route, wrong method, a handler that threw): envelope.
  s.set_error_handler([](const HttpRequest& req, HttpResponse& res) {
    const int status = res.status;
    std::string message = status == 404   ? "no route for " + req.method + " " + req.path
                          : status == 500 ? "internal error; see the edge log"
                                          : "bad request (HTTP " + std::to_string(status) + ")";
    send_outcome(res, Outcome::failure(status, error_code_of(status), message));
  });

  s.Get("/healthz", [](const HttpRequest&, HttpResponse& res) {
    res.set_content("{\"success\":true,\"result\":{\"status\":\"ok\"}}\n", "application/json");
  });

  auto zoned = [ctl](std::function<Outcome(const HttpRequest&)> fn) {
    return control::zoned(ctl, std::move(fn));
  };
  // Writes also leave an audit line: who changed what, from where, with what outcome.
  auto write = [zoned](std::function<Outcome(const HttpRequest&)> fn) {
    auto inner = zoned(fn);
    return [inner](const HttpRequest& req, HttpResponse& res) {
      inner(req, res);
      std::string object = req.matches.size() > 2 ? req.matches[2].str() : "";
      if (object.empty() && res.status == 200) {
        json body = json::parse(res.body, nullptr, false);
        if (body.is_object() && body["result"].is_object()) object = body["result"].value("id", "");
      }
      audit_write(req, res.status, object);
    };
  };
  // The write's Idempotency-Key (docs/fleet.md "Honest answers"), "" when absent.
  auto idem = [](const HttpRequest& r) { return r.get_header_value("Idempotency-Key"); };
  const std::string apps = std::string(kZone) + "/spectrum/apps";
  const std::string app = apps + "/([^/]+)";
  s.Get(apps, zoned([ctl](const HttpRequest& r) { return ctl->list_apps(list_query(r)); }));
  s.Post(apps,
         write([ctl, idem](const HttpRequest& r) { return ctl->create_app(r.body, idem(r)); }));
  s.Get(app, zoned([ctl](const HttpRequest& r) { return ctl->get_app(r.matches[2]); }));
  s.Put(app, write([ctl, idem](const HttpRequest& r) {
          return ctl->replace_app(r.matches[2], r.body, idem(r));
        }));
  s.Patch(app, write([ctl, idem](const HttpRequest& r) {
            return ctl->patch_app(r.matches[2], r.body, idem(r));
          }));
  s.Delete(app, write([ctl, idem](const HttpRequest& r) {
             return ctl->delete_app(r.matches[2], idem(r));
           }));

  const std::string rules = std::string(kZone) + "/firewall/access_rules/rules";
  const std::string rule = rules + "/([^/]+)";
  s.Get(rules, zoned([ctl](const HttpRequest& r) { return ctl->list_rules(list_query(r)); }));
  s.Post(rules,
         write([ctl, idem](const HttpRequest& r) { return ctl->create_rule(r.body, idem(r)); }));
  s.Get(rule, zoned([ctl](const HttpRequest& r) { return ctl->get_rule(r.matches[2]); }));
  s.Patch(rule, write([ctl, idem](const HttpRequest& r) {
            return ctl->patch_rule(r.matches[2], r.body, idem(r));
          }));
  s.Delete(rule, write([ctl, idem](const HttpRequest& r) {
             return ctl->delete_rule(r.matches[2], idem(r));
           }));
  if (analytics_ != nullptr) install_analytics_routes(s, ctl, analytics_);
  if (edges_) {
    auto edges = edges_;
    s.Get(std::string(kZone) + "/rampart/edges", zoned([edges](const HttpRequest&) {
            Outcome out;
            out.result = edges();
            out.result_info = {{"count", out.result.size()}};
            return out;
          }));
  }
  dashboard_->install_routes(s);
}

bool ApiServer::start(std::string* error) {
  std::shared_ptr<SSL_CTX> tls;
  if (https()) {
    tls = make_api_tls_context(api_.tls_certificate, api_.tls_private_key, error);
    if (!tls) return false;
  }
  install_routes();
  HttpServerOptions opt;
  opt.listen = api_.listen;
  opt.max_connections = api_.max_connections;
  opt.max_connections_per_source = api_.max_connections_per_source;
  opt.request_timeout = api_.request_timeout;
  opt.keepalive_timeout = api_.keepalive_timeout;
  opt.inherited_fd = std::exchange(inherited_fd_, -1);
  server_ = std::make_unique<HttpServer>(opt, std::move(tls), &router_);
  server_->set_head_hook([this](HttpRequest& req, HttpResponse& res) { return on_head(req, res); });
  server_->set_error_fill([](int status, const std::string& message, HttpResponse& res) {
    send_outcome(res, Outcome::failure(status, error_code_of(status), message));
  });
  server_->set_priority([](const HttpRequest& req) {
    return (req.method == "GET" || req.method == "HEAD") &&
           (req.path == "/healthz" || req.path == "/metrics");
  });
  if (!server_->start(error)) return false;
  RLOG_INFO("API listening on ", api_.listen, https() ? " (https)" : "", "; at most ",
            api_.max_connections, " connections, requests within ", api_.request_timeout.count(),
            " ms");
  return true;
}

void ApiServer::stop() {
  if (server_) server_->stop();
}

std::string ApiServer::metrics() const {
  std::string out = server_ ? server_->metrics() : "";
  out +=
      "# HELP rampart_api_auth_failures_total Wrong credentials presented to the API (each "
      "counts toward the source's backoff).\n"
      "# TYPE rampart_api_auth_failures_total counter\n";
  out += "rampart_api_auth_failures_total{kind=\"bearer\"} " +
         std::to_string(bearer_failures_.load()) + "\n";
  out += "rampart_api_auth_failures_total{kind=\"sign_in\"} " +
         std::to_string(dashboard_->sign_in_failures()) + "\n";
  out +=
      "# HELP rampart_api_forbidden_writes_total Writes refused with 403: by a dashboard session "
      "without its CSRF token or from another origin, or by a token or session of scope read.\n"
      "# TYPE rampart_api_forbidden_writes_total counter\n"
      "rampart_api_forbidden_writes_total " +
      std::to_string(forbidden_writes_.load()) + "\n";
  out +=
      "# HELP rampart_api_auth_throttle_overflow_total Wrong credentials from sources that found "
      "the backoff table full of blocked sources; they share one backoff.\n"
      "# TYPE rampart_api_auth_throttle_overflow_total counter\n"
      "rampart_api_auth_throttle_overflow_total " +
      std::to_string(throttle_.overflow_failures()) + "\n";
  return out;
}

}  // namespace rampart::control
