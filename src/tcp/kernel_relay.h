// The relay of a plain-TCP app whose bytes the kernel moves (kernel_relay, docs/kernel-relay.md):
// once the session has done everything it does on the stream (first-bytes validation peeks and
// consumes nothing; the PROXY header is written whole), attach() puts both sockets in the
// sockmap (tcp::KernelRelayMaps) and the stream verdict program redirects each direction to the
// other socket without waking the worker.
//
// The worker watches only EPOLLRDHUP (EPOLLERR/EPOLLHUP always come): data never wakes it (with
// EPOLLIN, every redirected segment would wake the thread, measured ~25% fewer requests/s). A
// direction whose peer fell KTR_QUEUE_BUDGET behind (a slow reader) is paused by the program,
// which bumps the worker's pause counter (ktr_pauses, read from memory every 10 ms by the
// worker, which then calls poll() on its sessions); once every byte it redirected has entered
// the peer's stream, this relay moves that direction in user space (EPOLLIN on its source,
// EPOLLOUT on its sink; peek, send, consume: splice would bypass the psock queue) until the
// end, so the order holds and the kernel's queue stays bounded. A FIN from one side is passed on
// (shutdown(SHUT_WR) of the other) only once every byte of that side has entered the other
// side's TCP stream: the program's count against the source's TCP_INFO bytes_received and the
// sink's bytes_acked + SIOCOUTQ, polled on the session's timer until then. An error resets the
// other side, as the session does for every relay. Counters: the program's per-direction bytes
// (plus what user space moved), added to the app's counters by sync_counters() (the worker's
// 1 s sweep and the close) and reported in the events; idle: the program's last-activity time.
// Embedded in its Session; the worker thread only.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "core/event_loop.h"
#include "tcp/kernel_relay_maps.h"
#include "tcp/relay.h"
#include "tcp/worker_context.h"
#include "telemetry/counter.h"

namespace rampart::tcp {

class KernelRelay final : public Relay {
 public:
  // The epoll events of both sockets once attached (EPOLLIN is added for the source and EPOLLOUT
  // for the sink of a direction user space took over).
  static constexpr uint32_t kEvents = EPOLLRDHUP | EPOLLET;
  // How often the worker looks for directions the program paused (while it has kernel sessions).
  static constexpr int64_t kPauseWatchMs = 10;

  explicit KernelRelay(WorkerContext* ctx) : ctx_(ctx) {}
  ~KernelRelay() override;

  void count_into(telemetry::Counter* ingress, telemetry::Counter* egress) {
    c2o_.total = ingress;
    o2c_.total = egress;
  }
  // Hands both sockets to the kernel. `origin_written` bytes were written to the origin before
  // (the PROXY header); the handlers are the session's, for each socket's epoll registration.
  // kNone: relayed by the kernel from now on; otherwise nothing changed (kBroken: the caller
  // must reset both sides) and the reason is counted.
  KernelRelayMaps::Refusal attach(int client_fd, int origin_fd, uint64_t origin_written,
                                  core::EventHandler* client_h, core::EventHandler* origin_h);

  Step start(int client_fd, int origin_fd) override;
  Step on_events(bool client_side, uint32_t events) override;
  void describe(telemetry::ConnEvent* e) const override;
  bool wants_poll() const override;
  Step poll() override;
  void sync_counters() override;
  int64_t last_activity_ms(int64_t now_ms) const override;

 private:
  struct Direction {
    int from = -1;
    int to = -1;
    uint64_t cookie = 0;   // of `from`: the key of this direction's entry
    uint64_t bytes = 0;    // the program's count, as last read
    uint64_t user = 0;     // bytes user space moved (after a pause)
    uint64_t counted = 0;  // of bytes + user, added to `total`
    uint64_t to_base = 0;  // bytes written into `to` before the hand-off
    telemetry::Counter* total = nullptr;
    bool eof = false;            // `from` sent its FIN (or hung up)
    bool paused = false;         // the program stopped redirecting (the peer fell behind)
    bool user_mode = false;      // paused and drained: user space relays this direction
    bool read_eof = false;       // user mode: recv() returned 0
    bool write_blocked = false;  // user mode: wait for EPOLLOUT on `to`
    bool shut = false;           // the FIN was passed on to `to`
  };
  // Something happened on d.from (or the timer): a pause, a FIN. False if the relay failed.
  bool serve(Direction& d);
  // Reads the program's count and pause flag of `d` (false when the entry is gone).
  bool refresh(Direction& d) const;
  // True once every byte the program redirected for `d` has entered `to`'s TCP stream.
  bool drained(const Direction& d) const;
  // Kernel mode, `d` at EOF: passes the FIN on once every byte entered `to`'s stream.
  void try_shut(Direction& d);
  // User mode: peek, send, consume until either end would block. False if the relay failed.
  bool pump(Direction& d, bool client_to_origin);
  void pass_fin(Direction& d);
  // Watches both sockets for what their directions need now (kEvents, plus user mode's).
  void rewatch();
  Step after() const { return c2o_.shut && o2c_.shut ? Step::kDone : Step::kWait; }

  WorkerContext* ctx_;
  KernelRelayMaps* maps_ = nullptr;  // set once attached
  core::EventHandler* client_h_ = nullptr;
  core::EventHandler* origin_h_ = nullptr;
  Direction c2o_;
  Direction o2c_;
};

}  // namespace rampart::tcp
