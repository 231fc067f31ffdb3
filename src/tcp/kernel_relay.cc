#include "tcp/kernel_relay.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
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

// Bytes `fd` received in order, its FIN excluded (`fin`: it came; TCP counts it in the sequence
// space that bytes_received follows).
bool stream_received(int fd, bool fin, uint64_t* out) {
  TcpInfoBytes ti{};
  if (!tcp_info_bytes(fd, &ti)) return false;
  *out = ti.bytes_received - (fin && ti.bytes_received > 0 ? 1 : 0);
  return true;
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

KernelRelay::~KernelRelay() {
  if (maps_ != nullptr) maps_->release(c2o_.cookie, o2c_.cookie);
}

KernelRelayMaps::Refusal KernelRelay::attach(int client_fd, int origin_fd,
                                             uint64_t origin_written) {
  KernelRelayMaps* maps = ctx_->kernel_relay;
  WorkerCounters& c = ctx_->counters;
  if (maps == nullptr) {
    ++c.kernel_fallback_unavailable;
    return KernelRelayMaps::Refusal::kError;
  }
  int err = 0;
  uint64_t cc = 0, oc = 0;
  const auto r = maps->add(client_fd, origin_fd, &cc, &oc, &err);
  switch (r) {
    case KernelRelayMaps::Refusal::kNone:
    case KernelRelayMaps::Refusal::kBroken:
      maps_ = maps;
      c2o_.cookie = cc;
      o2c_.cookie = oc;
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
  if (r == KernelRelayMaps::Refusal::kBroken) {
    ++c.kernel_fallback_error;
    return r;
  }
  ++c.kernel_relayed;
  c2o_.from = o2c_.to = client_fd;
  c2o_.to = o2c_.from = origin_fd;
  c2o_.to_base = origin_written;
  return r;
}

Relay::Step KernelRelay::start(int, int) {
  // The kernel relays what was waiting already (attach() nudged both sockets); a FIN that came
  // before is reported by epoll when the session watches the sockets again.
  return Step::kWait;
}

Relay::Step KernelRelay::on_events(bool client_side, uint32_t events) {
  Direction& d = client_side ? c2o_ : o2c_;  // this socket is its source
  if ((events & (EPOLLRDHUP | EPOLLHUP)) != 0 && !d.eof) {
    d.eof = true;
    try_shut(d);
  }
  return after();
}

bool KernelRelay::wants_poll() const {
  return (c2o_.eof && !c2o_.shut) || (o2c_.eof && !o2c_.shut);
}

Relay::Step KernelRelay::poll() {
  if (c2o_.eof && !c2o_.shut) try_shut(c2o_);
  if (o2c_.eof && !o2c_.shut) try_shut(o2c_);
  return after();
}

void KernelRelay::try_shut(Direction& d) {
  if (d.shut || !refresh(d)) return;
  uint64_t received = 0, written = 0;
  if (!stream_received(d.from, true, &received) || !stream_written(d.to, &written)) return;
  // Every byte `from` received went through the program, and every one it redirected is in
  // `to`'s stream (not in its psock queue any more): the FIN may follow them.
  if (d.from_base + d.bytes < received || written < d.to_base + d.bytes) return;
  d.shut = true;
  const Direction& other = &d == &c2o_ ? o2c_ : c2o_;
  // When the other way is done too, the session's close sends the FIN.
  if (!other.shut) ::shutdown(d.to, SHUT_WR);
}

bool KernelRelay::refresh(Direction& d) const {
  ktr_dir v{};
  if (maps_ == nullptr || !maps_->read(d.cookie, &v)) return false;
  d.bytes = v.bytes;
  return true;
}

void KernelRelay::sync_counters() {
  for (Direction* d : {&c2o_, &o2c_}) {
    refresh(*d);
    if (d->total != nullptr && d->bytes > d->counted) d->total->add(d->bytes - d->counted);
    d->counted = d->bytes;
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
  e->client_bytes = c2o_.bytes;
  e->origin_bytes = o2c_.bytes;
}

}  // namespace rampart::tcp
