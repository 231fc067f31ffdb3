#include "telemetry/app_stats.h"

#include <cmath>

#include "core/keyed_hash.h"

namespace rampart::telemetry {

size_t status_slot(uint16_t status) {
  if (status == 0) return 1;
  for (size_t i = 2; i < kStatusSlots; ++i)
    if (kStatusCodes[i] == status) return i;
  return 0;
}

size_t duration_bucket(uint64_t ms) {
  if (ms == 0) return 0;
  size_t b = static_cast<size_t>(4.0 * std::log2(static_cast<double>(ms) + 1.0));
  return b < kDurationBuckets ? b : kDurationBuckets - 1;
}

double duration_bucket_low(size_t b) {
  return b == 0 ? 0.0 : std::exp2(static_cast<double>(b) / 4.0) - 1.0;
}

double duration_bucket_high(size_t b) {
  return std::exp2(static_cast<double>(b + 1) / 4.0) - 1.0;
}

size_t country_slot(const char* iso2) {
  auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  char a = up(iso2[0]);
  char b = a ? up(iso2[1]) : 0;
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || iso2[2] != '\0') return kCountrySlots - 1;
  return static_cast<size_t>(a - 'A') * 26 + static_cast<size_t>(b - 'A');
}

std::string country_of_slot(size_t slot) {
  if (slot >= kCountrySlots - 1) return "";
  return {static_cast<char>('A' + slot / 26), static_cast<char>('A' + slot % 26)};
}

CountryCounters* StatsSlot::country_counters() {
  CountryCounters* c = countries.load(std::memory_order_relaxed);
  if (!c) {
    c = new CountryCounters();
    countries.store(c, std::memory_order_release);
  }
  return c;
}

void AsnCounters::add(uint32_t number) {
  // The client picks its address, hence (through GeoIP) its ASN: a keyed start slot, so that no
  // set of networks is known to share one probe sequence.
  size_t i = core::siphash13(core::process_hash_key(), &number, sizeof number) % kAsnSlots;
  for (size_t probe = 0; probe < kAsnSlots; ++probe, i = (i + 1) % kAsnSlots) {
    uint32_t have = asn[i].load(std::memory_order_relaxed);
    if (have == number) {
      connections[i].inc();
      return;
    }
    if (have == 0) {
      asn[i].store(number, std::memory_order_release);
      connections[i].inc();
      return;
    }
  }
  other.inc();
}

void StatsSlot::record(const ConnEvent& e) {
  size_t type = static_cast<size_t>(e.type);
  if (type < kEventTypes) events[type][status_slot(e.status)].inc();
  if (e.probe) {
    probes[e.status == status::kNormal ? kProbeFin : kProbeRst].inc();
    return;
  }
  bool geo = e.country[0] != '\0';
  if (e.type == EventType::kConnect) {
    opened.inc();
    if (geo) country_counters()->connections[country_slot(e.country)].inc();
    if (e.asn != 0) {
      AsnCounters* a = asns.load(std::memory_order_relaxed);
      if (a == nullptr) {
        a = new AsnCounters();
        asns.store(a, std::memory_order_release);
      }
      a->add(e.asn);
    }
  } else if (e.type == EventType::kDisconnect) {
    closed.inc();
    const uint64_t d = e.duration_ms();
    durations[duration_bucket(d)].inc();
    duration_sum_ms.add(d);
    if (geo) {
      CountryCounters* c = country_counters();
      size_t s = country_slot(e.country);
      c->bytes_ingress[s].add(e.client_bytes);
      c->bytes_egress[s].add(e.origin_bytes);
    }
  }
}

uint64_t StatsTotals::events_of(EventType t) const {
  uint64_t n = 0;
  for (uint64_t v : events[static_cast<size_t>(t)]) n += v;
  return n;
}

uint64_t StatsTotals::drops_total() const {
  uint64_t n = 0;
  for (uint64_t v : drops) n += v;
  return n;
}

StatsTotals AppStats::totals() const {
  StatsTotals t;
  for (const StatsSlot& s : slots_) {
#define RAMPART_APP_STAT_SUM(field, name, labels, help) t.field += s.field.get();
    RAMPART_APP_STATS(RAMPART_APP_STAT_SUM)
#undef RAMPART_APP_STAT_SUM
    for (size_t i = 0; i < kEventTypes; ++i)
      for (size_t j = 0; j < kStatusSlots; ++j) t.events[i][j] += s.events[i][j].get();
    for (size_t i = 0; i < kMaxDropReasons; ++i) {
      t.drops[i] += s.drops[i].get();
      t.dry_run[i] += s.dry_run[i].get();
    }
    for (size_t i = 0; i < kDurationBuckets; ++i) t.durations[i] += s.durations[i].get();
    for (size_t i = 0; i < t.probes.size(); ++i) t.probes[i] += s.probes[i].get();
    if (const AsnCounters* a = s.asns.load(std::memory_order_acquire)) {
      for (size_t i = 0; i < kAsnSlots; ++i) {
        const uint32_t number = a->asn[i].load(std::memory_order_acquire);
        if (number != 0) t.asn_connections[number] += a->connections[i].get();
      }
      if (uint64_t o = a->other.get(); o > 0) t.asn_connections[0] += o;
    }
    if (const CountryCounters* c = s.countries.load(std::memory_order_acquire)) {
      if (t.country_connections.empty()) {
        t.country_connections.assign(kCountrySlots, 0);
        t.country_bytes_ingress.assign(kCountrySlots, 0);
        t.country_bytes_egress.assign(kCountrySlots, 0);
      }
      for (size_t i = 0; i < kCountrySlots; ++i) {
        t.country_connections[i] += c->connections[i].get();
        t.country_bytes_ingress[i] += c->bytes_ingress[i].get();
        t.country_bytes_egress[i] += c->bytes_egress[i].get();
      }
    }
  }
  return t;
}

double duration_percentile(const uint64_t* buckets, size_t n, double q) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += buckets[i];
  if (total == 0) return 0.0;
  double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < n; ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(seen + buckets[i]) >= rank) {
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(buckets[i]);
      double lo = duration_bucket_low(i), hi = duration_bucket_high(i);
      return lo + (hi - lo) * within;
    }
    seen += buckets[i];
  }
  return duration_bucket_high(n - 1);
}

}  // namespace rampart::telemetry
