#include "net/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace rampart::net {
namespace {

constexpr uint8_t kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2FixedLen = 16;
constexpr size_t kV1LineMax = 107;  // CRLF included
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr uint8_t kCmdLocal = 0x0;
constexpr uint8_t kCmdProxy = 0x1;

void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t get_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

bool is_inet(const SockAddr& a) {
  return a.family() == AF_INET || a.family() == AF_INET6;
}

// ---- PROXY v1 --------------------------------------------------------------------------------

// Writes `ip` in its canonical text form, as IPv4-mapped IPv6 when `as_v6` and it is IPv4.
size_t put_ip_text(const IpAddr& ip, bool as_v6, char* out) {
  std::array<uint8_t, 16> bytes = ip.as_v6_mapped();
  const void* src = ip.bytes();
  int family = ip.family();
  if (as_v6) {
    src = bytes.data();
    family = AF_INET6;
  }
  if (inet_ntop(family, src, out, INET6_ADDRSTRLEN) == nullptr) return 0;
  return std::strlen(out);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A whole port token: 1-5 decimal digits, no leading zero (the spec forbids them), <= 65535.
bool parse_port(std::string_view tok, uint16_t* port) {
  if (tok.empty() || tok.size() > 5) return false;
  if (tok.size() > 1 && tok[0] == '0') return false;
  uint32_t v = 0;
  for (char c : tok) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

// Whether a truncated port token could still grow into a valid one.
bool port_prefix_ok(std::string_view tok) {
  uint16_t unused;
  return tok.empty() || parse_port(tok, &unused);
}

bool parse_addr(std::string_view tok, int family, IpAddr* ip) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (tok.empty() || tok.size() > INET6_ADDRSTRLEN) return false;
  std::memcpy(buf, tok.data(), tok.size());
  buf[tok.size()] = '\0';
  if (family == AF_INET) {
    in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1) return false;
    *ip = IpAddr::v4(ntohl(a.s_addr));
  } else {
    std::array<uint8_t, 16> b;
    if (inet_pton(AF_INET6, buf, b.data()) != 1) return false;
    *ip = IpAddr::v6(b);
  }
  return true;
}

// Whether a truncated address token could still grow into a valid one (a cheap over-estimate:
// character set and length only).
bool addr_prefix_ok(std::string_view tok, int family) {
  size_t max = family == AF_INET ? 15 : INET6_ADDRSTRLEN - 1;
  if (tok.size() > max) return false;
  for (char c : tok) {
    bool ok =
        family == AF_INET ? (is_digit(c) || c == '.') : (is_hex_digit(c) || c == ':' || c == '.');
    if (!ok) return false;
  }
  return true;
}

bool is_prefix_of(std::string_view part, std::string_view whole) {
  return part.size() <= whole.size() && whole.substr(0, part.size()) == part;
}

// Parses the fields after "PROXY TCPx ": src dst sport dport. `complete` says whether `rest` is
// the whole line (CRLF seen) or only what has arrived so far.
DecodeStatus parse_v1_fields(std::string_view rest, int family, bool complete, ProxyHeader* h) {
  IpAddr src_ip, dst_ip;
  uint16_t sport = 0, dport = 0;
  for (int field = 0; field < 4; ++field) {
    size_t sp = rest.find(' ');
    bool last_token = sp == std::string_view::npos;
    std::string_view tok = last_token ? rest : rest.substr(0, sp);
    if (last_token && !complete) {
      bool ok = field < 2 ? addr_prefix_ok(tok, family) : port_prefix_ok(tok);
      return ok ? DecodeStatus::kIncomplete : DecodeStatus::kInvalid;
    }
    if (last_token != (field == 3)) return DecodeStatus::kInvalid;  // too few or too many fields
    bool ok = false;
    switch (field) {
      case 0:
        ok = parse_addr(tok, family, &src_ip);
        break;
      case 1:
        ok = parse_addr(tok, family, &dst_ip);
        break;
      case 2:
        ok = parse_port(tok, &sport);
        break;
      default:
        ok = parse_port(tok, &dport);
        break;
    }
    if (!ok) return DecodeStatus::kInvalid;
    if (!last_token) rest.remove_prefix(sp + 1);
  }
  h->src = SockAddr(src_ip, sport);
  h->dst = SockAddr(dst_ip, dport);
  return DecodeStatus::kOk;
}

// `line` excludes the CRLF; when !complete it is everything received so far (minus a final CR).
DecodeStatus parse_v1_line(std::string_view line, bool complete, ProxyHeader* h) {
  if (line.size() < kV1Prefix.size()) {
    bool could = !complete && is_prefix_of(line, kV1Prefix);
    return could ? DecodeStatus::kIncomplete : DecodeStatus::kInvalid;
  }
  if (line.substr(0, kV1Prefix.size()) != kV1Prefix) return DecodeStatus::kInvalid;
  std::string_view rest = line.substr(kV1Prefix.size());

  // "UNKNOWN": the receiver must ignore whatever follows it up to the CRLF.
  constexpr std::string_view kUnknown = "UNKNOWN";
  if (rest.substr(0, kUnknown.size()) == kUnknown &&
      (rest.size() == kUnknown.size() || rest[kUnknown.size()] == ' ')) {
    if (!complete) return DecodeStatus::kIncomplete;
    h->local = true;
    return DecodeStatus::kOk;
  }
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) {
    bool could = !complete && (is_prefix_of(rest, "TCP4") || is_prefix_of(rest, "TCP6") ||
                               is_prefix_of(rest, kUnknown));
    return could ? DecodeStatus::kIncomplete : DecodeStatus::kInvalid;
  }
  std::string_view proto = rest.substr(0, sp);
  int family;
  if (proto == "TCP4") {
    family = AF_INET;
  } else if (proto == "TCP6") {
    family = AF_INET6;
  } else {
    return DecodeStatus::kInvalid;
  }
  return parse_v1_fields(rest.substr(sp + 1), family, complete, h);
}

