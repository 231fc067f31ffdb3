// AppStats (per-worker slots summed by readers), the status/country/duration slot tables, the
// duration percentile, and the per-minute Rollup fed by the event log.
#include "telemetry/app_stats.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <thread>

#include "telemetry/rollup.h"

namespace rampart::telemetry {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1795744800LL * kSec;  // 2026-11-27T02:00:00Z

ConnEvent ev(EventType type, uint16_t status, const char* country = "", uint64_t in = 0,
             uint64_t out = 0, int64_t duration_ms = 0) {
  ConnEvent e;
  e.type = type;
  e.status = status;
  e.set_app("app");
  std::snprintf(e.country, sizeof e.country, "%s", country);
  e.client_ip = *net::IpAddr::parse("10.77.1.2");
  e.client_bytes = in;
  e.origin_bytes = out;
  e.connect_ns = kT0;
  e.timestamp_ns = kT0 + duration_ms * 1'000'000;
  if (type == EventType::kDisconnect) e.disconnect_ns = e.timestamp_ns;
  return e;
}

TEST(StatusSlots, EveryCodeHasItsOwnSlot) {
  EXPECT_EQ(status_slot(0), 1u);
  EXPECT_EQ(status_slot(200), 2u);
  EXPECT_EQ(status_slot(403), 3u);
  EXPECT_EQ(status_slot(999), kStatusSlots - 1);
  std::set<size_t> seen;
  for (uint16_t code :
       {0, 200, 403, 443, 444, 445, 448, 490, 497, 498, 499, 521, 522, 523, 525, 526, 531, 999}) {
    size_t slot = status_slot(code);
    EXPECT_NE(slot, 0u) << code;
    EXPECT_EQ(status_of_slot(slot), code);
    EXPECT_TRUE(seen.insert(slot).second) << code;
  }
  EXPECT_EQ(seen.size(), kStatusSlots - 1);
  // Codes outside the table share slot 0 ("other").
  EXPECT_EQ(status_slot(302), 0u);
  EXPECT_EQ(status_slot(500), 0u);
  EXPECT_EQ(status_slot(65535), 0u);
}

TEST(CountrySlots, Iso2CodesAndUnknown) {
  EXPECT_EQ(country_slot("AA"), 0u);
  EXPECT_EQ(country_slot("ZZ"), 26u * 26u - 1);
  EXPECT_EQ(country_slot("US"), country_slot("us"));
  EXPECT_EQ(country_slot("uS"), country_slot("US"));
  for (const char* bad : {"", "U", "USA", "1A", "A1", "-X", "U "})
    EXPECT_EQ(country_slot(bad), kCountrySlots - 1) << '"' << bad << '"';
  EXPECT_EQ(country_of_slot(kCountrySlots - 1), "");
  EXPECT_EQ(country_of_slot(kCountrySlots + 5), "");
  for (size_t s = 0; s < kCountrySlots - 1; ++s) {
    std::string cc = country_of_slot(s);
    ASSERT_EQ(cc.size(), 2u);
    EXPECT_EQ(country_slot(cc.c_str()), s) << cc;
  }
}

TEST(DurationBuckets, BoundsHoldTheirDurations) {
  EXPECT_EQ(duration_bucket(0), 0u);
  EXPECT_EQ(duration_bucket(1), 4u);  // 4 * log2(2)
  EXPECT_EQ(duration_bucket(3), 8u);  // 4 * log2(4)
  EXPECT_EQ(duration_bucket(UINT64_MAX), kDurationBuckets - 1);
  EXPECT_EQ(duration_bucket_low(0), 0.0);
  size_t prev = 0;
  for (uint64_t ms : {0ULL, 1ULL, 2ULL, 5ULL, 10ULL, 99ULL, 100ULL, 1000ULL, 12345ULL, 60000ULL,
                      3600000ULL, 86400000ULL}) {
    size_t b = duration_bucket(ms);
    EXPECT_GE(b, prev) << ms;  // monotonic
    prev = b;
    EXPECT_LE(duration_bucket_low(b), static_cast<double>(ms) + 1e-9) << ms;
    EXPECT_GT(duration_bucket_high(b), static_cast<double>(ms)) << ms;
  }
  for (size_t b = 1; b < kDurationBuckets; ++b)
    EXPECT_DOUBLE_EQ(duration_bucket_low(b), duration_bucket_high(b - 1)) << b;
}

TEST(DurationPercentile, EmptyAndOneBucket) {
  std::array<uint64_t, kDurationBuckets> h{};
  EXPECT_EQ(duration_percentile(h.data(), h.size(), 0.5), 0.0);
  const size_t b = duration_bucket(1000);
  h[b] = 10;
  const double lo = duration_bucket_low(b), hi = duration_bucket_high(b);
  EXPECT_DOUBLE_EQ(duration_percentile(h.data(), h.size(), 0.5), lo + (hi - lo) * 0.5);
  EXPECT_DOUBLE_EQ(duration_percentile(h.data(), h.size(), 1.0), hi);
  EXPECT_DOUBLE_EQ(duration_percentile(h.data(), h.size(), 0.0), lo);
}

TEST(DurationPercentile, PicksTheBucketOfTheRank) {
  std::array<uint64_t, kDurationBuckets> h{};
  h[duration_bucket(10)] = 90;
  h[duration_bucket(5000)] = 9;
  h[duration_bucket(60000)] = 1;
  auto in_bucket_of = [](double v, uint64_t ms) {
    size_t b = duration_bucket(ms);
    return v >= duration_bucket_low(b) && v <= duration_bucket_high(b);
  };
  EXPECT_TRUE(in_bucket_of(duration_percentile(h.data(), h.size(), 0.5), 10));
  EXPECT_TRUE(in_bucket_of(duration_percentile(h.data(), h.size(), 0.9), 10));
  EXPECT_TRUE(in_bucket_of(duration_percentile(h.data(), h.size(), 0.95), 5000));
  EXPECT_TRUE(in_bucket_of(duration_percentile(h.data(), h.size(), 0.99), 5000));
  EXPECT_TRUE(in_bucket_of(duration_percentile(h.data(), h.size(), 0.999), 60000));
  double last = 0;
  for (double q = 0.0; q <= 1.0; q += 0.01) {
    double v = duration_percentile(h.data(), h.size(), q);
    EXPECT_GE(v, last) << q;
    last = v;
  }
}

TEST(StatsSlot, RecordCountsEventsStatusesDurations) {
  StatsSlot s;
  s.record(ev(EventType::kConnect, 0));
  s.record(ev(EventType::kConnect, 0));
  s.record(ev(EventType::kDisconnect, 200, "", 100, 200, 1500));
  s.record(ev(EventType::kDisconnect, 499, "", 1, 2, 0));
  s.record(ev(EventType::kClientFiltered, 403));
  s.record(ev(EventType::kOriginError, 521));
  s.record(ev(EventType::kOriginError, 302));  // not a Spectrum code: "other"
  EXPECT_EQ(s.opened.get(), 2u);
  EXPECT_EQ(s.closed.get(), 2u);
  auto at = [&](EventType t, uint16_t code) {
    return s.events[static_cast<size_t>(t)][status_slot(code)].get();
  };
  EXPECT_EQ(at(EventType::kConnect, 0), 2u);
  EXPECT_EQ(at(EventType::kDisconnect, 200), 1u);
  EXPECT_EQ(at(EventType::kDisconnect, 499), 1u);
  EXPECT_EQ(at(EventType::kClientFiltered, 403), 1u);
  EXPECT_EQ(at(EventType::kOriginError, 521), 1u);
  EXPECT_EQ(s.events[static_cast<size_t>(EventType::kOriginError)][0].get(), 1u);
  EXPECT_EQ(s.durations[duration_bucket(1500)].get(), 1u);
  EXPECT_EQ(s.durations[0].get(), 1u);
  EXPECT_EQ(s.duration_sum_ms.get(), 1500u);
  // Relayed bytes are counted by the data plane as they flow, not from events.
  EXPECT_EQ(s.bytes_ingress.get(), 0u);
  EXPECT_EQ(s.bytes_egress.get(), 0u);
  // No GeoIP answer: no country table.
  EXPECT_EQ(s.countries.load(), nullptr);
}

TEST(StatsSlot, NegativeDurationCountsAsZero) {
  StatsSlot s;
  ConnEvent e = ev(EventType::kDisconnect, 200);
  e.disconnect_ns = e.connect_ns - 5 * kSec;  // clock stepped back
  s.record(e);
  EXPECT_EQ(s.durations[0].get(), 1u);
  EXPECT_EQ(s.duration_sum_ms.get(), 0u);
}

TEST(StatsSlot, CountryCounters) {
  StatsSlot s;
  s.record(ev(EventType::kConnect, 0, "DE"));
  s.record(ev(EventType::kConnect, 0, "de"));
  s.record(ev(EventType::kConnect, 0, "XY"));
  s.record(ev(EventType::kDisconnect, 200, "DE", 10, 20, 5));
  s.record(ev(EventType::kClientFiltered, 403, "XY"));  // not a connection
  CountryCounters* c = s.countries.load();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->connections[country_slot("DE")].get(), 2u);
  EXPECT_EQ(c->connections[country_slot("XY")].get(), 1u);
  EXPECT_EQ(c->bytes_ingress[country_slot("DE")].get(), 10u);
  EXPECT_EQ(c->bytes_egress[country_slot("DE")].get(), 20u);
  EXPECT_EQ(s.country_counters(), c);  // allocated once
}

