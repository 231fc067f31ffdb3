// SqliteStore: one table per kind, (zone, id) primary key, each write in its own transaction.
#include "control/sqlite_store.h"

#include <sqlite3.h>

#include "control/private_files.h"

namespace rampart::control {
namespace {

constexpr int kSchemaVersion = 1;

const char* table(Kind kind) {
  return kind == Kind::kApp ? "apps" : "access_rules";
}

// Finalizes a prepared statement on every path.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  bool bind(int index, const std::string& value) {
    return sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT) == SQLITE_OK;
  }
  std::string column(int index) const {
    const unsigned char* text = sqlite3_column_text(stmt_, index);
    int n = sqlite3_column_bytes(stmt_, index);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(n)) : "";
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

SqliteStore::~SqliteStore() {
  sqlite3_close(db_);
}

std::string SqliteStore::failure(const char* what) const {
  return std::string("store ") + path_ + ": " + what + ": " + sqlite3_errmsg(db_);
}

bool SqliteStore::exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  if (error) *error = "store " + path_ + ": " + (msg ? msg : "error") + " (in: " + sql + ")";
  sqlite3_free(msg);
  return false;
}

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, std::string* error) {
  std::string why;
  if (!make_db_private(path, &why)) {
    if (error) *error = "cannot open the store " + path + ": " + why;
    return nullptr;
  }
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    if (error)
      *error = "cannot open the store " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL + FULL: a commit is durable once sqlite3_step returns, and readers never block writers.
  static constexpr const char* kSetup[] = {
      "PRAGMA journal_mode=WAL",
      "PRAGMA synchronous=FULL",
      "PRAGMA foreign_keys=ON",
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS apps (zone TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
      " created_on TEXT NOT NULL, modified_on TEXT NOT NULL, PRIMARY KEY (zone, id))",
      "CREATE TABLE IF NOT EXISTS access_rules (zone TEXT NOT NULL, id TEXT NOT NULL,"
      " body TEXT NOT NULL, created_on TEXT NOT NULL, modified_on TEXT NOT NULL,"
      " PRIMARY KEY (zone, id))",
  };
  for (const char* sql : kSetup)
    if (!store->exec(sql, error)) return nullptr;
  {
    Statement check(db, "PRAGMA journal_mode");
    if (!check.get() || sqlite3_step(check.get()) != SQLITE_ROW || check.column(0) != "wal") {
      if (error) *error = "store " + path + ": cannot switch to WAL journal mode";
      return nullptr;
    }
  }
  std::string version_sql = "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '" +
                            std::to_string(kSchemaVersion) + "')";
  if (!store->exec(version_sql.c_str(), error)) return nullptr;
  Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.get() || sqlite3_step(version.get()) != SQLITE_ROW) {
    if (error) *error = store->failure("reading the schema version");
    return nullptr;
  }
  if (version.column(0) != std::to_string(kSchemaVersion)) {
    if (error)
      *error = "store " + path + " has schema version " + version.column(0) +
               "; this rampart reads version " + std::to_string(kSchemaVersion);
    return nullptr;
  }
  return store;
}

bool SqliteStore::load(Kind kind, std::vector<StoredObject>* out, std::string* error) {
  std::lock_guard lock(mu_);
  Statement st(db_, std::string("SELECT zone, id, body, created_on, modified_on FROM ") +
                        table(kind) + " ORDER BY created_on, id");
  if (!st.get()) {
    if (error) *error = failure("preparing a read");
    return false;
  }
  out->clear();
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    out->push_back({st.column(0), st.column(1), st.column(2), st.column(3), st.column(4)});
  if (rc != SQLITE_DONE) {
    if (error) *error = failure("reading");
    return false;
  }
  return true;
}

bool SqliteStore::put(Kind kind, const StoredObject& obj, std::string* error) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  Statement st(db_, std::string("INSERT OR REPLACE INTO ") + table(kind) +
                        " (zone, id, body, created_on, modified_on) VALUES (?, ?, ?, ?, ?)");
  bool ok = st.get() && st.bind(1, obj.zone) && st.bind(2, obj.id) && st.bind(3, obj.body) &&
            st.bind(4, obj.created_on) && st.bind(5, obj.modified_on) &&
            sqlite3_step(st.get()) == SQLITE_DONE;
  if (!ok) {
    if (error) *error = failure("writing");
    exec("ROLLBACK", nullptr);
    return false;
  }
  if (!exec("COMMIT", error)) {
    exec("ROLLBACK", nullptr);
    return false;
  }
  return true;
}

bool SqliteStore::remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
                         std::string* error) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE", error)) return false;
  Statement st(db_, std::string("DELETE FROM ") + table(kind) + " WHERE zone = ? AND id = ?");
  bool ok = st.get() && st.bind(1, zone) && st.bind(2, id) && sqlite3_step(st.get()) == SQLITE_DONE;
  if (!ok) {
    if (error) *error = failure("deleting");
    exec("ROLLBACK", nullptr);
    return false;
  }
  if (found) *found = sqlite3_changes(db_) > 0;
  if (!exec("COMMIT", error)) {
    exec("ROLLBACK", nullptr);
    return false;
  }
  return true;
}

}  // namespace rampart::control
