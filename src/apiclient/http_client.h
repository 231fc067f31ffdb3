// A small HTTP client for the Spectrum-compatible REST API (cpp-httplib underneath): the base URL,
// the bearer token, the request, and the v4 envelope of the answer. One HttpClient per thread.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::apiclient {

// A base URL split for the HTTP library: "http://127.0.0.1:8788" -> origin "http://127.0.0.1:8788",
// prefix "". A URL that already ends in /client/v4 (as Cloudflare's base URL does) keeps that part
// in `prefix` and paths are appended after it without repeating it.
struct ApiUrl {
  std::string origin;   // scheme://host[:port]
  std::string prefix;   // path before /client/v4/..., no trailing slash ("" or "/edge")
  bool has_v4 = false;  // prefix already ends with /client/v4
  std::string to_string() const { return origin + prefix; }
};

// http:// or https:// URLs; nullopt with a message otherwise.
std::optional<ApiUrl> parse_api_url(std::string_view url, std::string* error = nullptr);

// Percent-encodes everything but unreserved characters (RFC 3986) for one path segment.
std::string encode_segment(std::string_view s);

// "/client/v4/zones/{zone}/spectrum/apps[/{id}]" under the URL's prefix.
std::string apps_path(const ApiUrl& url, std::string_view zone, std::string_view id = "");

struct HttpResult {
  bool connected = false;  // false: no HTTP answer at all; `error` says why
  std::string error;
  int status = 0;
  std::string body;
};

// Sends requests with "Authorization: Bearer TOKEN" (when the token is not empty). Not
// thread-safe; cheap to create.
class HttpClient {
 public:
  HttpClient(ApiUrl url, std::string token, int connect_timeout_s = 5, int read_timeout_s = 30);
  // method: GET, POST, PUT, PATCH, DELETE; `body` is sent as application/json when not empty.
  HttpResult send(const std::string& method, const std::string& path,
                  const std::string& body = "") const;
  const ApiUrl& url() const { return url_; }

 private:
  ApiUrl url_;
  std::string token_;
  int connect_timeout_s_;
  int read_timeout_s_;
};

// The v4 envelope: {"success", "errors": [{"code", "message"}], "messages", "result",
// "result_info"}. Messages may be objects like errors or plain strings.
struct ApiMessage {
  int code = 0;
  std::string message;
};
struct Envelope {
  bool success = false;
  std::vector<ApiMessage> errors;
  std::vector<ApiMessage> messages;
  nlohmann::json result;
  nlohmann::json result_info;
};

// nullopt with a message when `body` is not a JSON object with a boolean "success".
std::optional<Envelope> parse_envelope(std::string_view body, std::string* error = nullptr);

// "error CODE: message" lines (one per error; "error: message" when the code is 0), or one line
// naming the HTTP status when the envelope lists no error.
std::vector<std::string> error_lines(const Envelope& env, int http_status);

}  // namespace rampart::apiclient
