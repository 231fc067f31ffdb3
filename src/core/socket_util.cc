#include "core/socket_util.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace rampart::core {

UniqueFd open_listener(const net::SockAddr& addr, SockType type, int backlog, std::string* error) {
  int st = (type == SockType::kStream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  UniqueFd fd(::socket(addr.family(), st, 0));
  if (!fd.valid()) {
    *error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SockType::kDgram) {
    // Every client of a UDP app shares this socket: the default 208 KiB queue overflows on
    // bursts of a few hundred datagrams. As root, FORCE goes past net.core.rmem_max.
    int bytes = 4 << 20;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (::bind(fd.get(), addr.get(), addr.len()) != 0) {
    *error = "bind " + addr.to_string() + ": " + std::strerror(errno);
    return {};
  }
  // Accepted sockets inherit TCP_NODELAY: one setsockopt per listener, not per connection.
  if (type == SockType::kStream) setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (type == SockType::kStream && ::listen(fd.get(), backlog) != 0) {
    *error = "listen " + addr.to_string() + ": " + std::strerror(errno);
    return {};
  }
  return fd;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_linger_zero(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

uint32_t tcp_rtt_us(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_rtt;
}

net::SockAddr local_addr(int fd) {
  net::SockAddr a;
  if (getsockname(fd, a.get_mut(), a.len_mut()) != 0) return {};
  return a;
}

}  // namespace rampart::core
