// FNV-1a, 64 bits: a stable, unkeyed hash for identities that must be the same in every process
// and build (origin rendezvous scores, app keys, embedded BPF objects). Not for tables an attacker
// fills: those use core/keyed_hash.h. Header-only; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rampart::core {

// Not FNV's published offset basis (14695981039346656037, one digit longer): the value Rampart's
// origin rendezvous and guard app keys were first written with, kept so that neither changes
// across an upgrade (a client keeps its origin). The hash is as good with either.
inline constexpr uint64_t kFnvOffset = 1469598103934665603ull;

// The hash of n bytes at p, continuing from h (kFnvOffset to start).
inline uint64_t fnv1a(const void* p, size_t n, uint64_t h = kFnvOffset) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) {
  return fnv1a(s.data(), s.size(), h);
}

}  // namespace rampart::core
