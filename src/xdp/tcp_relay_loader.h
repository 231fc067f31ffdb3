// Loads the sockmap relay of plain-TCP connections (relay_tcp.bpf.c, embedded in the binary;
// docs/kernel-relay.md): the stream verdict program, its two SOCKHASHes sized for `connections`
// relayed connections (two sockets each) and the direction map, and attaches the program to the
// verdict map. Done once at start, before the privilege drop (it needs CAP_BPF and
// CAP_NET_ADMIN, or root); the workers then only update the maps through the descriptors it
// holds (tcp::KernelRelayMaps), which needs no capability. Nothing is pinned: an upgrade's new
// process loads its own, and the old one keeps its maps (and connections) until it exits. When
// it cannot load (a build without libbpf, a kernel without sockmap, no capability) load() says
// why and every connection is relayed in user space. Owned by the Edge; load() on its thread
// before the workers start; maps() from any thread afterwards.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/unique_fd.h"
#include "tcp/kernel_relay_maps.h"

namespace rampart::xdp {

class TcpRelayLoader {
 public:
  TcpRelayLoader();
  ~TcpRelayLoader();
  TcpRelayLoader(const TcpRelayLoader&) = delete;
  TcpRelayLoader& operator=(const TcpRelayLoader&) = delete;

  // True when this build can load BPF programs at all (built with libbpf).
  static bool supported();
  // Loads and attaches for up to `connections` relayed connections. False with *error.
  bool load(uint32_t connections, std::string* error);
  bool loaded() const { return maps_ != nullptr; }
  // The maps (valid() false when not loaded). Lives as long as the loader.
  tcp::KernelRelayMaps* maps() const { return maps_.get(); }
  // For tests: the verdict program (BPF_PROG_TEST_RUN), -1 when not loaded.
  int prog_fd() const { return prog_.get(); }

 private:
  core::UniqueFd prog_, socks_, targets_, dirs_, pauses_;
  void* pauses_map_ = nullptr;  // ktr_pauses, mapped read-only
  std::unique_ptr<tcp::KernelRelayMaps> maps_;
};

}  // namespace rampart::xdp
