// IP addresses and socket addresses: small value types with parsing and formatting.
// Pure values: any thread may use them.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::net {

// An IPv4 or IPv6 address. IPv4 is stored as such (not v4-mapped).
class IpAddr {
 public:
  IpAddr() = default;
  static IpAddr v4(uint32_t host_order);
  static IpAddr v6(const std::array<uint8_t, 16>& bytes);
  // Accepts dotted IPv4 or IPv6 text without brackets or zone; nullopt otherwise.
  static std::optional<IpAddr> parse(std::string_view text);

  bool is_v4() const { return family_ == AF_INET; }
  bool is_v6() const { return family_ == AF_INET6; }
  int family() const { return family_; }
  // Network-order bytes: 4 for IPv4, 16 for IPv6.
  const uint8_t* bytes() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  // ::ffff:a.b.c.d for IPv4, the address itself for IPv6.
  std::array<uint8_t, 16> as_v6_mapped() const;
  // An IPv4-mapped IPv6 address becomes IPv4; others unchanged.
  IpAddr unmapped() const;
  bool is_loopback() const;
  bool is_unspecified() const;
  std::string to_string() const;
  bool operator==(const IpAddr& o) const { return family_ == o.family_ && bytes_ == o.bytes_; }

 private:
  int family_ = AF_INET;
  std::array<uint8_t, 16> bytes_{};
};

// A socket address (IPv4 or IPv6 with port) that can be handed to the kernel.
class SockAddr {
 public:
  SockAddr() = default;
  SockAddr(const IpAddr& ip, uint16_t port);
  static SockAddr from(const sockaddr* sa, socklen_t len);
  // "1.2.3.4:80" or "[2001:db8::1]:80".
  static std::optional<SockAddr> parse(std::string_view text);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss_); }
  sockaddr* get_mut() { return reinterpret_cast<sockaddr*>(&ss_); }
  socklen_t len() const { return len_; }
  socklen_t* len_mut() { return &len_; }
  int family() const { return ss_.ss_family; }
  IpAddr ip() const;
  uint16_t port() const;
  void set_port(uint16_t port);
  std::string to_string() const;
  bool operator==(const SockAddr& o) const;

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = sizeof(sockaddr_storage);
};

}  // namespace rampart::net
