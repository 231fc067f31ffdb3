// The per-minute analytics rollups in SQLite (<data_dir>/analytics.db, separate from the config
// store so that analytics writes never wait behind API writes): rows are added as deltas
// (upserts that sum), pruned by age, and read back for the analytics queries. Thread-safe (one
// connection behind a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/analytics_query.h"
#include "telemetry/rollup.h"

struct sqlite3;

namespace rampart::control {

class RollupStore {
 public:
  static std::unique_ptr<RollupStore> open(const std::string& path, std::string* error);
  ~RollupStore();
  RollupStore(const RollupStore&) = delete;
  RollupStore& operator=(const RollupStore&) = delete;

  // Adds the deltas in one transaction.
  bool add(const std::vector<std::pair<telemetry::RollupKey, telemetry::RollupValue>>& rows,
           const std::string& colo, std::string* error);
  // Deletes the rows of minutes before `minute`; returns the number of rows deleted.
  int64_t prune_before(int64_t minute);
  // The rows of [q.since, q.until) that pass q's filters, one per minute and group of q's
  // dimensions, with duration histograms when a percentile metric is asked.
  bool query(const AnalyticsQuery& q, std::vector<AnalyticsRow>* rows, std::string* error);

 private:
  RollupStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  bool exec(const char* sql, std::string* error);

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace rampart::control
