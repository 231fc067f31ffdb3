#include "net/cidr.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace rampart::net {
namespace {

// Clears the bits of `addr` past `prefix_len`.
IpAddr masked(const IpAddr& addr, int prefix_len) {
  std::array<uint8_t, 16> b{};
  std::memcpy(b.data(), addr.bytes(), addr.size());
  for (size_t i = 0; i < addr.size(); ++i) {
    int keep = std::clamp(prefix_len - static_cast<int>(i) * 8, 0, 8);
    b[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  if (addr.is_v6()) return IpAddr::v6(b);
  return IpAddr::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

bool is_v4_mapped(const IpAddr& a) {
  return a.is_v6() && a.unmapped().is_v4();
}

}  // namespace

std::optional<Cidr> Cidr::from(const IpAddr& base, int prefix_len) {
  int max = base.is_v4() ? 32 : 128;
  if (prefix_len < 0 || prefix_len > max) return std::nullopt;
  IpAddr b = base;
  if (prefix_len >= 96 && is_v4_mapped(base)) {
    b = base.unmapped();
    prefix_len -= 96;
  }
  Cidr c;
  c.base_ = masked(b, prefix_len);
  c.prefix_len_ = prefix_len;
  return c;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  if (slash == std::string_view::npos) return from(*ip, ip->is_v4() ? 32 : 128);
  std::string_view len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3 || (len.size() > 1 && len[0] == '0')) return std::nullopt;
  int n = 0;
  for (char c : len) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return from(*ip, n);
}

bool Cidr::contains(const IpAddr& addr) const {
  IpAddr a = addr.unmapped();
  if (a.family() != base_.family()) return false;
  return masked(a, prefix_len_) == base_;
}

std::string Cidr::to_string() const {
  return base_.to_string() + "/" + std::to_string(prefix_len_);
}

namespace detail {

Key128 key_of(const IpAddr& addr) {
  Key128 k = 0;
  for (size_t i = 0; i < addr.size(); ++i) k = (k << 8) | addr.bytes()[i];
  return addr.is_v4() ? k << 96 : k;
}

}  // namespace detail
}  // namespace rampart::net
