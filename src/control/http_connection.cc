// HttpConnection: the per-connection state machine of the API's HTTP server.
#include "control/http_connection.h"

#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

namespace rampart::control {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// After an answer sent before the request's body was read, the connection keeps reading (and
// dropping) what the client still sends for this long, so that its kernel does not turn our
// close into a reset that destroys the answer in flight (nginx's lingering close).
constexpr int64_t kLingerMs = 2000;
constexpr size_t kLingerMaxBytes = 8 << 20;

std::string size_text(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

HttpConnection::HttpConnection(HttpConnectionOwner* owner, uint64_t id, core::UniqueFd fd,
                               std::string remote_addr, int remote_port, std::string local_addr,
                               int local_port)
    : owner_(owner),
      id_(id),
      fd_(std::move(fd)),
      remote_addr_(std::move(remote_addr)),
      local_addr_(std::move(local_addr)),
      remote_port_(remote_port),
      local_port_(local_port) {}

HttpConnection::~HttpConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void HttpConnection::arm(int64_t deadline_ms) {
  owner_->loop().timers().schedule(this, deadline_ms);
}

void HttpConnection::start() {
  const int64_t now = owner_->loop().now_ms();
  phase_start_ms_ = now;
  if (SSL_CTX* ctx = owner_->tls()) {
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_.get()) != 1) {
      close();
      return;
    }
    SSL_set_accept_state(ssl_);
    state_ = State::kHandshake;
  } else {
    state_ = State::kIdle;
  }
  // The first request (and the handshake before it) must be complete within request_timeout of
  // the accept: a connection that sends nothing, or a byte now and then, is closed then.
  arm(now + owner_->options().request_timeout.count());
  update_events();
}

void HttpConnection::update_events() {
  uint32_t want = 0;
  const bool out_pending = out_pos_ < out_.size();
  switch (state_) {
    case State::kHandshake:
      want = read_wants_write_ ? EPOLLOUT : EPOLLIN;
      break;
    case State::kIdle:
    case State::kHead:
    case State::kBody:
      want = EPOLLIN | EPOLLRDHUP;
      if (read_wants_write_ || out_pending) want |= EPOLLOUT;
      break;
    case State::kWriting:
      want = read_wants_write_ ? EPOLLIN : EPOLLOUT;
      break;
    case State::kLinger:
      want = EPOLLIN | EPOLLRDHUP;
      break;
    case State::kDispatched:
    case State::kClosed:
      want = 0;
      break;
  }
  core::EventLoop& loop = owner_->loop();
  if (want == 0) {
    if (registered_) loop.remove(fd_.get());
    registered_ = false;
  } else if (!registered_) {
    registered_ = loop.add(fd_.get(), want, this);
    if (!registered_) {
      close();
      return;
    }
  } else if (want != events_) {
    loop.modify(fd_.get(), want, this);
  }
  events_ = want;
}

HttpConnection::Io HttpConnection::read_some(char* buf, size_t cap, size_t* n) {
  if (ssl_ == nullptr) {
    ssize_t r = ::recv(fd_.get(), buf, cap, 0);
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    if (r == 0) return Io::kEof;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Io::kWantRead : Io::kError;
  }
  ERR_clear_error();
  return SSL_read_ex(ssl_, buf, cap, n) == 1 ? Io::kOk : ssl_failure();
}

HttpConnection::Io HttpConnection::write_some(const char* buf, size_t len, size_t* n) {
  if (ssl_ == nullptr) {
    ssize_t r = ::send(fd_.get(), buf, len, MSG_NOSIGNAL);
    if (r >= 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Io::kWantWrite : Io::kError;
  }
  ERR_clear_error();
  return SSL_write_ex(ssl_, buf, len, n) == 1 ? Io::kOk : ssl_failure();
}

// What the last failed SSL_read_ex/SSL_write_ex asks for (a close_notify read is the end).
HttpConnection::Io HttpConnection::ssl_failure() const {
  switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kEof;
    default:
      return Io::kError;
  }
}

void HttpConnection::on_events(uint32_t events) {
  if (state_ == State::kClosed) return;
  if ((events & EPOLLERR) != 0) {
    close();
    return;
  }
  switch (state_) {
    case State::kHandshake:
      handshake();
      break;
    case State::kIdle:
    case State::kHead:
    case State::kBody:
      if ((events & EPOLLOUT) != 0 && out_pos_ < out_.size()) flush();
      if (state_ == State::kIdle || state_ == State::kHead || state_ == State::kBody)
        read_and_process();
      break;
    case State::kWriting:
      flush();
      break;
    case State::kLinger:
      linger();
      break;
    case State::kDispatched:
    case State::kClosed:
      break;
  }
}

