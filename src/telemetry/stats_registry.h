// The AppStats of every app the edge has run since it started, by app id. An app keeps its
// counters across reloads and API edits (same id, same AppStats); a deleted app's counters stay
// until restart, so that counters never go backwards. Any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "telemetry/app_stats.h"

namespace rampart::telemetry {

class StatsRegistry {
 public:
  explicit StatsRegistry(size_t workers) : workers_(workers) {}
  // The counters of `app_id`, created on first use.
  std::shared_ptr<AppStats> get(const std::string& app_id);
  // Every app's counters, ordered by id.
  std::vector<std::shared_ptr<AppStats>> all() const;
  size_t workers() const { return workers_; }

 private:
  size_t workers_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<AppStats>> apps_;
};

}  // namespace rampart::telemetry
