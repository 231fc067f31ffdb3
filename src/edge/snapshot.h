// An immutable view of the running configuration as the data plane needs it: every app's
// runtime and every (protocol, address, port) to listen on. Built by the control side on start
// and on every reload, then handed to each worker, which diffs its listeners against it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "edge/budget.h"
#include "net/ip_addr.h"
#include "tcp/app_runtime.h"
#include "telemetry/stats_registry.h"

namespace rampart::edge {

struct Bind {
  config::Proto proto = config::Proto::kTcp;
  net::SockAddr addr;
  std::shared_ptr<const tcp::AppRuntime> app;
  // Identity of the listening socket across snapshots: "tcp 1.2.3.4:22".
  std::string key() const;
  // Whether the listener's reuseport group carries the steering program (guard/reuseport.h):
  // its app's guard keeps per-source state, exact only when one source reaches one worker.
  bool steered(int workers) const;
  // The IPv6 prefix the program keeps together: the app's (its per-source limits) or the zone's
  // (autoban and bans), whichever is shorter.
  int steering_prefix(const config::Config& cfg) const;
};

struct Snapshot {
  config::Config config;
  std::vector<std::shared_ptr<const tcp::AppRuntime>> apps;
  std::vector<Bind> binds;
  int workers = 1;  // sockets per SO_REUSEPORT group: what the steering program hashes onto
  // The guard's compiled access rules (shared by every app's policy), with each rule's refusals.
  std::shared_ptr<const guard::ZoneRules> zone;
  // Apps the data plane runs disabled, with why: their TLS could not be set up (a certificate
  // file removed or unreadable, a key that does not load) and no earlier one is kept. They stay
  // in `apps` (counters, origins) but have no binds: their ports stay closed.
  std::map<std::string, std::string> disabled;
};

// Every (protocol, address, port) that `cfg` listens on, in order, each once: the binds'
// addresses before the snapshot exists (Edge::prepare). Apps are not judged for disabling.
std::vector<std::pair<config::Proto, net::SockAddr>> listen_addresses(const config::Config& cfg);

// The current addresses of origin_dns apps, by app id (resolve::OriginResolver): what the
// snapshot turns into their origins. An app missing here has none (531).
using ResolvedOrigins = std::map<std::string, std::vector<net::IpAddr>>;
// The origins of `app`: its origin_direct entries, or one per resolved address of its
// origin_dns name with origin_port (same offset mapping as an origin_direct range).
std::vector<config::OriginDirect> app_origins(const config::App& app,
                                              const ResolvedOrigins* resolved);
std::string bind_key(config::Proto proto, const net::SockAddr& addr);

// Builds a snapshot from a validated config. Apps whose origins and balancing are unchanged
// since `previous` keep their OriginSet, hence their health state and connection counts.
// `stats` (may be null in tests) gives every app its live counters. With `budget`, every app's
// protection.max_connections is clamped to the budget of its protocol (one warning names them).
// `resolved` gives origin_dns apps their addresses (null: none yet).
std::shared_ptr<const Snapshot> build_snapshot(const config::Config& cfg, const Snapshot* previous,
                                               int workers,
                                               telemetry::StatsRegistry* stats = nullptr,
                                               const BudgetPlan* budget = nullptr,
                                               const ResolvedOrigins* resolved = nullptr);

}  // namespace rampart::edge
