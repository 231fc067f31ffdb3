#include "guard/source_table.h"

namespace rampart::guard {

SourceKey SourceKey::of(const net::IpAddr& addr, uint64_t app) {
  SourceKey k;
  const net::IpAddr ip = addr.unmapped();
  k.v4 = ip.is_v4() ? 1 : 0;
  std::memcpy(k.addr, ip.bytes(), ip.size());
  k.app = app;
  return k;
}

size_t SourceKeyHash::operator()(const SourceKey& k) const {
  uint64_t a, b;
  std::memcpy(&a, k.addr, 8);
  std::memcpy(&b, k.addr + 8, 8);
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + k.v4) * 0xC2B2AE3D27D4EB4Full ^ k.app;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return static_cast<size_t>(h);
}

SourceEntry* SourceTable::get(const SourceKey& k, int64_t now_ms) {
  auto it = map_.find(k);
  if (it != map_.end()) {
    it->second.last_seen_ms = now_ms;
    return &it->second;
  }
  if (map_.size() >= capacity_) return nullptr;
  SourceEntry& e = map_[k];
  e.last_seen_ms = now_ms;
  return &e;
}

size_t SourceTable::sweep(int64_t now_ms) {
  size_t removed = 0;
  for (auto it = map_.begin(); it != map_.end();) {
    const SourceEntry& e = it->second;
    if (e.conns == 0 && e.banned_until_ms <= now_ms && now_ms - e.last_seen_ms >= kIdleMs) {
      it = map_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace rampart::guard
