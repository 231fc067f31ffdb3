// The analytics routes (Spectrum's analytics paths plus Rampart's live and protection views)
// and /metrics, each bound to the part of Analytics that owns its resource. Every handler only
// reads, except DELETE .../rampart/bans/IP (Protection::unban, audited); they run on the API's
// handler pools.
#include "control/analytics.h"
#include "control/api_auth.h"
#include "control/api_server.h"
#include "control/http_parse.h"
#include "core/log.h"

namespace rampart::control {
namespace {

// The query string's parameters, split at the first '=' of each: filter values contain '='
// ("event==disconnect").
std::multimap<std::string, std::string> query_params(const HttpRequest& req) {
  return parse_query(req.query);
}

}  // namespace

void install_analytics_routes(HttpRouter& s, AppsApi* ctl, Analytics* analytics) {
  auto zoned = [ctl](std::function<Outcome(const HttpRequest&)> fn) {
    return control::zoned(ctl, std::move(fn));
  };
  const std::string base = R"(/client/v4/zones/([^/]+)/spectrum/analytics)";
  TrafficQuery* q = &analytics->query();
  LiveSeries* live = &analytics->live();
  Protection* p = &analytics->protection();
  s.Get(base + "/aggregate/current",
        zoned([q](const HttpRequest& r) { return q->aggregate_current(query_params(r)); }));
  s.Get(base + "/events/summary",
        zoned([q](const HttpRequest& r) { return q->events(query_params(r), false); }));
  s.Get(base + "/events/bytime",
        zoned([q](const HttpRequest& r) { return q->events(query_params(r), true); }));
  s.Get(R"(/client/v4/zones/([^/]+)/rampart/analytics/drops/bytime)",
        zoned([q](const HttpRequest& r) { return q->drops(query_params(r)); }));
  s.Get(base + "/live", zoned([live](const HttpRequest&) { return live->live(); }));
  s.Get(base + "/protection", zoned([p](const HttpRequest&) { return p->protection(); }));
  s.Get(R"(/client/v4/zones/([^/]+)/rampart/access_rules/hits)",
        zoned([p](const HttpRequest&) { return p->rule_hits(); }));
  const std::string bans = R"(/client/v4/zones/([^/]+)/rampart/bans)";
  s.Get(bans, zoned([p](const HttpRequest&) { return p->bans(); }));
  auto unban = zoned([p](const HttpRequest& r) { return p->unban(r.matches[2]); });
  s.Delete(bans + "/([^/]+)", [unban](const HttpRequest& req, HttpResponse& res) {
    unban(req, res);
    audit_write(req, res.status, req.matches[2].str());
  });
  const MetricsExporter* m = &analytics->exporter();
  s.Get("/metrics", [m](const HttpRequest&, HttpResponse& res) {
    res.set_content(m->render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace rampart::control
