#include "control/rollup_store.h"

#include <sqlite3.h>

#include <map>

#include "control/private_files.h"

namespace rampart::control {
namespace {

// Finalizes a prepared statement on every path.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return s_; }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void i64(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  std::string col_text(int i) const {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  uint64_t col_u64(int i) const { return static_cast<uint64_t>(sqlite3_column_int64(s_, i)); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// The full key of a rollup row, as read back.
struct Key {
  int64_t minute;
  std::string app, event, colo;
  int ip_version;
  int status;
};

constexpr const char* kCreateRollups =
    "CREATE TABLE IF NOT EXISTS rollups (minute INTEGER NOT NULL, app TEXT NOT NULL,"
    " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
    " count INTEGER NOT NULL, bytes_ingress INTEGER NOT NULL, bytes_egress INTEGER NOT NULL,"
    " duration_sum_ms INTEGER NOT NULL, durations_count INTEGER NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (minute, app, event, ip_version, colo, status)) WITHOUT ROWID";
constexpr const char* kCreateDurations =
    "CREATE TABLE IF NOT EXISTS rollup_durations (minute INTEGER NOT NULL, app TEXT NOT NULL,"
    " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
    " bucket INTEGER NOT NULL, n INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (minute, app, event, ip_version, colo, status, bucket)) WITHOUT ROWID";
constexpr const char* kCreateDrops =
    "CREATE TABLE IF NOT EXISTS guard_drops (minute INTEGER NOT NULL, app TEXT NOT NULL,"
    " reason TEXT NOT NULL, colo TEXT NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY (minute, app, reason, colo)) WITHOUT ROWID";

// Whether `table` exists and whether it has `column`.
std::pair<bool, bool> has_column(sqlite3* db, const char* table, const char* column) {
  Stmt s(db, (std::string("PRAGMA table_info(") + table + ")").c_str());
  bool exists = false, has = false;
  while (s.get() != nullptr && sqlite3_step(s.get()) == SQLITE_ROW) {
    exists = true;
    has |= s.col_text(1) == column;
  }
  return {exists, has};
}

}  // namespace

std::unique_ptr<RollupStore> RollupStore::open(const std::string& path, std::string* error) {
  std::string why;
  if (!make_db_private(path, &why)) {
    *error = "analytics store " + path + ": " + why;
    return nullptr;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    *error = "analytics store " + path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<RollupStore> s(new RollupStore(db, path));
  sqlite3_busy_timeout(db, 2000);
  // Rollups are derived data: losing the last second in a power cut is acceptable, so they do
  // not pay for synchronous=FULL like the config store.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"})
    if (!s->exec(sql, error)) return nullptr;
  if (!s->migrate(error)) return nullptr;
  for (const char* sql : {kCreateRollups, kCreateDurations, kCreateDrops})
    if (!s->exec(sql, error)) return nullptr;
  return s;
}

bool RollupStore::migrate(std::string* error) {
  // Before the status column (a key column: a new primary key, so the tables are rebuilt and
  // the old rows copied with status 0, "not recorded").
  auto [exists, has_status] = has_column(db_, "rollups", "status");
  if (!exists || has_status) return true;
  const char* steps[] = {
      "BEGIN",
      "ALTER TABLE rollups RENAME TO rollups_v1",
      "ALTER TABLE rollup_durations RENAME TO rollup_durations_v1",
      kCreateRollups,
      kCreateDurations,
      "INSERT INTO rollups (minute, app, event, ip_version, colo, count, bytes_ingress,"
      " bytes_egress, duration_sum_ms, durations_count, status) SELECT minute, app, event,"
      " ip_version, colo, count, bytes_ingress, bytes_egress, duration_sum_ms, durations_count, 0"
      " FROM rollups_v1",
      "INSERT INTO rollup_durations (minute, app, event, ip_version, colo, bucket, n, status)"
      " SELECT minute, app, event, ip_version, colo, bucket, n, 0 FROM rollup_durations_v1",
      "DROP TABLE rollups_v1",
      "DROP TABLE rollup_durations_v1",
      "COMMIT",
  };
  for (const char* sql : steps) {
    if (!exec(sql, error)) {
      exec("ROLLBACK", nullptr);
      return false;
    }
  }
  return true;
}

RollupStore::~RollupStore() {
  sqlite3_close(db_);
}

bool RollupStore::exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  if (error) *error = "analytics store " + path_ + ": " + (msg ? msg : "error");
  sqlite3_free(msg);
  return false;
}

bool RollupStore::add(
    const std::vector<std::pair<telemetry::RollupKey, telemetry::RollupValue>>& rows,
    const std::string& colo, std::string* error) {
  if (rows.empty()) return true;
  std::lock_guard lock(mu_);
  if (!exec("BEGIN", error)) return false;
  Stmt row(db_,
           "INSERT INTO rollups (minute, app, event, ip_version, colo, count, bytes_ingress,"
           " bytes_egress, duration_sum_ms, durations_count, status)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
           " ON CONFLICT DO UPDATE SET count = count + excluded.count,"
           " bytes_ingress = bytes_ingress + excluded.bytes_ingress,"
           " bytes_egress = bytes_egress + excluded.bytes_egress,"
           " duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,"
           " durations_count = durations_count + excluded.durations_count");
  Stmt dur(db_,
           "INSERT INTO rollup_durations (minute, app, event, ip_version, colo, bucket, n, status)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
           " ON CONFLICT DO UPDATE SET n = n + excluded.n");
  bool ok = row.get() != nullptr && dur.get() != nullptr;
  for (const auto& [k, v] : rows) {
    if (!ok) break;
    const std::string event = telemetry::to_string(k.event);
    row.i64(1, k.minute);
    row.text(2, k.app);
    row.text(3, event);
    row.i64(4, k.ip_version);
    row.text(5, colo);
    row.i64(6, static_cast<int64_t>(v.count));
    row.i64(7, static_cast<int64_t>(v.bytes_ingress));
    row.i64(8, static_cast<int64_t>(v.bytes_egress));
    row.i64(9, static_cast<int64_t>(v.duration_sum_ms));
    row.i64(10, static_cast<int64_t>(v.durations_count));
    row.i64(11, k.status);
    ok = sqlite3_step(row.get()) == SQLITE_DONE;
    sqlite3_reset(row.get());
    for (size_t b = 0; ok && b < v.durations.size(); ++b) {
      if (v.durations[b] == 0) continue;
      dur.i64(1, k.minute);
      dur.text(2, k.app);
      dur.text(3, event);
      dur.i64(4, k.ip_version);
      dur.text(5, colo);
      dur.i64(6, static_cast<int64_t>(b));
      dur.i64(7, v.durations[b]);
      dur.i64(8, k.status);
      ok = sqlite3_step(dur.get()) == SQLITE_DONE;
      sqlite3_reset(dur.get());
    }
  }
  return commit_or_roll_back(ok, error);
}

bool RollupStore::commit_or_roll_back(bool ok, std::string* error) {
  if (!ok) {
    if (error) *error = "analytics store " + path_ + ": " + sqlite3_errmsg(db_);
    exec("ROLLBACK", nullptr);
    return false;
  }
  return exec("COMMIT", error);
}

int64_t RollupStore::prune_before(int64_t minute) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const char* sql :
       {"DELETE FROM rollups WHERE minute < ?1", "DELETE FROM rollup_durations WHERE minute < ?1",
        "DELETE FROM guard_drops WHERE minute < ?1"}) {
    Stmt s(db_, sql);
    s.i64(1, minute);
    if (sqlite3_step(s.get()) == SQLITE_DONE) n += sqlite3_changes(db_);
  }
  return n;
}

