// The guard's per-source state, like an HAProxy stick table: one entry per (client address,
// app) with its open connections and token buckets, plus one per address (app key 0) with its
// autoban state. Bounded: when full, a new source gets no entry (the caller sheds it and counts
// it) until sweep() has expired idle entries. Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "guard/token_bucket.h"
#include "net/ip_addr.h"

namespace rampart::guard {

struct SourceKey {
  uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
  uint8_t v4 = 0;
  uint64_t app = 0;  // 0: the address's own (autoban) entry
  bool operator==(const SourceKey& o) const {
    return app == o.app && v4 == o.v4 && std::memcmp(addr, o.addr, 16) == 0;
  }
  static SourceKey of(const net::IpAddr& ip, uint64_t app);
};

struct SourceKeyHash {
  size_t operator()(const SourceKey& k) const;
};

struct SourceEntry {
  uint32_t conns = 0;  // open TCP connections (never expired while > 0)
  TokenBucket new_conns;
  TokenBucket datagrams;
  int64_t last_seen_ms = 0;
  // Autoban (app 0 entries).
  uint32_t violations = 0;
  int64_t window_start_ms = 0;
  int64_t last_violation_ms = INT64_MIN / 2;
  int64_t banned_until_ms = 0;
};

class SourceTable {
 public:
  // An entry without activity for this long (and without connections or a ban) expires.
  static constexpr int64_t kIdleMs = 60'000;

  explicit SourceTable(size_t capacity) : capacity_(capacity) { map_.reserve(capacity / 4 + 16); }

  SourceEntry* find(const SourceKey& k) {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  // The entry for k, created when missing; nullptr when the table is full.
  SourceEntry* get(const SourceKey& k, int64_t now_ms);
  // Drops idle entries; returns how many.
  size_t sweep(int64_t now_ms);
  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  template <typename Fn>  // fn(const SourceKey&, const SourceEntry&)
  void for_each(Fn&& fn) const {
    for (const auto& [k, e] : map_) fn(k, e);
  }

 private:
  size_t capacity_;
  std::unordered_map<SourceKey, SourceEntry, SourceKeyHash> map_;
};

}  // namespace rampart::guard
