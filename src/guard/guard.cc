#include "guard/guard.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>

#include "core/log.h"

namespace rampart::guard {

namespace {

Reason block_reason(config::AccessTarget t) {
  switch (t) {
    case config::AccessTarget::kCountry:
      return Reason::kBlockCountry;
    case config::AccessTarget::kAsn:
      return Reason::kBlockAsn;
    default:
      return Reason::kBlockIp;
  }
}

const char* whitelist_rule(config::AccessTarget t) {
  switch (t) {
    case config::AccessTarget::kCountry:
      return "WHITELIST_COUNTRY";
    case config::AccessTarget::kAsn:
      return "WHITELIST_ASN";
    default:
      return "WHITELIST_IP";
  }
}

}  // namespace

bool Guard::drop(const AppPolicy& p, Reason r, const net::IpAddr& ip) {
  const size_t i = static_cast<size_t>(r);
  if (p.dry(filter_of(r))) {
    Counters::bump(counters_.dry_run[i]);
    if (p.stats) p.stats->slot(static_cast<size_t>(worker_)).dry_run[i].inc();
    // Dry-run exists to be read: log the first few, then let the summary speak.
    if (dry_logs_++ < 20)
      RLOG_INFO("guard dry-run: app ", p.app_id, ": would drop ", ip.unmapped().to_string(), " (",
                reason_name(r), ")");
    return false;
  }
  Counters::bump(counters_.drops[i]);
  if (p.stats) p.stats->slot(static_cast<size_t>(worker_)).drops[i].inc();
  return true;
}

void Guard::violation(const AppPolicy& p, Reason r, const net::IpAddr& ip, int64_t now_ms,
                      const SourceEntry* held) {
  const config::AutobanConfig& ab = p.autoban;
  // A filter in dry-run only counts: what it lets through is no violation either.
  if (ab.violations == 0 || p.dry(filter_of(r))) return;
  // The source's own entry (the zone's IPv6 prefix): violations of every address of a /64
  // add up, and the ban covers them all.
  SourceEntry* e = table_.get(ban_key(ip), now_ms, held);
  if (e == nullptr) return;
  if (now_ms - e->last_violation_ms < kViolationPeriodMs) return;
  e->last_violation_ms = now_ms;
  if (now_ms - e->window_start_ms > ab.window.count()) {
    e->window_start_ms = now_ms;
    e->violations = 0;
  }
  ++e->violations;
  if (e->violations < ab.violations) {
    table_.update(e);
    return;
  }
  e->violations = 0;
  const net::Cidr source = source_prefix(ip, ban_v6_prefix_);
  if (p.dry(Filter::kAutoban)) {
    table_.update(e);
    Counters::bump(counters_.dry_run[static_cast<size_t>(Reason::kBanned)]);
    RLOG_INFO("guard dry-run: app ", p.app_id, ": would ban ", source_text(source), " for ",
              ab.duration.count(), " ms");
    return;
  }
  e->banned_until_ms = now_ms + ab.duration.count();
  table_.update(e);
  Counters::bump(counters_.bans);
  if (ban_sink_ != nullptr) ban_sink_->banned(source, ab.duration.count());
  RLOG_WARN("guard: banned ", source_text(source), " for ", ab.duration.count() / 1000, " s (",
            ab.violations, " violations within ", ab.window.count() / 1000, " s on app ", p.app_id,
            ")");
}

Admission Guard::admit(const AppPolicy& p, const net::IpAddr& ip, int64_t now_ms) {
  Admission a;
  bool whitelisted = false;
  const ZoneRules* zone = p.zone.get();
  if (zone != nullptr && zone->has_geo_db()) zone->lookup_geo(ip, &a.geo);
  if (p.ip_firewall && zone != nullptr) {
    a.rule = "NONE";
    if (const AclMatch* m = zone->match(ip, a.geo)) {
      if (m->mode == config::AccessMode::kWhitelist) {
        whitelisted = true;
        a.rule = whitelist_rule(m->target);
      } else {
        const Reason r = block_reason(m->target);
        a.rule = reason_rule(r);
        if (drop(p, r, ip)) {
          a.allowed = false;
          a.reason = r;
          return a;
        }
      }
    }
  }
  auto deny = [&](Reason r) {
    if (!drop(p, r, ip)) return false;
    a.allowed = false;
    a.reason = r;
    a.rule = reason_rule(r);
    return true;
  };
  if (!whitelisted) {
    if (SourceEntry* ban = table_.find(ban_key(ip));
        ban != nullptr && ban->banned_until_ms > now_ms && deny(Reason::kBanned))
      return a;
  }
  if (p.max_connections > 0 &&
      p.connections->load(std::memory_order_relaxed) >= static_cast<int64_t>(p.max_connections) &&
      deny(Reason::kAppConnLimit))
    return a;
  SourceEntry* e = nullptr;
  if (!whitelisted && p.tracks_sources()) {
    e = table_.get(SourceKey::of(ip, p.key, p.v6_prefix), now_ms);
    if (e == nullptr) {
      // Only when every entry holds open connections (the table evicts anything else).
      if (deny(Reason::kTableFull)) return a;
    } else {
      if (p.per_ip.max_connections > 0 && e->conns >= p.per_ip.max_connections) {
        violation(p, Reason::kConnLimit, ip, now_ms, e);
        if (deny(Reason::kConnLimit)) return a;
      }
      if (p.per_ip.new_connections_per_second > 0 &&
          !e->new_conns.take(p.per_ip.new_connections_per_second, p.per_ip.burst, now_ms)) {
        violation(p, Reason::kRateLimit, ip, now_ms, e);
        if (deny(Reason::kRateLimit)) return a;
      }
    }
  }
  if (e != nullptr) {
    if (e->conns++ == 0) table_.update(e);  // pinned while it has connections
    a.tracked_source = true;
  }
  p.connections->fetch_add(1, std::memory_order_relaxed);
  a.tracked_app = true;
  return a;
}

void Guard::release(const AppPolicy& p, const net::IpAddr& ip, const Admission& a) {
  if (a.tracked_app) p.connections->fetch_sub(1, std::memory_order_relaxed);
  if (!a.tracked_source) return;
  if (SourceEntry* e = table_.find(SourceKey::of(ip, p.key, p.v6_prefix));
      e != nullptr && e->conns > 0 && --e->conns == 0)
    table_.update(e);
}

bool Guard::validation_failed(const AppPolicy& p, const net::IpAddr& ip, Reason r, int64_t now_ms) {
  violation(p, r, ip, now_ms);
  return drop(p, r, ip);
}

Reason Guard::check_datagram(const AppPolicy& p, const net::SockAddr& src, int64_t now_ms) {
  if (p.has_reflection_ports && p.reflection_ports.test(src.port()) &&
      drop(p, Reason::kReflection, src.ip()))
    return Reason::kReflection;
  const net::IpAddr& ip = src.ip();
  bool whitelisted = false;
  const ZoneRules* zone = p.zone.get();
  if (p.ip_firewall && zone != nullptr && !zone->empty()) {
    GeoInfo geo;
    if (zone->has_geo_rules()) zone->lookup_geo(ip, &geo);
    if (const AclMatch* m = zone->match(ip, geo)) {
      if (m->mode == config::AccessMode::kWhitelist) {
        whitelisted = true;
      } else if (Reason r = block_reason(m->target); drop(p, r, ip)) {
        return r;
      }
    }
  }
  if (whitelisted) return Reason::kNone;
  if (SourceEntry* ban = table_.find(ban_key(ip));
      ban != nullptr && ban->banned_until_ms > now_ms && drop(p, Reason::kBanned, ip))
    return Reason::kBanned;
  if (p.per_ip.udp_packets_per_second > 0) {
    SourceEntry* e = table_.get(SourceKey::of(ip, p.key, p.v6_prefix), now_ms);
    if (e == nullptr) {
      if (drop(p, Reason::kTableFull, ip)) return Reason::kTableFull;
    } else if (!e->datagrams.take(p.per_ip.udp_packets_per_second, p.per_ip.udp_burst, now_ms)) {
      violation(p, Reason::kUdpRateLimit, ip, now_ms, e);
      if (drop(p, Reason::kUdpRateLimit, ip)) return Reason::kUdpRateLimit;
    }
  }
  return Reason::kNone;
}

void Guard::configure(size_t table_size, int ban_v6_prefix) {
  if (table_size != table_.capacity()) table_.set_capacity(table_size);
  ban_v6_prefix_ = ban_v6_prefix;
}

void Guard::ban(const net::Cidr& source, int64_t duration_ms, int64_t now_ms) {
  SourceEntry* e = table_.get(ban_key(source.base()), now_ms);
  if (e == nullptr) return;  // every entry has open connections: nothing can be remembered
  e->banned_until_ms = std::max(e->banned_until_ms, now_ms + duration_ms);
  table_.update(e);
}

void Guard::unban(const net::IpAddr& ip) {
  SourceEntry* e = table_.find(ban_key(ip));
  if (e == nullptr) return;
  e->banned_until_ms = 0;
  e->violations = 0;
  table_.update(e);
}

int64_t Guard::banned_for(const net::IpAddr& ip, int64_t now_ms) {
  SourceEntry* e = table_.find(ban_key(ip));
  if (e == nullptr || e->banned_until_ms <= now_ms) return 0;
  return e->banned_until_ms - now_ms;
}

void Guard::tick(int64_t now_ms) {
  table_.sweep(now_ms);
  if (now_ms < next_summary_ms_) return;
  next_summary_ms_ = now_ms + kSummaryIntervalMs;
  uint64_t total = counters_.total_drops();
  uint64_t dry = 0;
  for (const auto& c : counters_.dry_run) dry += c.load(std::memory_order_relaxed);
  if (total == logged_total_ && dry == logged_dry_) return;
  std::string parts;
  for (size_t i = 1; i < kReasonCount; ++i) {
    uint64_t n = counters_.drops[i].load(std::memory_order_relaxed);
    uint64_t d = counters_.dry_run[i].load(std::memory_order_relaxed);
    if (n == 0 && d == 0) continue;
    parts += ' ';
    parts += reason_name(static_cast<Reason>(i));
    parts += '=';
    parts += std::to_string(n);
    if (d > 0) parts += " (dry-run " + std::to_string(d) + ")";
  }
  RLOG_INFO("guard worker ", worker_, ": drops since start:", parts, "; ", table_.size(), " of ",
            table_.capacity(), " sources tracked (", table_.stats().evicted(),
            " evicted to make room), ", counters_.bans.load(std::memory_order_relaxed), " bans");
  logged_total_ = total;
  logged_dry_ = dry;
}

std::vector<SourceReport> Guard::report(size_t top, int64_t now_ms) const {
  std::unordered_map<SourceKey, SourceReport, SourceKeyHash> by_ip;
  table_.for_each([&](const SourceKey& k, const SourceEntry& e) {
    SourceKey ip_key = k;
    ip_key.app = 0;
    SourceReport& r = by_ip[ip_key];
    r.source = k.cidr();
    r.connections += e.conns;
    if (k.app == 0) {
      r.violations = e.violations;
      if (e.banned_until_ms > now_ms) r.banned_for_ms = e.banned_until_ms - now_ms;
    }
  });
  std::vector<SourceReport> all;
  all.reserve(by_ip.size());
  for (auto& [k, r] : by_ip) all.push_back(r);
  auto busier = [](const SourceReport& a, const SourceReport& b) {
    if (a.connections != b.connections) return a.connections > b.connections;
    return a.violations > b.violations;
  };
  std::sort(all.begin(), all.end(), busier);
  std::vector<SourceReport> out;
  for (size_t i = 0; i < all.size(); ++i)
    if (i < top || all[i].banned_for_ms > 0) out.push_back(all[i]);
  return out;
}

}  // namespace rampart::guard
