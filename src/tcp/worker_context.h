// The per-worker services a TCP listener and its sessions use. Owned by the worker; every
// pointer stays valid for the worker's life; worker thread only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/event_loop.h"
#include "core/fd_budget.h"
#include "core/pipe_pool.h"
#include "guard/guard.h"
#include "tcp/kernel_relay_maps.h"
#include "telemetry/conn_reporter.h"
#include "telemetry/counter.h"
#include "telemetry/stat_decl.h"

namespace rampart::tcp {

class Session;

// Intrusive list of a worker's live sessions: O(1) add/remove, walkable for shutdown.
class SessionList {
 public:
  void add(Session* s);
  void remove(Session* s);
  Session* head() const { return head_; }
  // Readable from any thread (drain progress); written by the worker only.
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  Session* head_ = nullptr;
  std::atomic<size_t> size_{0};
};

// Written by the worker, read by /metrics (relaxed atomics). Declared once: the fields and
// their Prometheus families (telemetry/stat_decl.h).
#define RAMPART_TCP_WORKER_STATS(FAMILY, COUNTER)                                              \
  FAMILY("rampart_accept_errors_total",                                                        \
         "accept() failures on TCP listeners, and pauses for lack of file descriptors.")       \
  COUNTER(accept_errors, "kind", "error")        /* other than "nothing to accept" */          \
  COUNTER(emfile_pauses, "kind", "emfile_pause") /* listener paused: out of descriptors */     \
  FAMILY("rampart_tcp_connections_shed_total",                                                 \
         "TCP connections reset right after accept to stay within the descriptor budgets, by " \
         "reason (session_budget: edge.max_connections / the TCP session budget was full).")   \
  COUNTER(budget_refused, "reason", "session_budget") /* accepted and reset at once */         \
  FAMILY("rampart_tcp_pipeless_reads_total",                                                   \
         "Relay reads done by peeking because the splice pipe budget was spent.")              \
  COUNTER(pipeless_reads, nullptr, nullptr) /* relayed by peeking (no pipe) */                 \
  FAMILY("rampart_kernel_relay_connections_total",                                             \
         "Plain-TCP connections handed to the kernel's sockmap relay (kernel_relay).")         \
  COUNTER(kernel_relayed, nullptr, nullptr)                                                    \
  FAMILY("rampart_kernel_relay_fallbacks_total",                                               \
         "Connections the kernel relay was chosen for but that were relayed in user space, "   \
         "by reason (unavailable: the sockmap program did not load; map_full: the sockmap "    \
         "was at capacity; socket_state: a side closed before the hand-off; error: the "       \
         "kernel refused the update).")                                                        \
  COUNTER(kernel_fallback_unavailable, "reason", "unavailable")                                \
  COUNTER(kernel_fallback_full, "reason", "map_full")                                          \
  COUNTER(kernel_fallback_state, "reason", "socket_state")                                     \
  COUNTER(kernel_fallback_error, "reason", "error")

struct WorkerCounters {
  RAMPART_STAT_FIELDS(RAMPART_TCP_WORKER_STATS)
};
RAMPART_STAT_TABLE(WorkerCounters, kTcpWorkerStats, RAMPART_TCP_WORKER_STATS);

struct WorkerContext {
  // Small reads go through this buffer (recv + send, no pipe): for request/response traffic
  // that is two syscalls per message instead of three splices. A read that fills it marks the
  // direction as bulk, which then moves by splice. Shared by all of the worker's sessions: no
  // byte stays in it beyond one pump call.
  static constexpr size_t kCopyBufferSize = 32 * 1024;
  char* copy_buffer = nullptr;
  size_t worker = 0;  // index of the worker: its slot in every app's AppStats
  core::EventLoop* loop = nullptr;
  core::PipePool* pipes = nullptr;
  // Builds every connection event of the worker (shared with its UDP side); null: no events.
  telemetry::ConnReporter* reporter = nullptr;
  guard::Guard* guard = nullptr;  // the worker's, shared with its UDP side
  // The sockmap relay's maps (kernel_relay), shared by every worker; null: not loaded.
  KernelRelayMaps* kernel_relay = nullptr;
  // Sessions of this worker whose sockets are in those maps, and the worker's timer that looks
  // for paused directions (armed only while there are some: an idle worker is not woken).
  uint32_t kernel_sessions = 0;
  core::Timer* kernel_pause_watch = nullptr;
  // The edge's descriptor budgets (null in tests: no limits): a session holds one unit of
  // kTcpSessions from accept to close.
  core::FdBudget* budget = nullptr;
  SessionList sessions;
  WorkerCounters counters;
};

}  // namespace rampart::tcp
