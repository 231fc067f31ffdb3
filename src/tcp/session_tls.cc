// Session, TLS apps: the client's handshake first (no origin connection before it succeeds),
// then the origin connection as for any app, then the origin's handshake (full/strict) and the
// relay through TlsRelay. The plain relay (pump) is not involved.
#include <sys/socket.h>

#include "core/log.h"
#include "tcp/session.h"

namespace rampart::tcp {

namespace {
constexpr uint32_t kTlsSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr int64_t kDefaultHandshakeMs = 10000;
}  // namespace

void Session::start_tls_handshake() {
  state_ = State::kTlsHandshake;
  tls_ = std::make_unique<TlsRelay>(app_->tls.get());
  if (stats_ != nullptr) tls_->count_into(&stats_->bytes_ingress, &stats_->bytes_egress);
  ctx_->loop->add(client_.get(), kTlsSocketEvents, &client_side_);
  int64_t limit = app_->protection.handshake_timeout.count();
  ctx_->loop->timers().schedule(this,
                                ctx_->loop->now_ms() + (limit > 0 ? limit : kDefaultHandshakeMs));
  tls_client_step();
}

void Session::tls_client_step() {
  switch (tls_->client_handshake(client_.get())) {
    case TlsRelay::Step::kWait:
      return;
    case TlsRelay::Step::kFailed:
      tls_failed();
      return;
    case TlsRelay::Step::kDone:
      break;
  }
  ctx_->loop->timers().cancel(this);
  ctx_->loop->remove(client_.get());  // start_tls_relay() watches it again
  state_ = State::kConnecting;
  try_connect();
}

void Session::start_tls_relay() {
  last_activity_ms_ = ctx_->loop->now_ms();
  // Added again: epoll reports what became ready while the origin was connecting.
  ctx_->loop->add(client_.get(), kTlsSocketEvents, &client_side_);
  if (tls_->tls_to_origin()) {
    state_ = State::kTlsOrigin;
    ctx_->loop->timers().schedule(this, last_activity_ms_ + app_->cfg.timeouts.connect.count());
    tls_origin_step();
    return;
  }
  tls_relaying();
}

void Session::tls_origin_step() {
  switch (tls_->origin_handshake(origin_.get(), origin_addr_.ip())) {
    case TlsRelay::Step::kWait:
      return;
    case TlsRelay::Step::kFailed:
      tls_failed();
      return;
    case TlsRelay::Step::kDone:
      ctx_->loop->timers().cancel(this);
      tls_relaying();
      return;
  }
}

void Session::tls_relaying() {
  if (!tls_->tls_to_origin()) tls_->origin_handshake(origin_.get(), origin_addr_.ip());
  state_ = State::kRelaying;
  last_activity_ms_ = ctx_->loop->now_ms();
  ctx_->loop->timers().schedule(this, last_activity_ms_ + app_->cfg.timeouts.idle.count());
  emit(telemetry::EventType::kConnect, telemetry::status::kOpened);
  tls_relay_step();
}

void Session::tls_relay_step() {
  last_activity_ms_ = ctx_->loop->now_ms();
  switch (tls_->relay()) {
    case TlsRelay::Step::kWait:
      return;
    case TlsRelay::Step::kDone:
      close(telemetry::status::kNormal, false, false);
      return;
    case TlsRelay::Step::kFailed:
      tls_failed();
      return;
  }
}

void Session::tls_failed() {
  const TlsRelay::Failure& f = tls_->failure();
  RLOG_DEBUG("app ", app_->cfg.id, ": ", client_addr_.to_string(), ": ", f.reason);
  if (f.event != telemetry::EventType::kDisconnect) emit(f.event, f.status);
  close(f.status, f.reset_client, f.reset_origin);
}

void Session::on_tls_events(bool client_side, uint32_t events) {
  if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(client_side ? client_.get() : origin_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 && state_ == State::kRelaying) {
      tls_->socket_error(client_side, err);
      tls_failed();
      return;
    }
    // During a handshake the failing read reports it, with the handshake's status.
  }
  switch (state_) {
    case State::kTlsHandshake:
      if (client_side) tls_client_step();
      return;
    case State::kTlsOrigin:
      // Client bytes wait in the socket (edge-triggered: relay() reads them all once started).
      if (!client_side) tls_origin_step();
      return;
    case State::kRelaying:
      tls_relay_step();
      return;
    default:
      return;
  }
}

void Session::on_tls_timer() {
  if (state_ == State::kTlsHandshake)
    tls_->handshake_timed_out();
  else
    tls_->origin_timed_out();
  tls_failed();
}

}  // namespace rampart::tcp
