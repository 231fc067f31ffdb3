// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The kernel relay of plain-TCP connections (kernel_relay, docs/kernel-relay.md): an sk_skb
 * stream verdict program attached to a SOCKHASH. Once user space has done everything it does on
 * a connection (PROXY header, first-bytes validation), it puts both sockets in `ktr_socks` and
 * one `ktr_dir` per socket in `ktr_dirs`; from then on every segment that reaches one socket's
 * receive path is counted and redirected to the other socket's send side, without waking user
 * space. A socket with no direction entry (never the case for a relayed one) keeps its bytes
 * (SK_PASS). The technique Cloudflare and Cilium describe; written for Rampart. */
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

SEC("sk_skb/stream_verdict")
int ktr_verdict(struct __sk_buff *skb) {
  __u64 cookie = bpf_get_socket_cookie(skb);
  struct ktr_dir *d = bpf_map_lookup_elem(&ktr_dirs, &cookie);
  if (!d) return SK_PASS;
  __sync_fetch_and_add(&d->bytes, skb->len);
  d->last_ns = bpf_ktime_get_ns();
  return bpf_sk_redirect_hash(skb, &ktr_targets, &d->peer, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
