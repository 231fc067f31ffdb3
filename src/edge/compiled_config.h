// The one compile step of a config change: compile_config() reads a validated config::Config
// once and produces what every consumer needs, so no consumer reads the raw config again:
//   snapshot      -> the workers (Worker::apply), and Edge::snapshot() for the API
//   map_plan      -> the XDP fast path (xdp::Loader::sync)
//   health_targets -> the active health checker (origin::HealthChecker::set_targets)
//   anycast       -> the anycast publisher (anycast::AnycastMonitor) and its health probe
//   warnings      -> the log (settings accepted but not enforced)
// Every part is derived from the compiled apps of the snapshot (one tcp::AppRuntime per app), so
// the parts agree: an app that serves is in all of them with one effective protection and one
// OriginSet; an app that does not (Snapshot::disabled: its TLS could not be set up) has no binds,
// no XDP port, no health probe and does not gate the anycast announcement.
// Built on the control thread (Edge::control()) by Edge::start and Edge::reload, once per
// apply; immutable once built and shared read-only (any thread may read a published one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "edge/budget.h"
#include "edge/snapshot.h"
#include "origin/origin_set.h"
#include "telemetry/stats_registry.h"
#include "xdp/map_plan.h"

namespace rampart::edge {

// What the anycast publisher announces through BIRD (docs/anycast.md) and what gates it.
struct AnycastPlan {
  // edge.anycast as it was at start: it takes effect at a restart only (a later compile carries
  // this one and warns when the config's differs).
  config::AnycastConfig config;
  std::vector<std::string> prefixes;  // "10.77.9.1/32": the routes of BIRD's static protocol
  struct App {
    std::string id;
    std::shared_ptr<const origin::OriginSet> origins;
  };
  std::vector<App> apps;  // the serving apps: each needs an origin up for the edge to announce
  bool enabled() const { return !config.addresses.empty(); }
};

// The prefixes of edge.anycast, without apps (the publisher's part alone).
AnycastPlan plan_anycast(const config::AnycastConfig& anycast);

struct CompiledConfig {
  std::shared_ptr<const Snapshot> snapshot;
  xdp::MapPlan map_plan;
  std::vector<std::shared_ptr<origin::OriginSet>> health_targets;
  AnycastPlan anycast;
  std::vector<std::string> warnings;  // one line per setting accepted but not enforced
  ResolvedOrigins resolved;           // the origin_dns addresses the snapshot was built with
};

// Compiles `cfg` (validated). `previous` (the config in force; null at start) lends the
// snapshot its kept OriginSets, guard counters and TLS contexts (build_snapshot) and the anycast
// settings in force. `workers`, `stats`, `budget` and `resolved` as for build_snapshot().
std::shared_ptr<const CompiledConfig> compile_config(const config::Config& cfg,
                                                     const CompiledConfig* previous, int workers,
                                                     telemetry::StatsRegistry* stats = nullptr,
                                                     const BudgetPlan* budget = nullptr,
                                                     const ResolvedOrigins* resolved = nullptr);

}  // namespace rampart::edge
