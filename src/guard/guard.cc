#include "guard/guard.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "core/log.h"

namespace rampart::guard {

// ---------------------------------------------------------------- what filters reach

Verdict Call::source(SourceEntry** out) {
  if (looked_up_) {
    *out = entry_;
    return Verdict::kContinue;
  }
  looked_up_ = true;
  entry_ = guard.table_.get(SourceKey::of(ip, p.key, p.v6_prefix), now_ms);
  *out = entry_;
  if (entry_ != nullptr) return Verdict::kContinue;
  // Only when every entry holds open connections (the table evicts anything else).
  reason = Reason::kTableFull;
  return Verdict::kDrop;
}

bool Call::banned() const {
  const SourceEntry* b = guard.table_.find(guard.ban_key(ip));
  return b != nullptr && b->banned_until_ms > now_ms;
}

void Call::violation(Reason r) {
  guard.violation(p, r, ip, now_ms, entry_);
}

// ---------------------------------------------------------------- accounting

bool Guard::account(const AppPolicy& p, Reason r, const net::IpAddr& ip) {
  const size_t i = static_cast<size_t>(r);
  if (p.dry(filter_of(r))) {
    account_dry(p, r, ip);
    return false;
  }
  Counters::bump(counters_.drops[i]);
  if (p.stats) p.stats->slot(static_cast<size_t>(worker_)).drops[i].inc();
  return true;
}

void Guard::account_dry(const AppPolicy& p, Reason r, const net::IpAddr& ip, int64_t ban_ms) {
  const size_t i = static_cast<size_t>(r);
  Counters::bump(counters_.dry_run[i]);
  if (p.stats) p.stats->slot(static_cast<size_t>(worker_)).dry_run[i].inc();
  // Dry-run exists to be read: log the first few, then let the summary speak.
  if (dry_logs_++ >= 20) return;
  if (ban_ms > 0)
    RLOG_INFO("guard dry-run: app ", p.app_id, ": would ban ",
              source_text(source_prefix(ip, ban_v6_prefix_)), " for ", ban_ms, " ms");
  else
    RLOG_INFO("guard dry-run: app ", p.app_id, ": would drop ", ip.unmapped().to_string(), " (",
              reason_name(r), ")");
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
  if (p.dry(FilterId::kAutoban)) {
    table_.update(e);
    account_dry(p, Reason::kBanned, ip, ab.duration.count());
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

void Guard::kernel_dropped(const AppPolicy& p, const net::IpAddr& ip, Reason r, uint64_t n,
                           int64_t now_ms) {
  if (n == 0) return;
  const size_t i = static_cast<size_t>(r);
  counters_.drops[i].store(counters_.drops[i].load(std::memory_order_relaxed) + n,
                           std::memory_order_relaxed);
  if (p.stats) p.stats->slot(static_cast<size_t>(worker_)).drops[i].add(n);
  // As in the chain: a rate over its limit is a violation, a banned source's drop is not.
  if (r != Reason::kBanned) violation(p, r, ip, now_ms);
}

// ---------------------------------------------------------------- the walks

Admission Guard::admit(const AppPolicy& p, const net::IpAddr& ip, int64_t now_ms) {
  Admission a;
  const ZoneRules* zone = p.zone.get();
  if (zone != nullptr && zone->has_geo_db()) zone->lookup_geo(ip, &a.geo);
  Call c{*this, p, ip, now_ms};
  c.admission = &a;
  c.geo = &a.geo;
  for (const Filter* f : p.on_accept) {
    if (c.allowed_rest && !f->decl().runs_after_allow) continue;
    const Verdict v = f->on_accept(c);
    if (v == Verdict::kAllowRest) {
      c.allowed_rest = true;
    } else if (v == Verdict::kDrop && account(p, c.reason, ip)) {
      // A slot of the app cap taken by an earlier filter goes back.
      if (a.tracked_app) p.connections->fetch_sub(1, std::memory_order_relaxed);
      a.tracked_app = false;
      a.allowed = false;
      a.reason = c.reason;
      a.rule = reason_rule(c.reason);
      return a;
    }
  }
  if (SourceEntry* e = c.entry(); e != nullptr) {
    if (e->conns++ == 0) table_.update(e);  // pinned while it has connections
    a.tracked_source = true;
  }
  if (!a.tracked_app) p.connections->fetch_add(1, std::memory_order_relaxed);
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
  Call c{*this, p, ip, now_ms};
  for (const Filter* f : p.on_first_bytes) {
    c.reason = r;
    if (f->on_first_bytes(c) == Verdict::kDrop && account(p, c.reason, ip)) return true;
  }
  return false;
}

Reason Guard::check_datagram(const AppPolicy& p, const net::SockAddr& src, int64_t now_ms) {
  const net::IpAddr& ip = src.ip();
  Call c{*this, p, ip, now_ms};
  c.src_port = src.port();
  for (const Filter* f : p.on_datagram) {
    if (c.allowed_rest && !f->decl().runs_after_allow) continue;
    const Verdict v = f->on_datagram(c);
    if (v == Verdict::kAllowRest)
      c.allowed_rest = true;
    else if (v == Verdict::kDrop && account(p, c.reason, ip))
      return c.reason;
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
