#include "control/rollup_store.h"

#include <sqlite3.h>

#include <map>
#include <tuple>

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
  bool operator<(const Key& o) const {
    return std::tie(minute, app, event, colo, ip_version) <
           std::tie(o.minute, o.app, o.event, o.colo, o.ip_version);
  }
};

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
  const char* schema[] = {
      "PRAGMA journal_mode=WAL",
      "PRAGMA synchronous=NORMAL",
      "CREATE TABLE IF NOT EXISTS rollups (minute INTEGER NOT NULL, app TEXT NOT NULL,"
      " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
      " count INTEGER NOT NULL, bytes_ingress INTEGER NOT NULL, bytes_egress INTEGER NOT NULL,"
      " duration_sum_ms INTEGER NOT NULL, durations_count INTEGER NOT NULL,"
      " PRIMARY KEY (minute, app, event, ip_version, colo)) WITHOUT ROWID",
      "CREATE TABLE IF NOT EXISTS rollup_durations (minute INTEGER NOT NULL, app TEXT NOT NULL,"
      " event TEXT NOT NULL, ip_version INTEGER NOT NULL, colo TEXT NOT NULL,"
      " bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
      " PRIMARY KEY (minute, app, event, ip_version, colo, bucket)) WITHOUT ROWID",
  };
  for (const char* sql : schema)
    if (!s->exec(sql, error)) return nullptr;
  return s;
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
           "INSERT INTO rollups VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
           " ON CONFLICT DO UPDATE SET count = count + excluded.count,"
           " bytes_ingress = bytes_ingress + excluded.bytes_ingress,"
           " bytes_egress = bytes_egress + excluded.bytes_egress,"
           " duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,"
           " durations_count = durations_count + excluded.durations_count");
  Stmt dur(db_,
           "INSERT INTO rollup_durations VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
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
      ok = sqlite3_step(dur.get()) == SQLITE_DONE;
      sqlite3_reset(dur.get());
    }
  }
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
  for (const char* sql : {"DELETE FROM rollups WHERE minute < ?1",
                          "DELETE FROM rollup_durations WHERE minute < ?1"}) {
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
                                            {Dimension::kIpVersion, std::to_string(k.ip_version)}};
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
           " duration_sum_ms, durations_count FROM rollups WHERE minute >= ?1 AND minute < ?2");
    if (s.get() == nullptr) return failed(error);
    s.i64(1, first);
    s.i64(2, last);
    std::vector<std::string> dims;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      Key k{static_cast<int64_t>(s.col_u64(0)), s.col_text(1), s.col_text(2), s.col_text(3),
            static_cast<int>(s.col_u64(4))};
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
           "SELECT minute, app, event, colo, ip_version, bucket, n FROM rollup_durations"
           " WHERE minute >= ?1 AND minute < ?2");
    if (s.get() == nullptr) return failed(error);
    s.i64(1, first);
    s.i64(2, last);
    std::vector<std::string> dims;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      Key k{static_cast<int64_t>(s.col_u64(0)), s.col_text(1), s.col_text(2), s.col_text(3),
            static_cast<int>(s.col_u64(4))};
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

}  // namespace rampart::control
