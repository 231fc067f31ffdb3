// The guard's per-source state, like an HAProxy stick table: one entry per (client source, app)
// with its open connections and token buckets, plus one per source (app key 0) with its autoban
// state. A source is an IPv4 address or an IPv6 prefix (protection.ipv6_prefix, /64 by default:
// one /64 is one subscriber, HAProxy's `ipmask`).
//
// Built to be attacked (issue #10): the hash is keyed (SipHash-1-3 with the process's random
// key), so nobody can choose keys that share a bucket; and the table never turns a fresh source
// away because it is full. It keeps its entries on three least-recently-seen lists and, when
// full, evicts in O(1) the oldest entry that remembers nothing worth keeping: first an idle one,
// then one with autoban violations, then a banned one. Entries with open connections are on no
// list and are never evicted; only when every entry has open connections is a new source
// refused (reason table_full), which the descriptor budget makes unreachable in practice.
// sweep() (once a second) drops entries unseen for kIdleMs, walking only the expired ones.
//
// Owned by one worker's Guard; worker thread only, except stats(), readable from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "core/keyed_hash.h"
#include "guard/token_bucket.h"
#include "net/cidr.h"
#include "net/ip_addr.h"

namespace rampart::guard {

struct SourceKey {
  uint8_t addr[16] = {};  // network bytes masked to prefix_len; IPv4 in the first 4 bytes
  uint64_t app = 0;       // 0: the source's own (autoban) entry
  uint8_t v4 = 0;
  uint8_t prefix_len = 0;  // 32 for IPv4; the IPv6 prefix the address was masked to
  bool operator==(const SourceKey& o) const {
    return app == o.app && v4 == o.v4 && prefix_len == o.prefix_len &&
           std::memcmp(addr, o.addr, 16) == 0;
  }
  // The key of the source of `ip` for `app`: an IPv6 address (not IPv4-mapped) is masked to its
  // first v6_prefix bits (1-128; out of range = 128).
  static SourceKey of(const net::IpAddr& ip, uint64_t app, int v6_prefix);
  // What the key covers: 192.0.2.1/32, 2001:db8:1:2::/64.
  net::Cidr cidr() const;
};

// The prefix that stands for `ip` as a source (IPv4 /32; IPv6 /v6_prefix).
net::Cidr source_prefix(const net::IpAddr& ip, int v6_prefix);
// "192.0.2.1" or "2001:db8::1" for a single address, "2001:db8:1:2::/64" for a wider prefix: the
// name of a source in logs, the API and the fleet's ban keys.
std::string source_text(const net::Cidr& source);

// Keyed: SipHash-1-3 under the process key (a test may pass its own).
struct SourceKeyHash {
  core::HashKey key = core::process_hash_key();
  size_t operator()(const SourceKey& k) const;
};

struct SourceEntry {
  uint32_t conns = 0;  // open TCP connections (never evicted or expired while > 0)
  TokenBucket new_conns;
  TokenBucket datagrams;
  int64_t last_seen_ms = 0;
  // Autoban (app 0 entries).
  uint32_t violations = 0;
  int64_t window_start_ms = 0;
  int64_t last_violation_ms = INT64_MIN / 2;
  int64_t banned_until_ms = 0;

  // The table's bookkeeping (SourceTable only).
  SourceEntry* lru_prev = nullptr;
  SourceEntry* lru_next = nullptr;
  const SourceKey* key = nullptr;
  uint8_t tier = 0;
};

// Counters of one table; written by its worker (relaxed load + store), read by anyone.
struct SourceTableStats {
  std::atomic<uint64_t> evicted_idle{0};       // idle entries evicted to make room
  std::atomic<uint64_t> evicted_violators{0};  // ... entries with autoban violations
  std::atomic<uint64_t> evicted_banned{0};     // ... banned entries (the ban is forgotten here)
  std::atomic<uint64_t> refused{0};            // new sources refused: every entry is pinned
  std::atomic<uint64_t> size{0};               // entries in use (gauge)
  std::atomic<uint64_t> capacity{0};
  uint64_t evicted() const {
    return evicted_idle.load(std::memory_order_relaxed) +
           evicted_violators.load(std::memory_order_relaxed) +
           evicted_banned.load(std::memory_order_relaxed);
  }
};

class SourceTable {
 public:
  // An entry unseen for this long (and without connections or a ban) expires.
  static constexpr int64_t kIdleMs = 60'000;
  static constexpr size_t kDefaultCapacity = 100'000;

  explicit SourceTable(size_t capacity = kDefaultCapacity, SourceKeyHash hash = {});
  ~SourceTable() = default;
  SourceTable(const SourceTable&) = delete;
  SourceTable& operator=(const SourceTable&) = delete;

  // The entry of k, or nullptr; does not count as seeing it.
  SourceEntry* find(const SourceKey& k) {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  // The entry of k, seen at now_ms; created when missing, evicting when the table is full.
  // nullptr only when every entry has open connections (stats().refused counts it). `keep`, an
  // entry the caller still holds (a per-app entry while it looks up the source's autoban
  // entry), is never the one evicted.
  SourceEntry* get(const SourceKey& k, int64_t now_ms, const SourceEntry* keep = nullptr);
  // After changing e's conns, violations or ban: puts it on the list those now call for.
  void update(SourceEntry* e);
  // Drops entries unseen for kIdleMs and moves entries whose ban ended; returns how many were
  // dropped. Walks the expired entries and the banned ones, never the whole table.
  size_t sweep(int64_t now_ms);
  // A new capacity (reload); a smaller one evicts down to it now (what can be evicted).
  void set_capacity(size_t capacity);
  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  const SourceTableStats& stats() const { return stats_; }
  template <typename Fn>  // fn(const SourceKey&, const SourceEntry&)
  void for_each(Fn&& fn) const {
    for (const auto& [k, e] : map_) fn(k, e);
  }
  // For tests: the longest bucket chain of the hash table.
  size_t longest_chain() const;

 private:
  enum Tier : uint8_t { kIdle, kViolator, kBanned, kPinned, kTiers };
  struct List {
    SourceEntry* head = nullptr;  // most recently seen
    SourceEntry* tail = nullptr;  // least recently seen
  };
  Tier tier_of(const SourceEntry& e) const;
  void link_front(SourceEntry* e, Tier t);
  void unlink(SourceEntry* e);
  // The entry to evict next (counted as evicted), never `keep`; nullptr when all are pinned.
  SourceEntry* victim(const SourceEntry* keep);
  bool evict_one(const SourceEntry* keep);
  void erase(SourceEntry* e);
  void publish_size() { stats_.size.store(map_.size(), std::memory_order_relaxed); }

  size_t capacity_;
  int64_t now_ms_ = 0;   // the latest clock a caller passed
  List lists_[kPinned];  // idle, violators, banned; pinned entries are on none
  using Map = std::unordered_map<SourceKey, SourceEntry, SourceKeyHash>;
  Map map_;
  SourceTableStats stats_;
};

}  // namespace rampart::guard
