#include "tcp/session.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket_util.h"
#include "guard/validate.h"
#include "net/proxy_protocol.h"
#include "telemetry/conn_reporter.h"

namespace rampart::tcp {

using telemetry::Cause;
using telemetry::CloseReason;

namespace {
constexpr uint32_t kSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr CloseReason kDone{telemetry::Side::kEdge, Cause::kNormal};
}  // namespace

Session::Session(WorkerContext* ctx, std::shared_ptr<const AppRuntime> app, core::UniqueFd client,
                 const net::SockAddr& client_addr, const net::SockAddr& edge_addr,
                 core::FdUnit unit)
    : ctx_(ctx),
      app_(std::move(app)),
      client_(std::move(client)),
      client_addr_(client_addr),
      edge_addr_(edge_addr),
      budget_unit_(std::move(unit)),
      plain_(ctx),
      kernel_(ctx) {
  ctx_->sessions.add(this);
  if (app_->stats) {
    stats_ = &app_->stats->slot(ctx_->worker);
    plain_.count_into(&stats_->bytes_ingress, &stats_->bytes_egress);
    kernel_.count_into(&stats_->bytes_ingress, &stats_->bytes_egress);
  }
}

void Session::set_admission(const guard::Admission& a) {
  admission_ = AdmissionLease(ctx_->guard, app_->guard.get(), client_addr_.ip(), a);
}

void Session::start() {
  connect_ns_ = core::realtime_ns();
  if (app_->origins->size() == 0) {
    // An origin_dns app whose name never resolved (or whose last answer outlived
    // timeouts.dns_hold): accepted and closed at once, resolveOrigin / 531.
    connect_failed({telemetry::Side::kOrigin, Cause::kUnresolved});
    return;
  }
  const guard::AppPolicy* p = app_->guard.get();
  if (p != nullptr && p->validator != config::Validator::kNone) {
    // No origin connection before the client proved it speaks the app's protocol.
    state_ = State::kValidating;
    ctx_->loop->add(client_.get(), kSocketEvents, &client_side_);
    if (const int64_t limit = handshake_timeout_ms(*app_); limit > 0)
      ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + limit);
    check_first_bytes();
    return;
  }
  if (app_->cfg.tls != config::TlsMode::kOff) {
    start_tls_handshake();
    return;
  }
  try_connect();
}

