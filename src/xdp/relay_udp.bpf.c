// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Rampart's UDP kernel relay (docs/kernel-relay-udp.md): a tc ingress classifier that relays the
 * datagrams of flows user space has already set up. A datagram whose addresses and ports match an
 * entry of relay_flows is rewritten to the entry's addresses and ports (IPv4 header checksum and
 * UDP checksum updated incrementally, pseudo header included) and redirected to the entry's
 * interface (bpf_redirect_neigh, which needs no ip_forward), or handed to the stack when the new
 * destination is local. Everything else is left to the next program (TC_ACT_UNSPEC = TCX_NEXT:
 * an upgrade's other process has its own program and flows on the same hook) and the stack. On the
 * client -> origin direction the guard's bans (the XDP guard's map when it is loaded) and a
 * per-source datagram rate apply; a drop is counted on the flow, where user space reads it for the
 * guard's counters and autoban. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

// After the linux headers: libbpf's helpers use their types.
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/relay_types.h"

#ifndef RRELAY_MAX_FLOWS
#define RRELAY_MAX_FLOWS 65536 /* the loader sets max_entries from the UDP flow budget */
#endif

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct rrelay_key);
  __type(value, struct rrelay_flow);
  __uint(max_entries, RRELAY_MAX_FLOWS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} relay_flows SEC(".maps");

/* Same definition as the XDP guard's "bans" (guard.bpf.c): the loader reuses that map when the
 * guard is loaded. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct rxdp_addr);
  __type(value, struct rxdp_ban);
  __uint(max_entries, RXDP_MAX_BANS);
} bans SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct rrelay_bucket_key);
  __type(value, struct rxdp_bucket);
  __uint(max_entries, RXDP_MAX_BUCKETS);
} relay_buckets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, RRELAY_COUNTER_MAX);
} relay_counters SEC(".maps");

#define L3_OFF ETH_HLEN

static __always_inline int count(__u32 slot, int verdict) {
  __u64* c = bpf_map_lookup_elem(&relay_counters, &slot);
  if (c) *c += 1;
  return verdict;
}

static __always_inline void mask_v6(__u8* addr, __u32 plen) {
  if (plen == 0 || plen >= 128) return;
#pragma unroll
  for (int i = 0; i < 16; i++) {
    int keep = (int)plen - i * 8;
    if (keep >= 8) continue;
    addr[i] = keep <= 0 ? 0 : addr[i] & (__u8)(0xff00 >> keep);
  }
}

/* One token from the source's bucket; 0 when it is empty (the XDP guard's take(), GCRA). */
static __always_inline int take(struct rrelay_bucket_key* k, __u32 rate, __u32 burst) {
  const __u64 now = bpf_ktime_get_ns();
  const __u64 interval = 1000000000ULL / rate;
  const __u64 tau = (__u64)(burst ? burst : rate) * interval;
  struct rxdp_bucket* b = bpf_map_lookup_elem(&relay_buckets, k);
  if (!b) {
    struct rxdp_bucket fresh = {.tat_ns = now + interval};
    bpf_map_update_elem(&relay_buckets, k, &fresh, BPF_ANY);
    return 1;
  }
  __u64 tat = b->tat_ns < now ? now : b->tat_ns;
  tat += interval;
  if (tat - now > tau) return 0;
  b->tat_ns = tat;
  return 1;
}

/* The guard on a client -> origin packet: 0 to relay it, else TC_ACT_SHOT (counted). */
static __always_inline int guard(struct rrelay_flow* f, const struct rrelay_key* k, int v4) {
  if (f->flags & RRELAY_F_BANS) {
    struct rxdp_addr bk;
    __builtin_memcpy(bk.addr, k->src, 16);
    if (!v4) mask_v6(bk.addr, f->ban_v6_prefix);
    struct rxdp_ban* ban = bpf_map_lookup_elem(&bans, &bk);
    if (ban && ban->until_ns > bpf_ktime_get_ns()) {
      __sync_fetch_and_add(&f->drop_banned, 1);
      return count(RRELAY_DROP_BANNED, TC_ACT_SHOT);
    }
  }
  if ((f->flags & RRELAY_F_UDP_RATE) && f->udp_rate > 0) {
    struct rrelay_bucket_key bk = {.app_no = f->app_no};
    __builtin_memcpy(bk.addr, k->src, 16);
    if (!v4) mask_v6(bk.addr, f->v6_prefix);
    if (!take(&bk, f->udp_rate, f->udp_burst)) {
      __sync_fetch_and_add(&f->drop_rate, 1);
      return count(RRELAY_DROP_UDP_RATE, TC_ACT_SHOT);
    }
  }
  return 0;
}

