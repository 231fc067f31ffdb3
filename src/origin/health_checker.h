// Active TCP health checks: every `interval`, a non-blocking connect to each origin of every
// app with health_check.enabled; success within `timeout` counts toward `rise`, failure toward
// `fall` (OriginSet::report_check). Owns one thread with its own event loop; set_targets() may
// be called from any thread.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "origin/origin_set.h"

namespace rampart::origin {

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void start();
  void stop();
  // Replaces the origin sets to check; sets seen before keep their schedule.
  void set_targets(std::vector<std::shared_ptr<OriginSet>> sets);

 private:
  class Probe;
  void apply_targets(std::vector<std::shared_ptr<OriginSet>> sets);

  core::EventLoop loop_;
  std::thread thread_;
  std::vector<std::unique_ptr<Probe>> probes_;  // loop thread only
};

}  // namespace rampart::origin
