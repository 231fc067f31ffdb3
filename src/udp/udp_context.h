// Per-worker state of the UDP data plane: the flow table, the datagram batch buffers and the
// counters. Owned by the worker; worker thread only.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>

#include "core/event_loop.h"
#include "core/fd_budget.h"
#include "guard/guard.h"
#include "telemetry/conn_reporter.h"
#include "telemetry/counter.h"
#include "telemetry/stat_decl.h"
#include "udp/flow_table.h"
#include "xdp/relay_udp.h"

namespace rampart::udp {

class Flow;

// What the per-app counters (telemetry::AppStats) do not say: written by the worker, read by
// /metrics (relaxed atomics). Declared once: the fields and their Prometheus families
// (telemetry/stat_decl.h).
#define RAMPART_UDP_STATS(FAMILY, COUNTER)                                                      \
  FAMILY("rampart_udp_drops_total", "Datagrams the UDP data plane could not relay, by reason.") \
  COUNTER(drop_no_origin, "reason", "no_origin")     /* no usable origin for a new flow */      \
  COUNTER(drop_flow_socket, "reason", "flow_socket") /* socket() failed (ENFILE...) */          \
  COUNTER(drop_send, "reason", "send")               /* a send failed (buffer full, ICMP) */    \
  /* an SPP reply named another client, or had no header */                                     \
  COUNTER(drop_spp_mismatch, "reason", "spp_mismatch")                                          \
  FAMILY("rampart_udp_flows_evicted_total",                                                     \
         "UDP flows closed early to make room in a full flow table.")                           \
  COUNTER(flows_evicted, nullptr, nullptr) /* the shed_ evictions below */                      \
  FAMILY("rampart_udp_origin_icmp_errors_total",                                                \
         "ICMP errors (port or host unreachable) from UDP origins.")                            \
  COUNTER(origin_icmp_errors, nullptr, nullptr)                                                 \
  FAMILY("rampart_udp_gso_sends_total",                                                         \
         "Sends that carried several datagrams at once (UDP GSO), and those the kernel "        \
         "refused.")                                                                            \
  COUNTER(gso_sends, "result", "ok")           /* sends of several datagrams (UDP_SEGMENT) */   \
  COUNTER(gso_fallbacks, "result", "fallback") /* refused by the kernel, resent one by one */   \
  FAMILY("rampart_udp_flows_shed_total",                                                        \
         "UDP flows shed to stay within the budgets, by reason: unconfirmed_answered and "      \
         "unconfirmed_awaiting (the idlest unconfirmed flow closed for a new one, after the "   \
         "origin's reply or before it), app_cap (closed for the app's "                         \
         "protection.max_connections), no_room (a new flow refused).")                          \
  /* The idlest unconfirmed flow closed for a new one (this worker's share was full): one the   \
     origin had answered, or (only when none had been) one still awaiting its reply. */         \
  COUNTER(shed_answered, "reason", "unconfirmed_answered")                                      \
  COUNTER(shed_awaiting, "reason", "unconfirmed_awaiting")                                      \
  COUNTER(shed_app_cap, "reason", "app_cap") /* the app's idlest flow, for a new one */         \
  COUNTER(shed_no_room, "reason", "no_room") /* a new flow refused: nothing evictable */        \
  FAMILY("rampart_kernel_relay_udp_flows_total",                                                \
         "UDP flows moved to the kernel relay (tc), and those of them that left it (ended); "   \
         "the difference is the flows relayed by the kernel now. requeued: taken back to user " \
         "space by a reload that changed their app (each moves again after its next datagram "  \
         "passes the new rules, and counts as moved again).")                                   \
  COUNTER(kernel_moved, "state", "moved")                                                       \
  COUNTER(kernel_ended, "state", "ended")                                                       \
  COUNTER(kernel_requeued, "state", "requeued")                                                 \
  FAMILY("rampart_kernel_relay_udp_fallbacks_total",                                            \
         "Confirmed UDP flows kept in user space, by reason: proxy_protocol (a header the "     \
         "program cannot add: PROXY v1), family (client and origin of different families), "    \
         "interface "                                                                           \
         "(an interface the relay is not attached to), map_full (the flow map is full), auto "  \
         "(kernel_relay: auto keeps this path in user space).")                                 \
  COUNTER(kfb_proxy_protocol, "reason", "proxy_protocol")                                       \
  COUNTER(kfb_family, "reason", "family")                                                       \
  COUNTER(kfb_interface, "reason", "interface")                                                 \
  COUNTER(kfb_map_full, "reason", "map_full")                                                   \
  COUNTER(kfb_auto, "reason", "auto")

struct UdpCounters {
  RAMPART_STAT_FIELDS(RAMPART_UDP_STATS)
};
RAMPART_STAT_TABLE(UdpCounters, kUdpStats, RAMPART_UDP_STATS);

// Room for one batch of datagrams with space in front of each payload for a PROXY v2 or SPP
// header, so headers are written in place, never copied around the payload.
struct Batch {
  static constexpr size_t kSize = 32;
  static constexpr size_t kHeadroom = 64;
  static constexpr size_t kMaxPayload = 65536;
  std::unique_ptr<uint8_t[]> data{new uint8_t[kSize * (kHeadroom + kMaxPayload)]};
  std::array<mmsghdr, kSize> msgs{};
  std::array<iovec, kSize> iov{};
  std::array<sockaddr_storage, kSize> names{};
  std::array<std::array<uint8_t, 64>, kSize> control{};
  // Datagrams of the current batch waiting to go to their origins, grouped by flow on sending.
  struct Pending {
    Flow* flow;
    uint32_t slot;
    uint32_t len;
  };
  std::array<Pending, kSize> pending{};
  std::array<mmsghdr, kSize> out_msgs{};
  std::array<iovec, kSize> out_iov{};
  std::array<std::array<uint8_t, 64>, kSize> out_control{};
  uint8_t* payload(size_t i) { return data.get() + i * (kHeadroom + kMaxPayload) + kHeadroom; }
};

struct UdpContext {
  size_t worker = 0;  // index of the worker: its slot in every app's AppStats
  core::EventLoop* loop = nullptr;
  // Builds every connection event of the worker (shared with its TCP side); null: no events.
  telemetry::ConnReporter* reporter = nullptr;
  guard::Guard* guard = nullptr;  // the worker's, shared with its TCP side
  // The edge's descriptor budgets (null in tests: no limits): confirmed flows take a unit of
  // kUdpConfirmed (edge-wide limit); unconfirmed ones count in kUdpUnconfirmed, whose limit each
  // worker enforces for its own share (limit / workers), evicting its own idlest unconfirmed
  // flow, so that a flood steered onto one worker never starves the others of new flows.
  core::FdBudget* budget = nullptr;
  size_t workers = 1;
  uint64_t new_flows = 0;  // flows opened since start (a listener's burst is measured by it)
  bool draining = false;   // shutting down: existing flows go on, no new ones
  // An upgrade's old process lists its flows here (udp/flow_owner.h); -1 = not listing.
  int flow_owner_fd = -1;
  bool gso = true;  // UDP_SEGMENT works here (cleared if the kernel refuses it)
  // The UDP kernel relay (udp/kernel_flow.h); null: every flow stays in user space. Not owned.
  xdp::UdpRelay* relay = nullptr;
  FlowTable flows;
  Batch batch;
  UdpCounters counters;
};

}  // namespace rampart::udp
