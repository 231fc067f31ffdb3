// Request head parsing, body framing, chunked decoding, Host and credential syntax.
#include "control/http_parse.h"

#include <algorithm>

#include "control/http_message.h"
#include "net/ip_addr.h"

namespace rampart::control {
namespace {

constexpr size_t kMaxTargetBytes = 8192;
constexpr size_t kMaxChunkLine = 4096;  // a chunk size line with its extensions
constexpr size_t kMaxTrailers = 4096;   // all trailer lines together
constexpr uint64_t kMaxChunkSize = uint64_t{1} << 40;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// RFC 9110 token characters (method and header names).
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HeadResult invalid(int status, std::string why) {
  HeadResult r;
  r.status = ParseStatus::kInvalid;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

// Every comma-separated element of every header named `name`, trimmed and lowercased.
std::vector<std::string> list_values(const HttpRequest& req, std::string_view name) {
  std::vector<std::string> out;
  auto [first, last] = req.headers.equal_range(name);
  for (auto it = first; it != last; ++it) {
    std::string_view v = it->second;
    while (true) {
      size_t comma = v.find(',');
      std::string_view part = trim_ows(v.substr(0, comma));
      if (!part.empty()) out.push_back(lowercase(part));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

bool parse_request_line(std::string_view line, HttpRequest* req, HeadResult* err) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    *err = invalid(400, "malformed request line; expected METHOD /path HTTP/1.1");
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || method.size() > 32) {
    *err = invalid(400, "malformed request method");
    return false;
  }
  if (target.size() > kMaxTargetBytes) {
    *err = invalid(414, "the request target is longer than 8 KiB");
    return false;
  }
  if (target.empty() || target.front() != '/' ||
      std::any_of(target.begin(), target.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      })) {
    *err = invalid(400, "the request target must be a path starting with /");
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    const bool http = version.size() == 8 && version.substr(0, 5) == "HTTP/";
    *err = invalid(http ? 505 : 400, "expected HTTP/1.1 or HTTP/1.0");
    return false;
  }
  req->method = std::string(method);
  req->target = std::string(target);
  req->version = std::string(version);
  size_t q = target.find('?');
  req->path = url_decode(target.substr(0, q), false);
  req->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  req->params = parse_query(req->query);
  return true;
}

bool parse_header_line(std::string_view line, HttpRequest* req, HeadResult* err) {
  if (line.front() == ' ' || line.front() == '\t') {
    *err = invalid(400, "folded header lines are not accepted");
    return false;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    *err = invalid(400, "malformed header line");
    return false;
  }
  std::string_view value = trim_ows(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) {
      *err = invalid(400, "a header value has a control character");
      return false;
    }
  }
  req->headers.emplace(std::string(line.substr(0, colon)), std::string(value));
  return true;
}

}  // namespace

HeadResult parse_request_head(std::string_view buf, HttpRequest* req) {
  size_t pos = 0;
  bool have_request_line = false;
  size_t headers = 0;
  int leading_blank = 0;
  while (true) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos || nl >= kMaxHeadBytes) {
      if (buf.size() >= kMaxHeadBytes || nl != std::string_view::npos)
        return have_request_line ? invalid(431, "the request headers are larger than 16 KiB")
                                 : invalid(414, "the request line is longer than 16 KiB");
      return HeadResult{};
    }
    std::string_view line = buf.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (!have_request_line) {
      // A client may send a stray CRLF after a previous body (RFC 9112 2.2).
      if (line.empty() && ++leading_blank <= 4) continue;
      HeadResult err;
      if (!parse_request_line(line, req, &err)) return err;
      have_request_line = true;
      continue;
    }
    if (line.empty()) break;
    if (++headers > kMaxHeaderCount) return invalid(431, "more than 100 request headers");
    HeadResult err;
    if (!parse_header_line(line, req, &err)) return err;
  }
  size_t hosts = req->get_header_value_count("Host");
  if (hosts > 1) return invalid(400, "more than one Host header");
  if (hosts == 0 && req->version == "HTTP/1.1")
    return invalid(400, "an HTTP/1.1 request needs a Host header");
  HeadResult done;
  done.status = ParseStatus::kComplete;
  done.consumed = pos;
  return done;
}

bool body_framing(const HttpRequest& req, BodyFraming* out, int* status, std::string* why) {
  *out = BodyFraming{};
  const bool has_te = req.has_header("Transfer-Encoding");
  const bool has_cl = req.has_header("Content-Length");
  if (has_te && has_cl) {
    *status = 400;
    *why = "a request may not have both Transfer-Encoding and Content-Length";
    return false;
  }
  if (has_te) {
    std::vector<std::string> codings = list_values(req, "Transfer-Encoding");
    if (codings.size() != 1 || codings[0] != "chunked" || req.version != "HTTP/1.1") {
      *status = 501;
      *why =
          "only Transfer-Encoding: chunked (HTTP/1.1) is supported; send the body as it is, "
          "with Content-Length";
      return false;
    }
    out->kind = BodyFraming::Kind::kChunked;
    return true;
  }
  if (!has_cl) return true;
  std::optional<uint64_t> length;
  for (const std::string& v : list_values(req, "Content-Length")) {
    uint64_t n = 0;
    bool ok = !v.empty() && v.size() <= 18;
    for (char c : v) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || (length && *length != n)) {
      *status = 400;
      *why = "malformed Content-Length";
      return false;
    }
    length = n;
  }
  if (!length) {
    *status = 400;
    *why = "malformed Content-Length";
    return false;
  }
  out->kind = *length == 0 ? BodyFraming::Kind::kNone : BodyFraming::Kind::kLength;
  out->length = *length;
  return true;
}

