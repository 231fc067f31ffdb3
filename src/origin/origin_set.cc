#include "origin/origin_set.h"

#include "core/fnv.h"
#include "core/log.h"

namespace rampart::origin {

namespace {
uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}
}  // namespace

uint64_t rendezvous_score(const net::IpAddr& client, const config::OriginDirect& origin) {
  uint64_t h = core::fnv1a(client.bytes(), client.size());
  h = core::fnv1a(origin.ip.bytes(), origin.ip.size(), h);
  uint8_t port[2] = {static_cast<uint8_t>(origin.ports.first >> 8),
                     static_cast<uint8_t>(origin.ports.first)};
  return mix(core::fnv1a(port, 2, h));
}

OriginSet::OriginSet(const std::vector<config::OriginDirect>& origins,
                     const config::LoadBalancing& lb)
    : lb_(lb) {
  for (const auto& o : origins) {
    if (origins_.size() == kMaxOrigins) break;
    origins_.push_back(std::make_unique<Origin>(o));
  }
}

bool OriginSet::matches(const std::vector<config::OriginDirect>& origins,
                        const config::LoadBalancing& lb) const {
  if (!(lb == lb_) || origins.size() != origins_.size()) return false;
  for (size_t i = 0; i < origins.size(); ++i)
    if (!(origins[i] == origins_[i]->cfg)) return false;
  return true;
}

bool OriginSet::usable(const Origin& o, int64_t now_ms) const {
  if (o.up.load(std::memory_order_relaxed)) return true;
  // Without active checks nothing would ever bring an ejected origin back: retry it after a
  // cool-down; the first connection that succeeds marks it up again.
  return !lb_.health_check.enabled && now_ms >= o.retry_at_ms.load(std::memory_order_relaxed);
}

int OriginSet::pick(const net::IpAddr& client, uint64_t tried, int64_t now_ms) {
  const size_t n = origins_.size();
  if (n == 0) return -1;
  switch (lb_.policy) {
    case config::LbPolicy::kRoundRobin: {
      uint32_t start = rr_.fetch_add(1, std::memory_order_relaxed);
      for (size_t k = 0; k < n; ++k) {
        size_t i = (start + k) % n;
        if (!(tried >> i & 1) && usable(*origins_[i], now_ms)) return static_cast<int>(i);
      }
      return -1;
    }
    case config::LbPolicy::kLeastConnections: {
      uint32_t start = rr_.fetch_add(1, std::memory_order_relaxed);
      int best = -1;
      int32_t best_active = 0;
      for (size_t k = 0; k < n; ++k) {
        size_t i = (start + k) % n;
        if ((tried >> i & 1) || !usable(*origins_[i], now_ms)) continue;
        int32_t a = origins_[i]->active.load(std::memory_order_relaxed);
        if (best < 0 || a < best_active) {
          best = static_cast<int>(i);
          best_active = a;
        }
      }
      return best;
    }
    case config::LbPolicy::kHash: {
      int best = -1;
      uint64_t best_score = 0;
      for (size_t i = 0; i < n; ++i) {
        if ((tried >> i & 1) || !usable(*origins_[i], now_ms)) continue;
        uint64_t s = rendezvous_score(client, origins_[i]->cfg);
        if (best < 0 || s > best_score) {
          best = static_cast<int>(i);
          best_score = s;
        }
      }
      return best;
    }
  }
  return -1;
}

void OriginSet::report_connect(size_t i, bool ok, int64_t now_ms) {
  Origin& o = *origins_[i];
  if (ok) {
    o.fails.store(0, std::memory_order_relaxed);
    if (!lb_.health_check.enabled && !o.up.load(std::memory_order_relaxed)) {
      o.up.store(true);
      RLOG_INFO("origin ", o.cfg.text, " is up again (a connection succeeded)");
    }
    return;
  }
  uint32_t f = o.fails.fetch_add(1, std::memory_order_relaxed) + 1;
  if (f >= lb_.health_check.fall) {
    o.retry_at_ms.store(now_ms + kPassiveCooldownMs, std::memory_order_relaxed);
    o.rises.store(0, std::memory_order_relaxed);
    if (o.up.exchange(false)) {
      RLOG_WARN("origin ", o.cfg.text, " marked down after ", f, " failed connection(s)");
    }
  }
}

void OriginSet::report_check(size_t i, bool ok) {
  Origin& o = *origins_[i];
  if (ok) {
    o.fails.store(0, std::memory_order_relaxed);
    if (!o.up.load(std::memory_order_relaxed) &&
        o.rises.fetch_add(1, std::memory_order_relaxed) + 1 >= lb_.health_check.rise) {
      o.up.store(true);
      RLOG_INFO("origin ", o.cfg.text, " is up (health check)");
    }
    return;
  }
  o.rises.store(0, std::memory_order_relaxed);
  uint32_t f = o.fails.fetch_add(1, std::memory_order_relaxed) + 1;
  if (f >= lb_.health_check.fall && o.up.exchange(false)) {
    RLOG_WARN("origin ", o.cfg.text, " marked down after ", f, " failed health check(s)");
  }
}

bool OriginSet::any_up(int64_t now_ms) const {
  for (const auto& o : origins_)
    if (usable(*o, now_ms)) return true;
  return false;
}

}  // namespace rampart::origin
