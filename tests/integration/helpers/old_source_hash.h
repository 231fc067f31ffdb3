// The guard's source-table hash before issue #10 (unkeyed), and keys that all fall into one
// bucket of it: the hash-flooding attack of issue #10 ("40,000 IPv6 addresses from one /64,
// chosen to collide, make each lookup ~500x slower"). Shared by the unit test
// (tests/unit/guard/source_table_test.cc), which checks that the keys do collide under the old
// hash and not under the keyed one, and by helpers/collide.cc, which writes them for
// test_attack_source_table.sh. Header-only, no Rampart dependency.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace old_source_hash {

constexpr uint64_t kC1 = 0x9E3779B97F4A7C15ull, kC2 = 0xC2B2AE3D27D4EB4Full,
                   kC3 = 0xBF58476D1CE4E5B9ull;

// The key layout the hash read (addr, v4, app), as src/guard/source_table.h had it.
struct Key {
  uint8_t addr[16] = {};
  uint8_t v4 = 0;
  uint64_t app = 0;
  bool operator==(const Key& o) const {
    return app == o.app && v4 == o.v4 && std::memcmp(addr, o.addr, 16) == 0;
  }
};

// SourceKeyHash::operator() before issue #10.
struct Hash {
  size_t operator()(const Key& k) const {
    uint64_t a, b;
    std::memcpy(&a, k.addr, 8);
    std::memcpy(&b, k.addr + 8, 8);
    uint64_t h = a * kC1 ^ (b + k.v4) * kC2 ^ k.app;
    h ^= h >> 29;
    h *= kC3;
    h ^= h >> 32;
    return static_cast<size_t>(h);
  }
};

// The app key of the per-app entries (FNV-1a of the app id, guard::app_key).
inline uint64_t app_key(const std::string& id) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  return h == 0 ? 1 : h;
}

// x * inverse(x) == 1 mod 2^64 (x odd), by Newton's iteration.
inline uint64_t inverse(uint64_t x) {
  uint64_t y = x;
  for (int i = 0; i < 6; ++i) y *= 2 - x * y;
  return y;
}

// The low 64 bits of the address whose hash is `h`, for the /64 `prefix` (8 network bytes) and
// app key `app`: the hash's final mix is a bijection, so it is run backwards.
inline uint64_t suffix_for(uint64_t h, const uint8_t prefix[8], uint64_t app) {
  h ^= h >> 32;
  h *= inverse(kC3);
  h ^= (h >> 29) ^ (h >> 58);
  uint64_t a;
  std::memcpy(&a, prefix, 8);
  return (h ^ (a * kC1) ^ app) * inverse(kC2);
}

// The bucket counts an old source table (std::unordered_map reserved for capacity / 4 + 16, the
// old constructor) goes through while it grows to n entries, on this standard library.
inline std::vector<size_t> bucket_counts(size_t capacity, size_t n) {
  std::unordered_map<Key, int, Hash> m;
  m.reserve(capacity / 4 + 16);
  std::vector<size_t> seen{m.bucket_count()};
  for (size_t i = 0; i < n; ++i) {
    Key k;
    std::memcpy(k.addr + 8, &i, sizeof i);
    m.emplace(k, 0);
    if (m.bucket_count() != seen.back()) seen.push_back(m.bucket_count());
  }
  return seen;
}

// n IPv6 keys of the /64 `prefix` for app key `app` whose old hashes are all multiples of every
// bucket count the old table has while it holds them: they share bucket 0 at every size.
inline std::vector<Key> colliding_keys(const uint8_t prefix[8], uint64_t app, size_t n,
                                       size_t capacity = 100'000) {
  unsigned __int128 period = 1;
  for (size_t b : bucket_counts(capacity, n)) period *= b;
  std::vector<Key> out;
  if (period >> 64 != 0 || (~uint64_t{0} / static_cast<uint64_t>(period)) < n) return out;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = static_cast<uint64_t>(period) * (i + 1);
    Key k;
    std::memcpy(k.addr, prefix, 8);
    const uint64_t suffix = suffix_for(h, prefix, app);
    std::memcpy(k.addr + 8, &suffix, 8);
    k.app = app;
    out.push_back(k);
  }
  return out;
}

}  // namespace old_source_hash
