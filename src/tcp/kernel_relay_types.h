// The map layout shared by the sockmap relay's BPF program (src/xdp/relay_tcp.bpf.c) and user
// space (tcp/kernel_relay.cc, xdp/tcp_relay_loader.cc): both sockets of a kernel-relayed
// connection sit in a SOCKHASH keyed by their socket cookie (SO_COOKIE), and each has one
// `ktr_dir` (the direction whose bytes it receives) in a hash keyed by the same cookie. The
// program counts and redirects; user space creates and deletes the entries. Plain C: the BPF
// compiler includes it too.
#pragma once

#include <linux/types.h>

// One direction of a relayed connection, keyed by the cookie of the socket it reads from.
struct ktr_dir {
  __u64 peer;     // cookie of the socket its bytes are sent from (the other side)
  __u64 bytes;    // bytes the program redirected to `peer` (the kernel's own counter)
  __u64 last_ns;  // bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last redirect; 0: none yet
};
