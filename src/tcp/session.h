// One proxied TCP connection: client socket <-> origin socket. Owns both fds, the leases of the
// shared counts it takes (its unit of the edge's session budget, the guard's admission, its
// origin's active count: all given back when it closes, by the leases' destructors) and its
// Relay. The session runs the set-up: the app's validator on the client's first bytes, the
// client's TLS handshake (TLS apps), the origin connection with its timeout and redispatch, the
// PROXY header, the origin's TLS handshake (full/strict). Then its relay moves the bytes (chosen
// once here: PlainRelay, whose bulk bytes move by splice(2) but whose small reads and pipeless
// reads go through a user-space buffer, or TlsRelay, which decrypts in user space), and the
// session enforces the idle timeout, turns a socket error into a reset of the other side and
// closes with one CloseReason, reported through the worker's ConnReporter. Created by a
// Listener; lives on one worker thread only.
#pragma once

#include <memory>

#include "core/event_loop.h"
#include "core/fd_budget.h"
#include "core/unique_fd.h"
#include "guard/guard.h"
#include "guard/validate.h"
#include "net/ip_addr.h"
#include "origin/origin_set.h"
#include "tcp/admission_lease.h"
#include "tcp/app_runtime.h"
#include "tcp/kernel_relay.h"
#include "tcp/plain_relay.h"
#include "tcp/tls_relay.h"
#include "tcp/worker_context.h"
#include "telemetry/close_reason.h"
#include "telemetry/conn_event.h"

namespace rampart::tcp {

class Session : public core::Timer, public core::Retirable {
 public:
  // Takes over `unit`, the unit of ctx->budget's kTcpSessions that the listener took for
  // `client` (empty when there is no budget), and gives it back when it closes.
  Session(WorkerContext* ctx, std::shared_ptr<const AppRuntime> app, core::UniqueFd client,
          const net::SockAddr& client_addr, const net::SockAddr& edge_addr, core::FdUnit unit = {});
  ~Session() override = default;

  // The guard's verdict on this connection (an allowed one): released when the session closes.
  void set_admission(const guard::Admission& a);
  // Picks an origin and starts connecting, or first waits for the client's first bytes when the
  // app has a validator. The session may close (and retire) itself inside.
  void start();
  // Closes both sides now (drain timeout, shutdown), logged with `reason`.
  void abort(telemetry::CloseReason reason);

  const AppRuntime& app() const { return *app_; }
  // events.progress_interval: a `progress` event when the connection has relayed for another
  // `interval_ns` since its connect or its last progress event.
  void progress(int64_t now_ns, int64_t interval_ns);
  // The worker's 1 s sweep: a relay whose bytes the kernel moves adds them to the app's counters.
  void sync_counters() {
    if (state_ == State::kRelaying) relay_->sync_counters();
  }
  // The sockmap program paused a direction of one of the worker's connections: the relay looks
  // (Relay::poll). The session may close (and retire) itself inside.
  void recheck() {
    if (state_ == State::kRelaying) after_relay_step(relay_->poll());
  }
  // The client's handshake (validator's first bytes, or TLS) must end within this
  // (protection.handshake_timeout: the one owner of that rule, for both routes). 0 in the config
  // lifts that limit but never leaves a silent client unbounded: the idle timeout then applies
  // (a slowloris would otherwise hold a session and its descriptor forever). 0 here = no timer.
  static int64_t handshake_timeout_ms(const AppRuntime& app) {
    const int64_t limit = app.protection.handshake_timeout.count();
    return limit > 0 ? limit : app.cfg.timeouts.idle.count();
  }

  // Intrusive list links (SessionList).
  Session* list_prev = nullptr;
  Session* list_next = nullptr;

 private:
  // TLS apps: kTlsHandshake (client leg) comes before kConnecting, so that failed handshakes
  // never reach the origin; kTlsOrigin (origin leg, full/strict) comes before kRelaying.
  enum class State { kValidating, kTlsHandshake, kConnecting, kTlsOrigin, kRelaying, kClosed };

