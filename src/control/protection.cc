#include "control/protection.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "config/app_json.h"
#include "control/etcd_client.h"
#include "control/fleet.h"
#include "core/log.h"
#include "edge/edge.h"
#include "guard/reasons.h"

namespace rampart::control {
namespace {

using nlohmann::json;

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

Outcome Protection::bans() const {
  return Outcome{200, {}, {}, ban_list(edge_->sources(0)), {}};  // top 0: the banned ones only
}

Outcome Protection::rule_hits() const {
  json result = json::array();
  const auto snap = edge_->snapshot();
  if (snap && snap->zone)
    for (const auto& r : snap->zone->rules)
      result.push_back({{"id", r.id}, {"refused", r.hits->total()}});
  json info = {{"count", result.size()}};
  return Outcome{200, {}, {}, std::move(result), std::move(info)};
}

Outcome Protection::unban(const std::string& text) {
  auto ip = net::IpAddr::parse(text);
  if (!ip)
    return Outcome::failure(400, config::kErrInvalidValue,
                            "\"" + text + "\" is not an IPv4 or IPv6 address");
  // Any address of a banned prefix lifts the prefix's ban.
  const std::string source = guard::source_text(edge_->ban_scope(*ip));
  edge_->unban(*ip);
  std::string error;
  const EtcdStatus st =
      fleet_ != nullptr ? fleet_->unban(edge_->ban_scope(*ip), &error) : EtcdStatus::kOk;
  if (st == EtcdStatus::kUnknown)
    return Outcome::failure(
        504, kErrOutcomeUnknown,
        "lifted on this edge; the fleet store did not answer in time, so whether the other edges "
        "lift it is unknown. Send the same DELETE again (it is safe to repeat), or GET "
        ".../rampart/bans on another edge: " +
            error);
  if (st != EtcdStatus::kOk)
    return Outcome::failure(503, kErrStoreUnavailable,
                            "lifted on this edge, but the fleet store is unreachable, so the other "
                            "edges keep the ban; retry later: " +
                                error);
  RLOG_INFO("API: ban of ", source, " lifted");
  return Outcome{200, {}, {}, json{{"ip", source}}, {}};
}

Outcome Protection::protection() const {
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
