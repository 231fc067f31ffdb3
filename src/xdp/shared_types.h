/* Map keys and values shared by the XDP program (guard.bpf.c, compiled by clang -target bpf)
 * and the userspace loader (loader.cc, g++). Plain C with fixed-size fields and explicit
 * padding, so both compilers lay them out the same way; the sizes are checked below. Every rule
 * here has a userspace twin in src/guard: the guard's filter declarations (guard/declarations.h)
 * mark the reasons with an XDP twin, xdp/counters.cc static_asserts one drop counter per twin, and
 * tests/unit/xdp/twin_test.cc runs one fixture table through both. */
#ifndef RAMPART_XDP_SHARED_TYPES_H
#define RAMPART_XDP_SHARED_TYPES_H

#ifdef __bpf__
#include <linux/types.h>
typedef __u8 rxdp_u8;
typedef __u16 rxdp_u16;
typedef __u32 rxdp_u32;
typedef __u64 rxdp_u64;
#else
#include <stdint.h>
typedef uint8_t rxdp_u8;
typedef uint16_t rxdp_u16;
typedef uint32_t rxdp_u32;
typedef uint64_t rxdp_u64;
#endif

/* Capacities (max_entries). */
#define RXDP_MAX_PROFILES 255 /* distinct per-app protection settings; port entry 0 = none */
#define RXDP_MAX_ACL_RULES 65536
#define RXDP_MAX_BANS 65536
#define RXDP_MAX_BUCKETS 262144 /* per-source token buckets (LRU: the idlest are evicted) */
#define RXDP_PORTS 65536

/* Verdict counters, one slot each in the PERCPU_ARRAY "counters". A new drop slot needs a
 * guard reason declared with xdp_twin and a row in xdp/counters.cc (static_asserts check both). */
enum rxdp_counter {
  RXDP_PASS = 0,        /* handed to the kernel stack (including non-app traffic) */
  RXDP_DROP_BANNED,     /* source in the ban map (autoban), twin of guard Reason::kBanned */
  RXDP_DROP_BLOCK_IP,   /* ip_access_rules block ip/ip6/ip_range: Reason::kBlockIp */
  RXDP_DROP_REFLECTION, /* UDP from a udp_reflection_ports source port: Reason::kReflection */
  RXDP_DROP_SYN_RATE,   /* per-source SYNs over new_connections_per_second/burst: kRateLimit */
  RXDP_DROP_UDP_RATE,   /* per-source datagrams over udp_packets_per_second/burst: kUdpRateLimit */
  RXDP_WHITELISTED,     /* passed because a whitelist rule matched (also counted in RXDP_PASS) */
  RXDP_COUNTER_MAX,
};

/* ACL (LPM tries "acl_v4" / "acl_v6"): key = prefix length + address in network order. */
struct rxdp_lpm_v4 {
  rxdp_u32 prefixlen;
  rxdp_u8 addr[4];
};
struct rxdp_lpm_v6 {
  rxdp_u32 prefixlen;
  rxdp_u8 addr[16];
};
#define RXDP_ACL_BLOCK 1
#define RXDP_ACL_WHITELIST 2
struct rxdp_acl_value {
  rxdp_u32 mode; /* RXDP_ACL_BLOCK | RXDP_ACL_WHITELIST */
};

/* A source address: IPv4 as ::ffff:a.b.c.d (the same form for both families). */
struct rxdp_addr {
  rxdp_u8 addr[16];
};

/* Ban map (LRU_HASH "bans"): key rxdp_addr, value the end of the ban in CLOCK_MONOTONIC ns
 * (bpf_ktime_get_ns). An expired entry is ignored and left for the LRU to evict. An IPv6 source
 * is looked up with its host bits cleared past the profile's ban_v6_prefix (the zone's
 * protection.ipv6_prefix): one entry bans a whole /64, as the guard's bans do. */
struct rxdp_ban {
  rxdp_u64 until_ns;
};

/* Per-port entry (ARRAY "ports", index = destination port in host order): the profile of the
 * TCP and of the UDP app on that port, 1-based (0 = no app: the packet is not Rampart's). */
