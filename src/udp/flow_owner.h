// The flows an upgrade's old process still relays, listed in the UDP generation program's flow
// map (xdp/udp_generations.h, docs/upgrade.md): a listed flow's datagrams reach the socket of the
// worker that owns it while new flows go to the new process. Raw bpf(2) calls on a map
// descriptor the edge holds (no capability needed); one per flow opened or ended while the
// listing is on, never per datagram. Worker thread (stateless).
#pragma once

#include <cstdint>

#include "net/ip_addr.h"

namespace rampart::udp {

// Lists the flow of `client` to `edge` as owned by socket-array slot `slot`.
bool own_flow(int map_fd, const net::SockAddr& client, const net::SockAddr& edge, uint32_t slot);
// Removes it (the flow ended).
void disown_flow(int map_fd, const net::SockAddr& client, const net::SockAddr& edge);

}  // namespace rampart::udp
