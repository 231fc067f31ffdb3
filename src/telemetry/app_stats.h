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

// Spectrum's status codes in a fixed order (SPEC §5 plus 525/526); index 0 is "other".
inline constexpr std::array kStatusCodes = std::to_array<uint16_t>(
    {0, 0, 200, 403, 443, 444, 445, 448, 490, 497, 498, 499, 521, 522, 523, 525, 526, 531, 999});
inline constexpr size_t kStatusSlots = kStatusCodes.size();
constexpr bool has_status_slot(uint16_t code) {
  for (size_t i = 2; i < kStatusSlots; ++i)
    if (kStatusCodes[i] == code) return true;
  return false;
}
// Every code of telemetry::status has its slot (a new code added there must be added here).
static_assert(has_status_slot(status::kNormal) && has_status_slot(status::kDenied) &&
              has_status_slot(status::kClientTlsHandshake) &&
              has_status_slot(status::kOriginReset) && has_status_slot(status::kOriginTimeout) &&
              has_status_slot(status::kOriginBrokenPipe) &&
              has_status_slot(status::kClientTlsError) && has_status_slot(status::kClientTimeout) &&
              has_status_slot(status::kClientBrokenPipe) && has_status_slot(status::kClientReset) &&
              has_status_slot(status::kOriginRefused) &&
              has_status_slot(status::kOriginConnectTimeout) &&
              has_status_slot(status::kOriginUnreachable) &&
              has_status_slot(status::kOriginUnresolved) &&
              has_status_slot(status::kOriginTlsHandshake) &&
              has_status_slot(status::kOriginTlsCertificate) && has_status_slot(status::kUnknown));
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
// rampart_probes_total: StatsSlot::probes by kind (index kProbeFin / kProbeRst).
inline constexpr std::array<const char*, 2> kProbeKinds{"fin", "rst"};
inline constexpr const char* kProbesName = "rampart_probes_total";
inline constexpr const char* kProbesHelp =
    "Port probes: clients that closed (fin) or reset (rst) before sending a byte to an app with "
    "a validator; logged as disconnects, never counted as violations.";

// The scalar counters of one app, declared once: COUNTER(field, Prometheus name, labels, help)
// makes a Counter of StatsSlot, a uint64_t of StatsTotals, its share of AppStats::totals() and
// a row of kAppStats (the families /metrics renders per app, in this order). A null name: no
// family of its own (closed: rampart_connections_active is opened - closed; duration_sum_ms:
// the _sum of rampart_connection_duration_seconds). Labels: kApp {app}, kAppProto {app,
// proto}, kUdpApp {app}, UDP apps only. Comments inside must be /* */.
#define RAMPART_APP_STATS(COUNTER)                                                  \
  COUNTER(opened, "rampart_connections_total", kAppProto,                           \
          "TCP connections and UDP flows opened (connect events).")                 \
  COUNTER(closed, nullptr, kApp, "disconnect events")                               \
  COUNTER(bytes_ingress, "rampart_bytes_ingress_total", kApp,                       \
          "Bytes received from clients (client to edge).") /* counted as relayed */ \
  COUNTER(bytes_egress, "rampart_bytes_egress_total", kApp,                         \
          "Bytes sent to clients (edge to client).")                                \
  COUNTER(datagrams_ingress, "rampart_datagrams_ingress_total", kUdpApp,            \
          "UDP datagrams received from clients.")                                   \
  COUNTER(datagrams_egress, "rampart_datagrams_egress_total", kUdpApp,              \
          "UDP datagrams sent to clients.")                                         \
  COUNTER(duration_sum_ms, nullptr, kApp, "closed connections' durations, summed (ms)")

struct StatsTotals;
enum class AppLabels : uint8_t { kApp, kAppProto, kUdpApp };
struct AppStatDecl {
  const char* name;  // null: not a family of its own
  AppLabels labels;
  const char* help;
  uint64_t StatsTotals::*total;
};

struct alignas(64) StatsSlot {
#define RAMPART_APP_STAT_FIELD(field, name, labels, help) Counter field;
  RAMPART_APP_STATS(RAMPART_APP_STAT_FIELD)
#undef RAMPART_APP_STAT_FIELD
  std::array<std::array<Counter, kStatusSlots>, kEventTypes> events;
  std::array<Counter, kMaxDropReasons> drops;       // guard drops by guard::Reason
  std::array<Counter, kMaxDropReasons> dry_run;     // would have dropped (dry-run filters)
  std::array<Counter, kDurationBuckets> durations;  // closed connections by duration
  // Port probes (connect, then FIN or RST before any byte, to an app with a validator): counted
  // here rather than as violations. Index kProbeFin / kProbeRst.
  std::array<Counter, kProbeKinds.size()> probes;
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
#define RAMPART_APP_STAT_TOTAL(field, name, labels, help) uint64_t field = 0;
  RAMPART_APP_STATS(RAMPART_APP_STAT_TOTAL)
#undef RAMPART_APP_STAT_TOTAL
  std::array<std::array<uint64_t, kStatusSlots>, kEventTypes> events{};
  std::array<uint64_t, kMaxDropReasons> drops{}, dry_run{};
  std::array<uint64_t, kDurationBuckets> durations{};
  std::array<uint64_t, kProbeKinds.size()> probes{};  // kProbeFin, kProbeRst
  std::vector<uint64_t> country_connections, country_bytes_ingress,
      country_bytes_egress;                      // empty without GeoIP
  std::map<uint32_t, uint64_t> asn_connections;  // ASN -> connections; 0 = the table's overflow

  uint64_t active() const {
    return opened > closed ? opened - closed : 0;
  }
  uint64_t events_of(EventType t) const;
  uint64_t drops_total() const;
};

#define RAMPART_APP_STAT_ROW(field, name, labels, help) \
  AppStatDecl{name, AppLabels::labels, help, &StatsTotals::field},
inline constexpr std::array kAppStats{RAMPART_APP_STATS(RAMPART_APP_STAT_ROW)};
#undef RAMPART_APP_STAT_ROW

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
