// How a Session moves bytes once the client and the origin are both connected (and, for TLS
// apps, both handshakes are done). Chosen once per connection at setup: PlainRelay (copy for
// small reads, splice(2) for bulk, peek without a pipe when pipes run short) or TlsRelay
// (plaintext between OpenSSL streams) or KernelRelay (sockmap: the kernel moves the bytes and
// reports only the end), all of the same shape: start() hands it both sockets, on_events() tells it
// what epoll saw, and it answers kWait, kDone (both ways closed cleanly) or kFailed (failure()
// says why, as a CloseReason, and which sides get a reset). One virtual call per epoll event of a
// relaying session (it replaces the plain/TLS branch); none per byte. KernelRelay
// (kernel_relay.h) is that relay. Owned by its Session; the worker thread only.
#pragma once

#include <cstdint>
#include <string>

#include "telemetry/close_reason.h"
#include "telemetry/conn_event.h"

namespace rampart::tcp {

class Relay {
 public:
  enum class Step { kWait, kDone, kFailed };

  // Why the session must end: the reason, the event to log first (kDisconnect: none besides the
  // session's own disconnect), and which sides get a reset.
  struct Failure {
    telemetry::CloseReason reason{telemetry::Side::kEdge, telemetry::Cause::kUnknown};
    telemetry::EventType event = telemetry::EventType::kDisconnect;
    bool reset_client = false;
    bool reset_origin = false;
    std::string detail;  // for the edge's log (TLS); may be empty
  };

  Relay() = default;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  virtual ~Relay() = default;

  // Both sockets are connected and watched (edge-triggered): relays what is already waiting.
  virtual Step start(int client_fd, int origin_fd) = 0;
  // epoll reported `events` (EPOLLERR with no socket error included) on the client's socket
  // (client_side) or the origin's.
  virtual Step on_events(bool client_side, uint32_t events) = 0;
  // The relayed byte counts (and, TLS, the ClientTls* fields) of an event.
  virtual void describe(telemetry::ConnEvent* e) const = 0;

  // Relays that wait on the kernel (KernelRelay passing a FIN on once the bytes before it are
  // sent): true while poll() should be called again soon (the session's timer, ~10 ms).
  virtual bool wants_poll() const { return false; }
  virtual Step poll() { return Step::kWait; }
  // Relays whose byte counts live in the kernel: adds what moved since the last call to the
  // app's counters (the worker's 1 s sweep, and before the close's event).
  virtual void sync_counters() {}
  // Relays whose traffic the kernel sees: the loop time (ms) of the last byte moved, 0 unknown.
  virtual int64_t last_activity_ms(int64_t now_ms) const {
    (void)now_ms;
    return 0;
  }

  const Failure& failure() const { return failure_; }

 protected:
  // A socket error `err` on one side (while writing to it, `writing`): the other side gets a
  // reset, as a proxy that cannot finish the stream must not fake a clean end.
  void fail_socket(bool client_side, int err, bool writing, std::string detail = {}) {
    set_failure(
        telemetry::close_reason_of_errno(
            err, client_side ? telemetry::Side::kClient : telemetry::Side::kOrigin, writing),
        telemetry::EventType::kDisconnect, !client_side, client_side, std::move(detail));
  }
  void set_failure(telemetry::CloseReason reason, telemetry::EventType event, bool reset_client,
                   bool reset_origin, std::string detail = {}) {
    failure_.reason = reason;
    failure_.event = event;
    failure_.reset_client = reset_client;
    failure_.reset_origin = reset_origin;
    failure_.detail = std::move(detail);
  }

  Failure failure_;
};

}  // namespace rampart::tcp