void Session::check_first_bytes() {
  uint8_t buf[guard::kValidateMaxBytes];
  ssize_t n = ::recv(client_.get(), buf, sizeof buf, MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (const guard::Probe probe = guard::probe_kind(n, n < 0 ? errno : 0);
      probe != guard::Probe::kNone) {
    port_probe(probe);
    return;
  }
  if (n < 0) {
    close(telemetry::close_reason_of_errno(errno, telemetry::Side::kClient, false), false, false);
    return;
  }
  const guard::AppPolicy& p = *app_->guard;
  guard::Validation r = guard::validate_first_bytes(p.validator, buf, static_cast<size_t>(n));
  if (r == guard::Validation::kNeedMore) {
    // A complete first message never needs more than the buffer; a client that stops halfway
    // (or closes) cannot complete it.
    if (n > 0 && static_cast<size_t>(n) < sizeof buf && !client_closing_) return;
    r = guard::Validation::kFail;
  }
  if (r == guard::Validation::kPass ||
      !ctx_->guard->validation_failed(p, client_addr_.ip(), guard::Reason::kValidate,
                                      ctx_->loop->now_ms())) {
    validated();
    return;
  }
  refuse(guard::Reason::kValidate, {telemetry::Side::kClient, Cause::kDenied});
}

void Session::validated() {
  ctx_->loop->timers().cancel(this);
  ctx_->loop->remove(client_.get());  // origin_connected() watches it again
  if (app_->cfg.tls != config::TlsMode::kOff) {
    start_tls_handshake();
    return;
  }
  state_ = State::kConnecting;
  try_connect();
}

void Session::port_probe(guard::Probe kind) {
  // Spectrum's view of a connection that ends before anything happened: a disconnect, normal
  // (FIN) or client reset. Not a violation; counted as a probe (rampart_probes_total).
  const CloseReason why{telemetry::Side::kClient,
                        kind == guard::Probe::kFin ? Cause::kNormal : Cause::kReset};
  probe_ = true;
  emit(telemetry::EventType::kDisconnect, why);
  close(why, false, false);
}

void Session::refuse(guard::Reason reason, CloseReason why) {
  filtered_rule_ = guard::reason_rule(reason);
  emit(telemetry::EventType::kClientFiltered, why);
  close(why, true, false);
}

void Session::try_connect() {
  auto& origins = *app_->origins;
  const int64_t now = ctx_->loop->now_ms();
  int idx = origins.pick(client_addr_.ip(), tried_, now);
  if (idx < 0) {
    // None healthy or every one tried (an app with no origin at all ended in start()).
    connect_failed(
        {telemetry::Side::kOrigin, origins.size() == 0 ? Cause::kUnresolved : Cause::kUnreachable});
    return;
  }
  tried_ |= uint64_t{1} << idx;
  origin_lease_ = origin::OriginLease(origins, static_cast<size_t>(idx));
  const origin::Origin& o = *origin_lease_.origin();
  origin_addr_ = net::SockAddr(
      o.cfg.ip, config::origin_port_for(app_->cfg.ports, o.cfg.ports, edge_addr_.port()));

  origin_.reset(::socket(origin_addr_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!origin_.valid()) {
    RLOG_WARN("app ", app_->cfg.id, ": cannot create origin socket: ", std::strerror(errno));
    on_connect_result(errno);
    return;
  }
  const auto& egress = origin_addr_.family() == AF_INET ? app_->egress_v4 : app_->egress_v6;
  if (egress && app_->egress_bind[static_cast<size_t>(idx)]) {
    int one = 1;
    setsockopt(origin_.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    net::SockAddr src(*egress, 0);
    if (::bind(origin_.get(), src.get(), src.len()) != 0) {
      on_connect_result(errno);
      return;
    }
  }
  core::set_nodelay(origin_.get());
  if (::connect(origin_.get(), origin_addr_.get(), origin_addr_.len()) == 0) {
    ctx_->loop->add(origin_.get(), kSocketEvents, &origin_side_);
    on_connect_result(0);
    return;
  }
  if (errno != EINPROGRESS) {
    on_connect_result(errno);
    return;
  }
  ctx_->loop->add(origin_.get(), kSocketEvents, &origin_side_);
  ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + app_->cfg.timeouts.connect.count());
}

void Session::on_connect_result(int err) {
  auto& origins = *app_->origins;
  const int64_t now = ctx_->loop->now_ms();
  const auto idx = static_cast<size_t>(origin_lease_.index());
  if (err == 0) {
    origins.report_connect(idx, true, now);
    origin_connected();
    return;
  }
  origins.report_connect(idx, false, now);
  origin_lease_.reset();
  if (origin_.valid()) {
    ctx_->loop->remove(origin_.get());
    origin_.reset();
  }
  // Another origin may still take the client (HAProxy's redispatch).
  if (origins.pick(client_addr_.ip(), tried_, now) >= 0) {
    try_connect();
    return;
  }
  connect_failed(telemetry::connect_failure(err));
}

void Session::connect_failed(CloseReason why) {
  emit(why.cause == Cause::kUnresolved ? telemetry::EventType::kResolveOrigin
                                       : telemetry::EventType::kOriginError,
       why);
  close(why, false, false);
}

void Session::origin_connected() {
  uint64_t header_len = 0;
  const auto pp = app_->cfg.proxy_protocol;
  if (pp == config::ProxyProtocol::kV1 || pp == config::ProxyProtocol::kV2) {
    uint8_t header[net::kProxyV2MaxLen > net::kProxyV1MaxLen ? net::kProxyV2MaxLen
                                                             : net::kProxyV1MaxLen];
    size_t n = pp == config::ProxyProtocol::kV1
                   ? net::encode_proxy_v1(client_addr_, edge_addr_, reinterpret_cast<char*>(header),
                                          sizeof header)
                   : net::encode_proxy_v2(client_addr_, edge_addr_, false, header, sizeof header);
    // A fresh socket's send buffer always takes a ~100-byte header whole.
    ssize_t w = ::send(origin_.get(), header, n, MSG_NOSIGNAL);
    if (w != static_cast<ssize_t>(n)) {
      const CloseReason why =
          telemetry::close_reason_of_errno(errno, telemetry::Side::kOrigin, true);
      emit(telemetry::EventType::kOriginError, why);
      close(why, false, true);
      return;
    }
    header_len = n;
  }
  if (!tls_) {
    if (Relay* relay = plain_tcp_relay(header_len); relay != nullptr) start_relay(relay);
    return;
  }
  // Added again: epoll reports what became ready while the origin was connecting. The client
  // socket inherited TCP_NODELAY from its listener.
  ctx_->loop->add(client_.get(), kSocketEvents, &client_side_);
  if (tls_->tls_to_origin()) {
    state_ = State::kTlsOrigin;
    ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + app_->cfg.timeouts.connect.count());
    tls_origin_step();
    return;
  }
  tls_->origin_handshake(origin_.get(), origin_addr_.ip());  // flexible: plain TCP to the origin
  start_relay(tls_.get());
}

bool Session::wants_kernel_relay() const {
  switch (app_->cfg.kernel_relay) {
    case config::KernelRelay::kOn:
      return true;
    case config::KernelRelay::kOff:
      return false;
    case config::KernelRelay::kAuto:
      // docs/kernel-relay.md, "What auto chooses": user space (splice) measured at least as
      // fast here for both request/response and bulk traffic.
      return false;
  }
  return false;
}

Relay* Session::plain_tcp_relay(uint64_t header_len) {
  if (wants_kernel_relay()) {
    const auto r =
        kernel_.attach(client_.get(), origin_.get(), header_len, &client_side_, &origin_side_);
    if (r == KernelRelayMaps::Refusal::kNone) {
      // Watched again, now for hang-ups only: the kernel moves the bytes.
      ctx_->loop->add(client_.get(), KernelRelay::kEvents, &client_side_);
      ctx_->loop->modify(origin_.get(), KernelRelay::kEvents, &origin_side_);
      return &kernel_;
    }
    if (r == KernelRelayMaps::Refusal::kBroken) {
      RLOG_WARN("app ", app_->cfg.id, ": ", client_addr_.to_string(),
                ": the kernel relay took one socket of two; connection reset");
      close({telemetry::Side::kEdge, Cause::kUnknown}, true, true);
      return nullptr;
    }
  }
  // Added again: epoll reports what became ready while the origin was connecting. The client
  // socket inherited TCP_NODELAY from its listener.
  ctx_->loop->add(client_.get(), kSocketEvents, &client_side_);
  return &plain_;
}

void Session::start_relay(Relay* relay) {
  state_ = State::kRelaying;
  relay_ = relay;
  last_activity_ms_ = ctx_->loop->now_ms();
  ctx_->loop->timers().schedule(this, last_activity_ms_ + app_->cfg.timeouts.idle.count());
  emit(telemetry::EventType::kConnect, telemetry::status::kOpened);
  after_relay_step(relay_->start(client_.get(), origin_.get()));
}

void Session::after_relay_step(Relay::Step step) {
  switch (step) {
    case Relay::Step::kWait:
      // A kernel relay waiting for bytes to leave before it passes a FIN on: ask again soon.
      if (relay_->wants_poll()) ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + 10);
      return;
    case Relay::Step::kDone:
      close(kDone, false, false);
      return;
    case Relay::Step::kFailed:
      fail_with(*relay_);
      return;
  }
}

