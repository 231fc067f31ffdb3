// The API's HTTP/1.1 server (docs/hardening.md, "API"; docs/adr/0008-api-server.md says why it
// is ours and not cpp-httplib's). One I/O thread owns the listening socket and every connection
// (an epoll EventLoop): it accepts, runs TLS handshakes, reads and parses requests under one
// whole-request deadline, and writes answers; a request reaches a handler thread only once it is
// complete, so slow or idle clients hold no thread. Two handler pools: a small one for the
// requests `priority` picks (/healthz, /metrics), so that they answer while the main pool is busy,
// and the main one; each with a bounded queue (503 past it). Connections are capped: a new one
// past max_connections_per_source for its source is closed; a new one past max_connections
// closes the oldest connection that has no request being handled, else the oldest one whose
// answer has waited evict_writing_after for a client that does not read, else it is closed
// itself. Request bodies are never decompressed (Content-Encoding is refused with 415
// before the body is read). start()/stop() from the owning thread; stats() from any thread.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "control/http_message.h"
#include "control/http_router.h"

namespace rampart::control {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8788";
  int backlog = 1024;  // the kernel caps it at net.core.somaxconn (4096 by default)
  size_t max_connections = 256;
  // Connections of one source (an IPv4 address, an IPv6 /64) at once; past it the new one is
  // closed (nginx's limit_conn). 0 = no per-source cap.
  size_t max_connections_per_source = 32;
  // At max_connections with nothing idle left, a connection whose answer has been waiting this
  // long for a client that does not read it is closed to make room.
  std::chrono::milliseconds evict_writing_after{3'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds keepalive_timeout{5'000};
  size_t max_requests_per_connection = 1000;  // nginx's keepalive_requests
  size_t worker_threads = 8;
  size_t priority_threads = 2;
  size_t queue_limit = 256;  // requests waiting for a thread of one pool; more get 503
  // A listening socket for `listen` handed over by a zero-loss upgrade (server/upgrade.h):
  // start() takes it (and owns it) instead of binding. -1 = bind.
  int inherited_fd = -1;
};

// Why a request was answered without reaching its handler (a label of
// rampart_api_requests_refused_total).
enum class Refusal : uint8_t {
  kBadRequest,       // malformed head, framing, version
  kContentEncoding,  // 415
  kTooLarge,         // 413
  kHost,             // 421: Host not this API's
  kAuth,             // 401
  kForbidden,        // 403: a cookie write without CSRF token or from another origin, a read token
  kThrottled,        // 429: the source's sign-in backoff
  kBusy,             // 503: the pool's queue is full
  kCount
};
const char* to_string(Refusal r);

class HttpServer {
 public:
  // The I/O thread's verdict on a request whose head has arrived, before its body is read.
  struct HeadDecision {
    bool respond = false;  // answer now with the response the hook filled (body not read)
    Refusal refusal = Refusal::kBadRequest;  // respond: what to count it as (status >= 400)
    size_t max_body = 0;                     // otherwise: the largest body accepted (413 past it)
    std::string too_large_message;           // the 413's message ("" = "larger than N bytes")
  };
  using HeadHook = std::function<HeadDecision(HttpRequest& req, HttpResponse& res)>;
  // Fills the body of an answer the server makes itself (400, 413, 415, 503...).
  using ErrorFill = std::function<void(int status, const std::string& message, HttpResponse& res)>;
  using PriorityTest = std::function<bool(const HttpRequest& req)>;

  // `tls`: the HTTPS context (null for plain HTTP). `router` outlives the server.
  HttpServer(HttpServerOptions options, std::shared_ptr<SSL_CTX> tls, const HttpRouter* router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before start(). The head hook runs on the I/O thread: it must be quick and never block.
  void set_head_hook(HeadHook hook);
  void set_error_fill(ErrorFill fill);
  void set_priority(PriorityTest test);

  // Binds options.listen and starts the threads; false with *error.
  bool start(std::string* error);
  // Stops accepting, lets the handlers finish, closes every connection, joins. Idempotent.
  void stop();
  // The port listened on (after start(); useful with port 0).
  int port() const;
  // The listening socket (after start(); -1 before and after stop()), for an upgrade to hand on.
  int listen_fd() const;

  // Prometheus text of the server's counters (rampart_api_*); any thread.
  std::string metrics() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::control
