// The ConfigApplier's applier thread: changes from the API (several HTTP threads), a SIGHUP reload
// (main) and the fleet watch are applied one at a time on one thread that is none of theirs;
// an API change that does not validate returns its errors and applies nothing.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "config/parse.h"
#include "control/apps_api.h"
#include "control/config_applier.h"
#include "control/sqlite_store.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = config::parse_yaml(R"(
edge: { listen: ["127.0.0.1"], data_dir: /tmp }
api: { token: t }
apps:
  - id: ssh
    protocol: tcp/22
    origin_direct: ["tcp://192.0.2.1:22"]
)");
    ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
    file_ = *r.config;
    std::string error;
    store_ = SqliteStore::open(dir_.file("rampart.db"), &error);
    ASSERT_TRUE(store_) << error;
  }
  void TearDown() override {
    api_.reset();
    applier_.reset();
    store_.reset();
  }
  // The Apply callback records its thread and checks that no two applies overlap.
  void make(core::ControlLoop* applier = nullptr) {
    api_.reset();
    applier_ = std::make_unique<ConfigApplier>(
        store_.get(),
        [this](const config::Config& c) {
          if (inside_.fetch_add(1) != 0) overlapped_ = true;
          apply_threads_.insert(std::this_thread::get_id());
          last_apps_ = c.apps.size();
          ++applies_;
          inside_.fetch_sub(1);
        },
        applier);
    api_ = std::make_unique<AppsApi>(applier_.get());
    std::string error;
    ASSERT_TRUE(applier_->load(file_, &error)) << error;
  }
  static std::string app_body(int port) {
    return R"({"protocol":"tcp/)" + std::to_string(port) +
           R"(","origin_direct":["tcp://192.0.2.1:22"]})";
  }

  TempDir dir_;
  config::Config file_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ConfigApplier> applier_;
  std::unique_ptr<AppsApi> api_;
  // Written by the Apply callback (the applier thread); read after the calls returned.
  std::atomic<int> inside_{0};
  std::atomic<bool> overlapped_{false};
  std::set<std::thread::id> apply_threads_;
  size_t last_apps_ = 0;
  int applies_ = 0;
};

TEST_F(ApplierTest, ChangesFromManyThreadsApplyOneAtATimeOnTheApplierThread) {
  core::ControlLoop applier;
  make(&applier);
  constexpr int kApiThreads = 4, kAppsEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int t = 0; t < kApiThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppsEach; ++i)
        if (api_->create_app(app_body(3000 + t * 100 + i)).ok()) ++created;
    });
  // SIGHUP's path, from another thread, at the same time: the file with one more app.
  config::Config file2 = file_;
  file2.apps.push_back(file_.apps[0]);
  file2.apps.back().id = "ssh2";
  file2.apps.back().ports = {2022, 2022};
  threads.emplace_back([&] {
    std::vector<std::string> errors;
    EXPECT_TRUE(applier_->reload_file(file2, &errors)) << (errors.empty() ? "" : errors[0]);
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), kApiThreads * kAppsEach);
  EXPECT_FALSE(overlapped_.load());
  const auto on_applier =
      applier.call([&] { return std::make_pair(apply_threads_, std::this_thread::get_id()); });
  ASSERT_EQ(on_applier.first.size(), 1u);
  EXPECT_EQ(*on_applier.first.begin(), on_applier.second);  // the applier's thread, no caller's
  EXPECT_EQ(applies_, kApiThreads * kAppsEach + 1);
  EXPECT_EQ(last_apps_, 2u + kApiThreads * kAppsEach);  // ssh, ssh2 and every API app
  EXPECT_EQ(applier_->config().apps.size(), last_apps_);
}

TEST_F(ApplierTest, AnApiChangeThatDoesNotValidateReturnsItsErrorsAndAppliesNothing) {
  make();
  ASSERT_TRUE(api_->create_app(app_body(4000)).ok());
  ASSERT_EQ(applies_, 1);
  // Overlaps the app just made: refused with the conflict, and the apply never runs.
  Outcome o = api_->create_app(app_body(4000));
  EXPECT_EQ(o.status, 409);
  ASSERT_FALSE(o.errors.empty());
  EXPECT_EQ(o.errors[0].code, kErrConflict);
  EXPECT_NE(o.errors[0].message.find("overlaps app"), std::string::npos) << o.errors[0].message;
  // No origin: a validation error.
  o = api_->create_app(R"({"protocol":"tcp/4001"})");
  EXPECT_EQ(o.status, 400);
  EXPECT_FALSE(o.errors.empty());
  EXPECT_EQ(applies_, 1);
  // The file's reload that does not fit the API's apps returns the reason, applies nothing.
  config::Config clash = file_;
  clash.apps[0].ports = {4000, 4000};
  std::vector<std::string> errors;
  EXPECT_FALSE(applier_->reload_file(clash, &errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("overlaps"), std::string::npos) << errors[0];
  EXPECT_EQ(applies_, 1);
}

TEST_F(ApplierTest, ThePreflightRunsOnTheApplierThread) {
  core::ControlLoop applier;
  make(&applier);
  std::atomic<bool> prepared_on_applier{false}, abandoned{false};
  applier_->set_preflight({[&](const config::Config&, std::string*) {
                             prepared_on_applier = applier.in_loop_thread();
                             applier.assert_in_loop_thread("prepare");
                             return true;
                           },
                           [&] { abandoned = true; }});
  ASSERT_TRUE(api_->create_app(app_body(4100)).ok());
  EXPECT_TRUE(prepared_on_applier.load());
  EXPECT_FALSE(abandoned.load());
}

}  // namespace
}  // namespace rampart::control
