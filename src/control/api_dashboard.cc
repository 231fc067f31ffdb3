// Dashboard: static files, sign-in/out and the session cookie (see api_dashboard.h).
#include "control/api_dashboard.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "control/web_assets.h"
#include "core/log.h"

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

void security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

void send_json(httplib::Response& res, int status, const json& result, int code = 0,
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

void send_asset(httplib::Response& res, const WebAsset& a) {
  security_headers(res);
  res.set_content(reinterpret_cast<const char*>(a.data), a.size, web_content_type(a.name));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The "token" field of an application/x-www-form-urlencoded body.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? "" : form_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool is_form(const httplib::Request& req) {
  return req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

constexpr const char* kDeniedPage =
    "<!doctype html><meta charset=utf-8><title>Rampart: sign-in refused</title>"
    "<p>Wrong API token. <a href=\"/dashboard\">Try again</a>.</p>\n";

}  // namespace

Dashboard::Dashboard(std::string token, bool https) : token_(std::move(token)), https_(https) {}

bool Dashboard::is_dashboard_path(const std::string& path) {
  return path == "/dashboard" || path.rfind("/dashboard/", 0) == 0;
}

bool Dashboard::token_ok(std::string_view given) const {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(token_.data()), token_.size(), b);
  return !token_.empty() && CRYPTO_memcmp(a, b, sizeof a) == 0;
}

std::string Dashboard::session_cookie(const httplib::Request& req) {
  size_t n = req.get_header_value_count("Cookie");
  for (size_t i = 0; i < n; ++i) {
    const std::string header = req.get_header_value("Cookie", i);
    std::string_view h = header;
    while (!h.empty()) {
      size_t semi = h.find(';');
      std::string_view c = h.substr(0, semi);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      size_t eq = c.find('=');
      if (eq != std::string_view::npos && c.substr(0, eq) == kSessionCookie)
        return std::string(c.substr(eq + 1));
      if (semi == std::string_view::npos) break;
      h.remove_prefix(semi + 1);
    }
  }
  return "";
}

std::string Dashboard::cookie_header(const std::string& id) const {
  std::string c = std::string(kSessionCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict";
  c += id.empty() ? "; Max-Age=0" : "; Max-Age=" + std::to_string(sessions_.ttl().count());
  if (https_) c += "; Secure";
  return c;
}

bool Dashboard::cookie_authorizes(const httplib::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string id = session_cookie(req);
  return !id.empty() && sessions_.valid(id);
}

void Dashboard::install_routes(httplib::Server& s) {
  auto page = [](const httplib::Request&, httplib::Response& res) {
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
  s.Get(R"(/dashboard/assets/([A-Za-z0-9_.-]+))",
        [](const httplib::Request& req, httplib::Response& res) {
          const WebAsset* a = find_web_asset(req.matches[1].str());
          if (!a || std::string_view(a->name) == "index.html") {
            res.status = 404;
            res.set_content("no such dashboard asset\n", "text/plain");
            return;
          }
          send_asset(res, *a);
        });

  // Whether the browser's cookie still names a session (the page decides what to show).
  s.Get("/dashboard/session", [this](const httplib::Request& req, httplib::Response& res) {
    security_headers(res);
    long long left = sessions_.expires_in(session_cookie(req));
    if (left <= 0) {
      send_json(res, 401, nullptr, 10000, "not signed in");
      return;
    }
    send_json(res, 200, {{"expires_in", left}});
  });

  s.Post("/dashboard/login", [this](const httplib::Request& req, httplib::Response& res) {
    security_headers(res);
    if (req.target.find('?') != std::string::npos) {
      send_json(res, 400, nullptr, 10001,
                "the token is never accepted in a URL; POST it in the body as JSON "
                "{\"token\": \"...\"} or a form field");
      return;
    }
    const bool form = is_form(req);
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
    if (!token_ok(*given)) {
      RLOG_WARN("dashboard: sign-in refused (wrong token) from ", req.remote_addr);
      if (form) {
        res.status = 401;
        res.set_content(kDeniedPage, "text/html; charset=utf-8");
      } else {
        send_json(res, 401, nullptr, 10000, "wrong API token");
      }
      return;
    }
    std::string id = sessions_.create();
    res.set_header("Set-Cookie", cookie_header(id));
    RLOG_INFO("dashboard: signed in from ", req.remote_addr);
    if (form) {
      res.status = 303;
      res.set_header("Location", "/dashboard");
      return;
    }
    send_json(res, 200, {{"expires_in", sessions_.ttl().count()}});
  });

  s.Post("/dashboard/logout", [this](const httplib::Request& req, httplib::Response& res) {
    security_headers(res);
    std::string id = session_cookie(req);
    if (!id.empty()) sessions_.remove(id);
    res.set_header("Set-Cookie", cookie_header(""));
    if (is_form(req)) {
      res.status = 303;
      res.set_header("Location", "/dashboard");
      return;
    }
    send_json(res, 200, {{"signed_out", true}});
  });
}

}  // namespace rampart::control
