// An HTTP/1.x request and response as the API's handlers see them (control/http_server.h reads
// and writes them on the wire). Plain values: a request is built by the server's I/O thread, then
// moved to one handler thread; a response is filled by that thread and moved back.
#pragma once

#include <cstddef>
#include <map>
#include <regex>
#include <string>
#include <string_view>

namespace rampart::control {

// ASCII only: header names and tokens are ASCII (RFC 9110 5.1), never locale-dependent.
inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Header names compare without case (RFC 9110 5.1).
struct CaseLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};
using HttpHeaders = std::multimap<std::string, std::string, CaseLess>;

struct HttpRequest {
  std::string method;   // "GET"
  std::string target;   // as sent: "/client/v4/zones/default/spectrum/apps?page=2"
  std::string path;     // target before '?', percent-decoded: what routes match
  std::string query;    // target after '?', raw
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  HttpHeaders headers;
  std::string body;
  std::multimap<std::string, std::string> params;  // the query's parameters, decoded
  std::smatch matches;      // the route's groups, matched against `path` (never copy after routing)
  std::string remote_addr;  // the peer: "10.0.0.1" or "2001:db8::1"
  int remote_port = 0;
  std::string local_addr;  // the address the client connected to
  int local_port = 0;
  bool tls = false;  // arrived over HTTPS
  // Who the request authenticated as, for the audit line: "token:ab12cd34" (a hash prefix of
  // the token), "session:0f1e2d3c", "fleet:..." or "" (none). Set before the handler runs.
  std::string who;

  // The value of the index-th header named `name` ("" when there is none).
  std::string get_header_value(std::string_view name, size_t index = 0) const;
  size_t get_header_value_count(std::string_view name) const;
  bool has_header(std::string_view name) const { return headers.find(name) != headers.end(); }
  // The first query parameter named `name` ("" when absent).
  std::string get_param_value(const std::string& name) const;
};

// "10.0.0.1 port 51234": the request's peer as log lines name it.
inline std::string peer_of(const HttpRequest& req) {
  return req.remote_addr + " port " + std::to_string(req.remote_port);
}

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  bool close = false;  // close the connection after this response

  // Adds a header (Set-Cookie may repeat); CR and LF are removed from both parts.
  void set_header(std::string_view name, std::string_view value);
  void set_content(std::string body_text, std::string_view content_type);
  void set_content(const char* data, size_t size, std::string_view content_type);
};

// "OK", "Not Found", ... ("Unknown" for codes without a phrase here).
const char* status_reason(int status);

}  // namespace rampart::control
