// PlainRelay, relaying without a pipe: when the pipe budget is spent (core::PipePool::can_get()),
// a short send cannot leave its rest in a pipe, so the bytes are peeked, sent, and only what the
// sink took is consumed; the rest waits in the source socket until the sink is writable again.
// One syscall more per read than copy_once(), and only while pipes are short.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "tcp/plain_relay.h"

namespace rampart::tcp {

bool PlainRelay::peek_once(Direction& d, bool client_to_origin) {
  char* buf = ctx_->copy_buffer;
  const size_t cap = WorkerContext::kCopyBufferSize;
  d.splice_mode = false;
  const ssize_t n = relay_recv(d, client_to_origin, buf, cap, MSG_PEEK);
  if (n <= 0) return n == 0;
  ++ctx_->counters.pipeless_reads;
  ssize_t w = ::send(d.to, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      fail_socket(!client_to_origin, errno, true);
      return false;
    }
    w = 0;
  }
  if (w > 0) {
    // The sink took `w` bytes: consume exactly those (they are in the socket: just peeked).
    if (::recv(d.from, buf, static_cast<size_t>(w), 0) != w) {
      RLOG_ERROR("cannot consume ", w, " peeked bytes: ", std::strerror(errno));
      return fail_edge();
    }
    d.bytes += static_cast<uint64_t>(w);
    if (d.total != nullptr) d.total->add(static_cast<uint64_t>(w));
  }
  if (w < n) {
    d.write_blocked = true;  // the rest stays in the source socket until EPOLLOUT
  } else if (static_cast<size_t>(n) < cap && !d.peer_closing) {
    d.read_blocked = true;  // as in copy_once: a short read emptied the socket
  }
  return true;
}

}  // namespace rampart::tcp
