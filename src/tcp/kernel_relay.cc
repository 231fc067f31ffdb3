#include "tcp/kernel_relay.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstddef>

namespace rampart::tcp {

namespace {

// The head of the kernel's struct tcp_info (linux/tcp.h) up to tcpi_bytes_received: glibc's
// netinet/tcp.h copy stops before the byte counts, and the two headers cannot meet in one unit.
struct TcpInfoBytes {
  uint8_t head[104];  // tcpi_state .. tcpi_total_retrans
  uint64_t pacing_rate;
  uint64_t max_pacing_rate;
  uint64_t bytes_acked;     // tcpi_bytes_acked (RFC 4898 ThruOctetsAcked)
  uint64_t bytes_received;  // tcpi_bytes_received (RFC 4898 ThruOctetsReceived)
};
static_assert(offsetof(TcpInfoBytes, bytes_received) == 128);

bool tcp_info_bytes(int fd, TcpInfoBytes* ti) {
  socklen_t len = sizeof *ti;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) == 0 && len >= sizeof *ti;
}

// Bytes written into `fd`'s stream so far: acknowledged + still queued. Read in this order an
// ACK arriving in between can only make the sum smaller, never claim bytes not yet queued.
bool stream_written(int fd, uint64_t* out) {
  TcpInfoBytes ti{};
  if (!tcp_info_bytes(fd, &ti)) return false;
  int outq = 0;
  if (::ioctl(fd, SIOCOUTQ, &outq) != 0) return false;
  *out = ti.bytes_acked + static_cast<uint64_t>(outq);
  return true;
}

// Bytes `fd` received in order, its FIN excluded (it came: TCP counts it in the sequence space
// that bytes_received follows; tests/unit/xdp/tcp_relay_test.cc checks it).
bool stream_received_before_fin(int fd, uint64_t* out) {
  TcpInfoBytes ti{};
  if (!tcp_info_bytes(fd, &ti)) return false;
  *out = ti.bytes_received > 0 ? ti.bytes_received - 1 : 0;
  return true;
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

KernelRelay::~KernelRelay() {
  if (maps_ == nullptr) return;
  maps_->release(c2o_.cookie, o2c_.cookie);
  --ctx_->kernel_sessions;
}

KernelRelayMaps::Refusal KernelRelay::attach(int client_fd, int origin_fd, uint64_t origin_written,
                                             core::EventHandler* client_h,
                                             core::EventHandler* origin_h) {
  KernelRelayMaps* maps = ctx_->kernel_relay;
  WorkerCounters& c = ctx_->counters;
  if (maps == nullptr) {
    ++c.kernel_fallback_unavailable;
    return KernelRelayMaps::Refusal::kError;
  }
  int err = 0;
  uint64_t cc = 0, oc = 0;
  const auto r =
      maps->add(client_fd, origin_fd, static_cast<uint32_t>(ctx_->worker), &cc, &oc, &err);
  switch (r) {
    case KernelRelayMaps::Refusal::kNone:
      ++c.kernel_relayed;
      break;
    case KernelRelayMaps::Refusal::kBroken:
      ++c.kernel_fallback_error;
      break;
    case KernelRelayMaps::Refusal::kFull:
      ++c.kernel_fallback_full;
      return r;
    case KernelRelayMaps::Refusal::kState:
      ++c.kernel_fallback_state;
      return r;
    case KernelRelayMaps::Refusal::kError:
      ++c.kernel_fallback_error;
      return r;
  }
  maps_ = maps;  // holds the entries until the destructor releases them
  ++ctx_->kernel_sessions;
  core::Timer* watch = ctx_->kernel_pause_watch;
  if (watch != nullptr && !watch->armed())
    ctx_->loop->timers().schedule(watch, ctx_->loop->now_ms() + kPauseWatchMs);
  c2o_.cookie = cc;
  o2c_.cookie = oc;
  c2o_.from = o2c_.to = client_fd;
  c2o_.to = o2c_.from = origin_fd;
  client_h_ = client_h;
  origin_h_ = origin_h;
  c2o_.to_base = origin_written;
  return r;
}

Relay::Step KernelRelay::start(int, int) {
  // The kernel relays what was waiting already (attach() nudged both sockets); a FIN that came
  // before is reported by epoll, which the session registered after the hand-off.
  return Step::kWait;
}

Relay::Step KernelRelay::on_events(bool client_side, uint32_t events) {
  Direction& src = client_side ? c2o_ : o2c_;   // this socket is its source
  Direction& sink = client_side ? o2c_ : c2o_;  // this socket is its sink
  if (events & (EPOLLRDHUP | EPOLLHUP)) src.eof = true;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !serve(src)) return Step::kFailed;
  if ((events & (EPOLLOUT | EPOLLHUP)) && sink.user_mode) {
    sink.write_blocked = false;
    if (!pump(sink, !client_side)) return Step::kFailed;
  }
  return after();
}

bool KernelRelay::wants_poll() const {
  auto waiting = [](const Direction& d) { return !d.user_mode && !d.shut && (d.eof || d.paused); };
  return waiting(c2o_) || waiting(o2c_);
}

Relay::Step KernelRelay::poll() {
  if (!serve(c2o_) || !serve(o2c_)) return Step::kFailed;
  return after();
}

bool KernelRelay::serve(Direction& d) {
  if (d.shut) return true;
  if (!d.user_mode) {
    if (!refresh(d)) return true;
    if (!d.paused) {
      if (d.eof) try_shut(d);
      return true;
    }
    // Paused: what the program redirected must reach the peer's stream before user space
    // sends a byte of this direction (the session's timer asks again until it did).
    if (!drained(d)) return true;
    d.user_mode = true;
    rewatch();
  }
  return pump(d, &d == &c2o_);
}

bool KernelRelay::refresh(Direction& d) const {
  ktr_dir v{};
  if (maps_ == nullptr || !maps_->read(d.cookie, &v)) return false;
  d.bytes = v.bytes;
  d.paused = v.paused != 0;
  return true;
}

bool KernelRelay::drained(const Direction& d) const {
  uint64_t written = 0;
  return stream_written(d.to, &written) && written >= d.to_base + d.bytes;
}

void KernelRelay::try_shut(Direction& d) {
  uint64_t received = 0;
  if (!stream_received_before_fin(d.from, &received)) return;
  // Every byte `from` received went through the program (none paused), and every one it
  // redirected is in `to`'s stream (not in its psock queue any more): the FIN may follow.
  if (d.bytes < received || !drained(d)) return;
  pass_fin(d);
}

void KernelRelay::rewatch() {
  // The client's socket is c2o's source and o2c's sink; the origin's the other way round.
  const uint32_t client =
      kEvents | (c2o_.user_mode ? EPOLLIN : 0u) | (o2c_.user_mode ? EPOLLOUT : 0u);
  const uint32_t origin =
      kEvents | (o2c_.user_mode ? EPOLLIN : 0u) | (c2o_.user_mode ? EPOLLOUT : 0u);
  ctx_->loop->modify(c2o_.from, client, client_h_);
  ctx_->loop->modify(o2c_.from, origin, origin_h_);
}

void KernelRelay::pass_fin(Direction& d) {
  d.shut = true;
  const Direction& other = &d == &c2o_ ? o2c_ : c2o_;
  // When the other way is done too, the session's close sends the FIN.
  if (!other.shut) ::shutdown(d.to, SHUT_WR);
}

bool KernelRelay::pump(Direction& d, bool client_to_origin) {
  char* buf = ctx_->copy_buffer;
  const size_t cap = WorkerContext::kCopyBufferSize;
  while (!d.read_eof && !d.write_blocked) {
    // recv() of a socket in a sockmap reads the bytes the program left in its psock queue.
    const ssize_t n = ::recv(d.from, buf, cap, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
      d.read_eof = true;
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      fail_socket(client_to_origin, errno, false);
      return false;
    }
    ssize_t w = ::send(d.to, buf, static_cast<size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        fail_socket(!client_to_origin, errno, true);
        return false;
      }
      w = 0;
    }
    if (w > 0) {
      // Consume exactly what the sink took (it is there: just peeked).
      if (::recv(d.from, buf, static_cast<size_t>(w), MSG_DONTWAIT) != w) {
        set_failure({telemetry::Side::kEdge, telemetry::Cause::kUnknown},
                    telemetry::EventType::kDisconnect, true, true);
        return false;
      }
      d.user += static_cast<uint64_t>(w);
      if (d.total != nullptr) d.total->add(static_cast<uint64_t>(w));
      d.counted += static_cast<uint64_t>(w);
    }
    if (w < n) d.write_blocked = true;  // the rest waits in the source until EPOLLOUT
  }
  if (d.read_eof && !d.shut) pass_fin(d);
  return true;
}

void KernelRelay::sync_counters() {
  for (Direction* d : {&c2o_, &o2c_}) {
    refresh(*d);
    const uint64_t moved = d->bytes + d->user;
    if (d->total != nullptr && moved > d->counted) d->total->add(moved - d->counted);
    d->counted = moved;
  }
}

int64_t KernelRelay::last_activity_ms(int64_t now_ms) const {
  if (maps_ == nullptr) return 0;
  int64_t last_ns = 0;
  for (const Direction* d : {&c2o_, &o2c_}) {
    ktr_dir v{};
    if (maps_->read(d->cookie, &v) && static_cast<int64_t>(v.last_ns) > last_ns)
      last_ns = static_cast<int64_t>(v.last_ns);
  }
  if (last_ns == 0) return 0;
  const int64_t age_ms = (monotonic_ns() - last_ns) / 1'000'000;
  return now_ms - (age_ms > 0 ? age_ms : 0);
}

void KernelRelay::describe(telemetry::ConnEvent* e) const {
  e->client_bytes = c2o_.bytes + c2o_.user;
  e->origin_bytes = o2c_.bytes + o2c_.user;
}

}  // namespace rampart::tcp