void HttpConnection::on_timer() {
  HttpServerStats& st = owner_->stats();
  switch (state_) {
    case State::kHandshake:
      ++st.timeouts[HttpServerStats::kHandshake];
      break;
    case State::kIdle:
      // A keep-alive connection that stayed idle is not a timeout; one that never sent is.
      if (requests_ == 0) ++st.timeouts[HttpServerStats::kHeader];
      break;
    case State::kHead:
      ++st.timeouts[HttpServerStats::kHeader];
      break;
    case State::kBody:
      ++st.timeouts[HttpServerStats::kBody];
      break;
    case State::kWriting:
      ++st.timeouts[HttpServerStats::kSend];
      break;
    case State::kDispatched:  // no deadline while a handler runs
    case State::kLinger:
    case State::kClosed:
      break;
  }
  if (state_ != State::kDispatched) close();
}

void HttpConnection::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    read_wants_write_ = false;
    state_ = State::kIdle;
    read_and_process();
    return;
  }
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
      read_wants_write_ = false;
      update_events();
      return;
    case SSL_ERROR_WANT_WRITE:
      read_wants_write_ = true;
      update_events();
      return;
    default:
      ++owner_->stats().tls_failures;
      close();
  }
}

void HttpConnection::read_and_process() {
  // A response answered at once (401, 421, 429...) ends in after_response(), which asks for the
  // next pipelined request: that is this loop's next turn, never a deeper call (a thousand
  // pipelined requests would otherwise nest a thousand frames and overflow the I/O thread's stack).
  if (in_read_loop_) return;
  in_read_loop_ = true;
  read_loop();
  in_read_loop_ = false;  // the connection is retired, not freed, when it closes in the loop
}

void HttpConnection::read_loop() {
  char buf[kReadChunk];
  while (reading()) {
    if (!process()) {
      if (reading()) continue;  // answered at once and kept alive: the next request
      return;
    }
    size_t n = 0;
    switch (read_some(buf, sizeof buf, &n)) {
      case Io::kOk:
        in_.append(buf, n);
        continue;
      case Io::kWantRead:
        read_wants_write_ = false;
        update_events();
        return;
      case Io::kWantWrite:
        read_wants_write_ = true;
        update_events();
        return;
      case Io::kEof:
      case Io::kError:
        close();
        return;
    }
  }
}

bool HttpConnection::process() {
  switch (state_) {
    case State::kIdle:
      if (in_.empty()) return true;
      state_ = State::kHead;
      if (requests_ > 0) {
        // The next request on a kept-alive connection: its deadline runs from its first byte.
        phase_start_ms_ = owner_->loop().now_ms();
        arm(phase_start_ms_ + owner_->options().request_timeout.count());
      }
      return process_head();
    case State::kHead:
      return process_head();
    case State::kBody:
      return process_body();
    default:
      return false;
  }
}

bool HttpConnection::process_head() {
  req_ = HttpRequest{};
  HeadResult head = parse_request_head(in_, &req_);
  if (head.status == ParseStatus::kIncomplete) return true;
  if (head.status == ParseStatus::kInvalid) {
    refuse(head.error_status, head.error, Refusal::kBadRequest, true);
    return false;
  }
  in_.erase(0, head.consumed);
  req_.remote_addr = remote_addr_;
  req_.remote_port = remote_port_;
  req_.local_addr = local_addr_;
  req_.local_port = local_port_;
  req_.tls = ssl_ != nullptr;
  head_request_ = req_.method == "HEAD";
  ++requests_;
  const HttpServerOptions& opt = owner_->options();
  keep_alive_ = wants_keep_alive(req_) && requests_ < opt.max_requests_per_connection &&
                opt.keepalive_timeout.count() > 0;
  int status = 400;
  std::string why;
  if (!body_framing(req_, &framing_, &status, &why)) {
    refuse(status, why, Refusal::kBadRequest, true);
    return false;
  }
  const bool has_body = framing_.kind != BodyFraming::Kind::kNone;
  if (!content_coding_allowed(req_)) {
    refuse(415,
           "compressed request bodies are not accepted (Content-Encoding: " +
               req_.get_header_value("Content-Encoding") + "); send the body uncompressed",
           Refusal::kContentEncoding, has_body);
    return false;
  }
  HttpResponse res;
  HttpServer::HeadDecision d = owner_->on_head(req_, res);
  if (d.respond) {
    ++owner_->stats().refusals[static_cast<size_t>(d.refusal)];
    linger_after_ = has_body;
    send_response(res, keep_alive_ && !has_body);
    return false;
  }
  max_body_ = d.max_body;
  if (framing_.kind == BodyFraming::Kind::kLength && framing_.length > max_body_) {
    refuse(413,
           d.too_large_message.empty() ? "the request body is larger than " + size_text(max_body_)
                                       : d.too_large_message,
           Refusal::kTooLarge, true);
    return false;
  }
  if (!has_body) {
    dispatch();
    return false;
  }
  too_large_message_ = d.too_large_message;
  if (framing_.kind == BodyFraming::Kind::kLength) {
    body_left_ = framing_.length;
    req_.body.reserve(static_cast<size_t>(framing_.length));
  } else {
    chunked_ = std::make_unique<ChunkedDecoder>(max_body_);
  }
  state_ = State::kBody;
  const std::string expect = req_.get_header_value("Expect");
  if (in_.empty() && req_.version == "HTTP/1.1" &&
      (expect == "100-continue" || expect == "100-Continue")) {
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
    flush();
    if (state_ != State::kBody) return false;
  }
  return process_body();
}