/* Rewrites addresses and ports from `k` to `f`'s, checksums included. 0 on success. */
static __always_inline int rewrite(struct __sk_buff* skb, const struct rrelay_key* k,
                                   const struct rrelay_flow* f, int v4, __u32 l4) {
  const __u32 csum_off = l4 + offsetof(struct udphdr, check);
  __u16 check = 0;
  if (bpf_skb_load_bytes(skb, csum_off, &check, 2) < 0) return -1;
  /* IPv4 UDP may carry no checksum (0): it stays 0. IPv6 always has one. */
  const int l4csum = !v4 || check != 0;
  const __u64 mangled = v4 ? BPF_F_MARK_MANGLED_0 : 0;
  __s64 diff;
  if (v4) {
    __u32 old_a[2], new_a[2];
    __builtin_memcpy(&old_a[0], &k->src[12], 4);
    __builtin_memcpy(&old_a[1], &k->dst[12], 4);
    __builtin_memcpy(&new_a[0], &f->src[12], 4);
    __builtin_memcpy(&new_a[1], &f->dst[12], 4);
    diff = bpf_csum_diff(old_a, 8, new_a, 8, 0);
    if (bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, saddr), new_a, 8, 0) < 0)
      return -1;
    if (bpf_l3_csum_replace(skb, L3_OFF + offsetof(struct iphdr, check), 0, diff, 0) < 0) return -1;
  } else {
    __u32 old_a[8], new_a[8];
    __builtin_memcpy(old_a, k->src, 16);
    __builtin_memcpy(&old_a[4], k->dst, 16);
    __builtin_memcpy(new_a, f->src, 16);
    __builtin_memcpy(&new_a[4], f->dst, 16);
    diff = bpf_csum_diff(old_a, 32, new_a, 32, 0);
    if (bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct ipv6hdr, saddr), new_a, 32, 0) < 0)
      return -1;
  }
  if (l4csum && bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangled) < 0)
    return -1;
  __u32 old_p, new_p;
  __builtin_memcpy(&old_p, &k->sport, 4); /* sport and dport, adjacent */
  __builtin_memcpy(&new_p, &f->sport, 4);
  if (bpf_skb_store_bytes(skb, l4, &new_p, 4, 0) < 0) return -1;
  if (l4csum) {
    diff = bpf_csum_diff(&old_p, 4, &new_p, 4, 0);
    if (bpf_l4_csum_replace(skb, csum_off, 0, diff, mangled) < 0) return -1;
  }
  return 0;
}

SEC("tc")
int rampart_relay_udp(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* end = (void*)(long)skb->data_end;
  struct rrelay_key k = {};
  __u32 l4;
  int v4;
  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = data + L3_OFF;
    if ((void*)(ip + 1) > end) return TC_ACT_UNSPEC;
    if (ip->protocol != IPPROTO_UDP || ip->ihl != 5) return TC_ACT_UNSPEC;
    if (ip->frag_off & bpf_htons(0x3fff)) return TC_ACT_UNSPEC; /* fragments: the stack's */
    k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
    __builtin_memcpy(&k.src[12], &ip->saddr, 4);
    __builtin_memcpy(&k.dst[12], &ip->daddr, 4);
    l4 = L3_OFF + sizeof(struct iphdr);
    v4 = 1;
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = data + L3_OFF;
    if ((void*)(ip6 + 1) > end) return TC_ACT_UNSPEC;
    if (ip6->nexthdr != IPPROTO_UDP) return TC_ACT_UNSPEC; /* extension headers: the stack's */
    __builtin_memcpy(k.src, &ip6->saddr, 16);
    __builtin_memcpy(k.dst, &ip6->daddr, 16);
    l4 = L3_OFF + sizeof(struct ipv6hdr);
    v4 = 0;
  } else {
    return TC_ACT_UNSPEC;
  }
  struct udphdr* uh = data + l4;
  if ((void*)(uh + 1) > end) return TC_ACT_UNSPEC;
  k.sport = uh->source;
  k.dport = uh->dest;
  const __u32 udp_len = bpf_ntohs(uh->len);

  struct rrelay_flow* f = bpf_map_lookup_elem(&relay_flows, &k);
  if (!f) return TC_ACT_UNSPEC;
  if (f->flags & (RRELAY_F_BANS | RRELAY_F_UDP_RATE)) {
    int drop = guard(f, &k, v4);
    if (drop) return drop;
  }
  const __u32 flags = f->flags;
  const __u32 ifindex = f->ifindex;
  if (rewrite(skb, &k, f, v4, l4) < 0) return count(RRELAY_FAILED, TC_ACT_SHOT);

  /* Counters: a GSO packet stands for gso_segs datagrams (one UDP header each on the wire). */
  const __u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
  __u64 payload = 0;
  if (segs > 1)
    payload = skb->len - l4 - sizeof(struct udphdr);
  else if (udp_len >= sizeof(struct udphdr))
    payload = udp_len - sizeof(struct udphdr);
  __sync_fetch_and_add(&f->packets, segs);
  __sync_fetch_and_add(&f->bytes, payload);
  f->last_ns = bpf_ktime_get_ns();
  count(RRELAY_RELAYED, 0);

  if (flags & RRELAY_F_PASS) return TC_ACT_OK;
  if (flags & RRELAY_F_TO_LO) {
    __u8 zero[12] = {};
    if (bpf_skb_store_bytes(skb, 0, zero, 12, 0) < 0) return count(RRELAY_FAILED, TC_ACT_SHOT);
    return bpf_redirect(ifindex, 0);
  }
  return bpf_redirect_neigh(ifindex, 0, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
