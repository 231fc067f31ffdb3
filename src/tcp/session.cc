#include "tcp/session.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket_util.h"
#include "guard/validate.h"
#include "net/proxy_protocol.h"

namespace rampart::tcp {

namespace {

constexpr uint32_t kSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr size_t kSpliceChunk = 1 << 20;  // the pipe bounds what one call moves
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

uint16_t connect_status(int err) {
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
      return telemetry::status::kOriginRefused;
    case ETIMEDOUT:
      return telemetry::status::kOriginConnectTimeout;
    default:
      return telemetry::status::kOriginUnreachable;
  }
}

}  // namespace

// Status for an error while reading from (or writing to) one side.
uint16_t Session::io_status(int err, bool client_side, bool writing) {
  namespace st = telemetry::status;
  if (err == ETIMEDOUT) return client_side ? st::kClientTimeout : st::kOriginTimeout;
  if (writing && err == EPIPE) return client_side ? st::kClientBrokenPipe : st::kOriginBrokenPipe;
  if (err == ECONNRESET || err == EPIPE) return client_side ? st::kClientReset : st::kOriginReset;
  return st::kUnknown;
}

Session::Session(WorkerContext* ctx, std::shared_ptr<const runtime::AppRuntime> app,
                 core::UniqueFd client, const net::SockAddr& client_addr,
                 const net::SockAddr& edge_addr)
    : ctx_(ctx),
      app_(std::move(app)),
      client_(std::move(client)),
      client_addr_(client_addr),
      edge_addr_(edge_addr) {
  ctx_->sessions.add(this);
  if (app_->stats) {
    stats_ = &app_->stats->slot(ctx_->worker);
    c2o_.total = &stats_->bytes_ingress;
    o2c_.total = &stats_->bytes_egress;
  }
}

Session::~Session() {
  release_pipe(c2o_);
  release_pipe(o2c_);
}

void Session::start() {
  connect_ns_ = core::realtime_ns();
  const guard::AppPolicy* p = app_->guard.get();
  if (p != nullptr && p->validator != config::Validator::kNone) {
    // No origin connection before the client proved it speaks the app's protocol.
    state_ = State::kValidating;
    ctx_->loop->add(client_.get(), kSocketEvents, &client_side_);
    if (p->handshake_timeout_ms > 0)
      ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + p->handshake_timeout_ms);
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
    close(io_status(errno, true, false), false, false);
    return;
  }
  const guard::AppPolicy& p = *app_->guard;
  guard::Validation r = guard::validate(p.validator, buf, static_cast<size_t>(n));
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
  refuse(guard::Reason::kValidate, telemetry::status::kDenied);
}

void Session::validated() {
  ctx_->loop->timers().cancel(this);
  ctx_->loop->remove(client_.get());  // start_relay() watches it again
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
  const uint16_t status =
      kind == guard::Probe::kFin ? telemetry::status::kNormal : telemetry::status::kClientReset;
  probe_ = true;
  emit(telemetry::EventType::kDisconnect, status);
  close(status, false, false);
}

void Session::refuse(guard::Reason reason, uint16_t status) {
  filtered_rule_ = guard::reason_rule(reason);
  emit(telemetry::EventType::kClientFiltered, status);
  close(status, true, false);
}

void Session::try_connect() {
  auto& origins = *app_->origins;
  const int64_t now = ctx_->loop->now_ms();
  int idx = origins.pick(client_addr_.ip(), tried_, now);
  if (idx < 0) {
    // No origin at all (an origin_dns app: resolution is not built yet) or none healthy.
    connect_failed(origins.size() == 0 ? telemetry::status::kOriginUnresolved
                                       : telemetry::status::kOriginUnreachable);
    return;
  }
  origin_index_ = idx;
  tried_ |= uint64_t{1} << idx;
  origin::Origin& o = origins.at(static_cast<size_t>(idx));
  o.active.fetch_add(1, std::memory_order_relaxed);
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
  if (err == 0) {
    origins.report_connect(static_cast<size_t>(origin_index_), true, now);
    start_relay();
    return;
  }
  origins.report_connect(static_cast<size_t>(origin_index_), false, now);
  origins.at(static_cast<size_t>(origin_index_)).active.fetch_sub(1, std::memory_order_relaxed);
  origin_index_ = -1;
  if (origin_.valid()) {
    ctx_->loop->remove(origin_.get());
    origin_.reset();
  }
  // Another origin may still take the client (HAProxy's redispatch).
  if (origins.pick(client_addr_.ip(), tried_, now) >= 0) {
    try_connect();
    return;
  }
  connect_failed(connect_status(err));
}

