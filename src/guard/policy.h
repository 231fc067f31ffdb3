// The guard's rules compiled from a config, once per Snapshot (never per packet): the zone's IP
// access rules as a prefix trie plus country/ASN tables, the GeoIP databases, and each app's
// limits. Immutable once built and shared read-only by every worker; the only mutable part is
// the app's live connection count, an atomic that survives reloads which keep the app.
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "guard/filter.h"
#include "guard/geoip.h"
#include "guard/reasons.h"
#include "net/cidr.h"

namespace rampart::guard {

// What one access rule refused since start (TCP connections; UDP datagrams): the API's
// .../access_rules/hits and rampart_access_rule_refused_total. One counter per worker, each on
// its own cache line, so that workers refusing a flood never write the same line; read by any
// thread (the sum). Shared by the snapshots that keep the rule's id (a reload keeps the count).
class RuleHits {
 public:
  explicit RuleHits(int workers)
      : n_(workers > 0 ? static_cast<size_t>(workers) : 1), slots_(new Slot[n_]) {}
  // Worker thread: one refusal by `worker` (no allocation, no lock).
  void refused(int worker) {
    slots_[static_cast<size_t>(worker) % n_].n.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t total() const {
    uint64_t sum = 0;
    for (size_t i = 0; i < n_; ++i) sum += slots_[i].n.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> n{0};
  };
  size_t n_;
  std::unique_ptr<Slot[]> slots_;
};

struct AclMatch {
  config::AccessMode mode = config::AccessMode::kBlock;
  config::AccessTarget target = config::AccessTarget::kIp;
  RuleHits* hits = nullptr;  // the rule's refusals; owned by ZoneRules::rules (null in tests)
};

// One rule of ip_access_rules (file and API) and its counter, in the config's order.
struct RuleCount {
  std::string id;
  std::shared_ptr<RuleHits> hits;
};

struct ZoneRules {
  std::vector<RuleCount> rules;   // every rule, also one shadowed by an equal rule before it
  net::PrefixTrie<AclMatch> ips;  // ip, ip6, ip_range
  std::unordered_map<std::string, AclMatch> countries;  // "US"
  std::unordered_map<uint32_t, AclMatch> asns;
  std::shared_ptr<const GeoDb> country_db;
  std::shared_ptr<const GeoDb> asn_db;
  bool empty() const { return ips.empty() && countries.empty() && asns.empty(); }
  bool has_geo_rules() const { return !countries.empty() || !asns.empty(); }
  bool has_geo_db() const { return country_db || asn_db; }
  // The most specific rule for `ip` (Cloudflare's order: ip / ip_range by longest prefix, then
  // ASN, then country); nullptr when none matches. `geo` must be looked up by the caller.
  const AclMatch* match(const net::IpAddr& ip, const GeoInfo& geo) const;
  void lookup_geo(const net::IpAddr& ip, GeoInfo* out) const;
};

// Compiles the zone-wide rules and opens the GeoIP databases. Problems that cannot stop a
// validated config (a database that will not open) are appended to `warnings`. A rule whose id
// `previous` (the last snapshot's rules, may be null) has keeps its refusal count; `workers`
// sizes a new rule's counter.
std::shared_ptr<const ZoneRules> compile_zone(const config::Config& cfg,
                                              std::vector<std::string>* warnings,
                                              const ZoneRules* previous = nullptr, int workers = 1);

// The guard's view of one app: its limits and, flattened from them, the chains of the filters
// it configures (filter.h), one per hook.
struct AppPolicy {
  std::string app_id;
  config::Proto proto = config::Proto::kTcp;
  uint64_t key = 0;  // per-source table key of the app (hash of its id; never 0)
  bool ip_firewall = false;
  std::shared_ptr<const ZoneRules> zone;
  config::PerIpLimits per_ip;
  int v6_prefix = 64;            // IPv6 sources are tracked per prefix of this length (limits)
  uint64_t max_connections = 0;  // per app, all sources and workers
  config::AutobanConfig autoban;
  std::bitset<65536> reflection_ports;
  bool has_reflection_ports = false;
  config::Validator validator = config::Validator::kNone;
  uint32_t dry_run = 0;  // bit (1 << FilterId)
  // Open TCP connections of the app across workers. Shared with the app's previous policy.
  std::shared_ptr<std::atomic<int64_t>> connections;
  // The app's live counters: drops by reason go to the guard's worker slot. Null in tests.
  std::shared_ptr<telemetry::AppStats> stats;

  // Only the configured filters, in chain order (declarations.h); empty hooks are empty.
  std::vector<const Filter*> on_accept;
  std::vector<const Filter*> on_first_bytes;
  std::vector<const Filter*> on_datagram;
  // A filter of the app keeps per-source state: the listeners must steer every connection (or
  // datagram) of one source to one worker (reuseport.h). The one owner of that decision.
  bool needs_steering = false;

  bool dry(FilterId f) const { return guard::dry(dry_run, f); }
};

// `previous` (the same app's policy in the last snapshot, may be null) lends its live counter.
std::shared_ptr<const AppPolicy> compile_app(const config::App& app,
                                             const config::ProtectionConfig& protection,
                                             std::shared_ptr<const ZoneRules> zone,
                                             const AppPolicy* previous,
                                             std::shared_ptr<telemetry::AppStats> stats = nullptr);

uint64_t app_key(const std::string& app_id);

}  // namespace rampart::guard
