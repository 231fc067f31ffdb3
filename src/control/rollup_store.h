// Rampart's addition: the guard's drops per minute, app and reason (guard_drops), recorded as
// deltas of the drop counters by TrafficQuery's flush.
//
// The per-minute analytics rollups in SQLite (<data_dir>/analytics.db, separate from the config
// store so that analytics writes never wait behind API writes): rows are added as deltas
// (upserts that sum), pruned by age, and read back for the analytics queries. Thread-safe (one
// connection behind a mutex). The rollups carry Spectrum's status of each disconnect (Rampart's
// `status` dimension); databases from before it are migrated on open (their rows get status 0).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/analytics_query.h"
#include "telemetry/rollup.h"

struct sqlite3;

namespace rampart::control {

// A change of one guard drop counter (rampart_guard_drops_total{app,reason}).
struct DropDelta {
  std::string app, reason;
  uint64_t count = 0;
};
// One row of guard_drops, summed over the colos.
struct DropRow {
  int64_t minute = 0;
  std::string app, reason;
  uint64_t count = 0;
};

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
  // Adds guard drop deltas to `minute` in one transaction.
  bool add_drops(int64_t minute, const std::vector<DropDelta>& drops, const std::string& colo,
                 std::string* error);
  // The drops of minutes [first_minute, end_minute), of `app` ("" = every app), by minute, app
  // and reason.
  bool query_drops(int64_t first_minute, int64_t end_minute, const std::string& app,
                   std::vector<DropRow>* rows, std::string* error);

 private:
  RollupStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  bool exec(const char* sql, std::string* error);
  // Ends the transaction a write began: COMMIT when every statement succeeded (`ok`), else
  // ROLLBACK with the store's error in *error.
  bool commit_or_roll_back(bool ok, std::string* error);
  // Brings a database of an older schema (no status column) to the current one, keeping its rows.
  bool migrate(std::string* error);

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace rampart::control
