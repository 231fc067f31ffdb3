// HttpClient over cpp-httplib, the URL helpers and the envelope parser.
#include "apiclient/http_client.h"

#include <httplib.h>

namespace rampart::apiclient {

using nlohmann::json;

namespace {

bool set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::vector<ApiMessage> messages_of(const json& list) {
  std::vector<ApiMessage> out;
  if (!list.is_array()) return out;
  for (const json& m : list) {
    ApiMessage msg;
    if (m.is_string()) {
      msg.message = m.get<std::string>();
    } else if (m.is_object()) {
      if (m.contains("code") && m["code"].is_number_integer()) msg.code = m["code"].get<int>();
      if (m.contains("message") && m["message"].is_string())
        msg.message = m["message"].get<std::string>();
      else
        msg.message = m.dump();
    } else {
      msg.message = m.dump();
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// httplib's error names ("Connection", "Read") say little; say what happened.
std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "the connection failed (refused, or no route to the host)";
    case httplib::Error::ConnectionTimeout:
      return "the connection timed out";
    case httplib::Error::Read:
      return "the server closed the connection or did not answer in time";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLServerVerification:
    case httplib::Error::SSLLoadingCerts:
      return "the TLS handshake failed (" + httplib::to_string(e) + ")";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

std::optional<ApiUrl> parse_api_url(std::string_view url, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ApiUrl> {
    set_error(error,
              "\"" + std::string(url) + "\" " + why + "; expected e.g. http://127.0.0.1:8788");
    return std::nullopt;
  };
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fail("has no http:// or https:// scheme");
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return fail("is not an http or https URL");
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  if (host.empty()) return fail("has no host");
  if (host.find_first_of("?#@ ") != std::string_view::npos)
    return fail("has a user, query or space in its host part");
  ApiUrl out;
  out.origin = std::string(scheme) + "://" + std::string(host);
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (path.find_first_of("?#") != std::string::npos) return fail("has a query or fragment");
  while (!path.empty() && path.back() == '/') path.pop_back();
  static constexpr std::string_view kV4 = "/client/v4";
  if (path.size() >= kV4.size() && path.compare(path.size() - kV4.size(), kV4.size(), kV4) == 0)
    out.has_v4 = true;
  out.prefix = path;
  return out;
}

std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string apps_path(const ApiUrl& url, std::string_view zone, std::string_view id) {
  std::string path = url.prefix + (url.has_v4 ? "" : "/client/v4") + "/zones/" +
                     encode_segment(zone) + "/spectrum/apps";
  if (!id.empty()) path += "/" + encode_segment(id);
  return path;
}

HttpClient::HttpClient(ApiUrl url, std::string token, int connect_timeout_s, int read_timeout_s)
    : url_(std::move(url)),
      token_(std::move(token)),
      connect_timeout_s_(connect_timeout_s),
      read_timeout_s_(read_timeout_s) {}

HttpResult HttpClient::send(const std::string& method, const std::string& path,
                            const std::string& body) const {
  HttpResult out;
  httplib::Client client(url_.origin);
  if (!client.is_valid()) {
    out.error = "cannot use the API URL " + url_.to_string();
    return out;
  }
  client.set_connection_timeout(connect_timeout_s_, 0);
  client.set_read_timeout(read_timeout_s_, 0);
  client.set_write_timeout(read_timeout_s_, 0);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers.emplace("Accept", "application/json");
  req.headers.emplace("User-Agent", "rampart-cli");
  if (!token_.empty()) req.headers.emplace("Authorization", "Bearer " + token_);
  if (!body.empty()) {
    req.headers.emplace("Content-Type", "application/json");
    req.body = body;
  }
  httplib::Result res = client.send(req);
  if (!res) {
    out.error = describe(res.error());
    return out;
  }
  out.connected = true;
  out.status = res->status;
  out.body = res->body;
  return out;
}

std::optional<Envelope> parse_envelope(std::string_view body, std::string* error) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    set_error(error, "the answer is not a JSON object");
    return std::nullopt;
  }
  if (!j.contains("success") || !j["success"].is_boolean()) {
    set_error(error, "the answer has no boolean \"success\" (not a v4 API envelope)");
    return std::nullopt;
  }
  Envelope env;
  env.success = j["success"].get<bool>();
  if (j.contains("errors")) env.errors = messages_of(j["errors"]);
  if (j.contains("messages")) env.messages = messages_of(j["messages"]);
  if (j.contains("result")) env.result = j["result"];
  if (j.contains("result_info")) env.result_info = j["result_info"];
  return env;
}

std::vector<std::string> error_lines(const Envelope& env, int http_status) {
  std::vector<std::string> out;
  for (const ApiMessage& e : env.errors) {
    if (e.code != 0)
      out.push_back("error " + std::to_string(e.code) + ": " + e.message);
    else
      out.push_back("error: " + e.message);
  }
  if (out.empty())
    out.push_back("error: the API answered HTTP " + std::to_string(http_status) +
                  " without saying why");
  return out;
}

}  // namespace rampart::apiclient
