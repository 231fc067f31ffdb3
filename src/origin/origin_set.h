// The origins of one app with their live state (up/down, active connections) and the balancing
// policy. Shared by every worker and the health checker: all mutable state is atomic, so any
// thread may call any method. Survives reloads that leave an app's origins unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::origin {

struct Origin {
  explicit Origin(config::OriginDirect c) : cfg(std::move(c)) {}
  config::OriginDirect cfg;
  std::atomic<int32_t> active{0};       // established + connecting connections
  std::atomic<bool> up{true};           // usable for new connections
  std::atomic<uint32_t> fails{0};       // consecutive failures (checks and live connects)
  std::atomic<uint32_t> rises{0};       // consecutive check successes while down
  std::atomic<int64_t> retry_at_ms{0};  // passive ejection without health checks: retry after
};

class OriginSet {
 public:
  // How long an origin ejected by failed connects stays out when no health check runs.
  static constexpr int64_t kPassiveCooldownMs = 10000;
  static constexpr size_t kMaxOrigins = 64;  // pick() tracks tried origins in a 64-bit mask

  OriginSet(const std::vector<config::OriginDirect>& origins, const config::LoadBalancing& lb);
  OriginSet(const OriginSet&) = delete;
  OriginSet& operator=(const OriginSet&) = delete;

  size_t size() const { return origins_.size(); }
  Origin& at(size_t i) { return *origins_[i]; }
  const config::LoadBalancing& load_balancing() const { return lb_; }
  // True when this set was built from the same origins and balancing settings.
  bool matches(const std::vector<config::OriginDirect>& origins,
               const config::LoadBalancing& lb) const;

  // An origin for a new connection from `client`, skipping those whose bit is set in `tried`;
  // -1 when none is usable (all down or tried).
  int pick(const net::IpAddr& client, uint64_t tried, int64_t now_ms);
  // Passive health: the outcome of a live connect.
  void report_connect(size_t i, bool ok, int64_t now_ms);
  // Active health: the outcome of a health check.
  void report_check(size_t i, bool ok);
  bool any_up(int64_t now_ms) const;

 private:
  bool usable(const Origin& o, int64_t now_ms) const;

  config::LoadBalancing lb_;
  std::vector<std::unique_ptr<Origin>> origins_;
  std::atomic<uint32_t> rr_{0};
};

// The score of `origin_index` for `client` under rendezvous (highest random weight) hashing:
// adding or removing one origin moves only the clients that hashed to it.
uint64_t rendezvous_score(const net::IpAddr& client, const config::OriginDirect& origin);

}  // namespace rampart::origin