bool RollupStore::query(const AnalyticsQuery& q, std::vector<AnalyticsRow>* rows,
                        std::string* error) {
  const int64_t first = q.since / 60;
  const int64_t last = (q.until + 59) / 60;  // minutes starting before `until`
  bool want_durations = false;
  for (Metric m : q.metrics)
    want_durations |=
        m == Metric::kDurationMedian || m == Metric::kDuration90th || m == Metric::kDuration99th;

  auto project = [&](const Key& k, std::vector<std::string>* dims) {
    std::map<Dimension, std::string> values{{Dimension::kEvent, k.event},
                                            {Dimension::kAppId, k.app},
                                            {Dimension::kColoName, k.colo},
                                            {Dimension::kIpVersion, std::to_string(k.ip_version)},
                                            {Dimension::kStatus, std::to_string(k.status)}};
    if (!row_matches(q, values)) return false;
    dims->clear();
    for (Dimension d : q.dimensions) dims->push_back(values[d]);
    return true;
  };

  // (minute, projected dimensions) -> row
  std::map<std::pair<int64_t, std::vector<std::string>>, AnalyticsRow> grouped;
  std::lock_guard lock(mu_);
  auto failed = [this](std::string* why) {
    *why = "analytics store " + path_ + ": " + sqlite3_errmsg(db_);
    return false;
  };
  {
    Stmt s(db_,
           "SELECT minute, app, event, colo, ip_version, count, bytes_ingress, bytes_egress,"
           " duration_sum_ms, durations_count, status FROM rollups"
           " WHERE minute >= ?1 AND minute < ?2");
    if (s.get() == nullptr) return failed(error);
    s.i64(1, first);
    s.i64(2, last);
    std::vector<std::string> dims;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      Key k{static_cast<int64_t>(s.col_u64(0)),
            s.col_text(1),
            s.col_text(2),
            s.col_text(3),
            static_cast<int>(s.col_u64(4)),
            static_cast<int>(s.col_u64(10))};
      if (!project(k, &dims)) continue;
      AnalyticsRow& r = grouped[{k.minute, dims}];
      r.dims = dims;
      r.minute = k.minute;
      r.count += s.col_u64(5);
      r.bytes_ingress += s.col_u64(6);
      r.bytes_egress += s.col_u64(7);
      r.duration_sum_ms += s.col_u64(8);
      r.durations_count += s.col_u64(9);
    }
    if (rc != SQLITE_DONE) return failed(error);  // busy or broken: no partial answer
  }
  if (want_durations) {
    Stmt s(db_,
           "SELECT minute, app, event, colo, ip_version, bucket, n, status FROM rollup_durations"
           " WHERE minute >= ?1 AND minute < ?2");
    if (s.get() == nullptr) return failed(error);
    s.i64(1, first);
    s.i64(2, last);
    std::vector<std::string> dims;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      Key k{static_cast<int64_t>(s.col_u64(0)),
            s.col_text(1),
            s.col_text(2),
            s.col_text(3),
            static_cast<int>(s.col_u64(4)),
            static_cast<int>(s.col_u64(7))};
      if (!project(k, &dims)) continue;
      auto it = grouped.find({k.minute, dims});
      if (it == grouped.end()) continue;
      size_t bucket = s.col_u64(5);
      if (bucket >= telemetry::kDurationBuckets) continue;
      if (it->second.durations.empty()) it->second.durations.assign(telemetry::kDurationBuckets, 0);
      it->second.durations[bucket] += s.col_u64(6);
    }
    if (rc != SQLITE_DONE) return failed(error);
  }
  rows->clear();
  rows->reserve(grouped.size());
  for (auto& [key, r] : grouped) rows->push_back(std::move(r));
  return true;
}

