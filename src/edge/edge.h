// The running edge: owns the workers, the event log, the health checker, the XDP loader, the
// origin_dns resolver (resolve::OriginResolver, started with the first origin_dns app), the
// config in force (a CompiledConfig) and the config applier's thread (control(): a
// core::ControlLoop). A changed origin_dns answer republishes the config in force with the new
// addresses on control() (refresh_origins()), like a reload that changes nothing else. Every config
// application runs on that one thread and compiles the config once (compile_config), then hands
// each consumer its part (publish()): the workers the Snapshot, the XDP loader the map plan, the
// health checker its targets; the anycast publisher reads its part through compiled(). start() and
// drain() hop onto it themselves; reload(), prepare() and abandon() must be called on it (the
// control::ConfigApplier calls them from its changes, which it runs there) and assert it. SIGHUP
// (cli/serve.cc), the API (HTTP pool threads) and the fleet watch reach it only through the
// ConfigApplier. Workers never call back into it; ban()/unban() are per-worker posts from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "config/model.h"
#include "core/control_loop.h"
#include "core/fd_budget.h"
#include "core/unique_fd.h"
#include "edge/budget.h"
#include "edge/compiled_config.h"
#include "edge/snapshot.h"
#include "edge/worker.h"
#include "origin/health_checker.h"
#include "resolve/origin_resolver.h"
#include "telemetry/event_log.h"
#include "telemetry/stats_registry.h"
#include "xdp/loader.h"
#include "xdp/relay_udp.h"
#include "xdp/tcp_relay_loader.h"
#include "xdp/udp_generations.h"

