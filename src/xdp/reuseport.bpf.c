// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The UDP generation selector (BPF_PROG_TYPE_SK_REUSEPORT, docs/upgrade.md): picks the socket
 * of a UDP reuseport group for each datagram. A group holds two halves of one socket per worker;
 * one process reads each half. A datagram of a flow listed in `flows` (an upgrade's old process
 * still relays it) goes to the socket that flow's worker reads; any other goes to the active
 * half, to the worker the guard's per-source steering picks (the same hash as the classic
 * program of guard/reuseport.cc) or, unsteered, to the kernel's 4-tuple hash. Inspired by
 * Cloudflare's udpgrm; written for Rampart. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/reuseport_types.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct {
  __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, RRP_MAX_SOCKETS);
} rrp_sockets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct rrp_group_key);
  __type(value, struct rrp_group);
  __uint(max_entries, RRP_MAX_GROUPS);
} rrp_groups SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct rrp_flow_key);
  __type(value, __u32);
  __uint(max_entries, RRP_MAX_FLOWS);
} rrp_flows SEC(".maps");

static __always_inline __u32 mix(__u32 a) {
  a ^= a >> 16;
  a *= 0x45d9f3b;
  a ^= a >> 16;
  return a;
}

static __always_inline __u32 word_mask(__u32 prefix, int word) {
  int bits = (int)(prefix < 64 ? prefix : 64) - 32 * word;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return 0xffffffffu << (32 - bits);
}

SEC("sk_reuseport")
int rrp_select(struct sk_reuseport_md *md) {
  struct bpf_sock *sk = md->sk;
  if (!sk) return SK_PASS;
  struct rrp_group_key gk = {};
  gk.family = (__u8)sk->family;
  gk.port = (__u16)sk->src_port;
  if (sk->family == AF_INET) {
    gk.addr[0] = sk->src_ip4;
  } else {
    gk.addr[0] = sk->src_ip6[0];
    gk.addr[1] = sk->src_ip6[1];
    gk.addr[2] = sk->src_ip6[2];
    gk.addr[3] = sk->src_ip6[3];
  }
  struct rrp_group *g = bpf_map_lookup_elem(&rrp_groups, &gk);
  if (!g) return SK_PASS; /* not registered yet: the kernel's hash over what is open */
  struct rrp_flow_key fk = {};
  fk.family = gk.family;
  __u16 ports[2];
  if (bpf_skb_load_bytes(md, 0, ports, sizeof ports) != 0) return SK_PASS;
  fk.sport = ports[0];
  fk.dport = ports[1];
  if (gk.family == AF_INET) {
    if (bpf_skb_load_bytes_relative(md, 12, fk.saddr, 4, BPF_HDR_START_NET) != 0 ||
        bpf_skb_load_bytes_relative(md, 16, fk.daddr, 4, BPF_HDR_START_NET) != 0)
      return SK_PASS;
  } else {
    if (bpf_skb_load_bytes_relative(md, 8, fk.saddr, 16, BPF_HDR_START_NET) != 0 ||
        bpf_skb_load_bytes_relative(md, 24, fk.daddr, 16, BPF_HDR_START_NET) != 0)
      return SK_PASS;
  }
  __u32 *owner = bpf_map_lookup_elem(&rrp_flows, &fk);
  if (owner) {
    __u32 slot = *owner;
    if (bpf_sk_select_reuseport(md, &rrp_sockets, &slot, 0) == 0) return SK_PASS;
  }
  __u32 workers = g->workers ? g->workers : 1;
  __u32 w;
  if (g->v6_prefix) {
    __u32 a;
    if (gk.family == AF_INET)
      a = bpf_ntohl(fk.saddr[0]);
    else
      a = (bpf_ntohl(fk.saddr[0]) & word_mask(g->v6_prefix, 0)) ^
          (bpf_ntohl(fk.saddr[1]) & word_mask(g->v6_prefix, 1));
    w = mix(a) % workers;
  } else {
    w = md->hash % workers;
  }
  __u32 slot = g->base + (g->active ? workers : 0) + w;
  if (bpf_sk_select_reuseport(md, &rrp_sockets, &slot, 0) == 0) return SK_PASS;
  return SK_DROP; /* never to a socket nobody reads */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
