#include "tcp/listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/socket_util.h"
#include "tcp/session.h"

namespace rampart::tcp {

Listener::Listener(WorkerContext* ctx, core::UniqueFd fd, const net::SockAddr& addr,
                   std::shared_ptr<const runtime::AppRuntime> app)
    : ctx_(ctx),
      fd_(std::move(fd)),
      addr_(addr),
      wildcard_(addr.ip().is_unspecified()),
      app_(std::move(app)) {
  ctx_->loop->add(fd_.get(), EPOLLIN | EPOLLET, this);
}

Listener::~Listener() {
  close();
}

void Listener::close() {
  if (!fd_.valid()) return;
  ctx_->loop->remove(fd_.get());
  ctx_->loop->timers().cancel(this);
  fd_.reset();
}

void Listener::on_events(uint32_t) {
  if (!paused_ && fd_.valid()) accept_all();
}

void Listener::on_timer() {
  if (!fd_.valid()) return;
  paused_ = false;
  ctx_->loop->modify(fd_.get(), EPOLLIN | EPOLLET, this);
  accept_all();
}

void Listener::accept_all() {
  for (;;) {
    net::SockAddr peer;
    int fd = ::accept4(fd_.get(), peer.get_mut(), peer.len_mut(), SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      if (errno == ECONNABORTED || errno == EPROTO) continue;
      ++ctx_->counters.accept_errors;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The pending connection stays queued and the socket stays readable: stop watching it
        // for a moment instead of spinning, as HAProxy and nginx do.
        if (ctx_->counters.emfile_pauses++ % 1000 == 0) {
          RLOG_WARN("accept on ", addr_.to_string(), ": ", std::strerror(errno),
                    "; pausing accepts for ", kFdExhaustedPauseMs, " ms");
        }
        paused_ = true;
        ctx_->loop->modify(fd_.get(), 0, this);
        ctx_->loop->timers().schedule(this, ctx_->loop->now_ms() + kFdExhaustedPauseMs);
        return;
      }
      RLOG_WARN("accept on ", addr_.to_string(), ": ", std::strerror(errno));
      return;
    }
    ++ctx_->counters.accepted;
    // A wildcard listener learns which edge address the client reached from the socket; only
    // the PROXY header needs it, so the syscall is spent only then.
    net::SockAddr edge = wildcard_ && app_->cfg.proxy_protocol != config::ProxyProtocol::kOff
                             ? core::local_addr(fd)
                             : addr_;
    auto* session = new Session(ctx_, app_, core::UniqueFd(fd), peer, edge);
    session->start();  // owned by ctx_->sessions from here on
  }
}

}  // namespace rampart::tcp
