/* What the XDP guard (guard.bpf.c) and the UDP kernel relay (relay_udp.bpf.c) judge alike: the
 * IPv6 source prefix and the per-source GCRA token bucket. Always inlined, so the map each
 * program passes is a constant to the verifier. BPF programs only. */
#pragma once

#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>

#include "xdp/shared_types.h"

/* Clears the bits of an IPv6 address past `plen` (0 or >= 128: nothing), so that every address
 * of a prefix is one source (protection.ipv6_prefix; the guard's SourceKey::of is the twin). */
static __always_inline void mask_v6(__u8* addr, __u32 plen) {
  if (plen == 0 || plen >= 128) return;
#pragma unroll
  for (int i = 0; i < 16; i++) {
    int keep = (int)plen - i * 8;
    if (keep >= 8) continue;
    addr[i] = keep <= 0 ? 0 : addr[i] & (__u8)(0xff00 >> keep);
  }
}

/* One token from the bucket of `key` in `buckets` (a hash of struct rxdp_bucket); 0 when it is
 * empty. GCRA: `rate` per second, bursts of `burst` (0: rate). */
static __always_inline int take(void* buckets, const void* key, __u32 rate, __u32 burst) {
  const __u64 now = bpf_ktime_get_ns();
  const __u64 interval = 1000000000ULL / rate;
  const __u64 tau = (__u64)(burst ? burst : rate) * interval;
  struct rxdp_bucket* b = bpf_map_lookup_elem(buckets, key);
  if (!b) {
    struct rxdp_bucket fresh = {.tat_ns = now + interval};
    bpf_map_update_elem(buckets, key, &fresh, BPF_ANY);
    return 1;
  }
  __u64 tat = b->tat_ns < now ? now : b->tat_ns;
  tat += interval;
  if (tat - now > tau) return 0;
  b->tat_ns = tat;
  return 1;
}