void Session::connect_failed(uint16_t status) {
  emit(telemetry::EventType::kOriginError, status);
  close(status, false, false);
}

void Session::start_relay() {
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
      emit(telemetry::EventType::kOriginError, io_status(errno, false, true));
      close(io_status(errno, false, true), false, true);
      return;
    }
  }
  if (tls_) {
    start_tls_relay();
    return;
  }
  state_ = State::kRelaying;  // the client socket inherited TCP_NODELAY from its listener
  c2o_.from = client_.get();
  c2o_.to = origin_.get();
  o2c_.from = origin_.get();
  o2c_.to = client_.get();
  last_activity_ms_ = ctx_->loop->now_ms();
  ctx_->loop->add(client_.get(), kSocketEvents, &client_side_);
  ctx_->loop->timers().schedule(this, last_activity_ms_ + app_->cfg.timeouts.idle.count());
  emit(telemetry::EventType::kConnect, telemetry::status::kOpened);
  // Either side may have spoken already (SSH servers speak first, most clients too).
  if (!pump(c2o_, true)) return;
  if (!pump(o2c_, false)) return;
}

void Session::on_side_events(bool client_side, uint32_t events) {
  if (state_ == State::kClosed) return;
  if (tls_ && state_ != State::kConnecting) {
    on_tls_events(client_side, events);
    return;
  }
  if (state_ == State::kValidating) {
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_closing_ = true;
    if (client_side) check_first_bytes();
    return;
  }
  if (state_ == State::kConnecting) {
    if (client_side) return;
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    if (events & (EPOLLERR | EPOLLHUP)) {
      // Only a failed connect needs SO_ERROR (which also clears it); a clean EPOLLOUT is success.
      socklen_t len = sizeof err;
      getsockopt(origin_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) err = ECONNREFUSED;
    }
    if (events & EPOLLRDHUP) o2c_.peer_closing = true;
    ctx_->loop->timers().cancel(this);
    on_connect_result(err);
    return;
  }
  if (events & EPOLLERR) {
    // A reset (or other error) on this side: even a side already at EOF, which nothing reads
    // any more, must not leave the session open. The other side gets a reset too.
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(client_side ? client_.get() : origin_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close(io_status(err, client_side, false), !client_side, client_side);
      return;
    }
  }
  const bool readable = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  const bool writable = events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
  Direction& reading = client_side ? c2o_ : o2c_;  // this fd is its source
  Direction& writing = client_side ? o2c_ : c2o_;  // this fd is its sink
  if (readable) reading.read_blocked = false;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) reading.peer_closing = true;
  if (writable) writing.write_blocked = false;
  if (readable && !pump(reading, client_side)) return;
  if (writable && !pump(writing, !client_side)) return;
}

bool Session::pump(Direction& d, bool client_to_origin) {
  for (;;) {
    // In copy mode a read waits until the pipe (leftovers of a short send) is empty, so that
    // bytes keep their order.
    // Without a pipe, nothing is read while the sink is full: the bytes wait in the source.
    const bool no_pipe = pipeless(d);
    const bool can_read = !d.read_eof && !d.read_blocked && (d.splice_mode || d.in_pipe == 0) &&
                          !(no_pipe && d.write_blocked);
    const bool can_write = d.in_pipe > 0 && !d.write_blocked;
    if (!can_read && !can_write) break;
    if (can_read && no_pipe) {
      if (!peek_once(d, client_to_origin)) return false;
      continue;
    }
    if (can_read && !d.splice_mode) {
      if (!copy_once(d, client_to_origin)) return false;
      continue;
    }
    bool drained = false;
    if (!splice_once(d, client_to_origin, &drained)) return false;
    if (drained && d.read_blocked && d.in_pipe == 0) {
      // Space freed: a full pipe may have been why the last splice read would block.
      d.read_blocked = false;
    }
  }
  last_activity_ms_ = ctx_->loop->now_ms();
  if (d.in_pipe == 0) {
    release_pipe(d);
    if (d.read_eof && !d.shut) {
      d.shut = true;
      Direction& other = &d == &c2o_ ? o2c_ : c2o_;
      // When the other way is done too, close() below sends the FIN: skip the syscall.
      if (!other.shut) ::shutdown(d.to, SHUT_WR);
    }
  }
  maybe_finish();
  return state_ != State::kClosed;
}

