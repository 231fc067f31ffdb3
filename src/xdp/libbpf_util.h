// What the XDP guard's loader (loader.cc) and the UDP kernel relay (relay_udp.cc) both do with
// libbpf: say why bpf_object__load() failed, and sum per-CPU counters. Stateless; any thread.
// libbpf builds only.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rampart::xdp {

// The reason bpf_object__load() returned `rc` (a negative or positive errno), for the one log line.
inline std::string load_error_text(int rc) {
  const int err = rc < 0 ? -rc : rc;
  return err == EPERM || err == EACCES
             ? "permission denied loading the program (needs CAP_BPF and CAP_NET_ADMIN)"
             : std::string("the kernel refused the program: ") + std::strerror(err);
}

// Sums of a BPF_MAP_TYPE_PERCPU_ARRAY of u64 counters over every possible CPU, one per slot. A
// slot that cannot be read stays 0.
// sums[i] = the total of slot i, for i < n; false (sums untouched) when the CPU count is unknown.
inline bool sum_percpu_counters(int map_fd, uint32_t n, uint64_t* sums) {
  const int cpus = libbpf_num_possible_cpus();
  if (map_fd < 0 || cpus <= 0) return false;
  std::vector<uint64_t> values(static_cast<size_t>(cpus));
  for (uint32_t slot = 0; slot < n; ++slot) {
    if (bpf_map_lookup_elem(map_fd, &slot, values.data()) != 0) continue;
    for (uint64_t v : values) sums[slot] += v;
  }
  return true;
}

}  // namespace rampart::xdp
