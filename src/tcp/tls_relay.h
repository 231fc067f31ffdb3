// The TLS part of one TCP session (an app with tls != off): the client's TLS handshake, the
// origin's (full/strict), then the relay of plaintext between the client's TLS stream and the
// origin (TLS again, or plain TCP for flexible). Non-blocking OpenSSL driven by edge-triggered
// epoll: every step retries all operations of both legs until none makes progress, so a
// WANT_READ/WANT_WRITE on either leg (a write that needs a read, a read that needs a write)
// resumes on whatever event comes next. Each direction has a bounded buffer (kBufferSize): while
// it is full, that direction's source is not read (backpressure). A close_notify or FIN from one
// side becomes close_notify + FIN toward the other; the other direction keeps flowing.
//
// The Session drives the handshakes (client_handshake, origin_handshake) itself, then relays
// through the Relay interface like any app. Owns the two SSL objects (not the sockets: the
// Session does) and, while relaying, the two buffers. Owned by a Session; its worker thread only.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "net/ip_addr.h"
#include "tcp/relay.h"
#include "tcp/tls_context.h"
#include "telemetry/app_stats.h"
#include "telemetry/conn_event.h"

namespace rampart::tcp {

class TlsRelay final : public Relay {
 public:
  static constexpr size_t kBufferSize = 16 * 1024;

  // `ctx` may be null (the app's certificates could not be loaded): the handshake then fails.
  explicit TlsRelay(const TlsContext* ctx) : ctx_(ctx) {}
  ~TlsRelay() override;

  // Drives the client's handshake on `client_fd` (server role). kFailed: failure() has a
  // tlsError/443.
  Step client_handshake(int client_fd);
  // Starts or continues the origin leg on `origin_fd`: TLS handshake for full/strict (kFailed:
  // originError 525, or 526 when strict verification failed), immediate kDone for flexible.
  Step origin_handshake(int origin_fd, const net::IpAddr& origin_ip);
  // Relay: moves bytes both ways until nothing can move (every step retries both legs, whatever
  // side the event came from). kDone: both directions closed cleanly.
  Step start(int, int) override { return relay(); }
  Step on_events(bool, uint32_t) override { return relay(); }
  // Fills the ClientTls* fields and the byte counts of an event.
  void describe(telemetry::ConnEvent* e) const override;
  // Timeouts noticed by the session.
  void handshake_timed_out();
  void origin_timed_out();

  bool tls_to_origin() const { return ctx_ != nullptr && ctx_->tls_to_origin(); }
  // The app's byte counters (client -> edge, edge -> client) to add relayed bytes to.
  void count_into(telemetry::Counter* ingress, telemetry::Counter* egress) {
    c2o_.total = ingress;
    o2c_.total = egress;
  }

 private:
  enum class Io { kOk, kBlocked, kEof, kError };

  struct Direction {
    std::unique_ptr<char[]> buf;
    size_t start = 0;
    size_t end = 0;
    uint64_t bytes = 0;
    telemetry::Counter* total = nullptr;  // the app's bytes counter of this direction
    bool eof = false;                     // the source ended (close_notify or FIN)
    bool shut = false;                    // the end was passed on to the sink
  };

  Io read_side(bool client, char* buf, size_t cap, size_t* n);
  Io write_side(bool client, const char* buf, size_t len, size_t* n);
  Io shutdown_side(bool client);
  Io ssl_result(SSL* ssl, int ret);
  Step relay();
  // Moves what it can in one direction; false once failed.
  bool move(Direction& d, bool client_to_origin, bool* progress);
  void fail_io(bool client_side, bool writing);

  const TlsContext* ctx_;
  SSL* client_ssl_ = nullptr;
  SSL* origin_ssl_ = nullptr;
  int client_fd_ = -1;
  int origin_fd_ = -1;
  Direction c2o_;
  Direction o2c_;
  telemetry::TlsStatus status_ = telemetry::TlsStatus::kUnknown;
  // The last I/O error: errno for socket errors, or a TLS protocol error (ssl_error_).
  int last_errno_ = 0;
  bool ssl_error_ = false;
};

}  // namespace rampart::tcp
