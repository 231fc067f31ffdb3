#include "net/ip_addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rampart::net {

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr a;
  a.family_ = AF_INET;
  uint32_t n = htonl(host_order);
  std::memcpy(a.bytes_.data(), &n, 4);
  return a;
}

IpAddr IpAddr::v6(const std::array<uint8_t, 16>& bytes) {
  IpAddr a;
  a.family_ = AF_INET6;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = AF_INET;
  } else {
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
    a.family_ = AF_INET6;
  }
  return a;
}

std::array<uint8_t, 16> IpAddr::as_v6_mapped() const {
  if (is_v6()) return bytes_;
  std::array<uint8_t, 16> out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out.data() + 12, bytes_.data(), 4);
  return out;
}

IpAddr IpAddr::unmapped() const {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (is_v4() || std::memcmp(bytes_.data(), kPrefix, 12) != 0) return *this;
  IpAddr a;
  a.family_ = AF_INET;
  std::memcpy(a.bytes_.data(), bytes_.data() + 12, 4);
  return a;
}

bool IpAddr::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoop || (unmapped().is_v4() && unmapped().is_loopback());
}

bool IpAddr::is_unspecified() const {
  for (size_t i = 0; i < size(); ++i)
    if (bytes_[i] != 0) return false;
  return true;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(family_, bytes_.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

SockAddr::SockAddr(const IpAddr& ip, uint16_t port) {
  if (ip.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss_);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, ip.bytes(), 4);
    len_ = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss_);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, ip.bytes(), 16);
    len_ = sizeof(sockaddr_in6);
  }
}

SockAddr SockAddr::from(const sockaddr* sa, socklen_t len) {
  SockAddr s;
  if (len > sizeof(s.ss_)) len = sizeof(s.ss_);
  std::memcpy(&s.ss_, sa, len);
  s.len_ = len;
  return s;
}

std::optional<SockAddr> SockAddr::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  auto ip = IpAddr::parse(host);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (!ip || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return std::nullopt;
  return SockAddr(*ip, static_cast<uint16_t>(p));
}

IpAddr SockAddr::ip() const {
  if (ss_.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&ss_);
    return IpAddr::v4(ntohl(sin->sin_addr.s_addr));
  }
  auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss_);
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), &sin6->sin6_addr, 16);
  return IpAddr::v6(b);
}

uint16_t SockAddr::port() const {
  if (ss_.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
}

void SockAddr::set_port(uint16_t port) {
  if (ss_.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&ss_)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&ss_)->sin6_port = htons(port);
}

std::string SockAddr::to_string() const {
  auto ip_text = ip().to_string();
  if (family() == AF_INET6) return "[" + ip_text + "]:" + std::to_string(port());
  return ip_text + ":" + std::to_string(port());
}

bool SockAddr::operator==(const SockAddr& o) const {
  return ip() == o.ip() && port() == o.port();
}

}  // namespace rampart::net
