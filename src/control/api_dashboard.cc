// Dashboard: static files, sign-in/out and the session cookie (see api_dashboard.h).
#include "control/api_dashboard.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "control/api_auth.h"
#include "control/api_outcome.h"
#include "control/csrf.h"
#include "control/http_parse.h"
#include "control/http_router.h"
#include "control/web_assets.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/ip_addr.h"

namespace rampart::control {

using nlohmann::json;

const WebAsset* find_web_asset(std::string_view name) {
  for (size_t i = 0; i < kWebAssetCount; ++i)
    if (name == kWebAssets[i].name) return &kWebAssets[i];
  return nullptr;
}

const char* web_content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

namespace {

// Everything the page needs comes from this listener; nothing inline, no framing.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void security_headers(HttpResponse& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

void send_json(HttpResponse& res, int status, const json& result, int code = 0,
               const std::string& message = "") {
  json errors = json::array();
  if (status >= 400) errors.push_back({{"code", code}, {"message", message}});
  json body = {{"success", status < 400},
               {"errors", errors},
               {"messages", json::array()},
               {"result", status < 400 ? result : json()}};
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void send_asset(HttpResponse& res, const WebAsset& a) {
  security_headers(res);
  res.set_content(reinterpret_cast<const char*>(a.data), a.size, web_content_type(a.name));
}

bool is_form(const HttpRequest& req) {
  return req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

constexpr const char* kDeniedPage =
    "<!doctype html><meta charset=utf-8><title>Rampart: sign-in refused</title>"
    "<p>Wrong API token. <a href=\"/dashboard\">Try again</a>.</p>\n";

constexpr const char* kThrottledPage =
    "<!doctype html><meta charset=utf-8><title>Rampart: too many attempts</title>"
    "<p>Too many wrong tokens from your address: wait and <a href=\"/dashboard\">try again</a>."
    "</p>\n";

// The state of a session for the page: GET /dashboard/session and the sign-in's answer.
json session_json(const SessionStore::Info& s, std::string_view id) {
  return {{"expires_in", s.expires_in},
          {"idle_expires_in", s.idle_expires_in},
          {"csrf_token", s.csrf_token},
          {"scope", config::to_string(s.scope)},
          {"who", Dashboard::who_of(id)}};
}

constexpr const char* kCrossSitePage =
    "<!doctype html><meta charset=utf-8><title>Rampart: refused</title>"
    "<p>This form was posted from another site. <a href=\"/dashboard\">Open the dashboard</a>."
    "</p>\n";

// A sign-in or sign-out posted from another site (login CSRF): 403, and false.
bool from_this_site(const HttpRequest& req, HttpResponse& res, bool form) {
  const BrowserCheck c = check_sign_in(req);
  if (c == BrowserCheck::kOk) return true;
  RLOG_WARN("dashboard: ", req.path, " from ", peer_of(req), ": ", browser_check_message(c));
  if (form) {
    res.status = 403;
    res.set_content(kCrossSitePage, "text/html; charset=utf-8");
  } else {
    send_json(res, 403, nullptr, browser_check_code(c), browser_check_message(c));
  }
  return false;
}

}  // namespace

Dashboard::Dashboard(const ApiSecrets* secrets, bool https, AuthThrottle* throttle,
                     RateLimitedLog* log, SessionStore::Options sessions)
    : secrets_(secrets), https_(https), throttle_(throttle), log_(log), sessions_(sessions) {}

std::string Dashboard::who_of(std::string_view session_id) {
  return "dashboard session:" + short_hash(session_id);
}

bool Dashboard::is_dashboard_path(const std::string& path) {
  return path == "/dashboard" || path.rfind("/dashboard/", 0) == 0;
}

bool Dashboard::token_ok(std::string_view given) const {
  return secrets_->check(given) == ApiSecrets::Match::kApi;
}

size_t Dashboard::credentials_changed() {
  return sessions_.retain([this](const std::string& credential, config::TokenScope scope) {
    return secrets_->holds(credential, scope);
  });
}

std::string Dashboard::session_cookie(const HttpRequest& req) {
  std::vector<std::string> headers;
  auto [first, last] = req.headers.equal_range("Cookie");
  for (auto it = first; it != last; ++it) headers.push_back(it->second);
  return cookie_value(headers, kSessionCookie);
}

std::string Dashboard::cookie_header(const std::string& id) const {
  std::string c = std::string(kSessionCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict";
  c += id.empty() ? "; Max-Age=0" : "; Max-Age=" + std::to_string(sessions_.lifetime().count());
  if (https_) c += "; Secure";
  return c;
}

bool Dashboard::cookie_authorizes(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string id = session_cookie(req);
  return !id.empty() && sessions_.find(id, true).has_value();
}

void Dashboard::install_routes(HttpRouter& s) {
  auto page = [](const HttpRequest&, HttpResponse& res) {
    const WebAsset* index = find_web_asset("index.html");
    if (!index) {
      res.status = 500;
      res.set_content("dashboard not built into this binary\n", "text/plain");
      return;
    }
    send_asset(res, *index);
  };
  s.Get("/dashboard", page);
  s.Get("/dashboard/", page);
  s.Get(R"(/dashboard/assets/([A-Za-z0-9_.-]+))", [](const HttpRequest& req, HttpResponse& res) {
    const WebAsset* a = find_web_asset(req.matches[1].str());
    if (!a || std::string_view(a->name) == "index.html") {
      res.status = 404;
      res.set_content("no such dashboard asset\n", "text/plain");
      return;
    }
    send_asset(res, *a);
  });

  // Whether the browser's cookie still names a session (the page decides what to show).
  s.Get("/dashboard/session", [this](const HttpRequest& req, HttpResponse& res) {
    // Asking does not keep the session alive: only the page's real requests do.
    security_headers(res);
    const std::string id = session_cookie(req);
    const auto session = sessions_.find(id, false);
    if (!session) {
      send_json(res, 401, nullptr, kErrAuth, "not signed in");
      return;
    }
    send_json(res, 200, session_json(*session, id));
  });

  s.Post("/dashboard/login", [this](const HttpRequest& req, HttpResponse& res) {
    security_headers(res);
    if (req.target.find('?') != std::string::npos) {
      send_json(res, 400, nullptr, 10001,
                "the token is never accepted in a URL; POST it in the body as JSON "
                "{\"token\": \"...\"} or a form field");
      return;
    }
    const bool form = is_form(req);
    if (!from_this_site(req, res, form)) return;
    const auto source = net::IpAddr::parse(req.remote_addr);
    const int64_t now = core::coarse_ms();
    if (throttle_ && source) {
      if (int64_t wait = throttle_->wait_ms(*source, now); wait > 0) {
        res.set_header("Retry-After", std::to_string((wait + 999) / 1000));
        if (form) {
          res.status = 429;
          res.set_content(kThrottledPage, "text/html; charset=utf-8");
        } else {
          send_json(res, 429, nullptr, kErrThrottled,
                    "too many wrong tokens from this address; retry in " +
                        std::to_string((wait + 999) / 1000) + " s");
        }
        if (log_) log_->warn("dashboard: sign-in from " + peer_of(req) + " throttled", now);
        return;
      }
    }
    std::optional<std::string> given;
    if (form) {
      given = form_field(req.body, "token");
    } else {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_object() && body.contains("token") && body["token"].is_string())
        given = body["token"].get<std::string>();
    }
    if (!given) {
      send_json(res, 400, nullptr, 10001,
                "expected the API token as JSON {\"token\": \"...\"} or a form field token=...");
      return;
    }
    const ApiSecrets::Identity identity = secrets_->identify(*given);
    if (identity.match != ApiSecrets::Match::kApi) {
      ++sign_in_failures_;
      int64_t wait = throttle_ && source ? throttle_->failed(*source, now) : 0;
      const std::string line =
          "dashboard: sign-in refused (wrong token) from " + peer_of(req) +
          (wait > 0 ? "; its next attempt waits " + std::to_string((wait + 999) / 1000) + " s"
                    : "");
      if (log_)
        log_->warn(line, now);
      else
        RLOG_WARN(line);
      if (wait > 0) res.set_header("Retry-After", std::to_string((wait + 999) / 1000));
      if (form) {
        res.status = 401;
        res.set_content(kDeniedPage, "text/html; charset=utf-8");
      } else {
        send_json(res, 401, nullptr, 10000, "wrong API token");
      }
      return;
    }
    if (throttle_ && source) throttle_->succeeded(*source);
    std::string id = sessions_.create(identity.scope, identity.who);
    res.set_header("Set-Cookie", cookie_header(id));
    RLOG_INFO("dashboard: ", who_of(id), " signed in from ", peer_of(req), " with ", identity.who,
              " (scope ", config::to_string(identity.scope), ")");
    audit_write(req, form ? 303 : 200, "", who_of(id));
    if (form) {
      res.status = 303;
      res.set_header("Location", "/dashboard");
      return;
    }
    const auto session = sessions_.find(id, false);
    send_json(res, 200, session ? session_json(*session, id) : json());
  });

  s.Post("/dashboard/logout", [this](const HttpRequest& req, HttpResponse& res) {
    security_headers(res);
    const bool form = is_form(req);
    if (!from_this_site(req, res, form)) return;
    const std::string id = session_cookie(req);
    const auto session = sessions_.find(id, false);
    const json body = form ? json() : json::parse(req.body, nullptr, false);
    if (body.is_object() && body.value("everywhere", false) == true) {
      // Ends other people's sessions: a write like any other, with the session's CSRF token.
      if (!session) {
        send_json(res, 401, nullptr, kErrAuth, "not signed in");
        return;
      }
      const BrowserCheck c = check_cookie_write(req, session->csrf_token, session->scope);
      if (c != BrowserCheck::kOk) {
        RLOG_WARN("dashboard: sign-out everywhere by ", who_of(id), " from ", peer_of(req), ": ",
                  browser_check_message(c));
        send_json(res, 403, nullptr, browser_check_code(c), browser_check_message(c));
        return;
      }
      const size_t ended = sessions_.clear();
      RLOG_INFO("dashboard: ", who_of(id), " signed out everywhere from ", peer_of(req), " (",
                ended, " sessions ended)");
      audit_write(req, 200, "sessions", who_of(id));
      res.set_header("Set-Cookie", cookie_header(""));
      send_json(res, 200, {{"signed_out", true}, {"sessions_ended", ended}});
      return;
    }
    // Only the end of a real session is a write worth an audit line (anyone may post here).
    if (session) {
      sessions_.remove(id);
      audit_write(req, form ? 303 : 200, "", who_of(id));
    }
    res.set_header("Set-Cookie", cookie_header(""));
    if (form) {
      res.status = 303;
      res.set_header("Location", "/dashboard");
      return;
    }
    send_json(res, 200, {{"signed_out", true}});
  });
}

}  // namespace rampart::control
