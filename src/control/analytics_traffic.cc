#include "control/analytics_traffic.h"

#include <httplib.h>

#include <algorithm>

#include "config/app_json.h"
#include "control/analytics_fleet.h"
#include "control/analytics_live.h"
#include "control/analytics_query.h"
#include "control/analytics_rows.h"
#include "core/log.h"
#include "edge/edge.h"
#include "guard/declarations.h"
#include "guard/reasons.h"

namespace rampart::control {
namespace {

using nlohmann::json;

// A peer's rows for one events query: one row per group and time bucket, histograms sparse.
constexpr size_t kMaxRowsAnswer = 16 << 20;

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

}  // namespace

TrafficQuery::TrafficQuery(edge::Edge* edge, const LiveSeries* live, const AnalyticsFleet* fleet,
                           telemetry::Rollup* rollup, std::unique_ptr<RollupStore> store,
                           int64_t retention_s)
    : edge_(edge),
      live_(live),
      fleet_(fleet),
      rollup_(rollup),
      store_(std::move(store)),
      retention_s_(retention_s) {}

void TrafficQuery::flush(int64_t now_ms) {
  flush_rollups();
  const int64_t minute = now_ms / 60000;
  if (minute != drops_minute_) {
    // The first flush records what was dropped since the start, later ones the minute that ended.
    flush_drops(drops_minute_ < 0 ? minute : minute - 1);
    drops_minute_ = minute;
  }
  if (store_ && now_ms / 1000 - last_prune_s_ >= 600) {
    last_prune_s_ = now_ms / 1000;
    int64_t n = store_->prune_before((now_ms / 1000 - retention_s_) / 60);
    if (n > 0) RLOG_INFO("analytics: pruned ", n, " rollup rows older than the retention");
  }
}

void TrafficQuery::flush_rollups() {
  if (rollup_ == nullptr) return;
  auto rows = rollup_->take();
  if (rows.empty() || !store_) return;
  auto snap = edge_->snapshot();
  const std::string colo = snap ? snap->config.edge.colo : "";
  std::string error;
  if (!store_->add(rows, colo, &error)) RLOG_WARN("analytics: ", error);
  flushed_event_s_ = rollup_->last_event_s();
}

void TrafficQuery::flush_drops(int64_t minute) {
  auto snap = edge_->snapshot();
  if (!snap || !store_) return;
  std::vector<DropDelta> totals;
  for (const auto& rt : snap->apps) {
    const telemetry::StatsTotals t = rt->stats->totals();
    for (size_t i = 1; i < guard::kReasonCount; ++i)
      totals.push_back(
          DropDelta{rt->cfg.id, guard::reason_name(static_cast<guard::Reason>(i)), t.drops[i]});
  }
  std::string error;
  if (!store_->add_drops(minute, drop_deltas_.take(totals), snap->config.edge.colo, &error))
    RLOG_WARN("analytics: ", error);
}

Outcome TrafficQuery::aggregate_current(
    const std::multimap<std::string, std::string>& params) const {
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
  if (fleet_->fleet() != nullptr && scope != "local") {
    std::string why_not = fleet_->off_reason();
    if (why_not.empty())
      return fleet_->sum(wanted, colo, [this](const std::string& ids) {
        std::multimap<std::string, std::string> local{{"scope", "local"}};
        if (!ids.empty()) local.emplace("appID", ids);
        return aggregate_current(local).result;
      });
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
  for (const auto& rt : snap->apps) {
    const std::string& id = rt->cfg.id;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end()) continue;
    json row = {{"appID", id},      {"bytesIngress", 0}, {"bytesEgress", 0},
                {"connections", 0}, {"durationAvg", 0},  {"connectionsClosed", 0}};
    if (const auto w = live_->last_minute(id)) {
      const LiveSeries::Sample& now = w->now;
      const LiveSeries::Sample* then = &w->then;
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

std::optional<Outcome> TrafficQuery::split_scope(
    const std::multimap<std::string, std::string>& params, Scope* s) const {
  for (const auto& [k, v] : params) {
    if (k == "scope")
      s->scope = v;
    else if (k == "format")
      s->format = v;
    else if (k == "edge")
      s->edge = v;
    else
      s->query.emplace(k, v);
  }
  if (!s->scope.empty() && s->scope != "local" && s->scope != "fleet")
    return Outcome::failure(400, config::kErrInvalidValue,
                            "scope: \"" + s->scope + "\" is not local or fleet");
  // edge=NAME: one edge of the fleet (a name of GET .../rampart/edges) instead of the sum.
  if (params.count("edge") > 0) {
    if (s->edge.empty() || s->scope == "local")
      return Outcome::failure(400, config::kErrInvalidValue,
                              "edge: give the name of one edge of GET .../rampart/edges, without "
                              "scope=local (which is this edge)");
    if (fleet_->fleet() == nullptr)
      return Outcome::failure(400, config::kErrInvalidValue,
                              "edge: this edge is not part of a fleet (store: etcd://...); its "
                              "answer is its own");
  }
  if (!s->format.empty() && (s->format != "rows" || s->scope != "local"))
    return Outcome::failure(
        400, config::kErrInvalidValue,
        "format: only format=rows, with scope=local (the fleet fan-out's form)");
  const bool fleet = fleet_->fleet() != nullptr && s->scope != "local";
  const std::string why_not = fleet ? fleet_->off_reason() : "";
  s->fanout = fleet && why_not.empty();
  if (fleet && !why_not.empty()) {
    // Without the fan-out only this edge can answer.
    if (!s->edge.empty() && !fleet_->is_self(s->edge))
      return Outcome::failure(400, config::kErrInvalidValue,
                              "edge: \"" + s->edge +
                                  "\" is not this edge, and the fleet fan-out is off (" + why_not +
                                  "), so other edges cannot be asked");
    if (s->edge.empty())
      s->off_note =
          "scope=local: this edge's numbers only; the fleet fan-out is off (" + why_not + ")";
  }
  return std::nullopt;
}

std::optional<Outcome> TrafficQuery::gather_rows(
    const Scope& s, std::string path, const char* what,
    const std::function<json(std::string*)>& local,
    const std::function<bool(const json&, std::string*)>& merge,
    AnalyticsFleet::Gathered* used) const {
  path += "?scope=local&format=rows";
  for (const auto& [k, v] : s.query)
    path +=
        "&" + httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
  std::string error;
  bool local_failed = false;
  const AnalyticsFleet::Gathered g = fleet_->gather(
      path, what, "",
      [&]() -> json {
        json mine = local(&error);
        local_failed = mine.is_null();
        return mine;
      },
      kMaxRowsAnswer, s.edge);
  if (local_failed) return Outcome::failure(500, kErrInternal, error);
  if (!s.edge.empty() && g.matched == 0)
    return Outcome::failure(404, kErrNotFound,
                            "edge: no live edge named \"" + s.edge +
                                "\" in the fleet; GET .../rampart/edges lists them");
  if (!s.edge.empty() && g.answers.empty())
    return Outcome::failure(502, kErrEdgeUnreachable,
                            "edge " + (g.left_out.empty() ? s.edge : g.left_out[0]) +
                                " did not answer; retry, or leave edge= out for the rest of "
                                "the fleet");
  used->left_out = g.left_out;
  for (const auto& [name, answer] : g.answers) {
    std::string bad;
    if (!merge(answer, &bad)) {
      RLOG_WARN("analytics: edge ", name, " sent an unusable ", what, " answer (", bad,
                "); left out of the fleet answer");
      used->left_out.push_back(name + " (" + bad + ")");
      continue;
    }
    used->answers.emplace_back(name, json());
  }
  return std::nullopt;
}

Outcome TrafficQuery::events(const std::multimap<std::string, std::string>& params,
                             bool bytime) const {
  // Rampart's own parameters: scope (fleet|local), edge and, with scope=local, format=rows (what
  // the fleet fan-out asks a peer for: analytics_rows.h). The rest is the query, as the parser
  // takes it (and as it is passed on to the peers).
  Scope s;
  if (auto bad = split_scope(params, &s)) return *bad;
  AnalyticsQuery q;
  std::string error;
  const int64_t now_s = wall_ms() / 1000;
  if (!parse_analytics_query(s.query, now_s, bytime, &q, &error))
    return Outcome::failure(400, config::kErrInvalidValue, error);
  auto local_rows = [&](std::vector<AnalyticsRow>* rows, int64_t* lag, std::string* why) {
    if (store_ && !store_->query(q, rows, why)) return false;
    // Events reach the store within about a second (ring drain + flush).
    *lag = flushed_event_s_ > 0 && now_s > flushed_event_s_ ? 1 : 0;
    return true;
  };
  std::vector<AnalyticsRow> rows;
  int64_t lag = 0;
  if (!s.fanout) {
    if (!local_rows(&rows, &lag, &error)) return Outcome::failure(500, kErrInternal, error);
    if (s.format == "rows")
      return Outcome{200, {}, {}, rows_to_json(collapse_rows(q, rows, bytime), lag), {}};
    Outcome o{200, {}, {}, analytics_result(q, rows, bytime, lag), {}};
    if (!s.off_note.empty()) o.messages.push_back(ApiError{kNoteFleetSum, s.off_note});
    return o;
  }
  // The fleet: every live edge's rows for the query, merged here (analytics_rows.h).
  AnalyticsFleet::Gathered used;
  auto bad = gather_rows(
      s,
      std::string("/client/v4/zones/default/spectrum/analytics/events/") +
          (bytime ? "bytime" : "summary"),
      bytime ? "events/bytime" : "events/summary",
      [&](std::string* why) -> json {
        std::vector<AnalyticsRow> mine;
        int64_t my_lag = 0;
        if (!local_rows(&mine, &my_lag, why)) return json();
        return rows_to_json(collapse_rows(q, mine, bytime), my_lag);
      },
      [&](const json& answer, std::string* why) {
        return rows_from_json(answer, q.dimensions.size(), &rows, &lag, why);
      },
      &used);
  if (bad) return *bad;
  Outcome o{200, {}, {}, analytics_result(q, rows, bytime, lag), {}};
  AnalyticsFleet::note(used, &o);
  return o;
}

Outcome TrafficQuery::drops(const std::multimap<std::string, std::string>& params) const {
  Scope s;
  if (auto bad = split_scope(params, &s)) return *bad;
  DropsQuery dq;
  std::string error;
  if (!parse_drops_query(s.query, wall_ms() / 1000, &dq, &error))
    return Outcome::failure(400, config::kErrInvalidValue, error);
  std::vector<DropRow> rows;
  if (!s.fanout) {
    if (!local_drops(store_.get(), dq, &rows, &error))
      return Outcome::failure(500, kErrInternal, error);
    if (s.format == "rows") return Outcome{200, {}, {}, drop_rows_to_json(rows), {}};
    Outcome o{200, {}, {}, drops_result(dq, rows), {}};
    if (!s.off_note.empty()) o.messages.push_back(ApiError{kNoteFleetSum, s.off_note});
    return o;
  }
  AnalyticsFleet::Gathered used;
  auto bad = gather_rows(
      s, "/client/v4/zones/default/rampart/analytics/drops/bytime", "drops/bytime",
      [&](std::string* why) -> json {
        std::vector<DropRow> mine;
        if (!local_drops(store_.get(), dq, &mine, why)) return json();
        return drop_rows_to_json(mine);
      },
      [&](const json& answer, std::string* why) { return drop_rows_from_json(answer, &rows, why); },
      &used);
  if (bad) return *bad;
  Outcome o{200, {}, {}, drops_result(dq, rows), {}};
  AnalyticsFleet::note(used, &o);
  return o;
}

}  // namespace rampart::control