  // Routes epoll events of one fd to the session.
  class Side : public core::EventHandler {
   public:
    Side(Session* s, bool client) : session_(s), client_(client) {}
    void on_events(uint32_t events) override { session_->on_side_events(client_, events); }

   private:
    Session* session_;
    bool client_;
  };

  void on_timer() override;
  void on_side_events(bool client_side, uint32_t events);
  // kValidating: peeks at the client's first bytes and runs the app's validator on them.
  void check_first_bytes();
  // The first bytes passed (or the validator is in dry-run): connect to an origin.
  void validated();
  // The client closed (FIN or RST) before sending a byte to an app with a validator: a port
  // probe, logged as a disconnect and counted, never a violation.
  void port_probe(guard::Probe kind);
  // Refused by the guard after accept: a clientFiltered event, then close (client reset).
  void refuse(guard::Reason reason, telemetry::CloseReason why);
  void try_connect();
  void on_connect_result(int err);
  void connect_failed(telemetry::CloseReason why);
  // The origin is connected: PROXY header, then the origin's TLS leg or the relay.
  void origin_connected();
  // kernel_relay: this plain-TCP connection goes to the kernel (on; auto where it measured
  // faster). The app's choice only; whether the kernel takes it is KernelRelay::attach's.
  bool wants_kernel_relay() const;
  // A plain-TCP connection's relay once the origin is connected and the PROXY header
  // (`header_len` bytes) written: kernel_ when it takes both sockets, else plain_. Watches the
  // client's socket with the relay's events. Null when the session closed (a half-done hand-off).
  Relay* plain_tcp_relay(uint64_t header_len);
  // Both legs are ready: the relay starts (`relay` is plain_, kernel_ or *tls_).
  void start_relay(Relay* relay);
  // What the relay answered: closes the session when it is done or failed.
  void after_relay_step(Relay::Step step);
  // Ends the session as `r`'s failure() says (a relay, or the TLS handshakes before one).
  void fail_with(const Relay& r);
  void close(telemetry::CloseReason why, bool reset_client, bool reset_origin);
  void emit(telemetry::EventType type, telemetry::CloseReason why);
  void emit(telemetry::EventType type, uint16_t status);
  // TLS apps (session_tls.cc): the handshakes before the relay.
  void start_tls_handshake();
  void on_tls_handshake_events(bool client_side);
  void on_tls_timer();
  void tls_client_step();
  void tls_origin_step();

  WorkerContext* ctx_;
  telemetry::StatsSlot* stats_ = nullptr;  // the app's counters of this worker
  std::shared_ptr<const AppRuntime> app_;
  core::UniqueFd client_;
  core::UniqueFd origin_;
  net::SockAddr client_addr_;
  net::SockAddr edge_addr_;
  net::SockAddr origin_addr_;
  Side client_side_{this, true};
  Side origin_side_{this, false};
  State state_ = State::kConnecting;
  uint64_t tried_ = 0;
  int64_t connect_ns_ = 0;
  int64_t progress_ns_ = 0;  // time of the last progress event (0 = none yet)
  int64_t last_activity_ms_ = 0;
  // Leases (after app_: given back before the app, which holds the origin set and the policy).
  core::FdUnit budget_unit_;
  AdmissionLease admission_;
  origin::OriginLease origin_lease_;
  const char* filtered_rule_ = nullptr;  // ClientMatchedIpFirewall of a refusal
  bool client_closing_ = false;          // kValidating: the client half-closed or reset
  bool probe_ = false;                   // ended as a port probe (port_probe)
  PlainRelay plain_;                     // tls: off (embedded: no allocation)
  KernelRelay kernel_;                   // tls: off, kernel_relay chosen and available
  std::unique_ptr<TlsRelay> tls_;        // TLS apps only, from the client's handshake on
  Relay* relay_ = nullptr;               // plain_, kernel_ or tls_, from kRelaying on
};

}  // namespace rampart::tcp