namespace rampart::edge {

class Edge {
 public:
  Edge();
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // Before start(): the descriptor limit as `rampart serve` raised it (raise_fd_limit()); without
  // it, start() reads the current limit.
  void set_fd_limit(const FdLimit& limit) { fd_limit_ = limit; }
  // The config applier's thread: every change of the config runs on it.
  core::ControlLoop& control() { return control_; }
  // Creates data_dir, opens the event log, starts workers and applies `cfg` (compiled once).
  // Derives the descriptor budgets from the limit and logs them in one line. Any thread: runs
  // on control().
  bool start(const config::Config& cfg, std::string* error);
  // Switches to a new validated config: unchanged listeners and all established connections
  // stay; added apps start listening, removed ones stop. Listeners opened by prepare() are
  // handed to the workers; any other new one is opened by the workers themselves. `cfg` is
  // compiled once, and every consumer takes its part of that. On control() only (asserted).
  void reload(const config::Config& cfg);
  // The pre-flight of a change (HAProxy's rule: a config whose listeners cannot all be opened
  // is refused whole). Opens every listener of `cfg` that the running snapshot lacks, one
  // SO_REUSEPORT socket per worker, after a bind without SO_REUSEPORT has shown that no other
  // process holds the address (a foreign socket with SO_REUSEPORT would otherwise share the
  // port silently). Holds them for the next reload(). False with *error naming the address and
  // the errno when one cannot be opened (what an earlier prepare() opened is kept, nothing
  // more). Reuses what an earlier prepare() opened and closes what `cfg` does not need.
  // On control() only (asserted), like reload().
  bool prepare(const config::Config& cfg, std::string* error);
  // Closes what prepare() holds (the change was not made). On control() only (asserted).
  void abandon();
  // Zero-loss upgrade (server/upgrade.h). Before start(): listening sockets handed over by the
  // previous process, by bind key, one per worker; start() uses them instead of binding (and
  // closes those no bind needs). Any thread.
  void adopt(std::map<std::string, std::vector<core::UniqueFd>> sockets) {
    prepared_ = std::move(sockets);
  }
  // A duplicate of every listening socket of every worker, by bind key in worker order: what
  // the new process adopts (UDP sockets travel with udp_fds() instead while the UDP generation
  // program is loaded, so a UDP-only edge hands over an empty map). nullopt when a worker does
  // not answer. Any thread: runs on control(), so no change moves a listener meanwhile.
  std::optional<std::map<std::string, std::vector<core::UniqueFd>>> dup_listeners();
  // The UDP generation program's part of an upgrade (xdp/udp_generations.h). Before start():
  // the previous process's state and descriptors (start() then loads nothing).
  bool adopt_udp(const std::string& state, std::vector<core::UniqueFd> fds, std::string* error) {
    return udp_gen_.adopt(state, std::move(fds), error);
  }
  // Old side, any thread (runs on control()): what to hand over (empty state when the program is
  // not loaded: UDP sockets then travel with dup_listeners()).
  std::string udp_state();
  // The UDP generation program is loaded: every UDP group holds 2 x workers sockets.
  bool udp_generations() const { return udp_gen_.loaded(); }
  std::vector<int> udp_fds();
  // Old side, once the new process is ready: every worker lists its UDP flows, then every group
  // sends new flows to the new process's half. Any thread.
  void hand_over_udp();
  // The kernel programs' part of an upgrade: the XDP attachment (xdp::Loader::adopt) and the UDP
  // kernel relay (xdp::UdpRelay::adopt). Before start(): the previous process's state and
  // descriptors; start() keeps its programs attached instead of attaching its own.
  void adopt_xdp(std::string state, std::vector<core::UniqueFd> fds) {
    xdp_handover_ = {std::move(state), std::move(fds)};
  }
  void adopt_udp_relay(std::string state, std::vector<core::UniqueFd> fds) {
    relay_handover_ = {std::move(state), std::move(fds)};
  }
  // Old side, any thread (run on control()): what to hand over (empty when not loaded). While the
  // new process starts, freeze_xdp() stops this one's syncs into the shared XDP maps; once it is
  // ready, hand_over_kernel() leaves it the attachments it kept; after a failed upgrade,
  // reclaim_xdp() puts this process's XDP program and plan back.
  std::string xdp_state();
  std::vector<int> xdp_fds();
  std::string udp_relay_state();
  std::vector<int> udp_relay_fds();
  void freeze_xdp();
  void hand_over_kernel(const std::set<std::string>& kept);
  void reclaim_xdp();
  // New side, after start(): the kernel parts it took over ("xdp", "udp_relay").
  std::vector<std::string> kernel_kept();
  // Every worker stops accepting (closes its TCP listeners, takes no new UDP flow); what is
  // established goes on. drain() later waits for it. Any thread.
  void stop_accepting() {
    for (auto& w : workers_) w->stop_listening();
  }
  // Stops accepting, waits until every connection has closed or `timeout` passed, then closes
  // what is left. Returns the number of connections closed by the timeout. Any thread: runs on
  // control(), so no change is applied while it drains.
  size_t drain(config::Duration timeout);
  size_t sessions() const;
  // Any thread after start(): how many workers run.
  size_t workers() const { return workers_.size(); }
  // Any thread, from start() until drain() begins: runs fn(i) on the loop of worker i, for
  // every worker; a wedged loop never runs it (the service watchdog's liveness probe).
  // Returns how many workers were probed.
  size_t probe_workers(const std::function<void(size_t)>& fn) const;
  // Any thread: every worker runs the last snapshot published (start, reload): a change is
  // live on the data plane once this holds.
  bool applied() const;
  // Every worker has every listener of the current snapshot open, and drain() has not begun.
  // Any thread (the anycast health monitor asks).
  bool listeners_up() const;
  // Any thread but the workers' and control()'s: waits up to `limit` until applied() (and, with
  // `listening`, listeners_up()) holds. False when the time ran out.
  bool wait_applied(std::chrono::milliseconds limit, bool listening) const;
  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard lock(snapshot_mu_);
    return compiled_ ? compiled_->snapshot : nullptr;
  }
  // The config in force as it was compiled (null before start()); any thread. The anycast
  // publisher takes its plan here.
  std::shared_ptr<const CompiledConfig> compiled() const {
    std::lock_guard lock(snapshot_mu_);
    return compiled_;
  }
  // The XDP fast path (protection.xdp); null when it is off or could not attach. Set by
  // start(); its counters() may be read from any thread.
  const xdp::Loader* xdp() const { return xdp_.get(); }
  // The UDP kernel relay (docs/kernel-relay-udp.md); null when no UDP app may use it or it could
  // not load. Set by start(); counters() from any thread.
  const xdp::UdpRelay* udp_relay() const { return relay_.get(); }
  // Whether a UDP app of `cfg` may use the UDP kernel relay (kernel_relay auto or on): what loads
  // it at start.
  static bool wants_udp_relay(const config::Config& cfg);
  // Whether the TCP kernel relay's sockmap program loaded at start (docs/kernel-relay.md).
  bool tcp_relay_loaded() const { return tcp_relay_.loaded(); }
  // Before start(): also told about every autoban of the workers (the fleet publishes them);
  // called on worker threads. Not owned; null = nobody.
  void set_ban_listener(guard::BanSink* listener) { ban_fanout_.listener = listener; }
  // Before start(): called on control() with every config made the one in force (start, each
  // reload), once the workers were handed it; it must only hand the config on (dns_publish's
  // publisher stores it and wakes its thread). Empty = nobody.
  void set_applied_listener(std::function<void(std::shared_ptr<const CompiledConfig>)> fn) {
    applied_listener_ = std::move(fn);
  }
  // Any thread: refuse `source` on every worker (and in the XDP map) for duration_ms; a ban
  // made by another edge of the fleet. The listener is not told. Held at this edge's
  // granularity (ban_scope() of the source's first address).
  void ban(const net::Cidr& source, int64_t duration_ms);
  // Any thread: lift the ban of the source `ip` belongs to (its ban_scope()) on every worker
  // and in the XDP map.
  void unban(const net::IpAddr& ip);
  // Any thread: the source a ban of `ip` covers here: the address for IPv4, its prefix of the
  // zone's protection.ipv6_prefix for IPv6.
  net::Cidr ban_scope(const net::IpAddr& ip) const;
  // The workers' source tables summed (entries, capacity, evictions, refusals); any thread.
  struct SourceTableTotals {
    uint64_t size = 0, capacity = 0, evicted_idle = 0, evicted_violators = 0, evicted_banned = 0,
             refused = 0;
  };
  SourceTableTotals guard_tables() const;
  // The origin_dns resolver; null until an app has origin_dns. Its status() may be read from
  // any thread (/metrics, the dashboard).
  const resolve::OriginResolver* resolver() const {
    return resolver_view_.load(std::memory_order_acquire);
  }
  // Before start() (tests): the resolver's options (e.g. a DNS server:port instead of
  // /etc/resolv.conf).
  void set_resolver_options(resolve::Options o) { resolver_options_ = std::move(o); }
  // How long start() and reload() wait for the first answer of a new origin_dns name before
  // publishing without it (its app then answers 531 until the name resolves).
  static constexpr std::chrono::milliseconds kFirstLookupWait{2000};
  // Live per-app counters; valid after start(), for the edge's life. Any thread.
  telemetry::StatsRegistry* stats() const { return stats_.get(); }
  // Per-minute event rollups for the analytics store; any thread.
  telemetry::Rollup* rollup() { return &rollup_; }
  // Drop counters (or, with dry_run, would-be drops) of every worker's guard, summed by
  // reason; any thread.
  std::vector<uint64_t> guard_drops(bool dry_run = false) const;
  uint64_t guard_bans() const;
  // The workers' TCP and UDP counters summed: sum(&UdpCounters::drop_send), ...; any thread.
  template <typename Counters>
  uint64_t sum(telemetry::Counter Counters::*field) const;
  // Banned sources and the `top` busiest sources of every worker (one address may appear once
  // per worker only when steering is off).
  std::vector<guard::SourceReport> sources(size_t top) const;
  uint64_t events_dropped() const { return events_ ? events_->dropped() : 0; }
  // Events the workers pushed, and written to the file: once events_written() reaches a value
  // events_pushed() returned, every event pushed before is in the file; any thread.
  uint64_t events_pushed() const { return events_ ? events_->pushed() : 0; }
  uint64_t events_written() const { return events_ ? events_->written() : 0; }
  // The descriptor budgets in force and what the workers hold of them; any thread.
  const core::FdBudget& budget() const { return budget_; }
  BudgetPlan budget_plan() const {
    std::lock_guard lock(snapshot_mu_);
    return plan_;
  }

