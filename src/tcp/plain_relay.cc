#include "tcp/plain_relay.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace rampart::tcp {

namespace {
constexpr size_t kSpliceChunk = 1 << 20;  // the pipe bounds what one call moves
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
}  // namespace

PlainRelay::~PlainRelay() {
  release_pipe(c2o_);
  release_pipe(o2c_);
}

Relay::Step PlainRelay::start(int client_fd, int origin_fd) {
  c2o_.from = client_fd;
  c2o_.to = origin_fd;
  o2c_.from = origin_fd;
  o2c_.to = client_fd;
  // Either side may have spoken already (SSH servers speak first, most clients too).
  if (!pump(c2o_, true)) return Step::kFailed;
  if (after_pumps() == Step::kDone) return Step::kDone;
  if (!pump(o2c_, false)) return Step::kFailed;
  return after_pumps();
}

Relay::Step PlainRelay::on_events(bool client_side, uint32_t events) {
  const bool readable = events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  const bool writable = events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
  Direction& reading = client_side ? c2o_ : o2c_;  // this fd is its source
  Direction& writing = client_side ? o2c_ : c2o_;  // this fd is its sink
  if (readable) reading.read_blocked = false;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) reading.peer_closing = true;
  if (writable) writing.write_blocked = false;
  if (readable) {
    if (!pump(reading, client_side)) return Step::kFailed;
    if (after_pumps() == Step::kDone) return Step::kDone;
  }
  if (writable && !pump(writing, !client_side)) return Step::kFailed;
  return after_pumps();
}

void PlainRelay::describe(telemetry::ConnEvent* e) const {
  e->client_bytes = c2o_.bytes;
  e->origin_bytes = o2c_.bytes;
}

bool PlainRelay::pump(Direction& d, bool client_to_origin) {
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
  if (d.in_pipe == 0) {
    release_pipe(d);
    if (d.read_eof && !d.shut) {
      d.shut = true;
      const Direction& other = &d == &c2o_ ? o2c_ : c2o_;
      // When the other way is done too, the session's close sends the FIN: skip the syscall.
      if (!other.shut) ::shutdown(d.to, SHUT_WR);
    }
  }
  return true;
}

ssize_t PlainRelay::relay_recv(Direction& d, bool client_to_origin, char* buf, size_t cap,
                               int flags) {
  ssize_t n = ::recv(d.from, buf, cap, flags);
  if (n > 0) return n;
  if (n == 0) {
    d.read_eof = true;
  } else if (errno == EAGAIN) {
    d.read_blocked = true;
  } else if (errno != EINTR) {
    fail_socket(client_to_origin, errno, false);
    return -1;
  }
  return 0;
}

bool PlainRelay::fail_edge() {
  set_failure({telemetry::Side::kEdge, telemetry::Cause::kUnknown},
              telemetry::EventType::kDisconnect, true, true);
  return false;
}

bool PlainRelay::copy_once(Direction& d, bool client_to_origin) {
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
      fail_socket(!client_to_origin, errno, true);
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
      return fail_edge();
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

bool PlainRelay::splice_once(Direction& d, bool client_to_origin, bool* drained) {
  if (!d.read_eof && !d.read_blocked) {
    if (!d.pipe.valid()) d.pipe = ctx_->pipes->get();
    if (!d.pipe.valid()) {
      RLOG_ERROR("cannot create a pipe: ", std::strerror(errno));
      return fail_edge();
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
      fail_socket(client_to_origin, errno, false);
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
      fail_socket(!client_to_origin, errno, true);
      return false;
    }
  }
  return true;
}

void PlainRelay::release_pipe(Direction& d) {
  if (!d.pipe.valid()) return;
  if (d.in_pipe == 0)
    ctx_->pipes->put(d.pipe);
  else
    ctx_->pipes->discard(d.pipe);
  d.pipe = core::Pipe{};
  d.in_pipe = 0;
}

}  // namespace rampart::tcp
