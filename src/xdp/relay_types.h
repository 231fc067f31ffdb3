/* Map keys and values shared by the UDP kernel relay (relay_udp.bpf.c, a tc classifier) and its
 * userspace side (relay_udp.cc). Plain C with fixed-size fields, laid out alike by clang -target
 * bpf and g++; sizes checked below. docs/kernel-relay-udp.md describes the mechanism. */
#ifndef RAMPART_XDP_RELAY_TYPES_H
#define RAMPART_XDP_RELAY_TYPES_H

#include "xdp/shared_types.h"

/* Flow map (HASH "relay_flows"): one entry per direction of a relayed flow, keyed by the packet's
 * addresses and ports as they arrive (IPv4 as ::ffff:a.b.c.d; ports in network order). The
 * kernel's hash of a BPF hash map is seeded at map creation (a random hashrnd per map), so
 * attacker-chosen tuples cannot be aimed at one bucket. */
struct rrelay_key {
  rxdp_u8 src[16];
  rxdp_u8 dst[16];
  rxdp_u16 sport;
  rxdp_u16 dport;
};

/* What to do with a matching packet, and its counters. */
#define RRELAY_F_V4 0x1        /* an IPv4 packet (addresses are ::ffff:a.b.c.d) */
#define RRELAY_F_PASS 0x2      /* after the rewrite, hand to the stack (a local destination) */
#define RRELAY_F_TO_LO 0x4     /* redirect to `ifindex`, a loopback: clear the MACs, no neigh */
#define RRELAY_F_BANS 0x8      /* client -> origin: drop banned sources */
#define RRELAY_F_UDP_RATE 0x10 /* client -> origin: per-source datagram rate */
#define RRELAY_F_ADD_HDR \
  0x20 /* client -> origin: insert hdr (PROXY v2 / SPP) after the UDP header */
#define RRELAY_F_STRIP_SPP 0x40 /* origin -> client: check and strip the SPP header (38 bytes) */

#define RRELAY_HDR_MAX 56 /* PROXY v2 over IPv6 is 52 bytes, SPP 38 */
#define RRELAY_SPP_LEN 38

struct rrelay_flow {
  rxdp_u8 src[16]; /* rewritten source address */
  rxdp_u8 dst[16]; /* rewritten destination address */
  rxdp_u16 sport;  /* network order */
  rxdp_u16 dport;
  rxdp_u32 ifindex; /* redirect target (bpf_redirect_neigh; bpf_redirect for loopback) */
  rxdp_u32 flags;   /* RRELAY_F_* */
  rxdp_u32 app_no;  /* the app's number in the rate buckets' key */
  rxdp_u32 udp_rate;
  rxdp_u32 udp_burst;
  rxdp_u8 v6_prefix;     /* IPv6 sources share a bucket per prefix of this length */
  rxdp_u8 ban_v6_prefix; /* ... and a ban per prefix of this length */
  rxdp_u8 pad[6];
  /* Written by the program (atomic adds; last_ns a plain store). */
  rxdp_u64 packets;
  rxdp_u64 bytes;   /* UDP payload bytes */
  rxdp_u64 last_ns; /* bpf_ktime_get_ns() of the last packet relayed */
  rxdp_u64 drop_banned;
  rxdp_u64 drop_rate;
  /* RRELAY_F_ADD_HDR: the header, built by user space (the same bytes it sends), zero-padded to
   * a multiple of 4 (the checksum helper's unit). */
  rxdp_u8 hdr[RRELAY_HDR_MAX];
  rxdp_u32 hdr_len;
  rxdp_u32 pad2;
};

/* Per-source datagram bucket of the relay (LRU_HASH "relay_buckets"), GCRA like the XDP
 * guard's (struct rxdp_bucket value). */
struct rrelay_bucket_key {
  rxdp_u8 addr[16];
  rxdp_u32 app_no;
};

/* PERCPU_ARRAY "relay_counters". */
enum rrelay_counter {
  RRELAY_RELAYED = 0, /* packets rewritten and redirected (or passed) */
  RRELAY_DROP_BANNED,
  RRELAY_DROP_UDP_RATE,
  RRELAY_FAILED, /* a helper failed: the packet went to the stack unchanged, or was lost */
  RRELAY_COUNTER_MAX,
};

#ifdef __cplusplus
static_assert(sizeof(struct rrelay_key) == 36, "rrelay_key layout");
static_assert(sizeof(struct rrelay_flow) == 168, "rrelay_flow layout");
static_assert(sizeof(struct rrelay_bucket_key) == 20, "rrelay_bucket_key layout");
#else
_Static_assert(sizeof(struct rrelay_key) == 36, "rrelay_key layout");
_Static_assert(sizeof(struct rrelay_flow) == 168, "rrelay_flow layout");
_Static_assert(sizeof(struct rrelay_bucket_key) == 20, "rrelay_bucket_key layout");
#endif

#endif /* RAMPART_XDP_RELAY_TYPES_H */
