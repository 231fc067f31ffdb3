// One data-plane worker: a thread with its own event loop, pipe pool, SO_REUSEPORT listeners
// and sessions. Other threads talk to it only through the methods below, which post work to
// its loop; nothing it owns is touched from another thread.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/event_loop.h"
#include "core/pipe_pool.h"
#include "edge/snapshot.h"
#include "guard/guard.h"
#include "tcp/listener.h"
#include "tcp/worker_context.h"
#include "udp/udp_context.h"
#include "udp/udp_listener.h"
#include "xdp/udp_generations.h"

namespace rampart::edge {

class Worker {
 public:
  // `budget` (the edge's, shared by every worker; may be null in tests: no limits) bounds the
  // sessions, pipes and flows this worker opens; `workers` is how many share it.
  Worker(int index, telemetry::EventRing* events, size_t pipe_size, core::FdBudget* budget,
         int workers);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Before start(): told about the guard's bans (the XDP fast path); null = nobody.
  void set_ban_sink(guard::BanSink* sink) { guard_.set_ban_sink(sink); }
  // Before start(): the UDP generation program (loaded or not; may be null). When loaded, UDP
  // groups are steered by it, never by the classic program, and each UDP listener knows its
  // slot.
  void set_udp_generations(const xdp::UdpGenerations* g) { udp_gen_ = g; }
  // Before start(): the sockmap relay's maps (kernel_relay), shared by every worker; null when
  // the program did not load (every connection is relayed in user space).
  void set_kernel_relay(tcp::KernelRelayMaps* maps) { ctx_.kernel_relay = maps; }
  // Before start(): the UDP kernel relay (null: none). Not owned.
  void set_udp_relay(xdp::UdpRelay* r) { udp_.relay = r; }
  // Any thread (an upgrade's old process): from now on every UDP flow of this worker, open or
  // opened later, is listed in the program's flow map `map_fd`; done once the open ones are.
  std::future<void> own_flows(int map_fd);
  // Any thread: the guard refuses `source` for duration_ms (a ban from another edge).
  void ban(const net::Cidr& source, int64_t duration_ms) {
    loop_.post([this, source, duration_ms] { guard_.ban(source, duration_ms, loop_.now_ms()); });
  }
  // Any thread: the guard lifts its ban of the source `ip` belongs to.
  void unban(const net::IpAddr& ip) {
    loop_.post([this, ip] { guard_.unban(ip); });
  }
  // Any thread: runs `fn` on this worker's loop, in turn with its other work; a wedged loop
  // never runs it (the service watchdog's liveness probe, server/service_notifier.h).
  void probe(std::function<void()> fn) { loop_.post(std::move(fn)); }
  // Listening sockets opened for this worker ahead of a snapshot (Edge::prepare), by bind key.
  using Prepared = std::map<std::string, core::UniqueFd>;
  // Any thread: switch to `snap` (open new listeners, keep unchanged ones, close the rest). A
  // new listener takes its socket from `prepared` when it is there, else opens one.
  // `generation` is the edge's count of published snapshots: applied() returns it once done.
  void apply(std::shared_ptr<const Snapshot> snap, std::shared_ptr<Prepared> prepared = nullptr,
             uint64_t generation = 0);
  // Any thread: the generation of the last snapshot this worker switched to.
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  // Any thread: every bind of the last snapshot applied has its listening socket (false before
  // the first one is applied and once stop_listening() was called).
  bool listening() const { return listening_.load(std::memory_order_relaxed); }
  // Any thread: a duplicate of every listening socket (TCP and UDP) by bind key, taken on the
  // worker's thread: what a zero-loss upgrade hands to the new process.
  std::future<Prepared> dup_listeners();
  // Any thread: close every listener; established sessions go on (drain).
  void stop_listening();
  // Any thread: close every session with `status`, stop the loop, join the thread.
  void stop(uint16_t status);
  // TCP sessions and UDP flows still open; any thread.
  // Drop counters by reason; readable from any thread.
  const guard::Counters& guard_counters() const { return guard_.counters(); }
  // The guard's source table: entries, capacity, evictions; readable from any thread.
  const guard::SourceTableStats& guard_table_stats() const { return guard_.table_stats(); }
  // The TCP and UDP sides' own counters; readable from any thread.
  const tcp::WorkerCounters& tcp_counters() const { return ctx_.counters; }
  const udp::UdpCounters& udp_counters() const { return udp_.counters; }
  size_t sessions() const {
    return ctx_.sessions.size() + udp_flows_.load(std::memory_order_relaxed);
  }
  // The UDP flow count sessions() reads is stored by the once-a-second sweep; this stores it
  // now, on the worker's thread (the future is ready once it did; a stopped worker never
  // answers). The drain counts with it: a flow opened within the last second is not "nothing
  // left".
  std::future<void> recount_flows();
  // Any thread: the guard's view of its busiest and banned sources, computed on the worker's
  // thread (the source table is the worker's alone); a stopped worker never answers (the
  // future then reports a broken promise).
  std::future<std::vector<guard::SourceReport>> sources(size_t top);

 private:
  void apply_now(const std::shared_ptr<const Snapshot>& snap, Prepared* prepared);
  void close_listeners();

  // Expires idle UDP flows once a second.
  class FlowSweep : public core::Timer {
   public:
    explicit FlowSweep(Worker* w) : worker_(w) {}
    void on_timer() override;

   private:
    Worker* worker_;
  };

  // kernel_relay: every 10 ms, reads this worker's pause counter of the sockmap program (a
  // memory load) and, when it moved, lets each session look for its paused direction.
  class PauseWatch : public core::Timer {
   public:
    explicit PauseWatch(Worker* w) : worker_(w) {}
    void on_timer() override;

   private:
    Worker* worker_;
    uint64_t seen_ = 0;
  };

  int index_;
  core::EventLoop loop_;
  core::PipePool pipes_;
  std::unique_ptr<char[]> copy_buffer_;
  guard::Guard guard_;
  telemetry::ConnReporter reporter_;  // every connection event of this worker (TCP and UDP)
  tcp::WorkerContext ctx_;
  udp::UdpContext udp_;
  FlowSweep sweep_{this};
  PauseWatch pauses_{this};
  std::atomic<size_t> udp_flows_{0};
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> applied_{0};
  std::map<std::string, std::unique_ptr<tcp::Listener>> tcp_listeners_;
  std::map<std::string, std::unique_ptr<udp::UdpListener>> udp_listeners_;
  std::shared_ptr<const Snapshot> snapshot_;
  const xdp::UdpGenerations* udp_gen_ = nullptr;
  std::thread thread_;
};

}  // namespace rampart::edge