struct rxdp_port {
  rxdp_u8 tcp_profile;
  rxdp_u8 udp_profile;
};

/* Profile flags: which filters run (a filter in dry-run is left to userspace, which counts it). */
#define RXDP_F_ACL 0x1        /* app has ip_firewall: access rules apply */
#define RXDP_F_SYN_RATE 0x2   /* per-source SYN rate (new_connections_per_second) */
#define RXDP_F_UDP_RATE 0x4   /* per-source datagram rate */
#define RXDP_F_REFLECTION 0x8 /* drop datagrams from reflection source ports */
#define RXDP_F_BANS 0x10      /* drop banned sources */

/* One app's protection (ARRAY "profiles", index = profile - 1). */
struct rxdp_profile {
  rxdp_u32 flags;
  rxdp_u32 syn_rate; /* per second */
  rxdp_u32 syn_burst;
  rxdp_u32 udp_rate;
  rxdp_u32 udp_burst;
  rxdp_u8 v6_prefix;     /* IPv6 sources share a token bucket per prefix of this length (1-128) */
  rxdp_u8 ban_v6_prefix; /* ... and a ban per prefix of this length (the zone's) */
  rxdp_u8 pad[2];
  rxdp_u8 reflect[RXDP_PORTS / 8]; /* bit (port & 7) of byte (port >> 3) */
};

/* Per-source token bucket (LRU_HASH "buckets", keyed by the source: an IPv6 address masked to
 * the profile's v6_prefix), GCRA form: the theoretical arrival time of the
 * next packet. A packet passes when tat - now <= burst * interval after adding one interval.
 * Updated without a lock: concurrent CPUs can let a few extra packets through, never fewer. */
struct rxdp_bucket_key {
  rxdp_u8 addr[16];
  rxdp_u8 profile;
  rxdp_u8 kind; /* 0 = TCP SYN, 1 = UDP datagram */
  rxdp_u8 pad[2];
};
struct rxdp_bucket {
  rxdp_u64 tat_ns;
};

#ifdef __cplusplus
static_assert(sizeof(struct rxdp_lpm_v4) == 8, "rxdp_lpm_v4 layout");
static_assert(sizeof(struct rxdp_lpm_v6) == 20, "rxdp_lpm_v6 layout");
static_assert(sizeof(struct rxdp_acl_value) == 4, "rxdp_acl_value layout");
static_assert(sizeof(struct rxdp_addr) == 16, "rxdp_addr layout");
static_assert(sizeof(struct rxdp_ban) == 8, "rxdp_ban layout");
static_assert(sizeof(struct rxdp_port) == 2, "rxdp_port layout");
static_assert(sizeof(struct rxdp_profile) == 24 + RXDP_PORTS / 8, "rxdp_profile layout");
static_assert(sizeof(struct rxdp_bucket_key) == 20, "rxdp_bucket_key layout");
static_assert(sizeof(struct rxdp_bucket) == 8, "rxdp_bucket layout");
#else
_Static_assert(sizeof(struct rxdp_lpm_v4) == 8, "rxdp_lpm_v4 layout");
_Static_assert(sizeof(struct rxdp_lpm_v6) == 20, "rxdp_lpm_v6 layout");
_Static_assert(sizeof(struct rxdp_acl_value) == 4, "rxdp_acl_value layout");
_Static_assert(sizeof(struct rxdp_addr) == 16, "rxdp_addr layout");
_Static_assert(sizeof(struct rxdp_ban) == 8, "rxdp_ban layout");
_Static_assert(sizeof(struct rxdp_port) == 2, "rxdp_port layout");
_Static_assert(sizeof(struct rxdp_profile) == 24 + RXDP_PORTS / 8, "rxdp_profile layout");
_Static_assert(sizeof(struct rxdp_bucket_key) == 20, "rxdp_bucket_key layout");
_Static_assert(sizeof(struct rxdp_bucket) == 8, "rxdp_bucket layout");
#endif

#endif /* RAMPART_XDP_SHARED_TYPES_H */