void Session::fail_with(const Relay& r) {
  const Relay::Failure& f = r.failure();
  if (!f.detail.empty())
    RLOG_DEBUG("app ", app_->cfg.id, ": ", client_addr_.to_string(), ": ", f.detail);
  if (f.event != telemetry::EventType::kDisconnect) emit(f.event, f.reason);
  close(f.reason, f.reset_client, f.reset_origin);
}

void Session::on_side_events(bool client_side, uint32_t events) {
  switch (state_) {
    case State::kClosed:
      return;
    case State::kValidating:
      if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_closing_ = true;
      if (client_side) check_first_bytes();
      return;
    case State::kTlsHandshake:
    case State::kTlsOrigin:
      // During a handshake the failing read reports an error, with the handshake's status.
      on_tls_handshake_events(client_side);
      return;
    case State::kConnecting: {
      if (client_side) return;
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      if (events & (EPOLLERR | EPOLLHUP)) {
        // Only a failed connect needs SO_ERROR (which also clears it); a clean EPOLLOUT is
        // success.
        socklen_t len = sizeof err;
        getsockopt(origin_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) err = ECONNREFUSED;
      }
      if (events & EPOLLRDHUP) plain_.origin_closing();
      ctx_->loop->timers().cancel(this);
      on_connect_result(err);
      return;
    }
    case State::kRelaying:
      break;
  }
  if (events & EPOLLERR) {
    // A reset (or other error) on this side: even a side already at EOF, which nothing reads
    // any more, must not leave the session open. The other side gets a reset too.
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(client_side ? client_.get() : origin_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close(telemetry::close_reason_of_errno(
                err, client_side ? telemetry::Side::kClient : telemetry::Side::kOrigin, false),
            !client_side, client_side);
      return;
    }
  }
  last_activity_ms_ = ctx_->loop->now_ms();
  after_relay_step(relay_->on_events(client_side, events));
}

