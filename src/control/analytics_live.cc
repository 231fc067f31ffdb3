#include "control/analytics_live.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "edge/edge.h"

namespace rampart::control {
namespace {

using nlohmann::json;

bool is_error_slot(size_t slot) {
  return slot != 1 && slot != 2;  // every status but 0 (opened) and 200 (normal close)
}

std::string protocol_of(const config::App& app) {
  std::string p = std::string(config::to_string(app.proto)) + "/" + std::to_string(app.ports.first);
  if (app.ports.last != app.ports.first) p += "-" + std::to_string(app.ports.last);
  return p;
}

}  // namespace

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void LiveSeries::sample(int64_t now_ms) {
  sample(edge_->stats(), now_ms);
}

void LiveSeries::sample(const telemetry::StatsRegistry* reg, int64_t now_ms) {
  if (reg == nullptr) return;
  const int64_t before_ms =
      last_tick_ms_ > 0 && last_tick_ms_ < now_ms ? last_tick_ms_ : now_ms - 1000;
  last_tick_ms_ = now_ms;
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
    // New app: its counters were zero when they were created, after the previous tick.
    if (q.empty()) q.push_back(Sample{.t_ms = before_ms});
    q.push_back(s);
    while (q.size() > kSamples + 1) q.pop_front();
  }
}

std::optional<LiveSeries::Window> LiveSeries::last_minute(const std::string& app_id) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(app_id);
  if (it == series_.end() || it->second.empty()) return std::nullopt;
  const Sample& now = it->second.back();
  // The sample a minute before the newest, or the oldest there is.
  const Sample* then = &it->second.front();
  for (const Sample& s : it->second) {
    if (s.t_ms >= now.t_ms - 60'000) {
      then = &s;
      break;
    }
  }
  return Window{now, *then};
}

Outcome LiveSeries::live() const {
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
      // The origins new connections go to: origin_dns apps show their current addresses.
      json origins = json::array();
      for (size_t i = 0; i < rt->origins->size(); ++i) {
        const origin::Origin& o = rt->origins->at(i);
        origins.push_back({{"origin", o.cfg.text},
                           {"up", o.up.load(std::memory_order_relaxed)},
                           {"connections", o.active.load(std::memory_order_relaxed)}});
      }
      apps.push_back({{"appID", cfg.id},
                      {"protocol", protocol_of(cfg)},
                      {"dns", cfg.dns.name},
                      {"origins", origins},
                      {"totals", totals},
                      {"series", series},
                      {"countries", countries},
                      {"asns", asns}});
    }
  }
  json result = {{"interval_ms", 1000}, {"now", wall_ms()}, {"apps", apps}};
  return Outcome{200, {}, {}, result, {}};
}

}  // namespace rampart::control
