// The small value parsers of parse.h: ports, protocols, origins, CIDRs, hostnames, ${ENV}.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

#include "config/parse.h"

namespace rampart::config {
namespace {

bool set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool parse_port(std::string_view s, uint16_t* out, std::string* error) {
  if (!all_digits(s) || s.size() > 5)
    return set_error(error, "port " + quoted(s) + " is not a number; expected 1-65535");
  uint32_t n = 0;
  for (char c : s) n = n * 10 + static_cast<uint32_t>(c - '0');
  if (n < 1 || n > 65535)
    return set_error(error, "port " + std::to_string(n) + " is out of range; expected 1-65535");
  *out = static_cast<uint16_t>(n);
  return true;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool has_letter(std::string_view s) {
  for (char c : s)
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return false;
}

}  // namespace

std::optional<PortRange> parse_port_range(std::string_view text, std::string* error) {
  if (text.empty()) {
    set_error(error, "missing port; expected a port such as 22 or a range such as 1000-2000");
    return std::nullopt;
  }
  PortRange r;
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!parse_port(text, &r.first, error)) return std::nullopt;
    r.last = r.first;
    return r;
  }
  if (!parse_port(text.substr(0, dash), &r.first, error) ||
      !parse_port(text.substr(dash + 1), &r.last, error))
    return std::nullopt;
  if (r.first > r.last) {
    set_error(error, "port range " + quoted(text) +
                         " starts after it ends; expected FIRST-LAST "
                         "with FIRST <= LAST, e.g. 1000-2000");
    return std::nullopt;
  }
  return r;
}

bool parse_protocol(std::string_view text, Proto* proto, PortRange* ports, std::string* error) {
  size_t slash = text.find('/');
  std::string_view scheme = text.substr(0, slash);
  if (slash == std::string_view::npos || (scheme != "tcp" && scheme != "udp"))
    return set_error(error, "invalid protocol " + quoted(text) +
                                "; expected tcp/PORT, udp/PORT or a range such as tcp/1000-2000");
  std::string why;
  auto range = parse_port_range(text.substr(slash + 1), &why);
  if (!range) return set_error(error, "invalid protocol " + quoted(text) + ": " + why);
  *proto = scheme == "tcp" ? Proto::kTcp : Proto::kUdp;
  *ports = *range;
  return true;
}

std::optional<OriginDirect> parse_origin_direct(std::string_view text, Proto expected,
                                                std::string* error) {
  const std::string want = expected == Proto::kTcp ? "tcp" : "udp";
  const std::string example = want + "://192.0.2.1:22";
  auto fail = [&](const std::string& why) -> std::optional<OriginDirect> {
    set_error(error, "invalid origin " + quoted(text) + ": " + why);
    return std::nullopt;
  };
  size_t sep = text.find("://");
  if (sep == std::string_view::npos)
    return fail("expected " + want + "://IP:PORT, e.g. " + example);
  std::string_view scheme = text.substr(0, sep);
  if (scheme != "tcp" && scheme != "udp")
    return fail("unknown scheme " + quoted(scheme) + "; expected " + want + "://IP:PORT");
  if (scheme != want)
    return fail("the app protocol is " + want + ", so the origin must use " + want + "://, e.g. " +
                example);
  std::string_view rest = text.substr(sep + 3);
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return fail("missing ']' after the IPv6 address, e.g. " + want + "://[2001:db8::1]:22");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':')
      return fail("missing port after the address, e.g. " + want + "://[2001:db8::1]:22");
    port = after.substr(1);
    auto ip = net::IpAddr::parse(host);
    if (!ip || !ip->is_v6())
      return fail(quoted(host) + " is not an IPv6 address (brackets are only for IPv6)");
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return fail("missing port; expected " + want + "://IP:PORT, e.g. " + example);
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      std::string hint = want + "://[2001:db8::1]:22";
      // When the text before the last colon is an address, suggest the bracketed form of it.
      if (net::IpAddr::parse(host) && all_digits(port))
        hint = want + "://[" + std::string(host) + "]:" + std::string(port);
      return fail("IPv6 addresses must be in brackets, e.g. " + hint);
    }
  }
  auto ip = net::IpAddr::parse(host);
  if (!ip) {
    if (has_letter(host))
      return fail(quoted(host) +
                  " is not an IP address; origin_direct takes addresses (use origin_dns with "
                  "origin_port for a hostname)");
    return fail(quoted(host) + " is not a valid IP address");
  }
  if (ip->is_unspecified())
    return fail("the unspecified address " + ip->to_string() + " cannot be an origin");
  std::string why;
  auto ports = parse_port_range(port, &why);
  if (!ports) return fail(why);
  OriginDirect out;
  out.ip = *ip;
  out.ports = *ports;
  out.text = std::string(text);
  return out;
}