bool content_coding_allowed(const HttpRequest& req) {
  for (const std::string& c : list_values(req, "Content-Encoding"))
    if (c != "identity") return false;
  return true;
}

bool wants_keep_alive(const HttpRequest& req) {
  std::vector<std::string> options = list_values(req, "Connection");
  auto has = [&](const char* o) {
    return std::find(options.begin(), options.end(), o) != options.end();
  };
  if (req.version == "HTTP/1.0") return has("keep-alive");
  return !has("close");
}

ParseStatus ChunkedDecoder::feed(std::string_view in, size_t* used, std::string* body) {
  size_t i = 0;
  auto fail = [&] {
    *used = i;
    return ParseStatus::kInvalid;
  };
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::kSize: {
        int h = hex_value(c);
        if (h >= 0) {
          if (remaining_ > kMaxChunkSize) return fail();
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
          saw_digit_ = true;
          if (++line_bytes_ > kMaxChunkLine) return fail();
          ++i;
          break;
        }
        state_ = State::kSizeLine;
        break;  // the same byte again, as part of the rest of the line
      }
      case State::kSizeLine:
        if (++line_bytes_ > kMaxChunkLine) return fail();
        ++i;
        if (c == '\n') {
          if (!saw_digit_) return fail();
          line_bytes_ = 0;
          if (remaining_ == 0) {
            state_ = State::kTrailer;
            line_empty_ = true;
          } else if (remaining_ > max_body_ || body->size() + remaining_ > max_body_) {
            too_large_ = true;
            return fail();
          } else {
            state_ = State::kData;
          }
        } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r') {
          return fail();
        }
        break;
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        body->append(in.data() + i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        ++i;
        if (c == '\r') {
          state_ = State::kDataLf;
        } else if (c == '\n') {
          state_ = State::kSize;
          saw_digit_ = false;
        } else {
          return fail();
        }
        break;
      case State::kDataLf:
        ++i;
        if (c != '\n') return fail();
        state_ = State::kSize;
        saw_digit_ = false;
        break;
      case State::kTrailer:
        ++i;
        if (++trailer_bytes_ > kMaxTrailers) return fail();
        if (c == '\n') {
          if (line_empty_) {
            *used = i;
            return ParseStatus::kComplete;
          }
          line_empty_ = true;
        } else if (c != '\r') {
          line_empty_ = false;
        }
        break;
    }
  }
  *used = i;
  return ParseStatus::kIncomplete;
}

bool split_host(std::string_view host, std::string* name, std::string* port) {
  host = trim_ows(host);
  std::string_view n, p;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    n = host.substr(1, close - 1);
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      p = rest.substr(1);
    }
    if (n.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return false;
  } else {
    size_t colon = host.find(':');
    n = host.substr(0, colon);
    if (colon != std::string_view::npos) p = host.substr(colon + 1);
    for (char c : n) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_';
      if (!ok) return false;
    }
  }
  if (n.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  if (host.back() == ':') return false;
  *name = lowercase(n);
  if (!name->empty() && name->back() == '.' && name->size() > 1) name->pop_back();
  *port = std::string(p);
  return true;
}

bool host_allowed(std::string_view host, std::string_view local_addr,
                  const std::vector<std::string>& server_names) {
  std::string name, port;
  if (!split_host(host, &name, &port)) return false;
  if (name == "localhost") return true;
  if (auto ip = net::IpAddr::parse(name)) {
    if (ip->is_loopback()) return true;
    auto local = net::IpAddr::parse(std::string(local_addr));
    return local && local->unmapped() == ip->unmapped();
  }
  for (const std::string& pattern : server_names) {
    std::string p = lowercase(pattern);
    if (p.rfind("*.", 0) == 0) {
      std::string_view suffix = std::string_view(p).substr(1);  // ".example.net"
      if (name.size() > suffix.size() &&
          std::string_view(name).substr(name.size() - suffix.size()) == suffix)
        return true;
    } else if (name == p) {
      return true;
    }
  }
  return false;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  authorization = trim_ows(authorization);
  size_t sp = authorization.find(' ');
  if (sp == std::string_view::npos || !iequals(authorization.substr(0, sp), "bearer"))
    return std::nullopt;
  std::string_view token = trim_ows(authorization.substr(sp + 1));
  if (token.empty()) return std::nullopt;
  return token;
}

std::string cookie_value(const std::vector<std::string>& headers, std::string_view name) {
  for (const std::string& header : headers) {
    std::string_view h = header;
    while (!h.empty()) {
      size_t semi = h.find(';');
      std::string_view c = trim_ows(h.substr(0, semi));
      size_t eq = c.find('=');
      if (eq != std::string_view::npos && trim_ows(c.substr(0, eq)) == name) {
        std::string_view v = trim_ows(c.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return std::string(v);
      }
      if (semi == std::string_view::npos) break;
      h.remove_prefix(semi + 1);
    }
  }
  return "";
}

std::string url_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_as_space) {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq), true) == name)
      return eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true);
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      out.emplace(url_decode(part.substr(0, eq), true),
                  eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string serialize_response(const HttpResponse& res, bool head_request, bool keep_alive) {
  const bool bodyless = res.status < 200 || res.status == 204 || res.status == 304;
  std::string out =
      "HTTP/1.1 " + std::to_string(res.status) + " " + status_reason(res.status) + "\r\n";
  for (const auto& [name, value] : res.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Connection") ||
        iequals(name, "Transfer-Encoding"))
      continue;
    out += name + ": " + value + "\r\n";
  }
  if (!bodyless) out += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  if (!bodyless && !head_request) out += res.body;
  return out;
}

}  // namespace rampart::control
