// Live counters of one app: one StatsSlot per worker, written by that worker only (relaxed load
// + store, no read-modify-write, no lock) and summed by readers on any thread (metrics, the
// analytics API, the dashboard sampler). AppStats objects live in a StatsRegistry keyed by app
// id, so they outlive reloads and config snapshots.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "telemetry/conn_event.h"
#include "telemetry/counter.h"

namespace rampart::telemetry {

inline constexpr size_t kEventTypes = 7;  // EventType values
// Spectrum's status codes in a fixed order (SPEC §5 plus 525/526); index 0 is "other".
inline constexpr std::array<uint16_t, 19> kStatusCodes{
    0, 0, 200, 403, 443, 444, 445, 448, 490, 497, 498, 499, 521, 522, 523, 525, 526, 531, 999};
inline constexpr size_t kStatusSlots = kStatusCodes.size();
size_t status_slot(uint16_t status);  // 0 for a code outside the table
// Index 1 is the real status 0 ("connection opened"); slot 0 is never a valid code.
inline uint16_t status_of_slot(size_t slot) {
  return kStatusCodes[slot];
}

inline constexpr size_t kMaxDropReasons = 16;  // guard::kReasonCount fits (static_assert there)
// Connection durations: bucket b holds durations d (ms) with floor(4 * log2(d + 1)) == b.
inline constexpr size_t kDurationBuckets = 160;
size_t duration_bucket(uint64_t ms);
// The lower and upper bound (ms) of bucket b.
double duration_bucket_low(size_t b);
double duration_bucket_high(size_t b);

// Per country: 26 * 26 ISO 3166 alpha-2 codes plus "unknown" (no GeoIP answer).
inline constexpr size_t kCountrySlots = 26 * 26 + 1;
size_t country_slot(const char* iso2);     // kCountrySlots - 1 for unknown
std::string country_of_slot(size_t slot);  // "" for unknown

struct CountryCounters {
  std::array<Counter, kCountrySlots> connections;
  std::array<Counter, kCountrySlots> bytes_ingress;
  std::array<Counter, kCountrySlots> bytes_egress;
};

// Connections per client ASN: an open-addressing table of kAsnSlots numbers written by one
// worker (a slot's number is set once, before its counter moves) and read by anyone; probing
// starts at a keyed hash of the number. ASNs that find the table full are counted in `other`.
inline constexpr size_t kAsnSlots = 512;
struct AsnCounters {
  std::array<std::atomic<uint32_t>, kAsnSlots> asn{};
  std::array<Counter, kAsnSlots> connections;
  Counter other;
  void add(uint32_t number);  // writer only
};

inline constexpr size_t kProbeFin = 0;
inline constexpr size_t kProbeRst = 1;

struct alignas(64) StatsSlot {
  Counter opened;         // connect events (TCP connections and UDP flows)
  Counter closed;         // disconnect events
  Counter bytes_ingress;  // client -> edge, counted as relayed
  Counter bytes_egress;   // edge -> client
  Counter datagrams_ingress;
  Counter datagrams_egress;
  std::array<std::array<Counter, kStatusSlots>, kEventTypes> events;
  std::array<Counter, kMaxDropReasons> drops;       // guard drops by guard::Reason
  std::array<Counter, kMaxDropReasons> dry_run;     // would have dropped (dry-run filters)
  std::array<Counter, kDurationBuckets> durations;  // closed connections by duration
  Counter duration_sum_ms;
  // Port probes (connect, then FIN or RST before any byte, to an app with a validator): counted
  // here rather than as violations. Index kProbeFin / kProbeRst.
  std::array<Counter, 2> probes;
  // Allocated by the writer the first time it has a GeoIP answer; read with acquire.
  std::atomic<CountryCounters*> countries{nullptr};
  std::atomic<AsnCounters*> asns{nullptr};

  StatsSlot() = default;
  ~StatsSlot() {
    delete countries.load();
    delete asns.load();
  }
  StatsSlot(const StatsSlot&) = delete;
  StatsSlot& operator=(const StatsSlot&) = delete;

  // Worker thread: the event's share of the counters (type, status, duration, country).
  void record(const ConnEvent& e);
  CountryCounters* country_counters();  // writer only: allocates on first use
};

// Sums of all slots at one moment (each counter read once; slots are not read atomically
// together, so a total may be a few events ahead of another).
struct StatsTotals {
  uint64_t opened = 0, closed = 0, bytes_ingress = 0, bytes_egress = 0;
  uint64_t datagrams_ingress = 0, datagrams_egress = 0;
  std::array<std::array<uint64_t, kStatusSlots>, kEventTypes> events{};
  std::array<uint64_t, kMaxDropReasons> drops{}, dry_run{};
  std::array<uint64_t, kDurationBuckets> durations{};
  uint64_t duration_sum_ms = 0;
  std::array<uint64_t, 2> probes{};  // kProbeFin, kProbeRst
  std::vector<uint64_t> country_connections, country_bytes_ingress,
      country_bytes_egress;                      // empty without GeoIP
  std::map<uint32_t, uint64_t> asn_connections;  // ASN -> connections; 0 = the table's overflow

  uint64_t active() const { return opened > closed ? opened - closed : 0; }
  uint64_t events_of(EventType t) const;
  uint64_t drops_total() const;
};

class AppStats {
 public:
  AppStats(std::string app_id, size_t workers) : app_id_(std::move(app_id)), slots_(workers) {}
  const std::string& app_id() const { return app_id_; }
  StatsSlot& slot(size_t worker) { return slots_[worker]; }
  size_t workers() const { return slots_.size(); }
  StatsTotals totals() const;

 private:
  std::string app_id_;
  std::vector<StatsSlot> slots_;
};

// Percentile (0..1) of a duration histogram in ms, interpolated within the bucket; 0 when empty.
double duration_percentile(const uint64_t* buckets, size_t n, double q);

}  // namespace rampart::telemetry
