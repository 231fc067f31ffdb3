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

#include "xdp/gcra.bpf.h"
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

/* The XDP guard's "bans" (one definition): the loader reuses that map when the guard is loaded. */
#include "xdp/bans_map.bpf.h"

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
    if (!take(&relay_buckets, &bk, f->udp_rate, f->udp_burst)) {
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

#define CHUNK 128
/* Payloads up to 16 KiB get their headers in the kernel; longer ones in user space. */
#define MAX_CHUNKS 128

struct move_ctx {
  struct __sk_buff* skb;
  __u32 from, to, len, done;
  int right, err;
};

/* One chunk of move_payload(), run by bpf_loop: the verifier checks it once. */
static long move_chunk(__u32 i, void* data) {
  struct move_ctx* c = data;
  if (c->done >= c->len) return 1;
  __u32 n = c->len - c->done;
  if (n > CHUNK) n = CHUNK;
  asm volatile("" : "+r"(n)); /* keep the mask below: it is what bounds n for the verifier */
  n &= 2 * CHUNK - 1;
  if (n == 0) return 1;
  const __u32 at = c->right ? c->len - c->done - n : c->done;
  __u8 buf[2 * CHUNK];
  if (bpf_skb_load_bytes(c->skb, c->from + at, buf, n) < 0 ||
      bpf_skb_store_bytes(c->skb, c->to + at, buf, n, 0) < 0) {
    c->err = 1;
    return 1;
  }
  c->done += n;
  return 0;
}

/* Moves the `len` payload bytes at `from` to `to` (overlapping: right moves go from the end). */
static __always_inline int move_payload(struct __sk_buff* skb, __u32 from, __u32 to, __u32 len) {
  struct move_ctx c = {.skb = skb, .from = from, .to = to, .len = len, .right = to > from};
  bpf_loop(MAX_CHUNKS, move_chunk, &c, 0);
  return c.err || c.done < c.len ? -1 : 0;
}

/* The UDP length moves from old_len to new_len (and the IP length with it): every length field
 * and checksum follows. The helpers tell a CHECKSUM_PARTIAL packet (only its pseudo header is
 * summed now) from a complete one. */
static __always_inline int set_lengths(struct __sk_buff* skb, int v4, __u32 l4, int l4csum,
                                       __u16 old_len, __u16 new_len) {
  const __u32 csum_off = l4 + offsetof(struct udphdr, check);
  const __u64 mangled = v4 ? BPF_F_MARK_MANGLED_0 : 0;
  const __be16 old_be = bpf_htons(old_len), new_be = bpf_htons(new_len);
  if (bpf_skb_store_bytes(skb, l4 + offsetof(struct udphdr, len), &new_be, 2, 0) < 0) return -1;
  if (l4csum) {
    if (bpf_l4_csum_replace(skb, csum_off, old_be, new_be, BPF_F_PSEUDO_HDR | mangled | 2) < 0)
      return -1;
    if (bpf_l4_csum_replace(skb, csum_off, old_be, new_be, mangled | 2) < 0) return -1;
  }
  if (v4) {
    const __be16 old_tot = bpf_htons(old_len + sizeof(struct iphdr));
    const __be16 new_tot = bpf_htons(new_len + sizeof(struct iphdr));
    if (bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct iphdr, tot_len), &new_tot, 2, 0) < 0)
      return -1;
    if (bpf_l3_csum_replace(skb, L3_OFF + offsetof(struct iphdr, check), old_tot, new_tot, 2) < 0)
      return -1;
  } else if (bpf_skb_store_bytes(skb, L3_OFF + offsetof(struct ipv6hdr, payload_len), &new_be, 2,
                                 0) < 0) {
    return -1;
  }
  return 0;
}

/* Inserts f->hdr after the UDP header (the payload moves right). 0 done, 1 left to the stack
 * (too long for the path, GSO, odd shape), -1 a helper failed. */
