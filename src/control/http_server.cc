// HttpServer: the listener, the connection table and cap, the two handler pools, the counters.
#include "control/http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "control/api_auth.h"
#include "control/http_connection.h"
#include "core/log.h"
#include "net/ip_addr.h"

namespace rampart::control {

const char* to_string(Refusal r) {
  switch (r) {
    case Refusal::kBadRequest:
      return "bad_request";
    case Refusal::kContentEncoding:
      return "content_encoding";
    case Refusal::kTooLarge:
      return "too_large";
    case Refusal::kHost:
      return "host";
    case Refusal::kAuth:
      return "auth";
    case Refusal::kForbidden:
      return "forbidden";
    case Refusal::kThrottled:
      return "throttled";
    case Refusal::kBusy:
      return "busy";
    case Refusal::kCount:
      break;
  }
  return "unknown";
}

namespace {

constexpr int64_t kAcceptPauseMs = 100;
constexpr int kAcceptBatch = 64;

}  // namespace

// A fixed set of threads running jobs from a bounded queue. submit() from any thread. Not in the
// anonymous namespace: HttpServer::Impl (external linkage) holds it.
class HttpWorkPool {
 public:
  HttpWorkPool(size_t threads, size_t limit) : limit_(limit) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~HttpWorkPool() { shutdown(); }