TEST(StatsSlot, AsnCountersAndOverflow) {
  AppStats stats("app", 2);
  auto connect_from = [](uint32_t asn) {
    ConnEvent e = ev(EventType::kConnect, 0);
    e.asn = asn;
    return e;
  };
  EXPECT_EQ(stats.slot(0).asns.load(), nullptr);  // nothing allocated without ASNs
  stats.slot(0).record(ev(EventType::kConnect, 0));
  EXPECT_EQ(stats.slot(0).asns.load(), nullptr);
  for (int i = 0; i < 3; ++i) stats.slot(0).record(connect_from(64496));
  stats.slot(1).record(connect_from(64496));
  stats.slot(1).record(connect_from(64497));
  StatsTotals t = stats.totals();
  EXPECT_EQ(t.asn_connections.at(64496), 4u);
  EXPECT_EQ(t.asn_connections.at(64497), 1u);
  EXPECT_EQ(t.asn_connections.count(0), 0u);
  // More distinct networks than the table holds: the rest are counted, as "other" (ASN 0).
  for (uint32_t asn = 1; asn <= kAsnSlots + 88; ++asn)
    stats.slot(0).record(connect_from(100000 + asn));
  t = stats.totals();
  EXPECT_EQ(t.asn_connections.at(0), 88u + 1u);  // 64496 took one of slot 0's places
  uint64_t total = 0;
  for (const auto& [asn, n] : t.asn_connections) total += n;
  EXPECT_EQ(total, 5u + kAsnSlots + 88u);
}