 private:
  bool start_on_control(const config::Config& cfg, std::string* error);
  // Loads and attaches the UDP kernel relay when a UDP app may use it (relay_ stays null
  // otherwise, logged).
  void start_udp_relay(const config::Config& cfg, const BudgetPlan& plan);
  size_t drain_on_control(config::Duration timeout);
  // Makes `next` the config in force and hands each consumer its part: the XDP maps first,
  // then the health checker's targets, then the workers' snapshot (with what prepare() opened).
  // `hand_prepared`: false for a republish of the same binds (refresh_origins), which leaves
  // what prepare() holds to the next reload().
  void publish(std::shared_ptr<const CompiledConfig> next, bool hand_prepared = true);
  // The origin_dns queries of `cfg` handed to the resolver (started on first need); waits up to
  // kFirstLookupWait for names not looked up yet. Returns the addresses to compile with.
  ResolvedOrigins resolve_for(const config::Config& cfg);
  // On control(): recompiles the config in force with the resolver's current addresses, and
  // publishes it when they differ from the ones it was built with.
  void refresh_origins();
  // Plans the budgets of `in` (budget_inputs() of the config; the API's cap is the running
  // server's), sets the limits of budget_ and logs the plan when it changed.
  BudgetPlan apply_budget(BudgetInputs in);
  // For each worker, its socket of every bind `snap` adds to `before` (null at start): what
  // prepare() opened, or opened here; the group steered when its app needs it. The rest of
  // what prepare() opened is closed.
  std::vector<std::shared_ptr<Worker::Prepared>> take_prepared(const Snapshot& snap,
                                                               const Snapshot* before);
  // The workers' ban sink: the XDP loader and the listener, either may be null.
  // A worker's autoban holds on every worker (one source can reach several: steering is per
  // listener group, and unsteered listeners spread it), in the XDP map, and for the listener.
  struct BanFanout : guard::BanSink {
    Edge* edge = nullptr;
    guard::BanSink* listener = nullptr;
    void banned(const net::Cidr& source, int64_t duration_ms) override {
      edge->ban(source, duration_ms);
      if (listener) listener->banned(source, duration_ms);
    }
  };
  BanFanout ban_fanout_;
  std::function<void(std::shared_ptr<const CompiledConfig>)> applied_listener_;
  // What prepare() opened: bind key -> one listening socket per worker. control() only.
  std::map<std::string, std::vector<core::UniqueFd>> prepared_;

