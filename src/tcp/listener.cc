#include "tcp/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket_util.h"
#include "tcp/session.h"

namespace rampart::tcp {

Listener::Listener(WorkerContext* ctx, core::UniqueFd fd, const net::SockAddr& addr,
                   std::shared_ptr<const AppRuntime> app)
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
    // The session budget first: a full budget sheds the newest connection (reset at once, no
    // guard state, no session) and never touches established ones. Accepting it is what keeps
    // the queue moving: a paused listener would let the backlog fill and every later client
    // wait for a SYN retransmit instead of being told at once.
    core::FdUnit unit = core::FdUnit::try_take(ctx_->budget, core::FdBudget::kTcpSessions);
    if (!unit.ok()) {
      if (ctx_->counters.budget_refused++ % 1000 == 0) {  // counted before the client knows
        RLOG_WARN("accept on ", addr_.to_string(), ": the TCP session budget (",
                  ctx_->budget->limit(core::FdBudget::kTcpSessions),
                  " sessions, edge.max_connections) is full; new connections are reset");
      }
      core::set_linger_zero(fd);
      ::close(fd);
      continue;
    }
    guard::Admission adm;
    if (ctx_->guard != nullptr && app_->guard) {
      adm = ctx_->guard->admit(*app_->guard, peer.ip(), ctx_->loop->now_ms());
      if (!adm.allowed) {
        refuse(fd, peer, adm);  // no session, no origin connection (the unit goes back)
        continue;
      }
    }
    // A wildcard listener learns which edge address the client reached from the socket; only
    // the PROXY header needs it, so the syscall is spent only then.
    net::SockAddr edge = wildcard_ && app_->cfg.proxy_protocol != config::ProxyProtocol::kOff
                             ? core::local_addr(fd)
                             : addr_;
    auto* session = new Session(ctx_, app_, core::UniqueFd(fd), peer, edge, std::move(unit));
    session->set_admission(adm);
    session->start();  // owned by ctx_->sessions from here on
  }
}

void Listener::refuse(int fd, const net::SockAddr& peer, const guard::Admission& a) {
  // A reset, not a FIN: the edge keeps no TIME_WAIT for refused clients.
  core::set_linger_zero(fd);
  ::close(fd);
  if (ctx_->reporter == nullptr) return;
  telemetry::ConnFacts f;
  f.app = &app_->cfg;
  f.stats = app_->stats ? &app_->stats->slot(ctx_->worker) : nullptr;
  f.rule = a.rule;
  f.country = a.geo.country;
  f.asn = a.geo.asn;
  f.client = &peer;
  ctx_->reporter->report(
      telemetry::EventType::kClientFiltered,
      telemetry::status_of({telemetry::Side::kClient, telemetry::Cause::kDenied}), f);
}

}  // namespace rampart::tcp