ssize_t Session::relay_recv(Direction& d, bool client_to_origin, char* buf, size_t cap, int flags) {
  ssize_t n = ::recv(d.from, buf, cap, flags);
  if (n > 0) return n;
  if (n == 0) {
    d.read_eof = true;
  } else if (errno == EAGAIN) {
    d.read_blocked = true;
  } else if (errno != EINTR) {
    int err = errno;
    close(io_status(err, client_to_origin, false), !client_to_origin, client_to_origin);
    return -1;
  }
  return 0;
}

bool Session::copy_once(Direction& d, bool client_to_origin) {
  char* buf = ctx_->copy_buffer;
  const size_t cap = WorkerContext::kCopyBufferSize;
  const ssize_t n = relay_recv(d, client_to_origin, buf, cap, 0);
  if (n <= 0) return n == 0;
  d.bytes += static_cast<uint64_t>(n);
  if (d.total != nullptr) d.total->add(static_cast<uint64_t>(n));
  size_t sent = 0;
  if (!d.write_blocked) {
    ssize_t w = ::send(d.to, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    if (w >= 0) {
      sent = static_cast<size_t>(w);
    } else if (errno != EAGAIN && errno != EINTR) {
      int err = errno;
      close(io_status(err, !client_to_origin, true), client_to_origin, !client_to_origin);
      return false;
    }
  }
  if (sent < static_cast<size_t>(n)) {
    // The sink is full: the rest waits in an (empty, so large enough) pipe and leaves through
    // the splice path on EPOLLOUT.
    d.write_blocked = true;
    if (!d.pipe.valid()) d.pipe = ctx_->pipes->get();
    const size_t rest = static_cast<size_t>(n) - sent;
    if (!d.pipe.valid() || ::write(d.pipe.wr, buf + sent, rest) != static_cast<ssize_t>(rest)) {
      RLOG_ERROR("cannot buffer ", rest, " bytes in a pipe: ", std::strerror(errno));
      close(telemetry::status::kUnknown, true, true);
      return false;
    }
    d.in_pipe = rest;
  }
  if (static_cast<size_t>(n) == cap) {
    d.splice_mode = true;  // bulk transfer: stop copying through user space
  } else if (!d.peer_closing) {
    // A short read emptied the socket: with edge-triggered epoll, bytes arriving later raise
    // a new event, so the EAGAIN read that would confirm it is skipped (as nginx does).
    d.read_blocked = true;
  }
  return true;
}

bool Session::splice_once(Direction& d, bool client_to_origin, bool* drained) {
  if (!d.read_eof && !d.read_blocked) {
    if (!d.pipe.valid()) d.pipe = ctx_->pipes->get();
    if (!d.pipe.valid()) {
      RLOG_ERROR("cannot create a pipe: ", std::strerror(errno));
      close(telemetry::status::kUnknown, true, true);
      return false;
    }
    ssize_t n = ::splice(d.from, nullptr, d.pipe.wr, nullptr, kSpliceChunk, kSpliceFlags);
    if (n > 0) {
      d.in_pipe += static_cast<size_t>(n);
      d.bytes += static_cast<uint64_t>(n);
      if (d.total != nullptr) d.total->add(static_cast<uint64_t>(n));
      // A small read means the burst is over: back to copying for the next one.
      if (static_cast<size_t>(n) < WorkerContext::kCopyBufferSize) d.splice_mode = false;
    } else if (n == 0) {
      d.read_eof = true;
    } else if (errno == EAGAIN) {
      // Either the socket is empty or the pipe is full; pump() retries once the pipe drains.
      d.read_blocked = true;
    } else if (errno != EINTR) {
      int err = errno;
      close(io_status(err, client_to_origin, false), !client_to_origin, client_to_origin);
      return false;
    }
  }
  if (d.in_pipe > 0 && !d.write_blocked) {
    ssize_t n = ::splice(d.pipe.rd, nullptr, d.to, nullptr, d.in_pipe, kSpliceFlags);
    if (n > 0) {
      d.in_pipe -= static_cast<size_t>(n);
      *drained = true;
    } else if (n < 0 && errno == EAGAIN) {
      d.write_blocked = true;
    } else if (n < 0 && errno != EINTR) {
      int err = errno;
      close(io_status(err, !client_to_origin, true), client_to_origin, !client_to_origin);
      return false;
    }
  }
  return true;
}

void Session::maybe_finish() {
  if (c2o_.shut && o2c_.shut) close(telemetry::status::kNormal, false, false);
}

void Session::on_timer() {
  if (state_ == State::kTlsHandshake || state_ == State::kTlsOrigin) {
    on_tls_timer();
    return;
  }
  if (state_ == State::kValidating) {
    // Slowloris: the first bytes did not come in time. 497 = client timed out.
    if (ctx_->guard->validation_failed(*app_->guard, client_addr_.ip(),
                                       guard::Reason::kHandshakeTimeout, ctx_->loop->now_ms()))
      refuse(guard::Reason::kHandshakeTimeout, telemetry::status::kClientTimeout);
    else
      validated();
    return;
  }
  if (state_ == State::kConnecting) {
    on_connect_result(ETIMEDOUT);
    return;
  }
  if (state_ != State::kRelaying) return;
  const int64_t now = ctx_->loop->now_ms();
  const int64_t deadline = last_activity_ms_ + app_->cfg.timeouts.idle.count();
  if (now < deadline) {
    ctx_->loop->timers().schedule(this, deadline);
    return;
  }
  close(telemetry::status::kClientTimeout, false, false);
}

void Session::abort(uint16_t status) {
  if (state_ == State::kClosed) return;
  // A session still connecting never opened: it ends without an event.
  close(status, false, false);
}

void Session::close(uint16_t status, bool reset_client, bool reset_origin) {
  if (state_ == State::kClosed) return;
  const bool was_relaying = state_ == State::kRelaying;
  state_ = State::kClosed;
  ctx_->loop->timers().cancel(this);
  if (was_relaying) emit(telemetry::EventType::kDisconnect, status);
  if (ctx_->guard != nullptr && app_->guard) {
    ctx_->guard->release(*app_->guard, client_addr_.ip(), admission_);
    admission_.tracked_app = admission_.tracked_source = false;
  }
  if (origin_index_ >= 0) {
    app_->origins->at(static_cast<size_t>(origin_index_))
        .active.fetch_sub(1, std::memory_order_relaxed);
    origin_index_ = -1;
  }
  if (reset_client && client_.valid()) core::set_linger_zero(client_.get());
  if (reset_origin && origin_.valid()) core::set_linger_zero(origin_.get());
  client_.reset();
  origin_.reset();
  if (ctx_->budget != nullptr) ctx_->budget->release(core::FdBudget::kTcpSessions);
  ctx_->sessions.remove(this);
  ctx_->loop->retire(std::unique_ptr<core::Retirable>(this));
}

void Session::release_pipe(Direction& d) {
  if (!d.pipe.valid()) return;
  if (d.in_pipe == 0)
    ctx_->pipes->put(d.pipe);
  else
    ctx_->pipes->discard(d.pipe);
  d.pipe = core::Pipe{};
  d.in_pipe = 0;
}

void Session::progress(int64_t now_ns, int64_t interval_ns) {
  if (state_ != State::kRelaying) return;
  const int64_t since = progress_ns_ != 0 ? progress_ns_ : connect_ns_;
  if (now_ns - since < interval_ns) return;
  progress_ns_ = now_ns;
  emit(telemetry::EventType::kProgress, telemetry::status::kOpened);
}

void Session::emit(telemetry::EventType type, uint16_t status) {
  if (stats_ == nullptr && ctx_->events == nullptr) return;  // telemetry off
  telemetry::ConnEvent e;
  e.type = type;
  e.status = status;
  e.udp = false;
  e.ip_firewall = app_->cfg.ip_firewall;
  e.probe = probe_;
  e.proxy_protocol = static_cast<uint8_t>(app_->cfg.proxy_protocol);
  e.set_app(app_->cfg.id);
  e.set_matched_rule(filtered_rule_ != nullptr ? filtered_rule_ : admission_.rule);
  std::memcpy(e.country, admission_.geo.country, sizeof e.country);
  e.asn = admission_.geo.asn;
  e.client_ip = client_addr_.ip().unmapped();
  e.client_port = client_addr_.port();
  if (origin_addr_.port() != 0) {
    e.origin_ip = origin_addr_.ip();
    e.origin_port = origin_addr_.port();
  }
  e.client_bytes = c2o_.bytes;
  e.origin_bytes = o2c_.bytes;
  if (tls_)
    tls_->describe(&e);
  else
    e.tls = app_->cfg.tls != config::TlsMode::kOff;
  e.connect_ns = connect_ns_;
  e.timestamp_ns = core::realtime_ns();
  if (type == telemetry::EventType::kDisconnect) {
    e.disconnect_ns = e.timestamp_ns;
    if (ctx_->events != nullptr) {  // RTTs are for the log line only: two TCP_INFO calls
      if (client_.valid()) e.client_rtt_us = core::tcp_rtt_us(client_.get());
      if (origin_.valid()) e.origin_rtt_us = core::tcp_rtt_us(origin_.get());
    }
  }
  if (stats_ != nullptr) stats_->record(e);
  if (ctx_->events != nullptr) ctx_->events->push(e);
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
