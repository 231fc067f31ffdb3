// The map layout shared by the sockmap relay's BPF program (src/xdp/relay_tcp.bpf.c) and user
// space (tcp/kernel_relay.cc, xdp/tcp_relay_loader.cc): both sockets of a kernel-relayed
// connection sit in a SOCKHASH keyed by their socket cookie (SO_COOKIE), and each has one
// `ktr_dir` (the direction whose bytes it receives) in a hash keyed by the same cookie. The
// program counts and redirects; user space creates and deletes the entries. Plain C: the BPF
// compiler includes it too.
#pragma once

#include <linux/types.h>

// Bytes a direction may have redirected to its peer that the peer's TCP has not taken into its
// stream yet (they wait in the peer's psock queue, which nothing else bounds). Beyond it the
// direction pauses: the program passes its bytes to the source socket's own queue (charged to
// its receive buffer, so TCP's window closes) and user space relays that direction from then on.
#define KTR_QUEUE_BUDGET (4u << 20)

// One direction of a relayed connection, keyed by the cookie of the socket it reads from.
struct ktr_dir {
  __u64 peer;     // cookie of the socket its bytes are sent from (the other side)
  __u64 bytes;    // bytes the program redirected to `peer` (the kernel's own counter)
  __u64 last_ns;  // bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last redirect; 0: none yet
  __u32 seq0;     // the peer's write_seq when the first byte was redirected (nothing queued)
  __u32 started;  // seq0 is set
  __u32 paused;   // over the budget: the program redirects no more (user space relays)
  __u32 worker;   // the worker that relays it: which ktr_pauses counter a pause bumps
};

// ktr_pauses (an mmap-able array, one __u64 per worker): the program bumps the worker's counter
// when it pauses a direction, and the worker, which never gets an epoll event for it (data wakes
// nobody), reads the counter from memory every 10 ms and looks for its paused connections.
#define KTR_MAX_WORKERS 4096  // edge.workers' own limit (config/parse.cc)
