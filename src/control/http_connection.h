// One client connection of the API's HTTP server (control/http_server.h): TLS handshake, request
// reading under the whole-request deadline, the answer's writing, keep-alive and lingering close.
// Owned by the server's I/O thread, which is the only thread that touches it; a complete request
// leaves it by value for a handler thread and its answer comes back through the I/O loop.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "control/http_parse.h"
#include "control/http_server.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "core/unique_fd.h"

namespace rampart::control {

// Counters of the server, written by its threads, read by /metrics.
struct HttpServerStats {
  enum Phase { kHandshake, kHeader, kBody, kSend, kPhases };
  std::atomic<uint64_t> accepted{0}, active{0}, evicted{0}, refused{0}, accept_errors{0};
  std::atomic<uint64_t> evicted_writing{0}, refused_per_source{0};
  std::atomic<uint64_t> requests_main{0}, requests_priority{0}, tls_failures{0};
  std::array<std::atomic<uint64_t>, kPhases> timeouts{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Refusal::kCount)> refusals{};
};

class HttpConnection;

// What a connection needs from its server (HttpServer::Impl).
class HttpConnectionOwner {
 public:
  virtual core::EventLoop& loop() = 0;
  virtual const HttpServerOptions& options() const = 0;
  virtual SSL_CTX* tls() const = 0;
  virtual HttpServerStats& stats() = 0;
  virtual HttpServer::HeadDecision on_head(HttpRequest& req, HttpResponse& res) = 0;
  virtual void fill_error(int status, const std::string& message, HttpResponse& res) = 0;
  // Hands a complete request to a handler pool; the answer comes back through respond().
  virtual void dispatch(HttpConnection* conn, HttpRequest req) = 0;
  // The connection closed itself; the owner forgets it (destroyed after the epoll batch).
  virtual void closed(HttpConnection* conn) = 0;

 protected:
  ~HttpConnectionOwner() = default;
};

class HttpConnection final : public core::EventHandler, public core::Timer, public core::Retirable {
 public:
  HttpConnection(HttpConnectionOwner* owner, uint64_t id, core::UniqueFd fd,
                 std::string remote_addr, int remote_port, std::string local_addr, int local_port);
  ~HttpConnection() override;

  // Registers with the loop and arms the first deadline (TLS handshake and first request).
  void start();
  // The handler's answer to the request dispatched last.
  void respond(HttpResponse res);
  // Closes at once (eviction, shutdown); the owner is told through closed().
  void close();

  uint64_t id() const { return id_; }
  // A request is being handled or its answer written: not to be evicted.
  bool busy() const { return state_ == State::kDispatched || state_ == State::kWriting; }
  // When the current phase began (accept, or the current request's first byte): eviction takes
  // the oldest.
  int64_t phase_start_ms() const { return phase_start_ms_; }
  // When the answer being written was queued; -1 when none is (not in the writing state).
  int64_t writing_since_ms() const { return state_ == State::kWriting ? writing_since_ms_ : -1; }

  void on_events(uint32_t events) override;
  void on_timer() override;

 private:
  enum class State { kHandshake, kIdle, kHead, kBody, kDispatched, kWriting, kLinger, kClosed };
  enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };

  Io read_some(char* buf, size_t cap, size_t* n);
  Io write_some(const char* buf, size_t len, size_t* n);
  Io ssl_failure() const;
  void handshake();
  void read_and_process();
  void read_loop();
  bool reading() const {
    return state_ == State::kIdle || state_ == State::kHead || state_ == State::kBody;
  }
  // Parses what is buffered; false once the connection left the reading states.
  bool process();
  bool process_head();
  bool process_body();
  void dispatch();
  // Answers without running a handler; `unread_body`: bytes of this request may still come (the
  // connection then closes after a lingering read).
  void refuse(int status, const std::string& message, Refusal why, bool unread_body);
  void send_response(const HttpResponse& res, bool keep_alive);
  void flush();
  void after_response();
  void linger();
  void update_events();
  void arm(int64_t deadline_ms);

  HttpConnectionOwner* owner_;
  uint64_t id_;
  core::UniqueFd fd_;
  SSL* ssl_ = nullptr;
  State state_ = State::kIdle;
  bool registered_ = false;
  bool in_read_loop_ = false;  // read_and_process() is on the stack: it picks up the next request
  uint32_t events_ = 0;
  bool read_wants_write_ = false;  // TLS: SSL_read asked to wait for writability

  std::string remote_addr_, local_addr_;
  int remote_port_, local_port_;
  int64_t phase_start_ms_ = 0;
  int64_t writing_since_ms_ = 0;
  size_t requests_ = 0;

  std::string in_;   // received, not yet parsed
  std::string out_;  // to send
  size_t out_pos_ = 0;
  HttpRequest req_;
  BodyFraming framing_;
  uint64_t body_left_ = 0;  // kLength
  size_t max_body_ = 0;
  std::string too_large_message_;
  std::unique_ptr<ChunkedDecoder> chunked_;
  bool head_request_ = false;
  bool keep_alive_ = false;
  bool linger_after_ = false;  // unread request bytes may follow: lingering close
  size_t lingered_bytes_ = 0;
};

}  // namespace rampart::control
