// AnalyticsFleet: the fleet fan-out (docs/fleet.md): gather() asks every live edge at once; sum()
// adds up aggregate/current; events/summary and events/bytime merge rows (analytics_traffic.cc).
// Peers are the registry's records in etcd; each is asked over HTTPS, its certificate verified
// (fleet.ca_file, else the system's store; the certificate must name the registry's address),
// with the fleet credential, which peers accept on these endpoints (with scope=local) only.
#include "control/analytics_fleet.h"

#include <httplib.h>

#include <future>
#include <map>

#include "control/fleet.h"
#include "control/peer_fetch.h"
#include "core/log.h"

namespace rampart::control {

using nlohmann::json;

namespace {
constexpr size_t kMaxPeerAnswer = 4 << 20;  // a peer's aggregate/current: a few KiB per app
// The whole answer of one peer, connection and TLS handshake included: a peer trickling bytes
// must not hold this handler thread for longer (the per-read timeout alone would not stop it).
constexpr std::chrono::milliseconds kPeerDeadline{3000};
}  // namespace

void AnalyticsFleet::set_settings(Settings settings) {
  std::lock_guard lock(mu_);
  settings_ = std::move(settings);
}

std::string AnalyticsFleet::off_reason() const {
  std::lock_guard lock(mu_);
  if (settings_.token.empty()) return "no fleet.token or fleet.token_file";
  if (!settings_.https) return "api.tls is not set, and peers are only called over HTTPS";
  return "";
}

AnalyticsFleet::Gathered AnalyticsFleet::gather(const std::string& path, const std::string& what,
                                                const std::string& colo,
                                                const std::function<json()>& local,
                                                size_t max_bytes, const std::string& edge) const {
  Settings fanout;
  {
    std::lock_guard lock(mu_);
    fanout = settings_;
  }
  // Each peer on its own thread: the answer waits for the slowest peer (at most kPeerDeadline),
  // not for the sum of them.
  struct Ask {
    std::string name, api;
    std::future<json> body;  // the peer's envelope, or a string: why it failed
  };
  std::vector<Ask> asks;
  Gathered g;
  std::vector<std::string> order;  // every edge asked, in the registry's order
  std::map<std::string, json> got;
  for (const json& e : fleet_->edges()) {
    const std::string name = e.value("name", ""), edge_colo = e.value("colo", "");
    if (!colo.empty() && edge_colo != colo) continue;
    if (!edge.empty() && name != edge) continue;
    ++g.matched;
    if (e.value("self", false)) {
      order.push_back(name);
      got[name] = local();
      continue;
    }
    if (!e.value("api_tls", false)) {
      g.left_out.push_back(name + " (its API has no api.tls)");
      continue;
    }
    order.push_back(name);
    const std::string api = e.value("api", "");
    asks.push_back({name, api, std::async(std::launch::async, [api, path, fanout, max_bytes] {
                      httplib::Client cli("https://" + api);
                      cli.enable_server_certificate_verification(true);
                      if (!fanout.ca_file.empty()) cli.set_ca_cert_path(fanout.ca_file.c_str());
                      cli.set_connection_timeout(1, 0);
                      cli.set_read_timeout(2, 0);
                      // A peer's answer is read as sent (never inflated) and only up to max_bytes.
                      cli.set_decompress(false);
                      std::string answer;
                      bool timed_out = false;
                      auto res = get_with_deadline(cli, path,
                                                   {{"Authorization", "Bearer " + fanout.token}},
                                                   kPeerDeadline, max_bytes, &answer, &timed_out);
                      json body = res && res->status == 200 &&
                                          res->get_header_value("Content-Encoding").empty()
                                      ? json::parse(answer, nullptr, false)
                                      : json();
                      if (body.is_object() && body.value("success", false)) return body;
                      return json(timed_out ? "no complete answer within 3 s"
                                  : res     ? "HTTP " + std::to_string(res->status)
                                            : httplib::to_string(res.error()));
                    })});
  }
  for (Ask& a : asks) {
    json body = a.body.get();
    if (body.is_string()) {
      const std::string why = body.get<std::string>();
      RLOG_WARN("analytics: edge ", a.name, " (https://", a.api, ") did not answer ", what, " (",
                why, "); left out of the fleet answer");
      g.left_out.push_back(a.name + " (" + why + ")");
      continue;
    }
    got[a.name] = std::move(body["result"]);
  }
  for (const auto& name : order) {
    auto it = got.find(name);
    if (it != got.end()) g.answers.emplace_back(name, std::move(it->second));
  }
  return g;
}

bool AnalyticsFleet::is_self(const std::string& name) const {
  if (fleet_ == nullptr) return false;
  for (const json& e : fleet_->edges())
    if (e.value("self", false) && e.value("name", "") == name) return true;
  return false;
}

void AnalyticsFleet::note(const Gathered& g, Outcome* o) {
  json names = json::array();
  for (const auto& [name, result] : g.answers) names.push_back(name);
  o->messages.push_back(ApiError{
      kNoteFleetSum, "summed over " + std::to_string(names.size()) + " edges: " + names.dump()});
  if (!g.left_out.empty()) {
    std::string text;
    for (const auto& l : g.left_out) text += (text.empty() ? "" : "; ") + l;
    o->messages.push_back(ApiError{kNoteFleetSum, "left out: " + text});
  }
}

Outcome AnalyticsFleet::sum(const std::vector<std::string>& wanted, const std::string& colo,
                            const LocalRows& local) const {
  std::string ids;
  for (const auto& id : wanted) ids += (ids.empty() ? "" : ",") + id;
  std::string path = "/client/v4/zones/default/spectrum/analytics/aggregate/current?scope=local";
  if (!ids.empty()) path += "&appID=" + httplib::detail::encode_query_param(ids);
  const Gathered g = gather(
      path, "aggregate/current", colo, [&] { return local(ids); }, kMaxPeerAnswer);
  // appID -> summed row; durationAvg weighted by the connections each edge closed.
  std::map<std::string, json> sum;
  std::vector<std::string> order;
  for (const auto& [name, rows] : g.answers) {
    if (!rows.is_array()) continue;
    for (const json& r : rows) {
      if (!r.is_object()) continue;
      const std::string id = r.value("appID", "");
      auto [it, fresh] = sum.try_emplace(id, json{{"appID", id},
                                                  {"bytesIngress", 0},
                                                  {"bytesEgress", 0},
                                                  {"connections", 0},
                                                  {"durationAvg", 0.0},
                                                  {"connectionsClosed", 0}});
      if (fresh) order.push_back(id);
      json& s = it->second;
      const uint64_t closed = r.value("connectionsClosed", uint64_t{0});
      const uint64_t total_closed = s["connectionsClosed"].get<uint64_t>() + closed;
      const double avg = s["durationAvg"].get<double>();
      if (total_closed > 0)
        s["durationAvg"] = (avg * static_cast<double>(total_closed - closed) +
                            r.value("durationAvg", 0.0) * static_cast<double>(closed)) /
                           static_cast<double>(total_closed);
      s["connectionsClosed"] = total_closed;
      for (const char* k : {"bytesIngress", "bytesEgress", "connections"})
        s[k] = s[k].get<uint64_t>() + r.value(k, uint64_t{0});
    }
  }
  json result = json::array();
  for (const auto& id : order) result.push_back(sum[id]);
  Outcome o{200, {}, {}, result, {}};
  note(g, &o);
  return o;
}

}  // namespace rampart::control
