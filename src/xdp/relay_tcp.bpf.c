// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The kernel relay of plain-TCP connections (kernel_relay, docs/kernel-relay.md): an sk_skb
 * stream verdict program attached to a SOCKHASH. Once user space has done everything it does on
 * a connection (PROXY header, first-bytes validation), it puts both sockets in `ktr_socks` and
 * one `ktr_dir` per socket in `ktr_dirs`; from then on every segment that reaches one socket's
 * receive path is counted and redirected to the other socket's send side, without waking user
 * space. A direction whose peer falls KTR_QUEUE_BUDGET behind is paused: its bytes stay in its
 * own socket (SK_PASS), in order, and user space relays them (the backpressure bound). A socket
 * with no direction entry (never the case for a relayed one) keeps its bytes too. The technique
 * Cloudflare and Cilium describe; written for Rampart. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "tcp/kernel_relay_types.h"

/* max_entries of every map is set by the loader from the edge's session budget (2 sockets per
 * session). The verdict program is attached to this one. */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __type(key, __u64);
  __type(value, __u64);
  __uint(max_entries, 2);
} ktr_socks SEC(".maps");

/* The same sockets, with no program: what redirects look their target up in. A socket is a
 * target before it is a source, so no byte is redirected to a socket not yet in a map. */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __type(key, __u64);
  __type(value, __u64);
  __uint(max_entries, 2);
} ktr_targets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u64);
  __type(value, struct ktr_dir);
  __uint(max_entries, 2);
} ktr_dirs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, KTR_MAX_WORKERS);
  __uint(map_flags, BPF_F_MMAPABLE);
} ktr_pauses SEC(".maps");

/* The one field of the kernel's tcp_sock the program reads, relocated by name against the
 * running kernel's BTF (CO-RE): no vmlinux.h needed at build time. */
struct tcp_sock {
  __u32 write_seq;
} __attribute__((preserve_access_index));

/* Bytes redirected to the peer that its TCP has not taken yet (in its psock queue), or -1 when
 * the peer is gone. The verdict of one socket runs under its lock: one at a time. */
static __always_inline __s64 ktr_queued(struct ktr_dir *d) {
  struct bpf_sock *sk = bpf_map_lookup_elem(&ktr_targets, &d->peer);
  if (!sk) return -1;
  struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
  __u32 seq = tp ? tp->write_seq : 0;
  bpf_sk_release(sk);
  if (!tp) return -1;
  if (!d->started) {
    /* Nothing was redirected yet, so nothing waits: the peer's stream starts here. */
    d->seq0 = seq;
    d->started = 1;
  }
  /* Modulo 2^32: the queue is far below 4 GiB (the budget bounds it). */
  return (__u32)((__u32)d->bytes - (seq - d->seq0));
}

SEC("sk_skb/stream_verdict")
int ktr_verdict(struct __sk_buff *skb) {
  /* A FIN without data reaches the verdict as an empty skb: TCP has taken note of the FIN
   * already (user space passes it on), and sending zero bytes would fail the peer's psock
   * with EPIPE. Nothing to relay: drop it. */
  if (skb->len == 0) return SK_DROP;
  __u64 cookie = bpf_get_socket_cookie(skb);
  struct ktr_dir *d = bpf_map_lookup_elem(&ktr_dirs, &cookie);
  if (!d || d->paused) return SK_PASS;
  __s64 queued = ktr_queued(d);
  if (queued < 0) return SK_PASS;
  if (queued + skb->len > KTR_QUEUE_BUDGET) {
    /* The peer does not keep up: stop redirecting. This segment and every later one wait in
     * this socket's own queue, in order, until user space relays them. */
    d->paused = 1;
    __u64 *pauses = bpf_map_lookup_elem(&ktr_pauses, &d->worker);
    if (pauses) __sync_fetch_and_add(pauses, 1);
    return SK_PASS;
  }
  d->bytes += skb->len;
  d->last_ns = bpf_ktime_get_ns();
  return bpf_sk_redirect_hash(skb, &ktr_targets, &d->peer, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