TEST(AppStats, TotalsSumEveryWorker) {
  AppStats app("app", 3);
  EXPECT_EQ(app.workers(), 3u);
  EXPECT_EQ(app.app_id(), "app");
  StatsTotals empty = app.totals();
  EXPECT_EQ(empty.opened, 0u);
  EXPECT_EQ(empty.active(), 0u);
  EXPECT_TRUE(empty.country_connections.empty());

  for (size_t w = 0; w < 3; ++w) {
    StatsSlot& s = app.slot(w);
    for (size_t i = 0; i <= w; ++i) s.record(ev(EventType::kConnect, 0));
    s.record(ev(EventType::kDisconnect, 200, "", 0, 0, 100));
    s.bytes_ingress.add(1000 * (w + 1));
    s.bytes_egress.add(10 * (w + 1));
    s.datagrams_ingress.add(w);
    s.datagrams_egress.add(2 * w);
    s.drops[1].inc();
    s.drops[2].add(w);
    s.dry_run[3].inc();
  }
  app.slot(2).record(ev(EventType::kConnect, 0, "FR"));
  StatsTotals t = app.totals();
  EXPECT_EQ(t.opened, 1u + 2u + 3u + 1u);
  EXPECT_EQ(t.closed, 3u);
  EXPECT_EQ(t.active(), 4u);
  EXPECT_EQ(t.bytes_ingress, 6000u);
  EXPECT_EQ(t.bytes_egress, 60u);
  EXPECT_EQ(t.datagrams_ingress, 3u);
  EXPECT_EQ(t.datagrams_egress, 6u);
  EXPECT_EQ(t.events_of(EventType::kConnect), 7u);
  EXPECT_EQ(t.events_of(EventType::kDisconnect), 3u);
  EXPECT_EQ(t.events_of(EventType::kClientFiltered), 0u);
  EXPECT_EQ(t.events[static_cast<size_t>(EventType::kDisconnect)][status_slot(200)], 3u);
  EXPECT_EQ(t.drops[1], 3u);
  EXPECT_EQ(t.drops[2], 3u);
  EXPECT_EQ(t.drops_total(), 6u);
  EXPECT_EQ(t.dry_run[3], 3u);
  EXPECT_EQ(t.durations[duration_bucket(100)], 3u);
  EXPECT_EQ(t.duration_sum_ms, 300u);
  // One worker with GeoIP answers: the country vectors are full-size.
  ASSERT_EQ(t.country_connections.size(), kCountrySlots);
  ASSERT_EQ(t.country_bytes_ingress.size(), kCountrySlots);
  EXPECT_EQ(t.country_connections[country_slot("FR")], 1u);
}

