// What the XDP guard's loader (loader.cc) and the UDP kernel relay (relay_udp.cc) both do with
// libbpf: say why bpf_object__load() failed, sum per-CPU counters, name an embedded object and
// a map for an upgrade's handover. Stateless; any thread.
// libbpf builds only.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/fnv.h"

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

// An embedded object's identity for an upgrade's handover: FNV-1a 64 of its bytes, in hex.
inline std::string fnv1a_hex(const unsigned char* bytes, size_t n) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(core::fnv1a(bytes, n)));
  return buf;
}

// The kernel's id of the map (or program) behind `fd`; 0 when it cannot tell.
inline uint32_t map_id(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace rampart::xdp
