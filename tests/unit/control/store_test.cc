// SqliteStore on a real file in a temp dir: round trips, replace, delete, reopen, pragmas.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "control/sqlite_store.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;

StoredObject obj(const std::string& id, const std::string& body) {
  return {"default", id, body, "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:00.000002Z"};
}

TEST(SqliteStore, RoundTripReplaceDelete) {
  TempDir dir;
  std::string error;
  auto store = SqliteStore::open(dir.file("rampart.db"), &error);
  ASSERT_TRUE(store) << error;
  ASSERT_TRUE(store->put(Kind::kApp, obj("a", R"({"x":1})"), &error)) << error;
  ASSERT_TRUE(store->put(Kind::kApp, obj("b", R"({"x":2})"), &error)) << error;
  ASSERT_TRUE(store->put(Kind::kAccessRule, obj("r", R"({"y":1})"), &error)) << error;
  std::vector<StoredObject> apps, rules;
  ASSERT_TRUE(store->load(Kind::kApp, &apps, &error));
  ASSERT_TRUE(store->load(Kind::kAccessRule, &rules, &error));
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0], obj("a", R"({"x":1})"));
  ASSERT_EQ(rules.size(), 1u);

  ASSERT_TRUE(store->put(Kind::kApp, obj("a", R"({"x":3})"), &error));
  bool found = false;
  ASSERT_TRUE(store->remove(Kind::kApp, "default", "b", &found, &error));
  EXPECT_TRUE(found);
  ASSERT_TRUE(store->remove(Kind::kApp, "default", "b", &found, &error));
  EXPECT_FALSE(found);
  ASSERT_TRUE(store->load(Kind::kApp, &apps, &error));
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].body, R"({"x":3})");
}

TEST(SqliteStore, ReopenKeepsData) {
  TempDir dir;
  std::string error;
  {
    auto store = SqliteStore::open(dir.file("rampart.db"), &error);
    ASSERT_TRUE(store) << error;
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(store->put(Kind::kApp, obj("app" + std::to_string(i), "{}"), &error));
  }
  auto store = SqliteStore::open(dir.file("rampart.db"), &error);
  ASSERT_TRUE(store) << error;
  std::vector<StoredObject> apps;
  ASSERT_TRUE(store->load(Kind::kApp, &apps, &error));
  EXPECT_EQ(apps.size(), 50u);

  // WAL and synchronous=FULL are what make a committed write durable.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("rampart.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(SqliteStore, OpenFailsWithAClearError) {
  std::string error;
  auto store = SqliteStore::open("/nonexistent-dir/x/rampart.db", &error);
  EXPECT_FALSE(store);
  EXPECT_NE(error.find("/nonexistent-dir/x/rampart.db"), std::string::npos) << error;
}

TEST(SqliteStore, RefusesAnotherSchemaVersion) {
  TempDir dir;
  std::string error;
  { ASSERT_TRUE(SqliteStore::open(dir.file("rampart.db"), &error)) << error; }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("rampart.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_FALSE(SqliteStore::open(dir.file("rampart.db"), &error));
  EXPECT_NE(error.find("schema version 99"), std::string::npos) << error;
}

}  // namespace
}  // namespace rampart::control
