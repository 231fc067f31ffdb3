// Session, TLS apps: the client's handshake first (no origin connection before it succeeds),
// then the origin connection as for any app, then the origin's handshake (full/strict); then
// the TlsRelay relays, through the Relay interface like any app's relay.
#include <sys/socket.h>

#include "core/log.h"
#include "tcp/session.h"

namespace rampart::tcp {

namespace {
constexpr uint32_t kTlsSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
}  // namespace

void Session::start_tls_handshake() {
  state_ = State::kTlsHandshake;
  tls_ = std::make_unique<TlsRelay>(app_->tls.get());
  if (stats_ != nullptr) tls_->count_into(&stats_->bytes_ingress, &stats_->bytes_egress);
  ctx_->loop->add(client_.get(), kTlsSocketEvents, &client_side_);
  if (const int64_t limit = handshake_timeout_ms(*app_); limit > 0)
    ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + limit);
  tls_client_step();
}

void Session::tls_client_step() {
  switch (tls_->client_handshake(client_.get())) {
    case TlsRelay::Step::kWait:
      return;
    case TlsRelay::Step::kFailed:
      fail_with(*tls_);
      return;
    case TlsRelay::Step::kDone:
      break;
  }
  ctx_->loop->timers().cancel(this);
  ctx_->loop->remove(client_.get());  // origin_connected() watches it again
  state_ = State::kConnecting;
  try_connect();
}

void Session::tls_origin_step() {
  switch (tls_->origin_handshake(origin_.get(), origin_addr_.ip())) {
    case TlsRelay::Step::kWait:
      return;
    case TlsRelay::Step::kFailed:
      fail_with(*tls_);
      return;
    case TlsRelay::Step::kDone:
      ctx_->loop->timers().cancel(this);
      start_relay(tls_.get());
      return;
  }
}

void Session::on_tls_handshake_events(bool client_side) {
  if (state_ == State::kTlsHandshake) {
    if (client_side) tls_client_step();
    return;
  }
  // kTlsOrigin: client bytes wait in the socket (edge-triggered: the relay reads them all once
  // started).
  if (!client_side) tls_origin_step();
}

void Session::on_tls_timer() {
  if (state_ == State::kTlsHandshake)
    tls_->handshake_timed_out();
  else
    tls_->origin_timed_out();
  fail_with(*tls_);
}

}  // namespace rampart::tcp
