// One proxied TCP connection: client socket <-> origin socket. Owns both fds and, while bytes
// are in flight, one pipe per direction (borrowed from the worker's pool). Relays with
// splice(2): bytes never enter user space. Passes half-closes through (FIN one way, the other
// way keeps flowing), turns a reset on one side into a reset on the other, and enforces the
// connect and idle timeouts. Created by a Listener; lives on one worker thread only.
#pragma once

#include <memory>

#include "core/event_loop.h"
#include "core/pipe_pool.h"
#include "core/unique_fd.h"
#include "guard/guard.h"
#include "guard/validate.h"
#include "net/ip_addr.h"
#include "tcp/app_runtime.h"
#include "tcp/tls_relay.h"
#include "tcp/worker_context.h"
#include "telemetry/conn_event.h"

namespace rampart::tcp {

class Session : public core::Timer, public core::Retirable {
 public:
  // Takes over the unit of ctx->budget's kTcpSessions that the listener acquired for `client`
  // (when there is a budget) and gives it back when it closes.
  Session(WorkerContext* ctx, std::shared_ptr<const AppRuntime> app, core::UniqueFd client,
          const net::SockAddr& client_addr, const net::SockAddr& edge_addr);
  ~Session() override;

  // The guard's verdict on this connection (an allowed one): released when the session closes.
  void set_admission(const guard::Admission& a) { admission_ = a; }
  // Picks an origin and starts connecting, or first waits for the client's first bytes when the
  // app has a validator. The session may close (and retire) itself inside.
  void start();
  // Closes both sides now (drain timeout, shutdown). Logged with `status`.
  void abort(uint16_t status);

  const AppRuntime& app() const { return *app_; }
  // events.progress_interval: a `progress` event when the connection has relayed for another
  // `interval_ns` since its connect or its last progress event.
  void progress(int64_t now_ns, int64_t interval_ns);

  // Intrusive list links (SessionList).
  Session* list_prev = nullptr;
  Session* list_next = nullptr;

 private:
  // TLS apps: kTlsHandshake (client leg) comes before kConnecting, so that failed handshakes
  // never reach the origin; kTlsOrigin (origin leg, full/strict) comes before kRelaying.
  enum class State { kValidating, kTlsHandshake, kConnecting, kTlsOrigin, kRelaying, kClosed };

  // One direction of the relay: bytes read from `from` wait in `pipe` until written to `to`.
  struct Direction {
    int from = -1;
    int to = -1;
    core::Pipe pipe;
    size_t in_pipe = 0;
    uint64_t bytes = 0;
    telemetry::Counter* total = nullptr;  // the app's bytes counter of this direction
    bool read_eof = false;
    bool peer_closing = false;   // `from` reported RDHUP/HUP: read until EOF, trust no short read
    bool splice_mode = false;    // bulk: the last read filled the copy buffer
    bool read_blocked = false;   // wait for EPOLLIN on `from`
    bool write_blocked = false;  // wait for EPOLLOUT on `to`
    bool shut = false;           // FIN passed on to `to`
  };
  // No pipe now and the pipe budget is spent: bytes are peeked, sent, and only what the sink
  // took is consumed, so what it did not take waits in the source socket instead of a pipe.
  bool pipeless(const Direction& d) const {
    return !d.pipe.valid() && d.in_pipe == 0 && !ctx_->pipes->can_get();
  }

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
  void refuse(guard::Reason reason, uint16_t status);
  void try_connect();
  void on_connect_result(int err);
  void connect_failed(uint16_t status);
  void start_relay();
  // Moves bytes in one direction until both ends would block; false if the session closed.
  bool pump(Direction& d, bool client_to_origin);
  // recv() for the copy paths: the bytes read (> 0); 0 when there is nothing to relay now (EOF
  // or EAGAIN noted in d, or EINTR); -1 when the session closed on the error.
  ssize_t relay_recv(Direction& d, bool client_to_origin, char* buf, size_t cap, int flags);
  // One recv() into the worker's copy buffer and a send() of it; what the sink does not take
  // waits in a pipe. False if the session closed.
  bool copy_once(Direction& d, bool client_to_origin);
  // copy_once() without a pipe (session_peek.cc): recv(MSG_PEEK), send, then consume what was
  // sent.
  bool peek_once(Direction& d, bool client_to_origin);
  // Status for an error while reading from (or writing to) one side.
  static uint16_t io_status(int err, bool client_side, bool writing);
  // splice() socket -> pipe and pipe -> socket once each; sets *drained when bytes left the pipe.
  bool splice_once(Direction& d, bool client_to_origin, bool* drained);
  void maybe_finish();
  void close(uint16_t status, bool reset_client, bool reset_origin);
  void emit(telemetry::EventType type, uint16_t status);
  void release_pipe(Direction& d);
  // TLS apps (session_tls.cc): the same session, relayed through tls_ instead of pump().
  void start_tls_handshake();
  void on_tls_events(bool client_side, uint32_t events);
  void on_tls_timer();
  void tls_client_step();
  void start_tls_relay();
  void tls_origin_step();
  void tls_relaying();
  void tls_relay_step();
  void tls_failed();

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
  Direction c2o_;
  Direction o2c_;
  State state_ = State::kConnecting;
  int origin_index_ = -1;
  uint64_t tried_ = 0;
  int64_t connect_ns_ = 0;
  int64_t progress_ns_ = 0;  // time of the last progress event (0 = none yet)
  int64_t last_activity_ms_ = 0;
  guard::Admission admission_;
  const char* filtered_rule_ = nullptr;  // ClientMatchedIpFirewall of a refusal
  bool client_closing_ = false;          // kValidating: the client half-closed or reset
  bool probe_ = false;                   // ended as a port probe (port_probe)
  std::unique_ptr<TlsRelay> tls_;        // TLS apps only
};

}  // namespace rampart::tcp