DecodeStatus decode_v1(const uint8_t* data, size_t len, ProxyHeader* out) {
  const char* text = reinterpret_cast<const char*>(data);
  size_t scan = std::min(len, kV1LineMax);
  for (size_t i = 0; i < scan; ++i) {
    if (text[i] == '\n') return DecodeStatus::kInvalid;  // LF without CR
    if (text[i] != '\r') continue;
    if (i + 2 > kV1LineMax) return DecodeStatus::kInvalid;
    if (i + 1 == len) return parse_v1_line({text, i}, false, out);
    if (text[i + 1] != '\n') return DecodeStatus::kInvalid;
    ProxyHeader h;
    h.version = 1;
    h.length = i + 2;
    DecodeStatus st = parse_v1_line({text, i}, true, &h);
    if (st == DecodeStatus::kOk) *out = h;
    return st;
  }
  // No CR yet: it would have to be byte len+1 at the earliest, with the LF after it.
  if (len + 2 > kV1LineMax) return DecodeStatus::kInvalid;
  ProxyHeader scratch;
  return parse_v1_line({text, len}, false, &scratch);
}

// ---- PROXY v2 --------------------------------------------------------------------------------

// Size of the address block for a v2 family byte, or -1 if the byte is not one the spec allows.
int v2_addr_block_len(uint8_t fam) {
  switch (fam) {
    case 0x00:
      return 0;  // UNSPEC
    case 0x11:
    case 0x12:
      return 12;  // INET stream/dgram
    case 0x21:
    case 0x22:
      return 36;  // INET6 stream/dgram
    case 0x31:
    case 0x32:
      return 216;  // UNIX stream/dgram
    default:
      return -1;
  }
}

DecodeStatus decode_v2(const uint8_t* data, size_t len, ProxyHeader* out) {
  if (len < sizeof kV2Sig) {
    return std::memcmp(data, kV2Sig, len) == 0 ? DecodeStatus::kIncomplete : DecodeStatus::kInvalid;
  }
  if (std::memcmp(data, kV2Sig, sizeof kV2Sig) != 0) return DecodeStatus::kInvalid;
  if (len < 13) return DecodeStatus::kIncomplete;
  uint8_t ver = data[12] >> 4, cmd = data[12] & 0x0f;
  if (ver != 2 || (cmd != kCmdLocal && cmd != kCmdProxy)) return DecodeStatus::kInvalid;
  if (len < 14) return DecodeStatus::kIncomplete;
  uint8_t fam = data[13];
  int block = v2_addr_block_len(fam);
  if (block < 0) return DecodeStatus::kInvalid;
  if (len < kV2FixedLen) return DecodeStatus::kIncomplete;
  size_t body = get_be16(data + 14);
  // LOCAL ignores the address block entirely (spec 2.2), so only PROXY must carry a whole one.
  if (cmd == kCmdProxy && body < static_cast<size_t>(block)) return DecodeStatus::kInvalid;
  if (len < kV2FixedLen + body) return DecodeStatus::kIncomplete;

  ProxyHeader h;
  h.version = 2;
  h.length = kV2FixedLen + body;
  h.dgram = (fam & 0x0f) == 0x2;
  const uint8_t* a = data + kV2FixedLen;
  if (cmd == kCmdLocal || fam == 0x00 || (fam >> 4) == 0x3) {
    // LOCAL, or an unspecified/UNIX family we cannot represent: the spec lets the receiver
    // accept it and use the real connection endpoints, as haproxy does.
    h.local = true;
  } else if ((fam >> 4) == 0x1) {
    uint32_t s, d;
    std::memcpy(&s, a, 4);
    std::memcpy(&d, a + 4, 4);
    h.src = SockAddr(IpAddr::v4(ntohl(s)), get_be16(a + 8));
    h.dst = SockAddr(IpAddr::v4(ntohl(d)), get_be16(a + 10));
  } else {
    std::array<uint8_t, 16> s, d;
    std::memcpy(s.data(), a, 16);
    std::memcpy(d.data(), a + 16, 16);
    h.src = SockAddr(IpAddr::v6(s), get_be16(a + 32));
    h.dst = SockAddr(IpAddr::v6(d), get_be16(a + 34));
  }
  *out = h;
  return DecodeStatus::kOk;
}

}  // namespace