  // False when `limit` jobs are already waiting (the caller answers 503).
  bool submit(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      if (stop_ || jobs_.size() >= limit_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what is queued, then joins.
  void shutdown() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

struct HttpServer::Impl final : HttpConnectionOwner, core::EventHandler, core::Timer {
  Impl(HttpServerOptions o, std::shared_ptr<SSL_CTX> t, const HttpRouter* r)
      : opt(std::move(o)), tls_ctx(std::move(t)), router(r) {}

  // ---- HttpConnectionOwner (I/O thread)
  core::EventLoop& loop() override { return loop_; }
  const HttpServerOptions& options() const override { return opt; }
  SSL_CTX* tls() const override { return tls_ctx.get(); }
  HttpServerStats& stats() override { return stats_; }
  HeadDecision on_head(HttpRequest& req, HttpResponse& res) override {
    if (head_hook) return head_hook(req, res);
    return HeadDecision{false, Refusal::kBadRequest, 1 << 20, ""};
  }
  void fill_error(int status, const std::string& message, HttpResponse& res) override {
    res.status = status;
    if (error_fill) {
      error_fill(status, message, res);
    } else {
      res.set_content(message + "\n", "text/plain");
    }
  }
  void dispatch(HttpConnection* conn, HttpRequest req) override;
  void closed(HttpConnection* conn) override {
    auto it = conns.find(conn->id());
    if (it == conns.end()) return;
    if (auto src = source_of.find(conn->id()); src != source_of.end()) {
      auto count = per_source.find(src->second);
      if (count != per_source.end() && --count->second == 0) per_source.erase(count);
      source_of.erase(src);
    }
    loop_.retire(std::move(it->second));
    conns.erase(it);
    --stats_.active;
  }

  // ---- the listener
  void on_events(uint32_t) override { accept_ready(); }
  void on_timer() override {  // the pause after EMFILE is over
    if (listen_fd.valid() && !loop_.stopping()) loop_.add(listen_fd.get(), EPOLLIN, this);
  }
  void accept_ready();
  // Ties (one loop turn accepts several connections within the clock's tick) go to the first
  // accepted: ids grow in accept order.
  HttpConnection* oldest_idle() const {
    HttpConnection* best = nullptr;
    uint64_t best_id = 0;
    for (const auto& [id, c] : conns) {
      if (c->busy()) continue;
      if (best == nullptr || c->phase_start_ms() < best->phase_start_ms() ||
          (c->phase_start_ms() == best->phase_start_ms() && id < best_id)) {
        best = c.get();
        best_id = id;
      }
    }
    return best;
  }
  // The connection whose answer has waited longest for its reader, if at least
  // evict_writing_after.
  HttpConnection* oldest_stuck_writer() const {
    HttpConnection* best = nullptr;
    const int64_t limit = loop_.now_ms() - opt.evict_writing_after.count();
    for (const auto& [id, c] : conns) {
      const int64_t since = c->writing_since_ms();
      if (since >= 0 && since <= limit && (best == nullptr || since < best->writing_since_ms()))
        best = c.get();
    }
    return best;
  }
  bool bind_listener(std::string* error);

  HttpServerOptions opt;
  std::shared_ptr<SSL_CTX> tls_ctx;
  const HttpRouter* router;
  HeadHook head_hook;
  ErrorFill error_fill;
  PriorityTest priority;
  core::EventLoop loop_;
  core::UniqueFd listen_fd;
  std::unordered_map<uint64_t, std::unique_ptr<HttpConnection>> conns;  // I/O thread
  // Open connections by source (the IPv4 address, the IPv6 /64); ordered: no hash to flood.
  std::map<AuthThrottle::Key, size_t> per_source;             // I/O thread
  std::unordered_map<uint64_t, AuthThrottle::Key> source_of;  // connection id -> its source
  uint64_t next_id = 1;
  HttpServerStats stats_;
  std::unique_ptr<HttpWorkPool> main_pool, priority_pool;
  std::thread io_thread;
  int64_t last_accept_warning_ms = 0;
};

void HttpServer::Impl::dispatch(HttpConnection* conn, HttpRequest req) {
  const bool urgent = priority && priority(req);
  const uint64_t id = conn->id();
  ++(urgent ? stats_.requests_priority : stats_.requests_main);
  auto job = [this, id, req = std::move(req)]() mutable {
    HttpResponse res;
    router->route(req, res);
    loop_.post([this, id, res = std::move(res)]() mutable {
      auto it = conns.find(id);
      if (it != conns.end()) it->second->respond(std::move(res));
    });
  };
  HttpWorkPool& pool = urgent ? *priority_pool : *main_pool;
  if (pool.submit(std::move(job))) return;
  ++stats_.refusals[static_cast<size_t>(Refusal::kBusy)];
  HttpResponse res;
  res.close = true;
  fill_error(503, "the API is busy (every handler thread is taken and the queue is full); retry",
             res);
  res.set_header("Retry-After", "1");
  conn->respond(std::move(res));
}

void HttpServer::Impl::accept_ready() {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(listen_fd.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      ++stats_.accept_errors;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning on the listener.
        loop_.remove(listen_fd.get());
        loop_.timers().schedule(this, loop_.now_ms() + kAcceptPauseMs);
        if (loop_.now_ms() - last_accept_warning_ms > 10'000) {
          last_accept_warning_ms = loop_.now_ms();
          RLOG_WARN("API: cannot accept connections (", std::strerror(errno),
                    "); pausing accepts for 100 ms");
        }
      }
      return;
    }
    core::UniqueFd cfd(fd);
    ++stats_.accepted;
    net::SockAddr remote = net::SockAddr::from(reinterpret_cast<sockaddr*>(&peer), len);
    const AuthThrottle::Key source = AuthThrottle::key_of(remote.ip());
    if (opt.max_connections_per_source > 0) {
      auto count = per_source.find(source);
      if (count != per_source.end() && count->second >= opt.max_connections_per_source) {
        ++stats_.refused_per_source;  // this source holds its share already
        continue;
      }
    }
    if (conns.size() >= opt.max_connections) {
      if (HttpConnection* idle = oldest_idle()) {
        ++stats_.evicted;
        idle->close();
      } else if (HttpConnection* stuck = oldest_stuck_writer()) {
        ++stats_.evicted_writing;  // its client has not read its answer for seconds
        stuck->close();
      } else {
        ++stats_.refused;  // every connection has a request being handled: refuse the new one
        continue;
      }
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
    net::SockAddr here = net::SockAddr::from(reinterpret_cast<sockaddr*>(&local), llen);
    const uint64_t id = next_id++;
    auto conn = std::make_unique<HttpConnection>(this, id, std::move(cfd),
                                                 remote.ip().unmapped().to_string(), remote.port(),
                                                 here.ip().unmapped().to_string(), here.port());
    HttpConnection* raw = conn.get();
    conns.emplace(id, std::move(conn));
    ++per_source[source];
    source_of.emplace(id, source);
    ++stats_.active;
    raw->start();
  }
}

bool HttpServer::Impl::bind_listener(std::string* error) {
  if (opt.inherited_fd >= 0) {
    listen_fd = core::UniqueFd(opt.inherited_fd);
    opt.inherited_fd = -1;
    const int flags = ::fcntl(listen_fd.get(), F_GETFL);
    ::fcntl(listen_fd.get(), F_SETFL, flags | O_NONBLOCK);
    return true;
  }
  auto addr = net::SockAddr::parse(opt.listen);
  if (!addr) {
    *error = "api.listen: \"" + opt.listen + "\" is not IP:PORT";
    return false;
  }
  const bool v6 = addr->ip().is_v6();
  core::UniqueFd fd(
      ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  // SO_REUSEADDR only, never SO_REUSEPORT: nothing else may share the API's port.
  if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      (v6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
    *error = std::string("api.listen: cannot create a socket: ") + std::strerror(errno);
    return false;
  }
  if (::bind(fd.get(), addr->get(), addr->len()) != 0 || ::listen(fd.get(), opt.backlog) != 0) {
    *error = "api.listen: cannot listen on " + opt.listen + ": " + std::strerror(errno);
    return false;
  }
  listen_fd = std::move(fd);
  return true;
}

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<SSL_CTX> tls,
                       const HttpRouter* router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(tls), router)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::set_head_hook(HeadHook hook) {
  impl_->head_hook = std::move(hook);
}
void HttpServer::set_error_fill(ErrorFill fill) {
  impl_->error_fill = std::move(fill);
}
void HttpServer::set_priority(PriorityTest test) {
  impl_->priority = std::move(test);
}

bool HttpServer::start(std::string* error) {
  Impl& m = *impl_;
  if (!m.bind_listener(error)) return false;
  m.main_pool = std::make_unique<HttpWorkPool>(m.opt.worker_threads, m.opt.queue_limit);
  m.priority_pool = std::make_unique<HttpWorkPool>(m.opt.priority_threads, m.opt.queue_limit);
  m.loop_.add(m.listen_fd.get(), EPOLLIN, &m);
  m.io_thread = std::thread([&m] { m.loop_.run(); });
  return true;
}

void HttpServer::stop() {
  Impl& m = *impl_;
  if (!m.io_thread.joinable()) return;
  m.loop_.stop();
  m.io_thread.join();
  m.main_pool->shutdown();
  m.priority_pool->shutdown();
  // The loop no longer runs: close what is left from here (answers posted meanwhile are dropped).
  while (!m.conns.empty()) m.conns.begin()->second->close();
  m.loop_.timers().cancel(&m);
  m.listen_fd.reset();
}

int HttpServer::listen_fd() const {
  return impl_->listen_fd.valid() ? impl_->listen_fd.get() : -1;
}

int HttpServer::port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (!impl_->listen_fd.valid() ||
      ::getsockname(impl_->listen_fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return 0;
  return net::SockAddr::from(reinterpret_cast<sockaddr*>(&ss), len).port();
}

std::string HttpServer::metrics() const {
  const HttpServerStats& s = impl_->stats_;
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const std::string& series, uint64_t v) {
    out += series + " " + std::to_string(v) + "\n";
  };
  family("rampart_api_connections_active", "gauge", "API connections open now.");
  line("rampart_api_connections_active", s.active.load());
  family("rampart_api_connections_total", "counter", "API connections accepted.");
  line("rampart_api_connections_total", s.accepted.load());
  family("rampart_api_connections_shed_total", "counter",
         "API connections closed because a cap was reached. api.max_connections: evicted = an "
         "older connection with no request being handled made room, evicted_writing = one whose "
         "answer its client had not read for seconds made room, refused = the new one was "
         "closed; api.max_connections_per_source: per_source = the new one was closed.");
  line("rampart_api_connections_shed_total{reason=\"evicted\"}", s.evicted.load());
  line("rampart_api_connections_shed_total{reason=\"evicted_writing\"}", s.evicted_writing.load());
  line("rampart_api_connections_shed_total{reason=\"refused\"}", s.refused.load());
  line("rampart_api_connections_shed_total{reason=\"per_source\"}", s.refused_per_source.load());
  family("rampart_api_accept_errors_total", "counter",
         "accept() failures on the API listener (EMFILE pauses accepting for 100 ms).");
  line("rampart_api_accept_errors_total", s.accept_errors.load());
  family("rampart_api_timeouts_total", "counter",
         "API connections closed by api.request_timeout, by phase.");
  const char* phases[] = {"handshake", "header", "body", "send"};
  for (size_t i = 0; i < HttpServerStats::kPhases; ++i)
    line(std::string("rampart_api_timeouts_total{phase=\"") + phases[i] + "\"}",
         s.timeouts[i].load());
  family("rampart_api_tls_handshake_failures_total", "counter",
         "Failed TLS handshakes on the API.");
  line("rampart_api_tls_handshake_failures_total", s.tls_failures.load());
  family("rampart_api_requests_total", "counter",
         "API requests handed to a handler pool (priority: /healthz and /metrics).");
  line("rampart_api_requests_total{pool=\"main\"}", s.requests_main.load());
  line("rampart_api_requests_total{pool=\"priority\"}", s.requests_priority.load());
  family("rampart_api_requests_refused_total", "counter",
         "API requests answered without reaching a handler, by reason.");
  for (size_t i = 0; i < static_cast<size_t>(Refusal::kCount); ++i)
    line(std::string("rampart_api_requests_refused_total{reason=\"") +
             to_string(static_cast<Refusal>(i)) + "\"}",
         s.refusals[i].load());
  return out;
}

}  // namespace rampart::control
