// ApiServer: routes, bearer-token auth and the v4 envelope around the Controller's outcomes.
#include "control/api_server.h"

#include <httplib.h>
#include <openssl/crypto.h>

#include <fstream>

#include "config/app_json.h"
#include "control/api_dashboard.h"
#include "core/log.h"
#include "net/ip_addr.h"

namespace rampart::control {

using nlohmann::json;

namespace {

constexpr const char* kZone = R"(/client/v4/zones/([^/]+))";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

json error_list(const std::vector<ApiError>& list) {
  json out = json::array();
  for (const auto& e : list) out.push_back({{"code", e.code}, {"message", e.message}});
  return out;
}

}  // namespace

void send_outcome(httplib::Response& res, const Outcome& o) {
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

namespace {

void send(httplib::Response& res, const Outcome& o) {
  send_outcome(res, o);
}

// Runs `fn` and sends its outcome; nothing thrown escapes to the HTTP library.
template <typename Fn>
void guarded(httplib::Response& res, Fn&& fn) {
  try {
    send(res, fn());
  } catch (const std::exception& e) {
    RLOG_ERROR("API handler failed: ", e.what());
    send(res, Outcome::failure(500, kErrInternal, "internal error; see the edge log"));
  } catch (...) {
    send(res, Outcome::failure(500, kErrInternal, "internal error; see the edge log"));
  }
}

bool token_matches(const std::string& header, const std::string& token) {
  static constexpr std::string_view kBearer = "Bearer ";
  if (header.size() < kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0)
    return false;
  std::string_view given = std::string_view(header).substr(kBearer.size());
  // Compare the whole token in constant time; the length is not secret enough to hide.
  if (given.size() != token.size()) return false;
  return CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

ListQuery list_query(const httplib::Request& req) {
  ListQuery q;
  q.page = req.get_param_value("page");
  q.per_page = req.get_param_value("per_page");
  q.order = req.get_param_value("order");
  q.direction = req.get_param_value("direction");
  q.mode = req.get_param_value("mode");
  return q;
}

}  // namespace

bool resolve_api_settings(const config::ApiConfig& api, std::string* token, std::string* error) {
  *token = api.token;
  if (token->empty() && !api.token_file.empty()) {
    std::ifstream in(api.token_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      *error = "api.token_file: cannot read " + api.token_file +
               "; expected a file whose first line is the API token";
      return false;
    }
    *token = trim(line);
  }
  if (token->empty()) {
    *error =
        "api.token: the API needs a token; set api.token (e.g. token: ${RAMPART_API_TOKEN} with "
        "that variable exported) or api.token_file";
    return false;
  }
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

ApiServer::ApiServer(Controller* controller, std::string token, const std::string& certificate,
                     const std::string& private_key)
    : controller_(controller),
      token_(std::move(token)),
      server_(certificate.empty()
                  ? new httplib::Server
                  : new httplib::SSLServer(certificate.c_str(), private_key.c_str())) {}

ApiServer::~ApiServer() {
  stop();
}

void ApiServer::install_routes() {
  httplib::Server& s = *server_;
  Controller* ctl = controller_;
  s.set_payload_max_length(kMaxBodyBytes);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  dashboard_ = std::make_unique<Dashboard>(
      token_, dynamic_cast<httplib::SSLServer*>(server_.get()) != nullptr);
  dashboard_->install_routes(s);
  // The dashboard's routes check their sessions themselves; its cookie is read-only auth (GET).
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/healthz" || Dashboard::is_dashboard_path(req.path))
      return httplib::Server::HandlerResponse::Unhandled;
    if (token_matches(req.get_header_value("Authorization"), token_) ||
        dashboard_->cookie_authorizes(req))
      return httplib::Server::HandlerResponse::Unhandled;
    send(res, Outcome::failure(401, kErrAuth,
                               "authentication error: expected the header "
                               "\"Authorization: Bearer TOKEN\" with the API token"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors produced by the library itself (no route, body too large, bad request): envelope.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      send(res, Outcome::failure(413, kErrTooLarge,
                                 "the request body is larger than 1 MiB; an app is a few hundred "
                                 "bytes of JSON"));
    } else if (res.status == 404) {
      send(res, Outcome::failure(404, kErrNoRoute, "no route for " + req.method + " " + req.path));
    } else {
      int status = res.status;
      send(res,
           Outcome::failure(status, status == 405 ? kErrMethodNotAllowed : config::kErrInvalidValue,
                            "bad request (HTTP " + std::to_string(status) + ")"));
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send(res, Outcome::failure(500, kErrInternal, "internal error; see the edge log"));
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"success\":true,\"result\":{\"status\":\"ok\"}}\n", "application/json");
  });

  // Every zone route checks the zone first (unknown zone -> 404 7003).
  auto zoned = [ctl](auto fn) {
    return [ctl, fn](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&]() -> Outcome {
        const std::string zone = req.matches[1];
        if (!ctl->has_zone(zone))
          return Outcome::failure(
              404, kErrUnknownZone,
              "could not route to zone \"" + zone + "\": this edge serves the zone \"default\"");
        return fn(req);
      });
    };
  };
  const std::string apps = std::string(kZone) + "/spectrum/apps";
  const std::string app = apps + "/([^/]+)";
  s.Get(apps, zoned([ctl](const httplib::Request& r) { return ctl->list_apps(list_query(r)); }));
  s.Post(apps, zoned([ctl](const httplib::Request& r) { return ctl->create_app(r.body); }));
  s.Get(app, zoned([ctl](const httplib::Request& r) { return ctl->get_app(r.matches[2]); }));
  s.Put(app,
        zoned([ctl](const httplib::Request& r) { return ctl->replace_app(r.matches[2], r.body); }));
  s.Patch(app,
          zoned([ctl](const httplib::Request& r) { return ctl->patch_app(r.matches[2], r.body); }));
  s.Delete(app, zoned([ctl](const httplib::Request& r) { return ctl->delete_app(r.matches[2]); }));

  const std::string rules = std::string(kZone) + "/firewall/access_rules/rules";
  const std::string rule = rules + "/([^/]+)";
  s.Get(rules, zoned([ctl](const httplib::Request& r) { return ctl->list_rules(list_query(r)); }));
  s.Post(rules, zoned([ctl](const httplib::Request& r) { return ctl->create_rule(r.body); }));
  s.Get(rule, zoned([ctl](const httplib::Request& r) { return ctl->get_rule(r.matches[2]); }));
  s.Patch(rule, zoned([ctl](const httplib::Request& r) {
            return ctl->patch_rule(r.matches[2], r.body);
          }));
  s.Delete(rule,
           zoned([ctl](const httplib::Request& r) { return ctl->delete_rule(r.matches[2]); }));
  if (analytics_ != nullptr) install_analytics_routes(s, ctl, analytics_);
  if (edges_) {
    auto edges = edges_;
    s.Get(std::string(kZone) + "/rampart/edges", zoned([edges](const httplib::Request&) {
            Outcome out;
            out.result = edges();
            out.result_info = {{"count", out.result.size()}};
            return out;
          }));
  }
}

bool ApiServer::start(const std::string& listen, std::string* error) {
  auto addr = net::SockAddr::parse(listen);
  if (!addr) {
    *error = "api.listen: \"" + listen + "\" is not IP:PORT";
    return false;
  }
  if (!server_->is_valid()) {
    *error = "api.tls: cannot load the certificate and private key (PEM, matching pair expected)";
    return false;
  }
  install_routes();
  std::string host = addr->ip().to_string();
  if (!server_->bind_to_port(host, addr->port())) {
    *error = "api.listen: cannot listen on " + listen + " (address in use or not available)";
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  RLOG_INFO(
      "API listening on ", listen,
      server_->is_valid() && dynamic_cast<httplib::SSLServer*>(server_.get()) ? " (https)" : "");
  return true;
}

void ApiServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace rampart::control
