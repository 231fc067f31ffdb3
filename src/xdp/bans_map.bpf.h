/* The ban map of the XDP guard (guard.bpf.c), also declared by the UDP kernel relay
 * (relay_udp.bpf.c): one definition, so that the relay's loader can reuse the guard's map
 * (bpf_map__reuse_fd checks type, key, value and size). Keys are IPv4 addresses or IPv6 sources
 * masked to the ban prefix; the value's expiry is checked by the programs. BPF programs only. */
#pragma once

#include "xdp/shared_types.h"

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct rxdp_addr);
  __type(value, struct rxdp_ban);
  __uint(max_entries, RXDP_MAX_BANS);
} bans SEC(".maps");
