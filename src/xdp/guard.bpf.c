// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Rampart's XDP fast path: drops, before the socket layer, what the userspace guard would drop
 * anyway and what can be decided from one packet: banned sources, blocked CIDRs, datagrams from
 * reflection ports and per-source SYN / datagram floods over the configured rates. Only packets
 * to a port where an app listens are judged; everything else passes untouched. The loader
 * (loader.cc) fills the maps from the config and the guard's bans; docs/xdp.md describes them.
 *
 * Order of checks = the userspace guard's: UDP reflection ports first, then the access rules
 * (a whitelisted source passes everything else), then bans, then the per-source rates. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

// After the linux headers: libbpf's helpers use their types.
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/gcra.bpf.h"
#include "xdp/shared_types.h"

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct rxdp_lpm_v4);
  __type(value, struct rxdp_acl_value);
  __uint(max_entries, RXDP_MAX_ACL_RULES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} acl_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __type(key, struct rxdp_lpm_v6);
  __type(value, struct rxdp_acl_value);
  __uint(max_entries, RXDP_MAX_ACL_RULES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} acl_v6 SEC(".maps");

#include "xdp/bans_map.bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct rxdp_port);
  __uint(max_entries, RXDP_PORTS);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, struct rxdp_profile);
  __uint(max_entries, RXDP_MAX_PROFILES);
} profiles SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct rxdp_bucket_key);
  __type(value, struct rxdp_bucket);
  __uint(max_entries, RXDP_MAX_BUCKETS);
} buckets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, RXDP_COUNTER_MAX);
} counters SEC(".maps");

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

static __always_inline int count(__u32 slot, int verdict) {
  __u64* c = bpf_map_lookup_elem(&counters, &slot);
  if (c) *c += 1;
  return verdict;
}

static __always_inline int pass(void) {
  return count(RXDP_PASS, XDP_PASS);
}

SEC("xdp")
int rampart_guard(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return pass();
  __u16 proto = eth->h_proto;
  void* l3 = eth + 1;
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
    struct vlan_hdr* vh = l3;
    if ((void*)(vh + 1) > end) return pass();
    proto = vh->proto;
    l3 = vh + 1;
  }

  struct rxdp_bucket_key key = {};
  void* l4;
  __u8 l4proto;
  int v4 = 0;
  __u32 saddr4 = 0;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = l3;
    if ((void*)(ip + 1) > end || ip->ihl < 5) return pass();
    if (ip->frag_off & bpf_htons(0x1fff)) return pass(); /* a later fragment: no L4 header */
    l4 = (void*)ip + ip->ihl * 4;
    l4proto = ip->protocol;
    saddr4 = ip->saddr;
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    __builtin_memcpy(&key.addr[12], &saddr4, 4);
    v4 = 1;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = l3;
    if ((void*)(ip6 + 1) > end) return pass();
    l4 = ip6 + 1;
    l4proto = ip6->nexthdr; /* extension headers: left to the userspace guard */
    __builtin_memcpy(key.addr, &ip6->saddr, 16);
  } else {
    return pass();
  }

  __u16 sport, dport;
  int syn = 0;
  if (l4proto == IPPROTO_TCP) {
    struct tcphdr* th = l4;
    if ((void*)(th + 1) > end) return pass();
    sport = bpf_ntohs(th->source);
    dport = bpf_ntohs(th->dest);
    syn = th->syn && !th->ack;
  } else if (l4proto == IPPROTO_UDP) {
    struct udphdr* uh = l4;
    if ((void*)(uh + 1) > end) return pass();
    sport = bpf_ntohs(uh->source);
    dport = bpf_ntohs(uh->dest);
  } else {
    return pass();
  }

  __u32 port_key = dport;
  struct rxdp_port* pe = bpf_map_lookup_elem(&ports, &port_key);
  if (!pe) return pass();
  const int udp = l4proto == IPPROTO_UDP;
  const __u8 profile = udp ? pe->udp_profile : pe->tcp_profile;
  if (profile == 0) return pass(); /* no app on this port: not Rampart's traffic */
  __u32 profile_key = profile - 1;
  struct rxdp_profile* pr = bpf_map_lookup_elem(&profiles, &profile_key);
  if (!pr) return pass();
  const __u32 flags = pr->flags;

  if (udp && (flags & RXDP_F_REFLECTION) &&
      (pr->reflect[(sport >> 3) & 0x1fff] & (1 << (sport & 7))))
    return count(RXDP_DROP_REFLECTION, XDP_DROP);

  if (flags & RXDP_F_ACL) {
    struct rxdp_acl_value* acl;
    if (v4) {
      struct rxdp_lpm_v4 k4 = {.prefixlen = 32};
      __builtin_memcpy(k4.addr, &saddr4, 4);
      acl = bpf_map_lookup_elem(&acl_v4, &k4);
    } else {
      struct rxdp_lpm_v6 k6 = {.prefixlen = 128};
      __builtin_memcpy(k6.addr, key.addr, 16);
      acl = bpf_map_lookup_elem(&acl_v6, &k6);
    }
    if (acl) {
      if (acl->mode == RXDP_ACL_WHITELIST) {
        count(RXDP_WHITELISTED, XDP_PASS);
        return pass();
      }
      if (acl->mode == RXDP_ACL_BLOCK) return count(RXDP_DROP_BLOCK_IP, XDP_DROP);
    }
  }

  if (flags & RXDP_F_BANS) {
    struct rxdp_addr bk;
    __builtin_memcpy(bk.addr, key.addr, 16);
    if (!v4) mask_v6(bk.addr, pr->ban_v6_prefix);
    struct rxdp_ban* ban = bpf_map_lookup_elem(&bans, &bk);
    if (ban && ban->until_ns > bpf_ktime_get_ns()) return count(RXDP_DROP_BANNED, XDP_DROP);
  }

  if (!v4) mask_v6(key.addr, pr->v6_prefix); /* from here on, the source is its prefix */
  key.profile = profile;
  if (syn && (flags & RXDP_F_SYN_RATE) && pr->syn_rate > 0) {
    key.kind = 0;
    if (!take(&buckets, &key, pr->syn_rate, pr->syn_burst)) return count(RXDP_DROP_SYN_RATE, XDP_DROP);
  } else if (udp && (flags & RXDP_F_UDP_RATE) && pr->udp_rate > 0) {
    key.kind = 1;
    if (!take(&buckets, &key, pr->udp_rate, pr->udp_burst)) return count(RXDP_DROP_UDP_RATE, XDP_DROP);
  }
  return pass();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
