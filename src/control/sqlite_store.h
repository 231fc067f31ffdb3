// Store on a SQLite file (<edge.data_dir>/rampart.db): WAL journal and synchronous=FULL, so a
// write that returned true survives a crash or power loss, and a crash mid-write leaves the
// previous state. Owns one connection guarded by a mutex: any thread may call it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "control/store.h"

struct sqlite3;

namespace rampart::control {

class SqliteStore : public Store {
 public:
  ~SqliteStore() override;
  // Opens (creating when missing) the database at `path` and its schema; nullptr with *error
  // naming the file and the cause on failure.
  static std::unique_ptr<SqliteStore> open(const std::string& path, std::string* error);

  bool load(Kind kind, std::vector<StoredObject>* out, std::string* error) override;
  bool put(Kind kind, const StoredObject& obj, std::string* error) override;
  bool remove(Kind kind, const std::string& zone, const std::string& id, bool* found,
              std::string* error) override;

 private:
  explicit SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  bool exec(const char* sql, std::string* error);
  std::string failure(const char* what) const;

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace rampart::control
