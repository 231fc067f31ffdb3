/* Map keys and values shared by the UDP generation program (reuseport.bpf.c) and its userspace
 * side (udp_generations.cc): plain C, fixed-size fields, explicit padding (docs/upgrade.md). */
#ifndef RAMPART_XDP_REUSEPORT_TYPES_H
#define RAMPART_XDP_REUSEPORT_TYPES_H

#ifdef __bpf__
#include <linux/types.h>
typedef __u16 rrp_u16;
typedef __u32 rrp_u32;
typedef __u8 rrp_u8;
#else
#include <stdint.h>
typedef uint16_t rrp_u16;
typedef uint32_t rrp_u32;
typedef uint8_t rrp_u8;
#endif

#define RRP_MAX_SOCKETS 16384 /* REUSEPORT_SOCKARRAY slots: 2 x workers per UDP bind */
#define RRP_MAX_GROUPS 8192
#define RRP_MAX_FLOWS 262144

/* A reuseport group: the bound address of its sockets (IPv4 in addr[0], network order; the
 * wildcard is all zero) and port (host order). */
struct rrp_group_key {
  rrp_u32 addr[4];
  rrp_u16 port;
  rrp_u8 family; /* AF_INET or AF_INET6 */
  rrp_u8 pad;
};

/* Slots base .. base + 2 * workers - 1 of the socket array: half 0, then half 1. New flows go to
 * the active half: steered by source (v6_prefix > 0: the guard's hash, guard/reuseport.h) or by
 * the kernel's 4-tuple hash. */
struct rrp_group {
  rrp_u32 base;
  rrp_u32 workers;
  rrp_u32 active;    /* 0 or 1 */
  rrp_u32 v6_prefix; /* 0 = not steered */
};

/* A flow owned by a process that no longer takes new ones (an upgrade's old process): client
 * address and port, edge address and port, as on the wire (network order). */
struct rrp_flow_key {
  rrp_u32 saddr[4];
  rrp_u32 daddr[4];
  rrp_u16 sport;
  rrp_u16 dport;
  rrp_u32 family;
};

#if !defined(__bpf__) && defined(__cplusplus)
static_assert(sizeof(struct rrp_group_key) == 20, "rrp_group_key layout");
static_assert(sizeof(struct rrp_group) == 16, "rrp_group layout");
static_assert(sizeof(struct rrp_flow_key) == 40, "rrp_flow_key layout");
#endif

#endif
