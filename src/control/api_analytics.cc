// The analytics routes (Spectrum's analytics paths plus Rampart's live and protection views)
// and /metrics. Every handler only reads: they run on the API's thread pool.
#include <httplib.h>

#include "control/analytics.h"
#include "control/api_server.h"
#include "core/log.h"

namespace rampart::control {
namespace {

// The query string's parameters, split at the first '=' of each: filter values contain '='
// ("event==disconnect"), which the HTTP library's own parsing cuts.
std::multimap<std::string, std::string> query_params(const httplib::Request& req) {
  std::multimap<std::string, std::string> out;
  const size_t q = req.target.find('?');
  if (q == std::string::npos) return out;
  const std::string query = req.target.substr(q + 1);
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      std::string key = httplib::detail::decode_url(part.substr(0, eq), true);
      std::string value =
          eq == std::string::npos ? "" : httplib::detail::decode_url(part.substr(eq + 1), true);
      out.emplace(std::move(key), std::move(value));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

void install_analytics_routes(httplib::Server& s, Controller* ctl, Analytics* analytics) {
  auto zoned = [ctl](auto fn) {
    return [ctl, fn](const httplib::Request& req, httplib::Response& res) {
      Outcome o;
      try {
        const std::string zone = req.matches[1];
        o = ctl->has_zone(zone) ? fn(req)
                                : Outcome::failure(404, kErrUnknownZone,
                                                   "could not route to zone \"" + zone +
                                                       "\": this edge serves the zone \"default\"");
      } catch (const std::exception& e) {
        RLOG_ERROR("API analytics handler failed: ", e.what());
        o = Outcome::failure(500, kErrInternal, "internal error; see the edge log");
      }
      send_outcome(res, o);
    };
  };
  const std::string base = R"(/client/v4/zones/([^/]+)/spectrum/analytics)";
  Analytics* a = analytics;
  s.Get(base + "/aggregate/current",
        zoned([a](const httplib::Request& r) { return a->aggregate_current(query_params(r)); }));
  s.Get(base + "/events/summary",
        zoned([a](const httplib::Request& r) { return a->events(query_params(r), false); }));
  s.Get(base + "/events/bytime",
        zoned([a](const httplib::Request& r) { return a->events(query_params(r), true); }));
  s.Get(base + "/live", zoned([a](const httplib::Request&) { return a->live(); }));
  s.Get(base + "/protection", zoned([a](const httplib::Request&) { return a->protection(); }));
  const std::string bans = R"(/client/v4/zones/([^/]+)/rampart/bans)";
  s.Get(bans, zoned([a](const httplib::Request&) { return a->bans(); }));
  s.Delete(bans + "/([^/]+)",
           zoned([a](const httplib::Request& r) { return a->unban(r.matches[2]); }));
  s.Get("/metrics", [a](const httplib::Request&, httplib::Response& res) {
    res.set_content(a->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace rampart::control
