// The relay of a plain TCP app (tls: off): client socket <-> origin socket with no protocol in
// between. Small reads go through the worker's copy buffer (recv + send); a read that fills it
// marks the direction as bulk, which then moves by splice(2) through a pipe borrowed from the
// worker's pool, so bulk bytes never enter user space; while the pipe budget is spent, bytes are
// peeked and only what the sink took is consumed (plain_relay_peek.cc). Passes half-closes
// through (FIN one way, the other way keeps flowing); a socket error on one side fails the relay
// with a reset for the other. Holds one pipe per direction while bytes are in flight. Embedded
// in its Session (no allocation per connection); the worker thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "core/pipe_pool.h"
#include "tcp/relay.h"
#include "tcp/worker_context.h"
#include "telemetry/counter.h"

namespace rampart::tcp {

class PlainRelay final : public Relay {
 public:
  explicit PlainRelay(WorkerContext* ctx) : ctx_(ctx) {}
  ~PlainRelay() override;

  // The app's byte counters (client -> edge, edge -> client) to add relayed bytes to.
  void count_into(telemetry::Counter* ingress, telemetry::Counter* egress) {
    c2o_.total = ingress;
    o2c_.total = egress;
  }

  // The origin's socket reported RDHUP while it was connecting: read it until EOF once relaying
  // (edge-triggered: that event will not come again).
  void origin_closing() { o2c_.peer_closing = true; }

  Step start(int client_fd, int origin_fd) override;
  Step on_events(bool client_side, uint32_t events) override;
  void describe(telemetry::ConnEvent* e) const override;

 private:
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
  Step after_pumps() const { return c2o_.shut && o2c_.shut ? Step::kDone : Step::kWait; }

  // Moves bytes in one direction until both ends would block; false if the relay failed.
  bool pump(Direction& d, bool client_to_origin);
  // recv() for the copy paths: the bytes read (> 0); 0 when there is nothing to relay now (EOF
  // or EAGAIN noted in d, or EINTR); -1 when the relay failed on the error.
  ssize_t relay_recv(Direction& d, bool client_to_origin, char* buf, size_t cap, int flags);
  // One recv() into the worker's copy buffer and a send() of it; what the sink does not take
  // waits in a pipe. False if the relay failed.
  bool copy_once(Direction& d, bool client_to_origin);
  // copy_once() without a pipe (plain_relay_peek.cc): recv(MSG_PEEK), send, then consume what
  // was sent.
  bool peek_once(Direction& d, bool client_to_origin);
  // splice() socket -> pipe and pipe -> socket once each; sets *drained when bytes left the pipe.
  bool splice_once(Direction& d, bool client_to_origin, bool* drained);
  // The edge's own failure (no pipe, a short write to an empty pipe): both sides get a reset.
  bool fail_edge();
  void release_pipe(Direction& d);

  WorkerContext* ctx_;
  Direction c2o_;
  Direction o2c_;
};

}  // namespace rampart::tcp
