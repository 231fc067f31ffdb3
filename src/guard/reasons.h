// Why the guard dropped something, and the per-worker counters of drops by reason. The counters
// are written by their worker only (relaxed load + store, no read-modify-write) and may be read by
// any thread (metrics).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/guard_filters.h"
#include "telemetry/app_stats.h"

namespace rampart::guard {

enum class Reason : uint8_t {
  kNone,
  kBlockIp,           // ip_access_rules block: ip / ip6 / ip_range
  kBlockCountry,      // ... country
  kBlockAsn,          // ... asn
  kBanned,            // autoban
  kConnLimit,         // per_ip.max_connections
  kAppConnLimit,      // protection.max_connections
  kRateLimit,         // per_ip.new_connections_per_second / burst
  kUdpRateLimit,      // per_ip.udp_packets_per_second / udp_burst
  kReflection,        // a datagram from a udp_reflection_ports source port
  kTableFull,         // the per-source table is full: a new source is shed
  kValidate,          // the first bytes are not the app's protocol
  kHandshakeTimeout,  // no (complete) first bytes within handshake_timeout
  kCount,
};

inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::kCount);
static_assert(kReasonCount <= telemetry::kMaxDropReasons,
              "telemetry::StatsSlot::drops is too small");

// Metrics label: "block_ip", "rate_limit", ... (generated from the filter declarations,
// declarations.h)
const char* reason_name(Reason r);
// ClientMatchedIpFirewall value: Spectrum's BLOCK_IP / BLOCK_COUNTRY / BLOCK_ASN, and Rampart's
// own names for the other filters (BANNED, CONN_LIMIT, RATE_LIMIT, ...).
const char* reason_rule(Reason r);

// The guard's filters as `protection.dry_run` names them (config::kGuardFilterNames, in this
// order). A dry-run filter counts and logs what it would drop and lets it through.
enum class FilterId : uint8_t {
  kAcl,
  kConnLimit,
  kRateLimit,
  kAutoban,
  kValidate,
  kReflection,
  kTable,
  kCount,
};
inline constexpr size_t kFilterCount = static_cast<size_t>(FilterId::kCount);
static_assert(kFilterCount == config::kGuardFilterNames.size(),
              "config::kGuardFilterNames lists every guard filter, in FilterId order");
// The filter that produces r (its dry-run key).
FilterId filter_of(Reason r);
// Bitmask of filters from config names ("acl", ..., "all"); unknown names are ignored.
template <typename Names>
uint32_t dry_run_mask(const Names& names);

struct Counters {
  std::array<std::atomic<uint64_t>, kReasonCount> drops{};
  std::array<std::atomic<uint64_t>, kReasonCount> dry_run{};  // would have dropped
  std::atomic<uint64_t> bans{0};                              // sources banned by autoban

  static void bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  uint64_t drop_count(Reason r) const {
    return drops[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }
  uint64_t dry_run_count(Reason r) const {
    return dry_run[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }
  uint64_t total_drops() const {
    uint64_t t = 0;
    for (const auto& c : drops) t += c.load(std::memory_order_relaxed);
    return t;
  }
};

// The dry-run bit of a filter name (config::kGuardFilterNames); every bit for "all", 0 for an
// unknown name.
uint32_t filter_bit_from_name(std::string_view name);
inline bool dry(uint32_t mask, FilterId f) {
  return (mask >> static_cast<unsigned>(f)) & 1;
}

template <typename Names>
uint32_t dry_run_mask(const Names& names) {
  uint32_t m = 0;
  for (const auto& n : names) m |= filter_bit_from_name(n);
  return m;
}

}  // namespace rampart::guard
