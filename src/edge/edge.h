// The running edge: owns the workers, the event log and the health checker, and the current
// Snapshot. start(), reload() and drain() are called by one control thread (the CLI's signal
// loop today, the API later); workers never call back into it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "edge/snapshot.h"
#include "edge/worker.h"
#include "origin/health_checker.h"
#include "telemetry/event_log.h"
#include "xdp/loader.h"

namespace rampart::edge {

class Edge {
 public:
  Edge();
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // Creates data_dir, opens the event log, starts workers and applies `cfg`.
  bool start(const config::Config& cfg, std::string* error);
  // Switches to a new validated config: unchanged listeners and all established connections
  // stay; added apps start listening, removed ones stop.
  void reload(const config::Config& cfg);
  // Stops accepting, waits until every connection has closed or `timeout` passed, then closes
  // what is left. Returns the number of connections closed by the timeout.
  size_t drain(config::Duration timeout);
  size_t sessions() const;
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }
  // The XDP fast path (protection.xdp); null when it is off or could not attach. Set by
  // start(); its counters() may be read from any thread.
  const xdp::Loader* xdp() const { return xdp_.get(); }

 private:
  void publish(std::shared_ptr<const Snapshot> snap);

  std::unique_ptr<telemetry::EventLog> events_;
  origin::HealthChecker health_;
  std::unique_ptr<xdp::Loader> xdp_;  // before workers_: their guards' ban sink
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<const Snapshot> snapshot_;
};

// Worker count for edge.workers (0 = the CPUs this process may run on).
int resolve_workers(int configured);

}  // namespace rampart::edge
