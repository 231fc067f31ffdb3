// What the data plane knows of one app while it runs: its validated config, its origin set
// (whose live state outlives reloads that keep the origins) and edge-wide settings it needs.
// Immutable once published in a Snapshot; shared by every worker and by every connection that
// started under it, so an established connection keeps the config it began with.
// Owner: built by edge/snapshot.cc on the thread that applies config; read by the workers.
// It lives in tcp/ because it holds the TCP TLS contexts (tls_context.h); udp/ uses it too
// (udp -> tcp is a peer edge, tcp never includes udp), and edge/ builds it from above.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "guard/policy.h"
#include "net/ip_addr.h"
#include "origin/origin_set.h"
#include "telemetry/app_stats.h"

namespace rampart::tcp {

class TlsContext;  // tcp/tls_context.h: built by the snapshot, used by the TCP sessions

struct AppRuntime {
  config::App cfg;
  std::shared_ptr<origin::OriginSet> origins;
  std::optional<net::IpAddr> egress_v4;  // source address toward IPv4 origins
  std::optional<net::IpAddr> egress_v6;
  // Per origin: bind the egress address before connecting (false when the route picks it anyway).
  std::vector<bool> egress_bind;
  config::ProtectionConfig protection;  // the app's override, else the zone's defaults
  // This worker's share of protection.max_connections for UDP flows (0 = no limit).
  uint64_t max_flows_per_worker = 0;
  // The guard's compiled rules for this app (ACL, limits, validator); never null in a snapshot.
  std::shared_ptr<const guard::AppPolicy> guard;
  // tls != off (TCP): the app's certificates and OpenSSL contexts; null when they could not be
  // built (the app then refuses TLS clients with a tlsError event).
  std::shared_ptr<const TlsContext> tls;
  // The app's live counters (one slot per worker); kept across reloads. Null only in tests.
  std::shared_ptr<telemetry::AppStats> stats;
};

}  // namespace rampart::tcp
