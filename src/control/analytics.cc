#include "control/analytics.h"

#include <algorithm>
#include <chrono>

#include "config/app_json.h"
#include "control/fleet.h"
#include "core/log.h"
#include "guard/reasons.h"

namespace rampart::control {
namespace {

using nlohmann::json;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_error_slot(size_t slot) {
  return slot != 1 && slot != 2;  // every status but 0 (opened) and 200 (normal close)
}

std::string protocol_of(const config::App& app) {
  std::string p = std::string(config::to_string(app.proto)) + "/" + std::to_string(app.ports.first);
  if (app.ports.last != app.ports.first) p += "-" + std::to_string(app.ports.last);
  return p;
}

std::vector<std::string> csv(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The banned sources among `sources` (one entry per address, the longest ban of its workers).
// `ip` is the banned source: an address, or an IPv6 prefix ("2001:db8:1:2::/64").
json ban_list(const std::vector<guard::SourceReport>& sources) {
  std::map<std::string, int64_t> merged;
  for (const auto& s : sources)
    if (s.banned_for_ms > 0) merged[s.text()] = std::max(merged[s.text()], s.banned_for_ms);
  json bans = json::array();
  for (const auto& [ip, ms] : merged)
    bans.push_back({{"ip", ip}, {"expires_in", (ms + 999) / 1000}});
  return bans;
}

}  // namespace

Analytics::Analytics(edge::Edge* edge, telemetry::Rollup* rollup,
                     std::unique_ptr<RollupStore> store, int64_t retention_s)
    : edge_(edge), rollup_(rollup), store_(std::move(store)), retention_s_(retention_s) {}

Analytics::~Analytics() {
  stop();
}

void Analytics::start() {
  thread_ = std::thread([this] { run(); });
}

void Analytics::stop() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Analytics::run() {
  std::unique_lock lock(run_mu_);
  while (!stop_) {
    // On the second boundary, so that samples line up with wall-clock seconds.
    const int64_t now = wall_ms();
    cv_.wait_for(lock, std::chrono::milliseconds(1000 - now % 1000), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    tick();
    lock.lock();
  }
  lock.unlock();
  flush_rollups();  // what the event log handed over before shutdown
}

void Analytics::tick() {
  const int64_t now = wall_ms();
  sample(now);
  flush_rollups();
  if (store_ && now / 1000 - last_prune_s_ >= 600) {
    last_prune_s_ = now / 1000;
    int64_t n = store_->prune_before((now / 1000 - retention_s_) / 60);
    if (n > 0) RLOG_INFO("analytics: pruned ", n, " rollup rows older than the retention");
  }
}

void Analytics::sample(int64_t now_ms) {
  telemetry::StatsRegistry* reg = edge_->stats();
  if (reg == nullptr) return;
  for (const auto& app : reg->all()) {
    telemetry::StatsTotals t = app->totals();
    Sample s;
    s.t_ms = now_ms;
    s.active = t.active();
    s.opened = t.opened;
    s.closed = t.closed;
    s.bytes_ingress = t.bytes_ingress;
    s.bytes_egress = t.bytes_egress;
    s.duration_sum_ms = t.duration_sum_ms;
    for (size_t ev = 0; ev < telemetry::kEventTypes; ++ev) {
      for (size_t slot = 0; slot < telemetry::kStatusSlots; ++slot) {
        s.statuses[slot] += t.events[ev][slot];
        if (is_error_slot(slot)) s.errors += t.events[ev][slot];
      }
    }
    std::lock_guard lock(mu_);
    auto& q = series_[app->app_id()];
    q.push_back(s);
    while (q.size() > kSamples + 1) q.pop_front();
  }
}

void Analytics::flush_rollups() {
  if (rollup_ == nullptr) return;
  auto rows = rollup_->take();
  if (rows.empty() || !store_) return;
  auto snap = edge_->snapshot();
  const std::string colo = snap ? snap->config.edge.colo : "";
  std::string error;
  if (!store_->add(rows, colo, &error)) RLOG_WARN("analytics: ", error);
  flushed_event_s_ = rollup_->last_event_s();
}

Outcome Analytics::aggregate_current(const std::multimap<std::string, std::string>& params) {
  std::vector<std::string> wanted;
  std::string colo, scope;
  for (const auto& [k, v] : params) {
    if (k == "appID") {
      auto ids = csv(v);
      wanted.insert(wanted.end(), ids.begin(), ids.end());
    } else if (k == "colo_name") {
      colo = v;
    } else if (k == "scope") {
      scope = v;
    } else {
      return Outcome::failure(400, config::kErrInvalidValue,
                              "unknown query parameter \"" + k + "\" (appID, colo_name, scope)");
    }
  }
  if (!scope.empty() && scope != "local" && scope != "fleet")
    return Outcome::failure(400, config::kErrInvalidValue,
                            "scope: \"" + scope + "\" is not local or fleet");
  auto snap = edge_->snapshot();
  const std::string my_colo = snap ? snap->config.edge.colo : "";
  json result = json::array();
  if (fleet_ != nullptr && scope != "local") {
    std::string why_not = fanout_off_reason();
    if (why_not.empty()) return fleet_current(wanted, colo);
    // The fan-out is off (no fleet credential, or no HTTPS): this edge's numbers, said so.
    std::multimap<std::string, std::string> local{{"scope", "local"}};
    for (const auto& [k, v] : params)
      if (k != "scope") local.emplace(k, v);
    Outcome o = aggregate_current(local);
    o.messages.push_back(ApiError{kNoteFleetSum,
                                  "scope=local: this edge's numbers only; the "
                                  "fleet fan-out is off (" +
                                      why_not + ")"});
    return o;
  }
  if (!snap || (!colo.empty() && colo != my_colo)) return Outcome{200, {}, {}, result, {}};
  std::lock_guard lock(mu_);
  for (const auto& rt : snap->apps) {
    const std::string& id = rt->cfg.id;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end()) continue;
    json row = {{"appID", id},      {"bytesIngress", 0}, {"bytesEgress", 0},
                {"connections", 0}, {"durationAvg", 0},  {"connectionsClosed", 0}};
    auto it = series_.find(id);
    if (it != series_.end() && !it->second.empty()) {
      const Sample& now = it->second.back();
      // The sample a minute before the newest, or the oldest there is.
      const Sample* then = &it->second.front();
      for (const Sample& s : it->second) {
        if (s.t_ms >= now.t_ms - 60'000) {
          then = &s;
          break;
        }
      }
      uint64_t closed = now.closed - then->closed;
      row["bytesIngress"] = now.bytes_ingress - then->bytes_ingress;
      row["bytesEgress"] = now.bytes_egress - then->bytes_egress;
      row["connections"] = now.active;
      row["connectionsClosed"] = closed;
      row["durationAvg"] = closed == 0
                               ? 0.0
                               : static_cast<double>(now.duration_sum_ms - then->duration_sum_ms) /
                                     static_cast<double>(closed);
    }
    result.push_back(row);
  }
  return Outcome{200, {}, {}, result, {}};
}

Outcome Analytics::events(const std::multimap<std::string, std::string>& params, bool bytime) {
  AnalyticsQuery q;
  std::string error;
  const int64_t now_s = wall_ms() / 1000;
  if (!parse_analytics_query(params, now_s, bytime, &q, &error))
    return Outcome::failure(400, config::kErrInvalidValue, error);
  std::vector<AnalyticsRow> rows;
  if (store_ && !store_->query(q, &rows, &error)) return Outcome::failure(500, kErrInternal, error);
  // Events reach the store within about a second (ring drain + flush).
  const int64_t lag = flushed_event_s_ > 0 && now_s > flushed_event_s_ ? 1 : 0;
  return Outcome{200, {}, {}, analytics_result(q, rows, bytime, lag), {}};
}

Outcome Analytics::live() {
  auto snap = edge_->snapshot();
  telemetry::StatsRegistry* reg = edge_->stats();
  json apps = json::array();
  if (snap && reg) {
    for (const auto& rt : snap->apps) {
      const config::App& cfg = rt->cfg;
      telemetry::StatsTotals t = rt->stats ? rt->stats->totals() : telemetry::StatsTotals{};
      json events = json::object(), statuses = json::object();
      for (size_t ev = 0; ev < telemetry::kEventTypes; ++ev) {
        uint64_t n = t.events_of(static_cast<telemetry::EventType>(ev));
        events[telemetry::to_string(static_cast<telemetry::EventType>(ev))] = n;
      }
      for (size_t slot = 1; slot < telemetry::kStatusSlots; ++slot) {
        uint64_t n = 0;
        for (size_t ev = 0; ev < telemetry::kEventTypes; ++ev) n += t.events[ev][slot];
        if (n > 0) statuses[std::to_string(telemetry::status_of_slot(slot))] = n;
      }
      json totals = {{"connections", t.active()},
                     {"connectionsTotal", t.opened},
                     {"bytesIngress", t.bytes_ingress},
                     {"bytesEgress", t.bytes_egress},
                     {"events", events},
                     {"statuses", statuses},
                     {"drops", t.drops_total()}};
      if (cfg.proto == config::Proto::kUdp) {
        totals["datagramsIngress"] = t.datagrams_ingress;
        totals["datagramsEgress"] = t.datagrams_egress;
      }
      json series = json::array();
      {
        std::lock_guard lock(mu_);
        auto it = series_.find(cfg.id);
        if (it != series_.end()) {
          const auto& q = it->second;
          for (size_t i = 1; i < q.size(); ++i) {
            const Sample &a = q[i - 1], &b = q[i];
            json st = json::object();
            for (size_t slot = 1; slot < telemetry::kStatusSlots; ++slot) {
              uint64_t d = b.statuses[slot] - a.statuses[slot];
              if (d > 0) st[std::to_string(telemetry::status_of_slot(slot))] = d;
            }
            series.push_back({{"t", b.t_ms},
                              {"connections", b.active},
                              {"bytesIngress", b.bytes_ingress - a.bytes_ingress},
                              {"bytesEgress", b.bytes_egress - a.bytes_egress},
                              {"connects", b.opened - a.opened},
                              {"errors", b.errors - a.errors},
                              {"statuses", st}});
          }
        }
      }
      std::vector<size_t> order;
      for (size_t i = 0; i < t.country_connections.size(); ++i)
        if (t.country_connections[i] > 0 || t.country_bytes_ingress[i] > 0) order.push_back(i);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return t.country_connections[a] > t.country_connections[b];
      });
      json countries = json::array();
      for (size_t i : order) {
        std::string cc = telemetry::country_of_slot(i);
        countries.push_back({{"country", cc.empty() ? "unknown" : cc},
                             {"connections", t.country_connections[i]},
                             {"bytesIngress", t.country_bytes_ingress[i]},
                             {"bytesEgress", t.country_bytes_egress[i]}});
      }
      // The 20 networks with the most connections (0 = ASNs past the counters' table).
      std::vector<std::pair<uint32_t, uint64_t>> by_asn(t.asn_connections.begin(),
                                                        t.asn_connections.end());
      std::sort(by_asn.begin(), by_asn.end(),
                [](const auto& a, const auto& b) { return a.second > b.second; });
      json asns = json::array();
      for (const auto& [number, n] : by_asn) {
        if (asns.size() == 20) break;
        asns.push_back({{"asn", number == 0 ? json("other") : json(number)}, {"connections", n}});
      }
      apps.push_back({{"appID", cfg.id},
                      {"protocol", protocol_of(cfg)},
                      {"dns", cfg.dns.name},
                      {"totals", totals},
                      {"series", series},
                      {"countries", countries},
                      {"asns", asns}});
    }
  }
  json result = {{"interval_ms", 1000}, {"now", wall_ms()}, {"apps", apps}};
  return Outcome{200, {}, {}, result, {}};
}

