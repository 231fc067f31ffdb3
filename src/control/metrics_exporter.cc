// MetricsExporter::render(): the Prometheus text exposition (format 0.0.4) of the live counters.
// Names carry their unit, counters end in _total; label values are bounded: app ids, the fixed
// event/status/reason sets, and per app the top countries with the rest as "other".
#include "control/metrics_exporter.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "edge/edge.h"
#include "guard/declarations.h"
#include "guard/reasons.h"
#include "telemetry/prometheus_label.h"
#include "xdp/loader.h"

namespace rampart::control {
namespace {

constexpr size_t kTopCountries = 20;

class Writer {
 public:
  // Every sample carries colo="...": a fleet's series stay apart when scraped together.
  explicit Writer(std::string colo) : colo_(std::move(colo)) {}
  // Starts a family: the samples that follow belong to it, each name written once here.
  void family(const char* name, const char* type, const char* help) {
    family_ = name;
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  // A sample of the current family; `suffix` for a summary's _sum and _count.
  template <typename V>
  void sample(std::initializer_list<std::pair<const char*, std::string>> labels, V value,
              const char* suffix = "") {
    out_ << family_ << suffix << "{colo=\"" << telemetry::prometheus_label_value(colo_) << '"';
    for (const auto& [k, v] : labels)
      out_ << ',' << k << "=\"" << telemetry::prometheus_label_value(v) << '"';
    out_ << "} " << value << '\n';
  }
  // One series of a declaration table: its one label, if any (telemetry/stat_decl.h).
  template <typename V>
  void sample1(const char* label, const char* value, V v) {
    if (label == nullptr)
      sample({}, v);
    else
      sample({{label, value}}, v);
  }
  std::string str() const { return out_.str(); }

 private:
  std::string colo_;
  const char* family_ = "";
  std::ostringstream out_;
};

// Every family of a declaration table, each series summed over the workers.
template <typename S, size_t N>
void write_table(Writer& w, const edge::Edge& edge,
                 const std::array<telemetry::StatDecl<S>, N>& table) {
  for (const auto& d : table) {
    if (d.is_family())
      w.family(d.name, "counter", d.help);
    else
      w.sample1(d.label, d.value, edge.sum(d.field));
  }
}

struct AppView {
  std::string id;
  std::string proto;
  telemetry::StatsTotals t;
};

// Descriptors open now (/proc/self/fd, less the one that reads it).
uint64_t open_fds() {
  std::error_code ec;
  uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0;
}

// Whether each kernel fast path the config asks for runs in this process: 1 yes, 0 asked for but
// not loaded (the kernel or a capability refused it, e.g. after `rampart upgrade` of an edge
// that dropped its privileges: docs/upgrade.md), no sample when nothing asks for it. Asked for:
// xdp by protection.xdp; the UDP relay by a UDP app with kernel_relay auto or on; the TCP relay
// by a plain-TCP app with kernel_relay on (auto keeps TCP in user space).
void write_kernel_paths(Writer& w, const edge::Edge& edge) {
  const auto snap = edge.snapshot();
  if (!snap) return;
  const config::Config& cfg = snap->config;
  const bool udp = edge::Edge::wants_udp_relay(cfg);
  const bool tcp = std::any_of(cfg.apps.begin(), cfg.apps.end(), [](const config::App& a) {
    return a.proto == config::Proto::kTcp && a.tls == config::TlsMode::kOff &&
           a.kernel_relay == config::KernelRelay::kOn;
  });
  const bool xdp = cfg.protection.xdp.mode != config::XdpMode::kOff;
  if (!xdp && !udp && !tcp) return;
  w.family("rampart_kernel_path_up", "gauge",
           "1 when a kernel fast path the config asks for runs in this process, 0 when it could "
           "not load or attach (then the edge does that work in user space; see the log): xdp "
           "(protection.xdp), kernel_relay_udp, kernel_relay_tcp (kernel_relay).");
  if (xdp) w.sample({{"path", "xdp"}}, edge.xdp() != nullptr ? 1 : 0);
  if (udp) w.sample({{"path", "kernel_relay_udp"}}, edge.udp_relay() != nullptr ? 1 : 0);
  if (tcp) w.sample({{"path", "kernel_relay_tcp"}}, edge.tcp_relay_loaded() ? 1 : 0);
}

void write_budgets(Writer& w, const edge::Edge& edge) {
  const edge::BudgetPlan plan = edge.budget_plan();
  const core::FdBudget& b = edge.budget();
  using K = core::FdBudget;
  w.family("rampart_fd_limit", "gauge",
           "RLIMIT_NOFILE of the edge (the soft limit, raised to the hard one at start).");
  w.sample({}, plan.fd_limit);
  w.family("rampart_fds_open", "gauge", "File descriptors the edge holds now.");
  w.sample({}, open_fds());
  w.family("rampart_budget", "gauge",
           "Descriptor budgets derived from the limit, each in its unit: tcp_sessions and "
           "tcp_pipes (2 fds each), udp_flows and udp_unconfirmed_flows (1 fd each), api and "
           "spare (fds).");
  const std::pair<const char*, uint64_t> budgets[] = {
      {"tcp_sessions", plan.tcp_sessions},
      {"tcp_pipes", plan.tcp_pipes},
      {"udp_flows", plan.udp_flows},
      {"udp_unconfirmed_flows", plan.udp_unconfirmed},
      {"api", plan.api},
      {"spare", plan.spare}};
  for (const auto& [kind, n] : budgets) w.sample({{"kind", kind}}, n);
  w.family("rampart_budget_in_use", "gauge", "What the data plane holds of each budget now.");
  const uint64_t unconfirmed = b.in_use(K::kUdpUnconfirmed);
  const std::pair<const char*, uint64_t> used[] = {
      {"tcp_sessions", b.in_use(K::kTcpSessions)},
      {"tcp_pipes", b.in_use(K::kTcpPipes)},
      {"udp_flows", b.in_use(K::kUdpConfirmed) + unconfirmed},
      {"udp_unconfirmed_flows", unconfirmed}};
  for (const auto& [kind, n] : used) w.sample({{"kind", kind}}, n);
}

}  // namespace

std::string MetricsExporter::render() const {
  std::vector<AppView> apps;
  std::string colo;
  // One snapshot for every series: apps and origins from the same config across a reload.
  const auto snap = edge_->snapshot();
  if (snap) {
    colo = snap->config.edge.colo;
    for (const auto& rt : snap->apps) {
      if (!rt->stats) continue;
      apps.push_back({rt->cfg.id, config::to_string(rt->cfg.proto), rt->stats->totals()});
    }
  }
  Writer w(colo);
  w.family("rampart_connections_active", "gauge", "Open TCP connections and UDP flows.");
  for (const auto& a : apps) w.sample({{"app", a.id}, {"proto", a.proto}}, a.t.active());
  for (const telemetry::AppStatDecl& d : telemetry::kAppStats) {
    if (d.name == nullptr) continue;
    w.family(d.name, "counter", d.help);
    for (const auto& a : apps) {
      const uint64_t v = a.t.*d.total;
      if (d.labels == telemetry::AppLabels::kAppProto)
        w.sample({{"app", a.id}, {"proto", a.proto}}, v);
      else if (d.labels == telemetry::AppLabels::kApp || a.proto == "udp")
        w.sample({{"app", a.id}}, v);
    }
  }

  w.family("rampart_events_total", "counter",
           "Connection events by type and Spectrum status code.");
  for (const auto& a : apps) {
    for (size_t ev = 0; ev < telemetry::kEventTypes; ++ev) {
      for (size_t slot = 0; slot < telemetry::kStatusSlots; ++slot) {
        uint64_t n = a.t.events[ev][slot];
        if (n == 0) continue;
        std::string status = slot == 0 ? "other" : std::to_string(telemetry::status_of_slot(slot));
        w.sample({{"app", a.id},
                  {"event", telemetry::to_string(static_cast<telemetry::EventType>(ev))},
                  {"status", status}},
                 n);
      }
    }
  }
  w.family("rampart_connection_duration_seconds", "summary",
           "Duration of closed connections and UDP flows.");
  for (const auto& a : apps) {
    uint64_t count = 0;
    for (uint64_t n : a.t.durations) count += n;
    for (double q : {0.5, 0.9, 0.99}) {
      double v = telemetry::duration_percentile(a.t.durations.data(), a.t.durations.size(), q);
      w.sample({{"app", a.id}, {"quantile", std::to_string(q).substr(0, 4)}}, v / 1000.0);
    }
    w.sample({{"app", a.id}}, static_cast<double>(a.t.duration_sum_ms) / 1000.0, "_sum");
    w.sample({{"app", a.id}}, count, "_count");
  }
  w.family("rampart_guard_drops_total", "counter",
           "Connections and datagrams dropped by the guard, by app and reason.");
  for (const auto& a : apps)
    for (size_t i = 1; i < guard::kReasonCount; ++i)
      w.sample({{"app", a.id}, {"reason", guard::reason_name(static_cast<guard::Reason>(i))}},
               a.t.drops[i]);
  w.family("rampart_guard_dry_run_total", "counter",
           "What dry-run filters would have dropped, by app and reason.");
  for (const auto& a : apps)
    for (size_t i = 1; i < guard::kReasonCount; ++i)
      if (a.t.dry_run[i] > 0)
        w.sample({{"app", a.id}, {"reason", guard::reason_name(static_cast<guard::Reason>(i))}},
                 a.t.dry_run[i]);
  w.family(telemetry::kProbesName, "counter", telemetry::kProbesHelp);
  for (const auto& a : apps)
    for (size_t k = 0; k < telemetry::kProbeKinds.size(); ++k)
      w.sample({{"app", a.id}, {"kind", telemetry::kProbeKinds[k]}}, a.t.probes[k]);
  w.family("rampart_guard_bans_total", "counter", "Sources banned by autoban.");
  w.sample({}, edge_->guard_bans());
  w.family("rampart_access_rule_refused_total", "counter",
           "TCP connections and UDP datagrams refused by each IP access rule (by rule id; not "
           "those the XDP guard dropped in the kernel).");
  if (snap && snap->zone)
    for (const auto& r : snap->zone->rules) w.sample({{"rule", r.id}}, r.hits->total());
  const edge::Edge::SourceTableTotals tables = edge_->guard_tables();
  w.family("rampart_guard_sources", "gauge",
           "Entries in use in the guard's per-source tables (all workers).");
  w.sample({}, tables.size);
  w.family("rampart_guard_source_table_capacity", "gauge",
           "Capacity of the guard's per-source tables (protection.source_table_size x workers).");
  w.sample({}, tables.capacity);
  w.family("rampart_guard_source_evictions_total", "counter",
           "Entries evicted from a full source table to admit a new source, by what they held.");
  w.sample({{"kind", "idle"}}, tables.evicted_idle);
  w.sample({{"kind", "violations"}}, tables.evicted_violators);
  w.sample({{"kind", "ban"}}, tables.evicted_banned);

  w.family("rampart_connections_by_country_total", "counter",
           "Connections opened by client country (GeoIP): the top countries of each app, the "
           "rest as \"other\".");
  for (const auto& a : apps) {
    const auto& c = a.t.country_connections;
    std::vector<size_t> idx;
    for (size_t i = 0; i < c.size(); ++i)
      if (c[i] > 0) idx.push_back(i);
    std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return c[x] > c[y]; });
    uint64_t other = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      std::string cc = telemetry::country_of_slot(idx[k]);
      if (k >= kTopCountries) {
        other += c[idx[k]];
        continue;
      }
      w.sample({{"app", a.id}, {"country", cc.empty() ? "unknown" : cc}}, c[idx[k]]);
    }
    if (other > 0) w.sample({{"app", a.id}, {"country", "other"}}, other);
  }
  // One family after the other: the exposition format wants every line of a family together.
  auto each_origin = [&](auto fn) {
    if (!snap) return;
    for (const auto& rt : snap->apps)
      for (size_t i = 0; i < rt->origins->size(); ++i) fn(rt->cfg.id, rt->origins->at(i));
  };
  w.family("rampart_connections_by_asn_total", "counter",
           "Connections opened by client network (GeoIP ASN): the top networks of each app, the "
           "rest as \"other\".");
  for (const auto& a : apps) {
    std::vector<std::pair<uint32_t, uint64_t>> by(a.t.asn_connections.begin(),
                                                  a.t.asn_connections.end());
    std::sort(by.begin(), by.end(),
              [](const auto& x, const auto& y) { return x.second > y.second; });
    uint64_t other = 0;
    for (size_t k = 0; k < by.size(); ++k) {
      if (k >= kTopCountries || by[k].first == 0) {
        other += by[k].second;
        continue;
      }
      w.sample({{"app", a.id}, {"asn", std::to_string(by[k].first)}}, by[k].second);
    }
    if (other > 0) w.sample({{"app", a.id}, {"asn", "other"}}, other);
  }
  w.family("rampart_app_disabled", "gauge",
           "1 for an app the data plane runs disabled (e.g. its certificate file is gone): its "
           "ports stay closed.");
  if (snap)
    for (const auto& rt : snap->apps)
      w.sample({{"app", rt->cfg.id}}, snap->disabled.count(rt->cfg.id) != 0 ? 1 : 0);
  w.family("rampart_origin_up", "gauge", "1 when the origin takes new connections (health).");
  each_origin([&](const std::string& app, const origin::Origin& o) {
    w.sample({{"app", app}, {"origin", o.cfg.text}}, o.up.load(std::memory_order_relaxed) ? 1 : 0);
  });
  w.family("rampart_origin_connections_active", "gauge", "Open connections to the origin.");
  each_origin([&](const std::string& app, const origin::Origin& o) {
    w.sample({{"app", app}, {"origin", o.cfg.text}}, o.active.load(std::memory_order_relaxed));
  });
  if (const resolve::OriginResolver* r = edge_->resolver(); r != nullptr) {
    // origin_dns: one query per app (src/resolve/origin_resolver.h).
    const std::vector<resolve::Status> names = r->status();
    w.family("rampart_origin_dns_lookups_total", "counter",
             "Lookups of an origin_dns name, by outcome (ok, nxdomain, nodata, servfail, "
             "refused, timeout, error).");
    for (const auto& s : names)
      for (size_t i = 0; i < resolve::kResultCount; ++i)
        w.sample(
            {{"app", s.key}, {"result", resolve::result_name(static_cast<resolve::Result>(i))}},
            s.lookups[i]);
    w.family("rampart_origin_dns_addresses", "gauge",
             "Addresses of the origin_dns name in use (0: connections are refused with 531).");
    for (const auto& s : names) w.sample({{"app", s.key}, {"name", s.name}}, s.addresses.size());
    w.family("rampart_origin_dns_stale", "gauge",
             "1 while lookups fail and the last good answer is kept (timeouts.dns_hold).");
    for (const auto& s : names) w.sample({{"app", s.key}}, s.stale ? 1 : 0);
    w.family("rampart_origin_dns_addresses_shed_total", "counter",
             "Addresses of an answer beyond the 64 used per name.");
    for (const auto& s : names) w.sample({{"app", s.key}}, s.shed);
    w.family("rampart_origin_dns_addresses_refused_total", "counter",
             "Answer addresses that can never be an origin (link-local, cloud metadata, "
             "multicast, broadcast, 0.0.0.0/8), left out.");
    for (const auto& s : names) w.sample({{"app", s.key}}, s.refused);
    w.family("rampart_origin_dns_names_shed", "gauge",
             "origin_dns names not resolved: more than 1024 on this edge.");
    w.sample({}, r->names_shed());
  }
  if (const xdp::Loader* x = edge_->xdp(); x != nullptr && x->attached()) {
    const xdp::Counters c = x->counters();
    w.family("rampart_xdp_packets_passed_total", "counter",
             "Packets the XDP program handed to the kernel's stack.");
    w.sample({}, c.passed);
    w.family("rampart_xdp_packets_whitelisted_total", "counter",
             "Packets passed by a whitelist rule in XDP.");
    w.sample({}, c.whitelisted);
    w.family("rampart_xdp_drops_total", "counter",
             "Packets dropped by the XDP program before the socket layer, by reason.");
    // Every reason whose filter declares an XDP twin (guard/declarations.h).
    for (size_t i = 1; i < guard::kReasonCount; ++i) {
      const auto r = static_cast<guard::Reason>(i);
      if (!guard::reason_has_xdp_twin(r)) continue;
      w.sample({{"reason", guard::reason_name(r)}}, c.drops(r));
    }
  }
  write_kernel_paths(w, *edge_);
  if (const xdp::UdpRelay* r = edge_->udp_relay(); r != nullptr) {
    const xdp::RelayCounters c = r->counters();
    w.family("rampart_kernel_relay_udp_packets_total", "counter",
             "Datagrams of kernel-relayed UDP flows, by result: relayed (rewritten and sent on "
             "by the tc program), banned and udp_rate_limit (dropped by the guard in the "
             "program, also counted in the guard's drops), failed (a helper failed).");
    w.sample({{"result", "relayed"}}, c.relayed);
    w.sample({{"result", "banned"}}, c.drop_banned);
    w.sample({{"result", "udp_rate_limit"}}, c.drop_udp_rate);
    w.sample({{"result", "failed"}}, c.failed);
    w.family("rampart_kernel_relay_udp_flows", "gauge", "UDP flows relayed by the kernel now.");
    w.sample({}, edge_->sum(&udp::UdpCounters::kernel_moved) -
                     edge_->sum(&udp::UdpCounters::kernel_ended));
  }
  write_table(w, *edge_, udp::kUdpStats);
  write_table(w, *edge_, tcp::kTcpWorkerStats);
  write_budgets(w, *edge_);
  w.family("rampart_event_log_dropped_total", "counter",
           "Connection events lost because a worker's event ring was full.");
  w.sample({}, edge_->events_dropped());
  return extra_ ? w.str() + extra_() : w.str();
}

}  // namespace rampart::control