void Session::on_timer() {
  switch (state_) {
    case State::kTlsHandshake:
    case State::kTlsOrigin:
      on_tls_timer();
      return;
    case State::kValidating:
      // Slowloris: the first bytes did not come in time. 497 = client timed out.
      if (ctx_->guard->validation_failed(*app_->guard, client_addr_.ip(),
                                         guard::Reason::kHandshakeTimeout, ctx_->loop->now_ms()))
        refuse(guard::Reason::kHandshakeTimeout, {telemetry::Side::kClient, Cause::kTimeout});
      else
        validated();
      return;
    case State::kConnecting:
      on_connect_result(ETIMEDOUT);
      return;
    case State::kRelaying: {
      const int64_t now = ctx_->loop->now_ms();
      if (relay_->wants_poll()) {
        const Relay::Step step = relay_->poll();
        if (step != Relay::Step::kWait) {
          after_relay_step(step);
          return;
        }
      }
      // The kernel relay's traffic never wakes the worker: the kernel's last-activity time.
      last_activity_ms_ = std::max(last_activity_ms_, relay_->last_activity_ms(now));
      const int64_t deadline = last_activity_ms_ + app_->cfg.timeouts.idle.count();
      if (now < deadline) {
        ctx_->loop->timers().schedule(
            this, relay_->wants_poll() ? std::min(deadline, now + 10) : deadline);
        return;
      }
      close({telemetry::Side::kClient, Cause::kTimeout}, false, false);
      return;
    }
    case State::kClosed:
      return;
  }
}

void Session::abort(CloseReason reason) {
  if (state_ == State::kClosed) return;
  // A session still connecting never opened: it ends without an event.
  close(reason, false, false);
}

void Session::close(CloseReason why, bool reset_client, bool reset_origin) {
  if (state_ == State::kClosed) return;
  const bool was_relaying = state_ == State::kRelaying;
  state_ = State::kClosed;
  ctx_->loop->timers().cancel(this);
  if (was_relaying) {
    relay_->sync_counters();  // the kernel relay's last bytes, for the counters and the event
    emit(telemetry::EventType::kDisconnect, why);
  }
  admission_.reset();
  origin_lease_.reset();
  if (reset_client && client_.valid()) core::set_linger_zero(client_.get());
  if (reset_origin && origin_.valid()) core::set_linger_zero(origin_.get());
  client_.reset();
  origin_.reset();
  budget_unit_.reset();
  ctx_->sessions.remove(this);
  ctx_->loop->retire(std::unique_ptr<core::Retirable>(this));
}

void Session::progress(int64_t now_ns, int64_t interval_ns) {
  if (state_ != State::kRelaying) return;
  const int64_t since = progress_ns_ != 0 ? progress_ns_ : connect_ns_;
  if (now_ns - since < interval_ns) return;
  progress_ns_ = now_ns;
  emit(telemetry::EventType::kProgress, telemetry::status::kOpened);
}

void Session::emit(telemetry::EventType type, CloseReason why) {
  emit(type, telemetry::status_of(why));
}

void Session::emit(telemetry::EventType type, uint16_t status) {
  telemetry::ConnReporter* r = ctx_->reporter;
  if (r == nullptr || !r->wanted(stats_)) return;  // telemetry off
  const guard::Admission& a = admission_.admission();
  telemetry::ConnFacts f;
  f.app = &app_->cfg;
  f.stats = stats_;
  f.probe = probe_;
  f.rule = filtered_rule_ != nullptr ? filtered_rule_ : a.rule;
  f.country = a.geo.country;
  f.asn = a.geo.asn;
  f.client = &client_addr_;
  f.origin = &origin_addr_;
  f.connect_ns = connect_ns_;
  f.client_fd = client_.get();
  f.origin_fd = origin_.get();
  r->report(type, status, f, [this](telemetry::ConnEvent& e) {
    if (relay_ != nullptr)
      relay_->describe(&e);
    else if (tls_)
      tls_->describe(&e);
  });
}

void SessionList::add(Session* s) {
  s->list_prev = nullptr;
  s->list_next = head_;
  if (head_ != nullptr) head_->list_prev = s;
  head_ = s;
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void SessionList::remove(Session* s) {
  if (s->list_prev != nullptr)
    s->list_prev->list_next = s->list_next;
  else
    head_ = s->list_next;
  if (s->list_next != nullptr) s->list_next->list_prev = s->list_prev;
  s->list_prev = s->list_next = nullptr;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

}  // namespace rampart::tcp
