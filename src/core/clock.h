// Monotonic clocks for the data path. The coarse clock costs no syscall (vDSO) and has a few
// milliseconds of resolution: good enough for idle timeouts and activity stamps.
#pragma once

#include <time.h>

#include <cstdint>

namespace rampart::core {

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The same clock as std::chrono::steady_clock (CLOCK_MONOTONIC), in milliseconds.
inline int64_t monotonic_ms() {
  return monotonic_ns() / 1000000;
}

inline int64_t coarse_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace rampart::core
