// SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed hash for
// the tables whose keys an attacker chooses (client addresses and ports). Without the key an
// attacker cannot tell which keys share a bucket, so he cannot pile his keys into one chain
// ("hash flooding"). SipHash-1-3 (one compression round, three finalization rounds; what Rust's
// HashMap and CPython use) is the hot-path choice; SipHash-2-4 (the paper's PRF) is here for the
// reference test vectors and for anything that wants the conservative variant.
//
// process_hash_key() is one random 128-bit key per process, drawn from getrandom() on first
// use. Pure functions otherwise: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rampart::core {

struct HashKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
  // The paper's key bytes (k0 = bytes 0-7 little-endian, k1 = bytes 8-15).
  static HashKey from_bytes(const uint8_t bytes[16]);
};

namespace detail {

inline uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
};

}  // namespace detail

inline HashKey HashKey::from_bytes(const uint8_t bytes[16]) {
  return HashKey{detail::load_le64(bytes), detail::load_le64(bytes + 8)};
}

// SipHash-C-D of `len` bytes at `data` under `key`, as the 64-bit output read little-endian.
template <int C, int D>
inline uint64_t siphash(const HashKey& key, const void* data, size_t len) {
  detail::SipState s{key.k0 ^ 0x736f6d6570736575ull, key.k1 ^ 0x646f72616e646f6dull,
                     key.k0 ^ 0x6c7967656e657261ull, key.k1 ^ 0x7465646279746573ull};
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    const uint64_t m = detail::load_le64(p + i);
    s.v3 ^= m;
    for (int r = 0; r < C; ++r) s.round();
    s.v0 ^= m;
  }
  // The last block: the remaining 0-7 bytes, and the length's low byte on top.
  uint64_t b = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) b |= static_cast<uint64_t>(p[whole + i]) << (8 * i);
  s.v3 ^= b;
  for (int r = 0; r < C; ++r) s.round();
  s.v0 ^= b;
  s.v2 ^= 0xff;
  for (int r = 0; r < D; ++r) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

inline uint64_t siphash13(const HashKey& key, const void* data, size_t len) {
  return siphash<1, 3>(key, data, len);
}
inline uint64_t siphash24(const HashKey& key, const void* data, size_t len) {
  return siphash<2, 4>(key, data, len);
}

// This process's secret key (getrandom(2) on first use; the same for every thread after that).
const HashKey& process_hash_key();

}  // namespace rampart::core
