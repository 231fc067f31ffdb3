// Routes of the API's HTTP server: (method, path regex) -> handler. Built once by the thread that
// sets the server up, then only read; route() runs on the server's handler threads.
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "control/http_message.h"

namespace rampart::control {

class HttpRouter {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

  HttpRouter& Get(const std::string& pattern, Handler h) {
    return add("GET", pattern, std::move(h));
  }
  HttpRouter& Post(const std::string& pattern, Handler h) {
    return add("POST", pattern, std::move(h));
  }
  HttpRouter& Put(const std::string& pattern, Handler h) {
    return add("PUT", pattern, std::move(h));
  }
  HttpRouter& Patch(const std::string& pattern, Handler h) {
    return add("PATCH", pattern, std::move(h));
  }
  HttpRouter& Delete(const std::string& pattern, Handler h) {
    return add("DELETE", pattern, std::move(h));
  }
  // Runs for a response of 400 or more whose body is still empty (no route, 405, handler errors).
  void set_error_handler(Handler h) { error_handler_ = std::move(h); }

  // Runs the route of req.method (HEAD: GET's) whose pattern matches all of req.path, with
  // req.matches set; 404 when no pattern matches, 405 (with Allow) when only other methods' do.
  // A handler that throws gives 500.
  void route(HttpRequest& req, HttpResponse& res) const;

 private:
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  HttpRouter& add(const char* method, const std::string& pattern, Handler h);

  std::vector<Route> routes_;
  Handler error_handler_;
};

}  // namespace rampart::control
