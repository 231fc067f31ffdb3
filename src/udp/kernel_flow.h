// A UDP flow relayed by the kernel (xdp/relay_udp.h, docs/kernel-relay-udp.md): once a flow is
// confirmed (its client spoke again after the origin's reply, so both directions' interfaces are
// known and the source is no spoofer), its two directions go into the relay's map and the tc
// program rewrites and redirects its datagrams. The flow keeps its socket (it holds the port, and
// datagrams the program leaves to the stack — fragments, a full map — still arrive there and are
// relayed as before). Once a second the worker reads the program's per-flow counters: the deltas
// go to the flow's bytes, the app's live counters and, for guard drops, the worker's guard; a
// flow that saw traffic is touched so idle expiry keeps it. On end the entries go first, then the
// socket. Worker thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "config/model.h"
#include "xdp/relay_types.h"

namespace rampart::tcp {
struct AppRuntime;
}  // namespace rampart::tcp

namespace rampart::udp {

struct UdpContext;
class Flow;

// What the worker keeps of a kernel-relayed flow.
struct KernelFlow {
  bool active = false;  // both entries are in the map
  bool judged = false;  // the move was decided (made or refused) once
  rrelay_key fwd{};     // client -> edge, as it arrives
  rrelay_key rev{};     // origin -> egress, as it arrives
  // The program's counters as last read.
  uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
  uint64_t drop_banned = 0, drop_rate = 0;
  uint64_t last_ns = 0;  // the newest last_ns of both directions
  // The app (config, access rules, limits) the entries were made with. A reload gives the
  // listener a new one: the flow then leaves the kernel (sync_kernel_flow) and its next datagram
  // is judged in user space by the new rules, like any other, before it may move again.
  std::shared_ptr<const tcp::AppRuntime> app;
};

// Whether the app's kernel_relay wants flows between these interfaces in the kernel: on = always;
// auto = where it measured faster (docs/kernel-relay-udp.md: everywhere it was measured).
bool relay_wanted(config::KernelRelay mode, bool client_on_lo, bool origin_on_lo);

// The flow was just confirmed (or, after a reload took it out of the kernel, a datagram of its
// client passed the new rules): moves it to the kernel when its app (the listener's current
// one), the relay and its interfaces allow, else counts why not (once per app version).
void maybe_move(UdpContext* ctx, Flow* f);
// Reads the program's counters of one kernel flow and applies the deltas (bytes, app counters,
// guard drops); touches the flow when it saw traffic since the last read. A flow whose app was
// replaced by a reload leaves the kernel (counted as requeued); it may move again once a
// datagram of its client passed the new rules (maybe_move).
void sync_kernel_flow(UdpContext* ctx, Flow* f, int64_t now_ms);
// Every kernel flow of the worker (once a second, before idle expiry).
void sync_kernel_flows(UdpContext* ctx, int64_t now_ms);
// The flow ends: a last read (its close event carries exact bytes), then its entries go.
void leave_kernel(UdpContext* ctx, Flow* f, int64_t now_ms);

}  // namespace rampart::udp
