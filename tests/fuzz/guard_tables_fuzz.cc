// The guard's per-source tables under adversarial key sequences and clock steps (issue #10):
// SourceTable driven directly against a shadow model, then a whole Guard (admit, release,
// datagrams, violations, bans, sweeps, reconfiguration). Checked after every step:
//  - the table never holds more than its capacity (or, after a shrink, than its pinned entries);
//  - an entry with open connections is never evicted and keeps its count;
//  - a new source is refused only when every entry has open connections;
//  - the entry a caller holds (`keep`) survives the lookup that evicts;
//  - the size gauge matches, and once everything is released and time has passed, nothing leaks.
// Input: byte 0 picks the mode (table or guard), then sizes, then one opcode (+ operands) per step;
// the corpus (tests/fuzz/corpus/guard_tables/) has seeds of both.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/log.h"
#include "guard/guard.h"
#include "guard/policy.h"
#include "guard/source_table.h"

namespace {

using rampart::guard::Admission;
using rampart::guard::Guard;
using rampart::guard::Reason;
using rampart::guard::SourceEntry;
using rampart::guard::SourceKey;
using rampart::guard::SourceKeyHash;
using rampart::guard::SourceTable;
using rampart::net::Cidr;
using rampart::net::IpAddr;

// An invariant: on failure, says which (the line) and aborts (libFuzzer saves the input).
#define check(ok)                                                                             \
  do {                                                                                        \
    if (!(ok)) {                                                                              \
      fprintf(stderr, "guard_tables_fuzz: invariant failed at line %d: %s\n", __LINE__, #ok); \
      abort();                                                                                \
    }                                                                                         \
  } while (0)

// 256 addresses an attacker might use: IPv4 hosts, and IPv6 addresses spread over a few /64s
// and /48s (so prefixes of every length group some of them together).
IpAddr address(uint8_t i) {
  if (i < 96) return IpAddr::v4(0x0a4e0000u | (static_cast<uint32_t>(i % 7) << 8) | i);
  std::array<uint8_t, 16> b = {
      0xfd, 0x77, 0, 0x99, 0, static_cast<uint8_t>(i % 3), 0, static_cast<uint8_t>(i % 5)};
  b[8] = static_cast<uint8_t>(i * 31);
  b[15] = i;
  return IpAddr::v6(b);
}

SourceKey key_of(uint8_t i, int v6_prefix) {
  return SourceKey::of(address(i), i & 3, v6_prefix);
}

// ------------------------------------------------------------------- SourceTable + shadow model

void fuzz_table(FuzzedDataProvider& in) {
  size_t capacity = in.ConsumeIntegralInRange<size_t>(1, 48);
  const int v6_prefix = in.ConsumeIntegralInRange<int>(1, 128);
  const rampart::core::HashKey hk{in.ConsumeIntegral<uint64_t>(), in.ConsumeIntegral<uint64_t>()};
  SourceTable t(capacity, SourceKeyHash{hk});
  std::map<uint8_t, uint32_t> pinned;  // key index -> open connections we gave it
  int64_t now = 0;
  auto pinned_present = [&] {
    size_t n = 0;
    for (const auto& [i, conns] : pinned) {
      SourceEntry* e = t.find(key_of(i, v6_prefix));
      check(e != nullptr && e->conns == conns);  // never evicted, count intact
      if (conns > 0) ++n;
    }
    return n;
  };
  // Several key indexes can map to one key (IPv6 prefixes): the shadow keys by the first
  // index seen for each key.
  auto canonical = [&](uint8_t i) {
    const SourceKey k = key_of(i, v6_prefix);
    for (const auto& [j, conns] : pinned)
      if (key_of(j, v6_prefix) == k) return j;
    return i;
  };
  while (in.remaining_bytes() > 0) {
    const uint8_t op = in.ConsumeIntegralInRange<uint8_t>(0, 8);
    const uint8_t i = canonical(in.ConsumeIntegral<uint8_t>());
    const SourceKey k = key_of(i, v6_prefix);
    const size_t size_before = t.size();
    const bool known = t.find(k) != nullptr;
    bool held_entry = false;
    switch (op) {
      case 0: {  // a packet from a source
        SourceEntry* e = t.get(k, now);
        // Refused only when every entry has open connections.
        if (e == nullptr) check(t.size() >= t.capacity() && pinned_present() == t.size());
        break;
      }
      case 1:    // a connection opens
      case 2: {  // ... or closes
        SourceEntry* e = t.find(k);
        if (e == nullptr) break;
        if (op == 1) {
          ++e->conns;
        } else if (e->conns > 0) {
          --e->conns;
        }
        t.update(e);
        if (e->conns > 0)
          pinned[i] = e->conns;
        else
          pinned.erase(i);
        break;
      }
      case 3: {  // a ban
        if (SourceEntry* e = t.find(k)) {
          e->banned_until_ms = now + in.ConsumeIntegralInRange<int64_t>(0, 600'000);
          t.update(e);
        }
        break;
      }
      case 4: {  // violations
        if (SourceEntry* e = t.find(k)) {
          e->violations = in.ConsumeIntegralInRange<uint32_t>(0, 5);
          t.update(e);
        }
        break;
      }
      case 5:  // time passes
        now += in.ConsumeIntegralInRange<int64_t>(0, 2 * SourceTable::kIdleMs);
        break;
      case 6:
        t.sweep(now);
        break;
      case 7:
        capacity = in.ConsumeIntegralInRange<size_t>(1, 48);
        t.set_capacity(capacity);
        break;
      case 8: {  // a lookup while holding another entry
        SourceEntry* held = t.find(key_of(in.ConsumeIntegral<uint8_t>(), v6_prefix));
        const SourceKey held_key = held != nullptr ? *held->key : SourceKey{};
        held_entry = held != nullptr && held->conns == 0;
        t.get(k, now, held);
        if (held != nullptr) check(t.find(held_key) == held);
        break;
      }
    }
    const size_t pins = pinned_present();
    if (((op == 0 || op == 8) && !known) || op == 6 || op == 7) {
      // A new source, a sweep, a shrink: at most the capacity, or what could not be evicted
      // (entries with connections, and one held entry).
      check(t.size() <= std::max(t.capacity(), pins + (held_entry ? 1 : 0)));
    } else {
      check(t.size() == size_before);  // the others never add or drop an entry
    }
    check(t.stats().size.load() == t.size());
  }
  // Everything closed, then long enough: the table empties (no leaked entry).
  for (auto& [i, conns] : pinned) {
    SourceEntry* e = t.find(key_of(i, v6_prefix));
    e->conns = 0;
    t.update(e);
  }
  t.sweep(now + 3'600'000);
  t.sweep(now + 3'600'000 + SourceTable::kIdleMs);
  check(t.size() == 0);
}

// ------------------------------------------------------------------- a whole Guard

void fuzz_guard(FuzzedDataProvider& in) {
  const size_t capacity = in.ConsumeIntegralInRange<size_t>(1, 48);
  const int zone_prefix = in.ConsumeIntegralInRange<int>(1, 128);
  rampart::config::ProtectionConfig prot;
  prot.per_ip.max_connections = in.ConsumeIntegralInRange<uint32_t>(0, 4);
  prot.per_ip.new_connections_per_second = in.ConsumeIntegralInRange<uint32_t>(0, 5);
  prot.per_ip.burst = in.ConsumeIntegralInRange<uint32_t>(0, 5);
  prot.per_ip.udp_packets_per_second = in.ConsumeIntegralInRange<uint32_t>(0, 5);
  prot.per_ip.udp_burst = in.ConsumeIntegralInRange<uint32_t>(0, 5);
  prot.autoban.violations = in.ConsumeIntegralInRange<uint32_t>(0, 3);
  prot.ipv6_prefix = in.ConsumeIntegralInRange<uint32_t>(1, 128);
  prot.udp_reflection_ports = {53};
  rampart::config::Config cfg;
  rampart::config::App tcp_app, udp_app;
  tcp_app.id = "tcp";
  tcp_app.validate = rampart::config::Validator::kSsh;  // its failures are autoban violations
  udp_app.id = "udp";
  udp_app.proto = rampart::config::Proto::kUdp;
  std::vector<std::string> warnings;
  auto zone = rampart::guard::compile_zone(cfg, &warnings);
  auto tcp = rampart::guard::compile_app(tcp_app, prot, zone, nullptr);
  auto udp = rampart::guard::compile_app(udp_app, prot, zone, nullptr);
  Guard g(0, capacity);
  g.configure(capacity, zone_prefix);
  std::vector<std::pair<IpAddr, Admission>> open;
  int64_t now = 0;
  auto pinned_keys = [&] {
    std::vector<SourceKey> keys;
    for (const auto& [ip, a] : open) {
      if (!a.tracked_source) continue;
      const SourceKey k = SourceKey::of(ip, tcp->key, tcp->v6_prefix);
      bool seen = false;
      for (const SourceKey& o : keys) seen = seen || o == k;
      if (!seen) keys.push_back(k);
    }
    return keys.size();
  };
  while (in.remaining_bytes() > 0) {
    const uint8_t op = in.ConsumeIntegralInRange<uint8_t>(0, 7);
    const IpAddr ip = address(in.ConsumeIntegral<uint8_t>());
    switch (op) {
      case 0: {
        Admission a = g.admit(*tcp, ip, now);
        if (a.reason == Reason::kTableFull) check(pinned_keys() >= capacity);
        if (a.allowed) open.emplace_back(ip, a);
        break;
      }
      case 1:
        if (!open.empty()) {
          const size_t at = in.ConsumeIntegralInRange<size_t>(0, open.size() - 1);
          g.release(*tcp, open[at].first, open[at].second);
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(at));
        }
        break;
      case 2: {
        const rampart::net::SockAddr src(ip, in.ConsumeIntegral<uint16_t>());
        if (g.check_datagram(*udp, src, now) == Reason::kTableFull)
          check(pinned_keys() >= capacity);
        break;
      }
      case 3:
        g.validation_failed(*tcp, ip, Reason::kValidate, now);
        break;
      case 4:
        now += in.ConsumeIntegralInRange<int64_t>(0, 90'000);
        g.tick(now);
        break;
      case 5:
        g.ban(*Cidr::from(
                  ip, in.ConsumeIntegralInRange<int>(ip.is_v4() ? 32 : 1, ip.is_v4() ? 32 : 128)),
              in.ConsumeIntegralInRange<int64_t>(0, 600'000), now);
        break;
      case 6:
        g.unban(ip);
        check(g.banned_for(ip, now) == 0);
        break;
      case 7:
        for (const auto& r : g.report(3, now)) {
          const auto parsed = Cidr::parse(r.text());  // what the API and the fleet print
          check(parsed.has_value() && *parsed == r.source);
        }
        break;
    }
    check(g.sources() <= std::max(capacity, pinned_keys()));
  }
  for (const auto& [ip, a] : open) g.release(*tcp, ip, a);
  g.tick(now + 3'600'000);
  g.tick(now + 3'600'000 + SourceTable::kIdleMs);
  check(g.sources() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (rampart::core::set_log_level(rampart::core::LogLevel::kError), true);
  (void)quiet;  // the guard's bans and summaries would flood the fuzzer's output
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool())
    fuzz_guard(in);
  else
    fuzz_table(in);
  return 0;
}
