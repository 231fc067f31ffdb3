// The guard as a chain of filters (nginx's phase array, Envoy's network filters): each filter
// lives in its own folder under src/guard/ (acl/, autoban/, conn_limit/, rate_limit/,
// reflection/, validate/) as a stateless object plus a static declaration. When an app's policy
// is compiled (policy.cc), the filters it configures are flattened into one vector per hook
// (AppPolicy::on_accept / on_first_bytes / on_datagram), in the registry's order
// (declarations.h); Guard walks them. An app without protection walks only the bans filter
// (bans are zone-wide: a fleet or API ban holds for every app).
//
// A filter keeps no state of its own: per-source state lives in the worker's SourceTable,
// reached through the Call. Filter objects are immutable and shared by every worker; a Call
// lives on one worker's stack for one connection or datagram.
//
// Adding a filter: a folder with its declaration (FilterDecl: dry-run key, reasons with their
// metric label, ClientMatchedIpFirewall value and XDP twin, whether it keeps per-source state)
// and its Filter subclass; one line in declarations.h. The reason tables, the dry-run names, the
// steering decision and the XDP reason mapping follow from the declarations (docs/guard.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "config/guard_filters.h"
#include "guard/geoip.h"
#include "guard/reasons.h"
#include "net/ip_addr.h"

namespace rampart::guard {

class Guard;
struct Admission;
struct AppPolicy;
struct SourceEntry;

// What a filter says about a connection or datagram.
enum class Verdict : uint8_t {
  kContinue,   // no objection: the next filter judges
  kDrop,       // refuse, for Call::reason (unless that reason's filter is in dry-run)
  kAllowRest,  // trusted (a whitelist rule): the rest of the per-source filters are skipped
};

// One reason a filter drops for.
struct ReasonDecl {
  Reason reason;
  const char* label;  // metrics label (rampart_guard_drops_total{reason=...})
  const char* rule;   // ClientMatchedIpFirewall value in events
  bool xdp_twin;      // the XDP program drops for it too (src/xdp: a counter slot of its own)
};

// The hooks a filter implements (bit mask): the chains it is placed in.
enum Hook : uint8_t {
  kOnAccept = 1,      // a TCP connection from a source
  kOnFirstBytes = 2,  // the app's validator failed or timed out
  kOnDatagram = 4,    // a UDP datagram
};

// A filter's static declaration.
struct FilterDecl {
  FilterId id;  // its dry-run bit; its name is config::kGuardFilterNames[id]
  std::span<const ReasonDecl> reasons;
  uint8_t hooks;  // Hook bits
  // It may keep per-source state (token buckets, counts, violations that lead to bans), which
  // is exact only when one source always reaches the same worker: an app with such a filter
  // configured needs the listeners' steering program (Filter::keeps_source_state decides per app).
  bool source_state;
  // It still runs after a whitelist's kAllowRest (app-wide limits, not per-source ones).
  bool runs_after_allow;
  constexpr std::string_view name() const {
    return config::kGuardFilterNames[static_cast<size_t>(id)];
  }
};

// One walk of a chain: the source being judged and what the filters learn about it.
struct Call {
  Call(Guard& g, const AppPolicy& policy, const net::IpAddr& source, int64_t now)
      : guard(g), p(policy), ip(source), now_ms(now) {}

  Guard& guard;
  const AppPolicy& p;
  const net::IpAddr& ip;
  int64_t now_ms;
  uint16_t src_port = 0;           // datagrams: the source port
  Admission* admission = nullptr;  // TCP accept: the verdict being built
  const GeoInfo* geo = nullptr;    // TCP accept: looked up before the walk
  Reason reason = Reason::kNone;   // kDrop: why; on_first_bytes: what failed
  bool allowed_rest = false;       // a filter answered kAllowRest

  // The app's entry of this source in the worker's SourceTable, created on first use and kept
  // for the rest of the walk (the accept walk counts the connection in it at the end). kDrop
  // with reason table_full when the table cannot hold it (every entry has open connections);
  // then, and on every later call of the same walk, *out is null.
  Verdict source(SourceEntry** out);
  SourceEntry* entry() const { return entry_; }
  // Whether the source's (zone-wide) ban is running.
  bool banned() const;
  // Counts an autoban violation of reason r (nothing when autoban is off or r's filter is in
  // dry-run).
  void violation(Reason r);

 private:
  SourceEntry* entry_ = nullptr;
  bool looked_up_ = false;
};

// A filter: stateless, immutable, shared by every worker. The hooks it does not declare are
// never called.
class Filter {
 public:
  explicit constexpr Filter(const FilterDecl& decl) : decl_(decl) {}
  virtual ~Filter() = default;
  const FilterDecl& decl() const { return decl_; }

  // Policy compile time (never per packet): whether the app configures it (only configured
  // filters are in its chains), and whether it then keeps per-source state.
  virtual bool configured(const AppPolicy& p) const = 0;
  virtual bool keeps_source_state(const AppPolicy& p) const {
    (void)p;
    return false;
  }

  virtual Verdict on_accept(Call& c) const {
    (void)c;
    return Verdict::kContinue;
  }
  virtual Verdict on_first_bytes(Call& c) const {
    (void)c;
    return Verdict::kContinue;
  }
  virtual Verdict on_datagram(Call& c) const {
    (void)c;
    return Verdict::kContinue;
  }

 private:
  const FilterDecl& decl_;
};

}  // namespace rampart::guard