static __always_inline int add_header(struct __sk_buff* skb, const struct rrelay_flow* f, int v4,
                                      __u32 l4, __u16 udp_len, int l4csum) {
  const __u32 hlen = f->hdr_len;
  if (hlen == 0 || hlen > RRELAY_HDR_MAX || (hlen & 1)) return 1;
  if (skb->gso_segs > 1 || udp_len < sizeof(struct udphdr) || l4 + udp_len != skb->len) return 1;
  const __u32 payload = udp_len - sizeof(struct udphdr);
  if (payload > CHUNK * MAX_CHUNKS || udp_len + hlen > 0xffff) return 1;
  __u32 mtu = 0;
  if (!(f->flags & (RRELAY_F_PASS | RRELAY_F_TO_LO)) &&
      bpf_check_mtu(skb, f->ifindex, &mtu, (__s32)hlen, 0) != 0)
    return 1;
  const __u32 body = l4 + sizeof(struct udphdr);
  if (bpf_skb_change_tail(skb, skb->len + hlen, 0) < 0) return -1;
  if (move_payload(skb, body, body + hlen, payload) < 0) return -1;
  if (bpf_skb_store_bytes(skb, body, f->hdr, hlen, 0) < 0) return -1;
  if (l4csum) {
    const __u32 padded = (hlen + 3) & ~3u; /* hdr is zero-padded: zeros add nothing */
    if (padded > RRELAY_HDR_MAX) return -1;
    const __s64 diff = bpf_csum_diff(0, 0, (__be32*)f->hdr, padded, 0);
    if (bpf_l4_csum_replace(skb, l4 + offsetof(struct udphdr, check), 0, diff,
                            v4 ? BPF_F_MARK_MANGLED_0 : 0) < 0)
      return -1;
  }
  return set_lengths(skb, v4, l4, l4csum, udp_len, udp_len + hlen);
}

/* Checks an origin's SPP header names the flow's client (f->dst, f->dport: where the reply
 * goes) and strips it, as user space does. 0 done, 1 left to the stack (user space drops and
 * counts a mismatch), -1 a helper failed. */
static __always_inline int strip_spp(struct __sk_buff* skb, const struct rrelay_flow* f, int v4,
                                     __u32 l4, __u16 udp_len, int l4csum) {
  if (skb->gso_segs > 1 || udp_len < sizeof(struct udphdr) + RRELAY_SPP_LEN ||
      l4 + udp_len != skb->len)
    return 1;
  const __u32 payload = udp_len - sizeof(struct udphdr) - RRELAY_SPP_LEN;
  if (payload > CHUNK * MAX_CHUNKS) return 1;
  const __u32 body = l4 + sizeof(struct udphdr);
  __u8 spp[40] = {};
  if (bpf_skb_load_bytes(skb, body, spp, RRELAY_SPP_LEN) < 0) return -1;
  if (spp[0] != 0x56 || spp[1] != 0xec) return 1;
  __u8 differ = 0;
#pragma unroll
  for (int i = 0; i < 16; i++) differ |= spp[2 + i] ^ f->dst[i];
  __u16 cport;
  __builtin_memcpy(&cport, &spp[34], 2);
  if (differ || cport != f->dport) return 1;
  if (move_payload(skb, body + RRELAY_SPP_LEN, body, payload) < 0) return -1;
  if (bpf_skb_change_tail(skb, skb->len - RRELAY_SPP_LEN, 0) < 0) return -1;
  if (l4csum) {
    const __s64 diff = bpf_csum_diff((__be32*)spp, sizeof spp, 0, 0, 0);
    if (bpf_l4_csum_replace(skb, l4 + offsetof(struct udphdr, check), 0, diff,
                            v4 ? BPF_F_MARK_MANGLED_0 : 0) < 0)
      return -1;
  }
  return set_lengths(skb, v4, l4, l4csum, udp_len, udp_len - RRELAY_SPP_LEN);
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
  if (flags & (RRELAY_F_ADD_HDR | RRELAY_F_STRIP_SPP)) {
    __u16 check = 0;
    if (bpf_skb_load_bytes(skb, l4 + offsetof(struct udphdr, check), &check, 2) < 0)
      return TC_ACT_UNSPEC;
    const int l4csum = !v4 || check != 0;
    int rc = flags & RRELAY_F_ADD_HDR ? add_header(skb, f, v4, l4, udp_len, l4csum)
                                      : strip_spp(skb, f, v4, l4, udp_len, l4csum);
    if (rc > 0) return TC_ACT_UNSPEC; /* untouched: user space relays it as before */
    if (rc < 0) return count(RRELAY_FAILED, TC_ACT_SHOT);
  }
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
