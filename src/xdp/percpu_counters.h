// Sums of a BPF_MAP_TYPE_PERCPU_ARRAY of u64 counters over every possible CPU, one per slot; the
// counter maps of the XDP guard (loader.cc) and of the UDP kernel relay (relay_udp.cc). A slot
// that cannot be read stays 0. Any thread (map lookups through a descriptor). libbpf builds only.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <vector>

namespace rampart::xdp {

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
