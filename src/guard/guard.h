// The guard of one worker: walks the app's filter chains (filter.h: IP access rules with GeoIP,
// bans, per-app and per-source connection limits, per-source new-connection and datagram rates,
// UDP reflection ports, first-bytes validation) and keeps the per-source state they need. A
// source is an IPv4 address or an IPv6 prefix (protection.ipv6_prefix: the app's for limits, the
// zone's for autoban and bans). Its per-source state (a SourceTable) is exact for a source
// because the listeners' reuseport program steers every connection of one source to one worker
// (see reuseport.h). Every drop goes through one accounting call (account()) that feeds every
// view: the guard's Counters (log summary, protection view), the app's stats (metrics) and the
// dry-run counts; a filter in dry-run counts and logs instead of dropping. Owned by a worker;
// worker thread only (counters() and table_stats() may be read from any thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "guard/filter.h"
#include "guard/policy.h"
#include "guard/reasons.h"
#include "guard/source_table.h"
#include "net/cidr.h"
#include "net/ip_addr.h"

namespace rampart::guard {

// Told about every autoban ban so that a kernel fast path (src/xdp) can drop the source before
// the socket layer. `source` is what was banned: an IPv4 address (/32) or an IPv6 prefix
// (protection.ipv6_prefix). Called on the worker thread that banned (rarely: once per ban); must
// not block for long.
class BanSink {
 public:
  virtual ~BanSink() = default;
  virtual void banned(const net::Cidr& source, int64_t duration_ms) = 0;
};

// What the guard knows of one client source (all apps together), for the API.
struct SourceReport {
  net::Cidr source;           // an IPv4 address (/32) or an IPv6 prefix (/ipv6_prefix)
  uint32_t connections = 0;   // open TCP connections
  uint32_t violations = 0;    // autoban violations in the current window
  int64_t banned_for_ms = 0;  // remaining ban; 0 = not banned
  std::string text() const { return source_text(source); }
};

// The verdict on a new TCP connection, kept by the session until it closes.
struct Admission {
  bool allowed = true;
  bool tracked_source = false;  // counted in the source's open connections: release on close
  bool tracked_app = false;     // counted in the app's open connections
  Reason reason = Reason::kNone;
  const char* rule = "";  // ClientMatchedIpFirewall ("" = not evaluated)
  GeoInfo geo;
};

class Guard {
 public:
  static constexpr size_t kDefaultMaxSources = SourceTable::kDefaultCapacity;
  static constexpr int64_t kSummaryIntervalMs = 10'000;
  // A source commits at most one autoban violation per this period, however many of its
  // connections or datagrams are refused in it.
  static constexpr int64_t kViolationPeriodMs = 1'000;

  explicit Guard(int worker = 0, size_t max_sources = kDefaultMaxSources)
      : worker_(worker), table_(max_sources) {}

  // A TCP connection from `ip` was accepted for the app of `p`.
  Admission admit(const AppPolicy& p, const net::IpAddr& ip, int64_t now_ms);
  // The connection admitted with `a` closed.
  void release(const AppPolicy& p, const net::IpAddr& ip, const Admission& a);
  // A datagram from `src` to a UDP app: kNone to pass it, else the reason it is dropped. No
  // allocation: one walk of p.on_datagram.
  Reason check_datagram(const AppPolicy& p, const net::SockAddr& src, int64_t now_ms);
  // The client failed the app's first-bytes check (or timed out): counts the drop and a
  // violation. True when it should be refused (false in dry-run).
  bool validation_failed(const AppPolicy& p, const net::IpAddr& ip, Reason r, int64_t now_ms);
  // `n` datagrams of `ip` dropped for `r` by the UDP kernel relay (xdp/relay_udp.h), which
  // judged them with this app's limits: counted in every view like the guard's own drops, plus
  // (but for kBanned) one autoban violation (at most one per kViolationPeriodMs, as always).
  void kernel_dropped(const AppPolicy& p, const net::IpAddr& ip, Reason r, uint64_t n,
                      int64_t now_ms);
  // Country and ASN of `ip` for events (empty without GeoIP databases).
  static void geo(const AppPolicy& p, const net::IpAddr& ip, GeoInfo* out) {
    if (p.zone) p.zone->lookup_geo(ip, out);
  }

  // Once a second: expires idle sources; logs a drop summary every 10 s when there were drops.
  void tick(int64_t now_ms);

  // Before the worker starts: who else to tell about bans (null = nobody). Not owned.
  void set_ban_sink(BanSink* sink) { ban_sink_ = sink; }
  // The zone-wide settings of the source table (each snapshot): its capacity
  // (protection.source_table_size) and the IPv6 prefix of autoban state and bans
  // (protection.ipv6_prefix of the zone: a ban holds for every app, so one granularity).
  void configure(size_t table_size, int ban_v6_prefix);
  int ban_v6_prefix() const { return ban_v6_prefix_; }
  // A ban decided elsewhere (another edge of the fleet): refuses `source` for duration_ms from
  // now, like an autoban of this guard, without telling the ban sink again. Kept at this guard's
  // granularity: the ban_v6_prefix prefix of source's first address.
  void ban(const net::Cidr& source, int64_t duration_ms, int64_t now_ms);
  // Lifts the ban of the source `ip` belongs to (the API's DELETE .../rampart/bans/IP, any
  // address of a banned prefix) and forgets its violations.
  void unban(const net::IpAddr& ip);

  int worker() const { return worker_; }
  const Counters& counters() const { return counters_; }
  const SourceTableStats& table_stats() const { return table_.stats(); }
  size_t sources() const { return table_.size(); }
  // The remaining ban of `ip`'s source in ms (0 when not banned); for tests and the API.
  int64_t banned_for(const net::IpAddr& ip, int64_t now_ms);
  // Every banned source, plus the `top` sources with the most open connections or violations.
  std::vector<SourceReport> report(size_t top, int64_t now_ms) const;

 private:
  friend struct Call;
  // The one drop-accounting call: counts r in every view (Counters, the app's stats; both as a
  // drop or, when r's filter is in dry-run, as a dry-run). True when the drop happens.
  bool account(const AppPolicy& p, Reason r, const net::IpAddr& ip);
  // Counts a dry-run of r in every view and logs the first few (ban_ms > 0: a ban of ip's
  // source that autoban in dry-run did not impose).
  void account_dry(const AppPolicy& p, Reason r, const net::IpAddr& ip, int64_t ban_ms = 0);
  // `held`: the caller's per-app entry, which the lookup of the autoban entry must not evict.
  void violation(const AppPolicy& p, Reason r, const net::IpAddr& ip, int64_t now_ms,
                 const SourceEntry* held = nullptr);

  SourceKey ban_key(const net::IpAddr& ip) const { return SourceKey::of(ip, 0, ban_v6_prefix_); }

  int worker_;
  int ban_v6_prefix_ = 64;
  SourceTable table_;
  Counters counters_;
  uint64_t logged_total_ = 0;
  uint64_t logged_dry_ = 0;
  int64_t next_summary_ms_ = 0;
  uint64_t dry_logs_ = 0;
  BanSink* ban_sink_ = nullptr;
};

}  // namespace rampart::guard