bool RollupStore::add_drops(int64_t minute, const std::vector<DropDelta>& drops,
                            const std::string& colo, std::string* error) {
  if (drops.empty()) return true;
  std::lock_guard lock(mu_);
  if (!exec("BEGIN", error)) return false;
  Stmt s(db_,
         "INSERT INTO guard_drops (minute, app, reason, colo, count) VALUES (?1, ?2, ?3, ?4, ?5)"
         " ON CONFLICT DO UPDATE SET count = count + excluded.count");
  bool ok = s.get() != nullptr;
  for (const DropDelta& d : drops) {
    if (!ok) break;
    s.i64(1, minute);
    s.text(2, d.app);
    s.text(3, d.reason);
    s.text(4, colo);
    s.i64(5, static_cast<int64_t>(d.count));
    ok = sqlite3_step(s.get()) == SQLITE_DONE;
    sqlite3_reset(s.get());
  }
  return commit_or_roll_back(ok, error);
}

bool RollupStore::query_drops(int64_t first_minute, int64_t end_minute, const std::string& app,
                              std::vector<DropRow>* rows, std::string* error) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT minute, app, reason, SUM(count) FROM guard_drops WHERE minute >= ?1 AND"
         " minute < ?2 AND (?3 = '' OR app = ?3) GROUP BY minute, app, reason"
         " ORDER BY minute, app, reason");
  if (s.get() == nullptr) {
    *error = "analytics store " + path_ + ": " + sqlite3_errmsg(db_);
    return false;
  }
  s.i64(1, first_minute);
  s.i64(2, end_minute);
  s.text(3, app);
  rows->clear();
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
    rows->push_back(
        DropRow{static_cast<int64_t>(s.col_u64(0)), s.col_text(1), s.col_text(2), s.col_u64(3)});
  if (rc != SQLITE_DONE) {
    *error = "analytics store " + path_ + ": " + sqlite3_errmsg(db_);
    rows->clear();
    return false;
  }
  return true;
}

}  // namespace rampart::control
