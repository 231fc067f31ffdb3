#include "udp/flow_owner.h"

#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "xdp/reuseport_types.h"

namespace rampart::udp {

namespace {

void put_addr(const net::SockAddr& a, rrp_u32 out[4], rrp_u16* port) {
  const sockaddr* sa = a.get();
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    out[0] = in->sin_addr.s_addr;
    *port = in->sin_port;
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::memcpy(out, &in6->sin6_addr, 16);
    *port = in6->sin6_port;
  }
}

rrp_flow_key key_of(const net::SockAddr& client, const net::SockAddr& edge) {
  rrp_flow_key k{};
  put_addr(client, k.saddr, &k.sport);
  put_addr(edge, k.daddr, &k.dport);
  k.family = client.get()->sa_family;
  return k;
}

long map_op(int cmd, int fd, const void* key, const void* value) {
  bpf_attr attr{};
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.key = reinterpret_cast<uint64_t>(key);
  attr.value = reinterpret_cast<uint64_t>(value);
  attr.flags = BPF_ANY;
  return syscall(__NR_bpf, cmd, &attr, sizeof attr);
}

}  // namespace

bool own_flow(int map_fd, const net::SockAddr& client, const net::SockAddr& edge, uint32_t slot) {
  const rrp_flow_key k = key_of(client, edge);
  return map_op(BPF_MAP_UPDATE_ELEM, map_fd, &k, &slot) == 0;
}

void disown_flow(int map_fd, const net::SockAddr& client, const net::SockAddr& edge) {
  const rrp_flow_key k = key_of(client, edge);
  map_op(BPF_MAP_DELETE_ELEM, map_fd, &k, nullptr);
}

}  // namespace rampart::udp
