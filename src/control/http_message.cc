// HttpRequest / HttpResponse accessors and the status phrases.
#include "control/http_message.h"

#include <algorithm>

namespace rampart::control {
namespace {

std::string strip_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  return out;
}

}  // namespace

bool CaseLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return ascii_lower(x) < ascii_lower(y);
  });
}

std::string HttpRequest::get_header_value(std::string_view name, size_t index) const {
  auto [first, last] = headers.equal_range(name);
  for (auto it = first; it != last; ++it, --index)
    if (index == 0) return it->second;
  return "";
}

size_t HttpRequest::get_header_value_count(std::string_view name) const {
  auto [first, last] = headers.equal_range(name);
  return static_cast<size_t>(std::distance(first, last));
}

std::string HttpRequest::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

void HttpResponse::set_header(std::string_view name, std::string_view value) {
  headers.emplace(strip_crlf(name), strip_crlf(value));
}

void HttpResponse::set_content(std::string body_text, std::string_view content_type) {
  body = std::move(body_text);
  headers.erase("Content-Type");
  set_header("Content-Type", content_type);
}

void HttpResponse::set_content(const char* data, size_t size, std::string_view content_type) {
  set_content(std::string(data, size), content_type);
}

const char* status_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace rampart::control
