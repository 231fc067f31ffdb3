// The origins of one app with their live state (up/down, active connections) and the balancing
// policy. Shared by every worker and the health checker: all mutable state is atomic, so any
// thread may call any method. Survives reloads that leave an app's origins unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
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

// One connection's place in an origin's `active` count: taken when the connection picks the
// origin, given back when the lease is reset or destroyed (never by hand). Moves, never copies.
// The OriginSet must outlive it (a connection holds its app, which holds the set). Owned by one
// connection; its thread.
class OriginLease {
 public:
  OriginLease() = default;
  OriginLease(OriginSet& set, size_t i) : origin_(&set.at(i)), index_(static_cast<int>(i)) {
    origin_->active.fetch_add(1, std::memory_order_relaxed);
  }
  OriginLease(OriginLease&& o) noexcept
      : origin_(std::exchange(o.origin_, nullptr)), index_(std::exchange(o.index_, -1)) {}
  OriginLease& operator=(OriginLease&& o) noexcept {
    if (this != &o) {
      reset();
      origin_ = std::exchange(o.origin_, nullptr);
      index_ = std::exchange(o.index_, -1);
    }
    return *this;
  }
  OriginLease(const OriginLease&) = delete;
  OriginLease& operator=(const OriginLease&) = delete;
  ~OriginLease() { reset(); }

  bool held() const { return origin_ != nullptr; }
  int index() const { return index_; }  // -1 when none
  Origin* origin() const { return origin_; }
  void reset() {
    if (origin_ != nullptr) origin_->active.fetch_sub(1, std::memory_order_relaxed);
    origin_ = nullptr;
    index_ = -1;
  }

 private:
  Origin* origin_ = nullptr;
  int index_ = -1;
};

// The score of `origin_index` for `client` under rendezvous (highest random weight) hashing:
// adding or removing one origin moves only the clients that hashed to it.
uint64_t rendezvous_score(const net::IpAddr& client, const config::OriginDirect& origin);

}  // namespace rampart::origin
