// The maps of the sockmap relay (docs/kernel-relay.md) as user space uses them: descriptors of
// ktr_socks (the SOCKHASH with the stream verdict program attached), ktr_targets (a SOCKHASH with
// no program: where redirects look their target up) and ktr_dirs (per socket: its peer, the bytes
// the program redirected and when last), loaded by xdp::TcpRelayLoader before the privilege drop.
// Map updates through held descriptors need no capability; this file uses the bpf(2) syscall
// directly, so the data plane needs no libbpf. Capacity is counted here (both sockets of a
// connection are reserved before any is inserted) so that a full map means "relay in user space"
// and never a half-inserted connection. The descriptors are owned by the loader; shared by every
// worker (the counts are atomic; the maps are the kernel's).
#pragma once

#include <atomic>
#include <cstdint>

#include "tcp/kernel_relay_types.h"

namespace rampart::tcp {

class KernelRelayMaps {
 public:
  // Why a connection could not be handed to the kernel (rampart_kernel_relay_fallbacks_total).
  enum class Refusal {
    kNone,
    kFull,    // the maps are at capacity
    kState,   // a socket is no longer established
    kError,   // the kernel refused the update; nothing stays
    kBroken,  // half in: the cookies are set, release() them and reset the connection
  };

  KernelRelayMaps() = default;
  // `pauses`: ktr_pauses mapped in memory (KTR_MAX_WORKERS counters).
  KernelRelayMaps(int socks, int targets, int dirs, uint32_t connections, const uint64_t* pauses)
      : socks_(socks), targets_(targets), dirs_(dirs), capacity_(connections), pauses_(pauses) {}
  KernelRelayMaps(const KernelRelayMaps&) = delete;
  KernelRelayMaps& operator=(const KernelRelayMaps&) = delete;

  bool valid() const { return socks_ >= 0 && targets_ >= 0 && dirs_ >= 0; }
  uint32_t capacity() const { return capacity_; }
  uint32_t in_use() const { return used_.load(std::memory_order_relaxed); }

  // The socket's cookie (SO_COOKIE), 0 on error.
  static uint64_t cookie_of(int fd);
  // Hands both (established, connected) sockets to the kernel: targets first, then the
  // directions, then the verdict map, so that no byte is ever redirected to a socket that is not
  // a target yet. Then nudges each socket's receive path (SO_RCVLOWAT) so that bytes that
  // arrived before the insertion are relayed too. kNone on success (cookies set, one connection
  // of the capacity held until release()); otherwise nothing stays in any map and *err says why
  // (kState: a socket is no longer established, e.g. a FIN arrived; kFull: capacity; kBroken: see
  // the enum).
  Refusal add(int client_fd, int origin_fd, uint32_t worker, uint64_t* client_cookie,
              uint64_t* origin_cookie, int* err);
  // How many times the program paused a direction of `worker`'s connections (a memory read).
  uint64_t pauses(size_t worker) const {
    return worker < KTR_MAX_WORKERS ? __atomic_load_n(&pauses_[worker], __ATOMIC_RELAXED) : 0;
  }
  // The direction entry of the socket `cookie` (read by user space: counters, idle).
  bool read(uint64_t cookie, ktr_dir* out) const;
  // Deletes both direction entries and gives the connection back to the capacity. The sockets
  // leave the SOCKHASHes when they are closed (the kernel does it); call it at close.
  void release(uint64_t client_cookie, uint64_t origin_cookie);

 private:
  int socks_ = -1;
  int targets_ = -1;
  int dirs_ = -1;
  uint32_t capacity_ = 0;
  const uint64_t* pauses_ = nullptr;
  std::atomic<uint32_t> used_{0};
};

}  // namespace rampart::tcp
