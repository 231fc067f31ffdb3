#include "telemetry/stats_registry.h"

namespace rampart::telemetry {

std::shared_ptr<AppStats> StatsRegistry::get(const std::string& app_id) {
  std::lock_guard lock(mu_);
  auto& s = apps_[app_id];
  if (!s) s = std::make_shared<AppStats>(app_id, workers_);
  return s;
}

std::vector<std::shared_ptr<AppStats>> StatsRegistry::all() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<AppStats>> out;
  out.reserve(apps_.size());
  for (const auto& [id, s] : apps_) out.push_back(s);
  return out;
}

}  // namespace rampart::telemetry