bool HttpConnection::process_body() {
  if (framing_.kind == BodyFraming::Kind::kLength) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(body_left_, in_.size()));
    req_.body.append(in_, 0, n);
    in_.erase(0, n);
    body_left_ -= n;
    if (body_left_ > 0) return true;
  } else {
    size_t used = 0;
    ParseStatus st = chunked_->feed(in_, &used, &req_.body);
    in_.erase(0, used);
    if (st == ParseStatus::kInvalid) {
      if (chunked_->too_large())
        refuse(413,
               too_large_message_.empty()
                   ? "the request body is larger than " + size_text(max_body_)
                   : too_large_message_,
               Refusal::kTooLarge, true);
      else
        refuse(400, "malformed chunked body", Refusal::kBadRequest, true);
      return false;
    }
    if (st == ParseStatus::kIncomplete) return true;
    chunked_.reset();
  }
  dispatch();
  return false;
}

void HttpConnection::dispatch() {
  state_ = State::kDispatched;
  owner_->loop().timers().cancel(this);
  update_events();
  HttpRequest req = std::move(req_);
  req_ = HttpRequest{};
  owner_->dispatch(this, std::move(req));
}

void HttpConnection::respond(HttpResponse res) {
  if (state_ != State::kDispatched) return;
  send_response(res, keep_alive_ && !res.close);
}

void HttpConnection::refuse(int status, const std::string& message, Refusal why, bool unread_body) {
  ++owner_->stats().refusals[static_cast<size_t>(why)];
  HttpResponse res;
  res.status = status;
  owner_->fill_error(status, message, res);
  linger_after_ = unread_body;
  send_response(res, false);
}

void HttpConnection::send_response(const HttpResponse& res, bool keep_alive) {
  keep_alive_ = keep_alive;
  out_ += serialize_response(res, head_request_, keep_alive_);
  state_ = State::kWriting;
  writing_since_ms_ = owner_->loop().now_ms();
  arm(writing_since_ms_ + owner_->options().request_timeout.count());
  flush();
}

void HttpConnection::flush() {
  while (out_pos_ < out_.size()) {
    size_t n = 0;
    switch (write_some(out_.data() + out_pos_, out_.size() - out_pos_, &n)) {
      case Io::kOk:
        out_pos_ += n;
        continue;
      case Io::kWantWrite:
        read_wants_write_ = false;
        update_events();
        return;
      case Io::kWantRead:
        read_wants_write_ = true;  // kWriting: wait for readability instead
        update_events();
        return;
      case Io::kEof:
      case Io::kError:
        close();
        return;
    }
  }
  out_.clear();
  out_pos_ = 0;
  read_wants_write_ = false;
  if (state_ == State::kWriting)
    after_response();
  else
    update_events();
}

void HttpConnection::after_response() {
  const int64_t now = owner_->loop().now_ms();
  if (linger_after_) {
    linger_after_ = false;
    if (ssl_ != nullptr) SSL_shutdown(ssl_);  // close_notify; the rest is dropped unread
    ::shutdown(fd_.get(), SHUT_WR);
    state_ = State::kLinger;
    in_.clear();
    arm(now + kLingerMs);
    update_events();
    linger();
    return;
  }
  if (!keep_alive_) {
    close();
    return;
  }
  state_ = State::kIdle;
  phase_start_ms_ = now;
  arm(now + owner_->options().keepalive_timeout.count());
  update_events();
  read_and_process();  // a pipelined request may already be buffered
}

void HttpConnection::linger() {
  char buf[kReadChunk];
  while (true) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      lingered_bytes_ += static_cast<size_t>(n);
      if (lingered_bytes_ > kLingerMaxBytes) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      update_events();
      return;
    }
    break;
  }
  close();
}

void HttpConnection::close() {
  if (state_ == State::kClosed) return;
  State was = state_;
  state_ = State::kClosed;
  owner_->loop().timers().cancel(this);
  if (registered_) owner_->loop().remove(fd_.get());
  registered_ = false;
  (void)was;
  fd_.reset();
  owner_->closed(this);
}

}  // namespace rampart::control
