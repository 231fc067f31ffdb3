#include "guard/source_table.h"

#include <algorithm>
#include <array>

namespace rampart::guard {

namespace {

int clamp_v6_prefix(int v6_prefix) {
  return v6_prefix >= 1 && v6_prefix <= 128 ? v6_prefix : 128;
}

void bump(std::atomic<uint64_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

SourceKey SourceKey::of(const net::IpAddr& addr, uint64_t app, int v6_prefix) {
  SourceKey k;
  const net::IpAddr ip = addr.unmapped();
  k.app = app;
  if (ip.is_v4()) {
    k.v4 = 1;
    k.prefix_len = 32;
    std::memcpy(k.addr, ip.bytes(), 4);
    return k;
  }
  const int len = clamp_v6_prefix(v6_prefix);
  k.prefix_len = static_cast<uint8_t>(len);
  std::memcpy(k.addr, ip.bytes(), 16);
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(len - i * 8, 0, 8);
    k.addr[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  return k;
}

net::Cidr SourceKey::cidr() const {
  if (v4) {
    const uint32_t a = static_cast<uint32_t>(addr[0]) << 24 | static_cast<uint32_t>(addr[1]) << 16 |
                       static_cast<uint32_t>(addr[2]) << 8 | addr[3];
    return *net::Cidr::from(net::IpAddr::v4(a), 32);
  }
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), addr, 16);
  return *net::Cidr::from(net::IpAddr::v6(b), prefix_len);
}

net::Cidr source_prefix(const net::IpAddr& addr, int v6_prefix) {
  const net::IpAddr ip = addr.unmapped();
  return *net::Cidr::from(ip, ip.is_v4() ? 32 : clamp_v6_prefix(v6_prefix));
}

std::string source_text(const net::Cidr& source) {
  const bool host = source.prefix_len() == (source.base().is_v4() ? 32 : 128);
  return host ? source.base().to_string() : source.to_string();
}

size_t SourceKeyHash::operator()(const SourceKey& k) const {
  // 26 meaningful bytes, laid out without padding so that equal keys hash equally.
  uint8_t buf[26];
  std::memcpy(buf, k.addr, 16);
  std::memcpy(buf + 16, &k.app, 8);
  buf[24] = k.v4;
  buf[25] = k.prefix_len;
  return static_cast<size_t>(core::siphash13(key, buf, sizeof buf));
}

SourceTable::SourceTable(size_t capacity, SourceKeyHash hash)
    : capacity_(std::max<size_t>(capacity, 1)), map_(0, hash) {
  map_.reserve(std::min<size_t>(capacity_, 1 << 16) / 4 + 16);
  stats_.capacity.store(capacity_, std::memory_order_relaxed);
}

SourceTable::Tier SourceTable::tier_of(const SourceEntry& e) const {
  if (e.conns > 0) return kPinned;
  if (e.banned_until_ms > now_ms_) return kBanned;
  if (e.violations > 0) return kViolator;
  return kIdle;
}

void SourceTable::link_front(SourceEntry* e, Tier t) {
  e->tier = t;
  e->lru_prev = e->lru_next = nullptr;
  if (t == kPinned) return;
  List& l = lists_[t];
  e->lru_next = l.head;
  if (l.head != nullptr) l.head->lru_prev = e;
  l.head = e;
  if (l.tail == nullptr) l.tail = e;
}

void SourceTable::unlink(SourceEntry* e) {
  if (e->tier == kPinned) return;
  List& l = lists_[e->tier];
  if (e->lru_prev != nullptr)
    e->lru_prev->lru_next = e->lru_next;
  else
    l.head = e->lru_next;
  if (e->lru_next != nullptr)
    e->lru_next->lru_prev = e->lru_prev;
  else
    l.tail = e->lru_prev;
  e->lru_prev = e->lru_next = nullptr;
}

void SourceTable::erase(SourceEntry* e) {
  unlink(e);
  map_.erase(*e->key);
  publish_size();
}

SourceEntry* SourceTable::victim(const SourceEntry* keep) {
  static constexpr Tier kOrder[] = {kIdle, kViolator, kBanned};
  for (Tier t : kOrder) {
    SourceEntry* v = lists_[t].tail;
    if (v == keep && v != nullptr) v = v->lru_prev;
    if (v == nullptr) continue;
    bump(t == kIdle       ? stats_.evicted_idle
         : t == kViolator ? stats_.evicted_violators
                          : stats_.evicted_banned);
    return v;
  }
  return nullptr;
}

bool SourceTable::evict_one(const SourceEntry* keep) {
  SourceEntry* v = victim(keep);
  if (v == nullptr) return false;
  erase(v);
  return true;
}

SourceEntry* SourceTable::get(const SourceKey& k, int64_t now_ms, const SourceEntry* keep) {
  now_ms_ = std::max(now_ms_, now_ms);
  auto it = map_.find(k);
  if (it != map_.end()) {
    SourceEntry* e = &it->second;
    e->last_seen_ms = now_ms;
    unlink(e);
    link_front(e, tier_of(*e));  // also catches a ban that ended since
    return e;
  }
  // One eviction makes room, except after a shrink that pinned entries held above capacity:
  // then each new source brings the table back down. The evicted node is reused for the new
  // entry: a flood of new sources costs no allocation.
  Map::node_type spare;
  while (map_.size() >= capacity_) {
    SourceEntry* v = victim(keep);
    if (v == nullptr) {
      bump(stats_.refused);
      publish_size();
      return nullptr;
    }
    unlink(v);
    spare = map_.extract(*v->key);
  }
  Map::iterator pos;
  if (spare) {
    spare.key() = k;
    spare.mapped() = SourceEntry{};
    pos = map_.insert(std::move(spare)).position;
  } else {
    pos = map_.try_emplace(k).first;
  }
  SourceEntry* e = &pos->second;
  e->key = &pos->first;
  e->last_seen_ms = now_ms;
  link_front(e, kIdle);
  publish_size();
  return e;
}

void SourceTable::update(SourceEntry* e) {
  const Tier t = tier_of(*e);
  if (t == e->tier) return;
  unlink(e);
  // Leaving the pinned tier (the last connection closed) counts as being seen now: the lists
  // stay ordered by last_seen_ms, which sweep() relies on.
  if (e->tier == kPinned) e->last_seen_ms = std::max(e->last_seen_ms, now_ms_);
  link_front(e, t);
}

size_t SourceTable::sweep(int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  size_t removed = 0;
  // Bans that ended: back among the idle entries (or the violators), as if seen now.
  for (SourceEntry* e = lists_[kBanned].head; e != nullptr;) {
    SourceEntry* next = e->lru_next;
    if (e->banned_until_ms <= now_ms_) {
      unlink(e);
      e->last_seen_ms = std::max(e->last_seen_ms, now_ms_);
      link_front(e, tier_of(*e));
    }
    e = next;
  }
  for (Tier t : {kIdle, kViolator}) {
    List& l = lists_[t];
    while (l.tail != nullptr && now_ms_ - l.tail->last_seen_ms >= kIdleMs) {
      erase(l.tail);
      ++removed;
    }
  }
  // Above capacity after a shrink (entries pinned then, free now): back down to it.
  while (map_.size() > capacity_ && evict_one(nullptr)) {
  }
  publish_size();
  return removed;
}

void SourceTable::set_capacity(size_t capacity) {
  capacity_ = std::max<size_t>(capacity, 1);
  stats_.capacity.store(capacity_, std::memory_order_relaxed);
  while (map_.size() > capacity_ && evict_one(nullptr)) {
  }
  publish_size();
}

size_t SourceTable::longest_chain() const {
  size_t longest = 0;
  for (size_t b = 0; b < map_.bucket_count(); ++b) longest = std::max(longest, map_.bucket_size(b));
  return longest;
}

}  // namespace rampart::guard
