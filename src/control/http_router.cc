// HttpRouter: first matching route wins, in the order they were added.
#include "control/http_router.h"

#include "core/log.h"

namespace rampart::control {

HttpRouter& HttpRouter::add(const char* method, const std::string& pattern, Handler h) {
  routes_.push_back({method, std::regex(pattern), std::move(h)});
  return *this;
}

void HttpRouter::route(HttpRequest& req, HttpResponse& res) const {
  const std::string method = req.method == "HEAD" ? std::string("GET") : req.method;
  std::string allow;
  const Route* found = nullptr;
  for (const Route& r : routes_) {
    if (!std::regex_match(req.path, req.matches, r.pattern)) continue;
    if (r.method == method) {
      found = &r;
      break;
    }
    if (allow.find(r.method) == std::string::npos) allow += (allow.empty() ? "" : ", ") + r.method;
  }
  if (found) {
    try {
      found->handler(req, res);
    } catch (const std::exception& e) {
      RLOG_ERROR("API handler failed: ", e.what());
      res = HttpResponse{};
      res.status = 500;
    } catch (...) {
      res = HttpResponse{};
      res.status = 500;
    }
  } else if (!allow.empty()) {
    res.status = 405;
    res.set_header("Allow", allow);
  } else {
    res.status = 404;
  }
  if (res.status >= 400 && res.body.empty() && error_handler_) error_handler_(req, res);
}

}  // namespace rampart::control
