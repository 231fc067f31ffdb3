// Small socket helpers shared by the data plane. Stateless; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/unique_fd.h"
#include "net/ip_addr.h"

namespace rampart::core {

enum class SockType { kStream, kDgram };

// A non-blocking listening (stream) or bound (datagram) socket with SO_REUSEADDR and
// SO_REUSEPORT, IPV6_V6ONLY for IPv6, so every worker can bind its own. On failure returns an
// invalid fd and sets *error to a human-readable reason.
UniqueFd open_listener(const net::SockAddr& addr, SockType type, int backlog, std::string* error);

// Sets TCP_NODELAY; errors ignored (the socket works either way).
void set_nodelay(int fd);
// Makes the next close() send an RST instead of a FIN.
void set_linger_zero(int fd);
// Smoothed RTT in microseconds from TCP_INFO, 0 when unknown.
uint32_t tcp_rtt_us(int fd);
// Local address of a socket.
net::SockAddr local_addr(int fd);

}  // namespace rampart::core
