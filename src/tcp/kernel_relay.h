// The relay of a plain-TCP app whose bytes the kernel moves (kernel_relay, docs/kernel-relay.md):
// once the session has done everything it does on the stream (first-bytes validation peeks and
// consumes nothing; the PROXY header is written whole), attach() puts both sockets in the
// sockmap (tcp::KernelRelayMaps) and the stream verdict program redirects each direction to the
// other socket without waking the worker. The worker then watches only EPOLLRDHUP (and the
// always-reported EPOLLERR/EPOLLHUP): a FIN from one side is passed on (shutdown(SHUT_WR) of the
// other) only once every byte of that side has entered the other side's TCP stream (the
// program's count against the source's TCP_INFO bytes_received and the sink's bytes_acked +
// SIOCOUTQ, polled on the session's timer until then); an error resets the other side, as the
// session does for every relay. Counters: the program's per-direction bytes, read into the app's
// counters by sync_counters() (the worker's 1 s sweep and the close) and into the events; idle:
// the program's last-activity time. Embedded in its Session; the worker thread only.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "tcp/kernel_relay_maps.h"
#include "tcp/relay.h"
#include "tcp/worker_context.h"
#include "telemetry/counter.h"

namespace rampart::tcp {

class KernelRelay final : public Relay {
 public:
  // The epoll events of both sockets once attached: only hang-ups (EPOLLERR and EPOLLHUP are
  // always reported); data never wakes the worker.
  static constexpr uint32_t kEvents = EPOLLRDHUP | EPOLLET;

  explicit KernelRelay(WorkerContext* ctx) : ctx_(ctx) {}
  ~KernelRelay() override;

  void count_into(telemetry::Counter* ingress, telemetry::Counter* egress) {
    c2o_.total = ingress;
    o2c_.total = egress;
  }
  // Hands both sockets to the kernel. `origin_written` bytes were written to the origin before
  // (the PROXY header). kNone: relayed by the kernel from now on; otherwise nothing changed
  // (kBroken: the caller must reset both sides) and the reason is counted.
  KernelRelayMaps::Refusal attach(int client_fd, int origin_fd, uint64_t origin_written);
  bool attached() const { return maps_ != nullptr; }

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
    uint64_t cookie = 0;     // of `from`: the key of this direction's entry
    uint64_t bytes = 0;      // the program's count, as last read
    uint64_t counted = 0;    // of which added to `total`
    uint64_t to_base = 0;    // bytes written into `to` before the hand-off
    uint64_t from_base = 0;  // bytes consumed from `from` before the hand-off
    telemetry::Counter* total = nullptr;
    bool eof = false;   // `from` sent its FIN
    bool shut = false;  // the FIN was passed on to `to`
  };
  // Reads the program's count of `d` (false when the entry is gone).
  bool refresh(Direction& d) const;
  // `d` reached EOF: passes the FIN on once every byte entered `to`'s stream.
  void try_shut(Direction& d);
  Step after() const { return c2o_.shut && o2c_.shut ? Step::kDone : Step::kWait; }

  WorkerContext* ctx_;
  KernelRelayMaps* maps_ = nullptr;  // set once attached
  Direction c2o_;
  Direction o2c_;
};

}  // namespace rampart::tcp