TEST(AppStats, ActiveNeverNegative) {
  StatsTotals t;
  t.opened = 3;
  t.closed = 5;  // slots read one after another can be momentarily ahead
  EXPECT_EQ(t.active(), 0u);
}

TEST(AppStats, ConcurrentWritersOneSlotEach) {
  AppStats app("app", 4);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < 4; ++w)
    threads.emplace_back([&app, w] {
      for (int i = 0; i < 10000; ++i) {
        app.slot(w).record(ev(EventType::kConnect, 0, "NL"));
        app.slot(w).bytes_ingress.add(3);
      }
    });
  // A reader while they write: never more than what was written.
  for (int i = 0; i < 100; ++i) EXPECT_LE(app.totals().opened, 40000u);
  for (auto& t : threads) t.join();
  StatsTotals t = app.totals();
  EXPECT_EQ(t.opened, 40000u);
  EXPECT_EQ(t.bytes_ingress, 120000u);
  EXPECT_EQ(t.country_connections[country_slot("NL")], 40000u);
}

// ------------------------------------------------------------------ Rollup

TEST(Rollup, GroupsByMinuteAppEventAndIpVersion) {
  Rollup r;
  EXPECT_EQ(r.last_event_s(), 0);
  EXPECT_TRUE(r.take().empty());
  r.add(ev(EventType::kConnect, 0));
  r.add(ev(EventType::kConnect, 0));
  ConnEvent v6 = ev(EventType::kConnect, 0);
  v6.client_ip = *net::IpAddr::parse("2001:db8::1");
  r.add(v6);
  r.add(ev(EventType::kDisconnect, 200, "", 100, 250, 1500));  // 1.5 s later, same minute
  r.add(ev(EventType::kDisconnect, 499, "", 7, 9, 61'000));    // the next minute
  ConnEvent other = ev(EventType::kClientFiltered, 403, "", 55, 66);
  other.set_app("other");
  r.add(other);
  EXPECT_EQ(r.last_event_s(), kT0 / kSec + 61);

  auto rows = r.take();
  std::map<std::tuple<int64_t, std::string, EventType, uint8_t>, RollupValue> by;
  for (auto& [k, v] : rows) by[{k.minute, k.app, k.event, k.ip_version}] = v;
  const int64_t m = kT0 / kSec / 60;
  ASSERT_EQ(by.size(), 5u);
  EXPECT_EQ((by[{m, "app", EventType::kConnect, 4}].count), 2u);
  EXPECT_EQ((by[{m, "app", EventType::kConnect, 6}].count), 1u);
  const RollupValue& d = by[{m, "app", EventType::kDisconnect, 4}];
  EXPECT_EQ(d.count, 1u);
  EXPECT_EQ(d.bytes_ingress, 100u);
  EXPECT_EQ(d.bytes_egress, 250u);
  EXPECT_EQ(d.duration_sum_ms, 1500u);
  EXPECT_EQ(d.durations_count, 1u);
  EXPECT_EQ(d.durations[duration_bucket(1500)], 1u);
  const RollupValue& d2 = by[{m + 1, "app", EventType::kDisconnect, 4}];
  EXPECT_EQ(d2.count, 1u);
  EXPECT_EQ(d2.bytes_ingress, 7u);
  EXPECT_EQ(d2.duration_sum_ms, 61000u);
  // Bytes and durations only from disconnects.
  const RollupValue& f = by[{m, "other", EventType::kClientFiltered, 4}];
  EXPECT_EQ(f.count, 1u);
  EXPECT_EQ(f.bytes_ingress, 0u);
  EXPECT_EQ(f.durations_count, 0u);

  // take() hands over deltas: nothing twice.
  EXPECT_TRUE(r.take().empty());
  r.add(ev(EventType::kConnect, 0));
  auto again = r.take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].second.count, 1u);
  EXPECT_EQ(r.last_event_s(), kT0 / kSec + 61);  // the newest stays the newest
}

}  // namespace
}  // namespace rampart::telemetry