bool parse_cidr(std::string_view text, net::IpAddr* network, int* prefix_len, std::string* error) {
  auto fail = [&](const std::string& why) {
    return set_error(error, "invalid CIDR " + quoted(text) + ": " + why);
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return fail("expected ADDRESS/PREFIX, e.g. 198.51.100.0/24 or 2001:db8::/32");
  auto ip = net::IpAddr::parse(text.substr(0, slash));
  if (!ip) return fail(quoted(text.substr(0, slash)) + " is not an IP address");
  std::string_view len_text = text.substr(slash + 1);
  int max_len = ip->is_v4() ? 32 : 128;
  if (!all_digits(len_text) || len_text.size() > 3)
    return fail("prefix length " + quoted(len_text) + " is not a number 0-" +
                std::to_string(max_len));
  int len = std::atoi(std::string(len_text).c_str());
  if (len > max_len)
    return fail("prefix length " + std::to_string(len) + " is over " + std::to_string(max_len));
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < ip->size(); ++i) {
    int bits = std::max(0, std::min(8, len - static_cast<int>(i) * 8));
    uint8_t mask = bits == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    bytes[i] = ip->bytes()[i] & mask;
  }
  net::IpAddr masked;
  if (ip->is_v4()) {
    masked = net::IpAddr::v4(uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 |
                             uint32_t{bytes[2]} << 8 | bytes[3]);
  } else {
    masked = net::IpAddr::v6(bytes);
  }
  if (!(masked == *ip))
    return fail("host bits are set; did you mean " + masked.to_string() + "/" +
                std::to_string(len) + "?");
  if (network) *network = masked;
  if (prefix_len) *prefix_len = len;
  return true;
}

bool is_valid_hostname(std::string_view name, bool allow_wildcard) {
  if (allow_wildcard && name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!is_name_char(c) && c != '-') return false;
    start = dot + 1;
  }
  return true;
}

std::optional<std::string> expand_env(std::string_view text, std::string* error) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      out += "${";
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out += text[i++];
      continue;
    }
    size_t end = text.find('}', i + 2);
    if (end == std::string_view::npos) {
      set_error(error, "unterminated \"${\" in " + quoted(text) +
                           "; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)");
      return std::nullopt;
    }
    std::string_view body = text.substr(i + 2, end - i - 2);
    std::optional<std::string_view> fallback;
    if (size_t pos = body.find(":-"); pos != std::string_view::npos) {
      fallback = body.substr(pos + 2);
      body = body.substr(0, pos);
    }
    bool valid = !body.empty() && !(body.front() >= '0' && body.front() <= '9');
    for (char c : body) valid = valid && is_name_char(c);
    if (!valid) {
      set_error(error, "invalid environment variable name " + quoted(body) + " in " + quoted(text) +
                           "; expected letters, digits and _ as in ${API_TOKEN}");
      return std::nullopt;
    }
    const char* value = std::getenv(std::string(body).c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    }
    i = end + 1;
  }
  return out;
}

}  // namespace rampart::config