Outcome Analytics::bans() {
  return Outcome{200, {}, {}, ban_list(edge_->sources(0)), {}};  // top 0: the banned ones only
}

Outcome Analytics::unban(const std::string& text) {
  auto ip = net::IpAddr::parse(text);
  if (!ip)
    return Outcome::failure(400, config::kErrInvalidValue,
                            "\"" + text + "\" is not an IPv4 or IPv6 address");
  // Any address of a banned prefix lifts the prefix's ban.
  const std::string source = guard::source_text(edge_->ban_scope(*ip));
  edge_->unban(*ip);
  std::string error;
  if (fleet_ != nullptr && !fleet_->unban(edge_->ban_scope(*ip), &error))
    return Outcome::failure(503, kErrStoreUnavailable,
                            "lifted on this edge, but the fleet store is unreachable: " + error);
  RLOG_INFO("API: ban of ", source, " lifted");
  return Outcome{200, {}, {}, json{{"ip", source}}, {}};
}

Outcome Analytics::protection() {
  json drops = json::object(), dry = json::object();
  std::vector<uint64_t> d = edge_->guard_drops(false), dr = edge_->guard_drops(true);
  for (size_t i = 1; i < guard::kReasonCount; ++i) {
    const char* name = guard::reason_name(static_cast<guard::Reason>(i));
    drops[name] = d[i];
    dry[name] = dr[i];
  }
  std::map<std::string, guard::SourceReport> merged;
  for (const auto& s : edge_->sources(20)) {
    auto& m = merged[s.text()];
    m.source = s.source;
    m.connections += s.connections;
    m.violations = std::max(m.violations, s.violations);
    m.banned_for_ms = std::max(m.banned_for_ms, s.banned_for_ms);
  }
  std::vector<guard::SourceReport> all;
  for (auto& [ip, s] : merged) all.push_back(s);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.connections != b.connections ? a.connections > b.connections
                                          : a.violations > b.violations;
  });
  json top = json::array();
  for (const auto& s : all) {
    if (top.size() < 20 && (s.connections > 0 || s.violations > 0))
      top.push_back({{"ip", s.text()},
                     {"connections", s.connections},
                     {"violations", s.violations},
                     {"banned", s.banned_for_ms > 0}});
  }
  json bans = ban_list(all);
  json result = {{"drops", drops},
                 {"dryRun", dry},
                 {"bansTotal", edge_->guard_bans()},
                 {"topSources", top},
                 {"bans", bans}};
  return Outcome{200, {}, {}, result, {}};
}

}  // namespace rampart::control