  std::unique_ptr<telemetry::EventLog> events_;
  std::unique_ptr<telemetry::StatsRegistry> stats_;
  telemetry::Rollup rollup_;  // fed by the event log's thread
  origin::HealthChecker health_;
  resolve::Options resolver_options_;
  std::unique_ptr<resolve::OriginResolver> resolver_;  // created on control()
  // resolver_ for other threads (created lazily while API threads may read it).
  std::atomic<const resolve::OriginResolver*> resolver_view_{nullptr};
  std::atomic<bool> refresh_posted_{false};  // a refresh_origins() is queued on control()
  bool draining_ = false;                    // control() only: no republish any more
  std::unique_ptr<xdp::Loader> xdp_;         // before workers_: their guards' ban sink
  struct Handed {                            // adopt_xdp(), adopt_udp_relay(): used once by start()
    std::string state;
    std::vector<core::UniqueFd> fds;
  };
  Handed xdp_handover_, relay_handover_;
  bool relay_shares_bans_ = false;        // relay_'s ban map is xdp_'s: no banned() for it
  bool relay_adopted_ = false;            // relay_ is the old process's (adopt_udp_relay())
  xdp::UdpGenerations udp_gen_;           // UDP groups' SK_REUSEPORT program; before workers_
  xdp::TcpRelayLoader tcp_relay_;         // kernel_relay's sockmap (TCP); before workers_
  std::unique_ptr<xdp::UdpRelay> relay_;  // the UDP kernel relay; before workers_
  FdLimit fd_limit_;
  uint64_t api_connections_ = kDefaultApiConnections;  // the running API server's cap
  core::FdBudget budget_;  // before workers_: they hold units of it until they stop
  std::vector<std::unique_ptr<Worker>> workers_;
  // Written on control() only (which reads it without the lock); snapshot() and compiled() are
  // read by API threads and the anycast monitor under the lock.
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const CompiledConfig> compiled_;
  BudgetPlan plan_;                      // under snapshot_mu_
  std::atomic<uint64_t> generation_{0};  // snapshots published; written on control()
  // Last: stopped and joined first when the edge is destroyed (every caller is done by then).
  core::ControlLoop control_{"rampart-apply"};
};

// Worker count for edge.workers (0 = the CPUs this process may run on).
int resolve_workers(int configured);

template <typename Counters>
uint64_t Edge::sum(telemetry::Counter Counters::*field) const {
  uint64_t n = 0;
  for (const auto& w : workers_) {
    if constexpr (std::is_same_v<Counters, udp::UdpCounters>)
      n += (w->udp_counters().*field).get();
    else
      n += (w->tcp_counters().*field).get();
  }
  return n;
}

}  // namespace rampart::edge
