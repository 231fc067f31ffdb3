// The REST API (Spectrum-compatible paths and envelope) over HTTP, on its own threads: one
// accept thread plus cpp-httplib's worker pool, never the data-plane workers. Owns the HTTP
// server; forwards every request to the Controller. start() and stop() are called by the thread
// that owns the ApiServer (serve's main thread); handlers run on the pool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/model.h"
#include "control/controller.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace rampart::control {

class Analytics;
// Writes `o` as the v4 envelope (status, JSON body).
void send_outcome(httplib::Response& res, const Outcome& o);
// Installs the analytics routes and /metrics (api_analytics.cc).
void install_analytics_routes(httplib::Server& server, Controller* controller,
                              Analytics* analytics);

class Dashboard;

inline constexpr size_t kMaxBodyBytes = 1 << 20;

// The token the API requires: api.token, or the first line of api.token_file (surrounding
// whitespace removed). False with *error when neither gives a non-empty token, or api.listen
// is not loopback and api.allow_insecure_remote is not set.
bool resolve_api_settings(const config::ApiConfig& api, std::string* token, std::string* error);

class ApiServer {
 public:
  // HTTPS when `certificate` (and `private_key`) are PEM files, plain HTTP when empty.
  ApiServer(Controller* controller, std::string token, const std::string& certificate = "",
            const std::string& private_key = "");
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Serves the analytics endpoints and /metrics from `analytics` (call before start()).
  void set_analytics(Analytics* analytics) { analytics_ = analytics; }
  // Serves GET .../rampart/edges (the fleet's live edges) from `edges` (call before start()).
  void set_edges(std::function<nlohmann::json()> edges) { edges_ = std::move(edges); }
  // Binds `listen` ("127.0.0.1:8788", "[::1]:8788") and starts serving; false with *error.
  bool start(const std::string& listen, std::string* error);
  // Stops accepting, finishes requests in flight and joins the threads. Idempotent.
  void stop();

 private:
  void install_routes();

  Controller* controller_;
  Analytics* analytics_ = nullptr;
  std::function<nlohmann::json()> edges_;
  std::string token_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<Dashboard> dashboard_;  // /dashboard and its sessions (api_dashboard.h)
  std::thread thread_;
};

}  // namespace rampart::control