size_t encode_proxy_v1(const SockAddr& client, const SockAddr& edge, char* out, size_t cap) {
  char buf[kProxyV1MaxLen + 16];
  size_t n = 0;
  if (!is_inet(client) || !is_inet(edge)) {
    constexpr std::string_view kLine = "PROXY UNKNOWN\r\n";
    std::memcpy(buf, kLine.data(), kLine.size());
    n = kLine.size();
  } else {
    bool v6 = client.family() == AF_INET6 || edge.family() == AF_INET6;
    std::string_view head = v6 ? "PROXY TCP6 " : "PROXY TCP4 ";
    std::memcpy(buf, head.data(), head.size());
    n = head.size();
    n += put_ip_text(client.ip(), v6, buf + n);
    buf[n++] = ' ';
    n += put_ip_text(edge.ip(), v6, buf + n);
    buf[n++] = ' ';
    // Two ports: at most 5 + 1 + 5 + CRLF + NUL, well inside buf.
    int w = std::snprintf(buf + n, sizeof buf - n, "%u %u\r\n", unsigned{client.port()},
                          unsigned{edge.port()});
    if (w < 0) return 0;
    n += static_cast<size_t>(w);
  }
  if (n > cap) return 0;
  std::memcpy(out, buf, n);
  return n;
}

size_t encode_proxy_v2(const SockAddr& client, const SockAddr& edge, bool dgram, uint8_t* out,
                       size_t cap) {
  bool inet = is_inet(client) && is_inet(edge);
  bool v6 = client.family() == AF_INET6 || edge.family() == AF_INET6;
  size_t block = !inet ? 0 : v6 ? 36 : 12;
  if (cap < kV2FixedLen + block) return 0;
  std::memcpy(out, kV2Sig, sizeof kV2Sig);
  out[12] = 0x20 | kCmdProxy;
  uint8_t transport = dgram ? 0x2 : 0x1;
  out[13] = !inet ? 0x00 : static_cast<uint8_t>((v6 ? 0x20 : 0x10) | transport);
  put_be16(out + 14, static_cast<uint16_t>(block));
  uint8_t* a = out + kV2FixedLen;
  if (!inet) return kV2FixedLen;
  if (v6) {
    auto s = client.ip().as_v6_mapped();
    auto d = edge.ip().as_v6_mapped();
    std::memcpy(a, s.data(), 16);
    std::memcpy(a + 16, d.data(), 16);
    put_be16(a + 32, client.port());
    put_be16(a + 34, edge.port());
  } else {
    std::memcpy(a, client.ip().bytes(), 4);
    std::memcpy(a + 4, edge.ip().bytes(), 4);
    put_be16(a + 8, client.port());
    put_be16(a + 10, edge.port());
  }
  return kV2FixedLen + block;
}

DecodeStatus decode_proxy_header(const uint8_t* data, size_t len, ProxyHeader* out) {
  if (len == 0) return DecodeStatus::kIncomplete;
  if (data[0] == kV2Sig[0]) return decode_v2(data, len, out);
  if (data[0] == static_cast<uint8_t>(kV1Prefix[0])) return decode_v1(data, len, out);
  return DecodeStatus::kInvalid;
}

void encode_spp(const SockAddr& client, const SockAddr& edge, uint8_t* out) {
  put_be16(out, kSppMagic);
  auto c = client.ip().as_v6_mapped();
  auto e = edge.ip().as_v6_mapped();
  std::memcpy(out + 2, c.data(), 16);
  std::memcpy(out + 18, e.data(), 16);
  put_be16(out + 34, client.port());
  put_be16(out + 36, edge.port());
}

bool decode_spp(const uint8_t* data, size_t len, SppHeader* out) {
  if (len < kSppHeaderLen || get_be16(data) != kSppMagic) return false;
  std::array<uint8_t, 16> c, e;
  std::memcpy(c.data(), data + 2, 16);
  std::memcpy(e.data(), data + 18, 16);
  out->client = SockAddr(IpAddr::v6(c).unmapped(), get_be16(data + 34));
  out->edge = SockAddr(IpAddr::v6(e).unmapped(), get_be16(data + 36));
  return true;
}

}  // namespace rampart::net
