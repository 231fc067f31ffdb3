// The analytics routes (Spectrum's analytics paths plus Rampart's live and protection views)
// and /metrics. Every handler only reads, except DELETE .../rampart/bans/IP (audited); they run
// on the API's handler pools.
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

void install_analytics_routes(HttpRouter& s, Controller* ctl, Analytics* analytics) {
  auto zoned = [ctl](std::function<Outcome(const HttpRequest&)> fn) {
    return control::zoned(ctl, std::move(fn));
  };
  const std::string base = R"(/client/v4/zones/([^/]+)/spectrum/analytics)";
  Analytics* a = analytics;
  s.Get(base + "/aggregate/current",
        zoned([a](const HttpRequest& r) { return a->aggregate_current(query_params(r)); }));
  s.Get(base + "/events/summary",
        zoned([a](const HttpRequest& r) { return a->events(query_params(r), false); }));
  s.Get(base + "/events/bytime",
        zoned([a](const HttpRequest& r) { return a->events(query_params(r), true); }));
  s.Get(base + "/live", zoned([a](const HttpRequest&) { return a->live(); }));
  s.Get(base + "/protection", zoned([a](const HttpRequest&) { return a->protection(); }));
  const std::string bans = R"(/client/v4/zones/([^/]+)/rampart/bans)";
  s.Get(bans, zoned([a](const HttpRequest&) { return a->bans(); }));
  auto unban = zoned([a](const HttpRequest& r) { return a->unban(r.matches[2]); });
  s.Delete(bans + "/([^/]+)", [unban](const HttpRequest& req, HttpResponse& res) {
    unban(req, res);
    audit_write(req, res.status, req.matches[2].str());
  });
  s.Get("/metrics", [a](const HttpRequest&, HttpResponse& res) {
    res.set_content(a->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace rampart::control
