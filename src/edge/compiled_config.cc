#include "edge/compiled_config.h"

#include "config/anycast_config.h"
#include "core/log.h"
#include "edge/limitations.h"

namespace rampart::edge {

AnycastPlan plan_anycast(const config::AnycastConfig& anycast) {
  AnycastPlan plan;
  plan.config = anycast;
  for (const auto& ip : anycast.addresses) plan.prefixes.push_back(config::anycast_prefix(ip));
  return plan;
}

std::shared_ptr<const CompiledConfig> compile_config(const config::Config& cfg,
                                                     const CompiledConfig* previous, int workers,
                                                     telemetry::StatsRegistry* stats,
                                                     const BudgetPlan* budget,
                                                     const ResolvedOrigins* resolved) {
  auto out = std::make_shared<CompiledConfig>();
  if (resolved != nullptr) out->resolved = *resolved;
  // The one walk of cfg.apps: every other part is read off the compiled apps.
  out->snapshot = build_snapshot(cfg, previous != nullptr ? previous->snapshot.get() : nullptr,
                                 workers, stats, budget, resolved);
  const Snapshot& snap = *out->snapshot;

  // edge.anycast is read at start (the publisher starts with the edge); a reload keeps it and
  // says once that a change waits for the restart.
  if (previous == nullptr) {
    out->anycast = plan_anycast(cfg.edge.anycast);
  } else {
    if (!(cfg.edge.anycast == previous->snapshot->config.edge.anycast))
      RLOG_WARN("edge.anycast changed: takes effect at the next restart");
    out->anycast.config = previous->anycast.config;
    out->anycast.prefixes = previous->anycast.prefixes;
  }

  std::vector<xdp::PlanApp> plan_apps;
  for (size_t i = 0; i < snap.apps.size(); ++i) {
    const tcp::AppRuntime& app = *snap.apps[i];
    unenforced_settings(app.cfg, i, &out->warnings);
    if (snap.disabled.count(app.cfg.id) != 0) continue;  // serves nothing: no other part
    plan_apps.push_back({app.cfg.proto, app.cfg.ports, &app.protection, app.cfg.ip_firewall});
    out->health_targets.push_back(app.origins);
    out->anycast.apps.push_back({app.cfg.id, app.origins});
  }
  out->map_plan = xdp::plan_maps(plan_apps, cfg.protection.ipv6_prefix, cfg.ip_access_rules);
  return out;
}

}  // namespace rampart::edge
