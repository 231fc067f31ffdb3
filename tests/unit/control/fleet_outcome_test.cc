// Honest write outcomes and no lock across the store (issue #16), with a store whose answers the
// test scripts and whose writes can be held mid-flight: an unknown outcome is 504 10504 and
// changes nothing; an Idempotency-Key replays its answer and never writes twice; reads, the
// watch's changes and writes to other objects go on while a write waits for the store.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "config/parse.h"
#include "control/apps_api.h"
#include "control/config_applier.h"

namespace rampart::control {
namespace {

// put_if answers `next` (kOk: a compare-and-swap on the revisions it keeps); a write of the app
// `hold` waits until release() — the calls it gets meanwhile are the test's point.
class HeldStore : public Store {
 public:
  WriteStatus next = WriteStatus::kOk;
  std::string hold;
  std::promise<void> entered;  // set when the held write is in put_if
  int puts = 0;
  std::map<std::string, std::string> request_ids;  // id -> request id stored

  void release() { gate_.set_value(); }

  bool load(Kind, std::vector<StoredObject>* out, std::string*) override {
    out->clear();
    return true;
  }
  bool put(Kind, const StoredObject&, std::string*) override { return true; }
  bool remove(Kind, const std::string&, const std::string&, bool*, std::string*) override {
    return true;
  }
  WriteStatus remove_if(Kind, const std::string&, const std::string&, int64_t, int64_t* rev,
                        std::string* error) override {
    *rev = 0;
    if (next == WriteStatus::kOk) return next;
    *error = "scripted";
    return next;
  }
  WriteStatus put_if(Kind, const StoredObject& obj, int64_t expected, int64_t* rev,
                     std::string* error, StoredObject*) override {
    if (!hold.empty() && obj.id == hold) {
      entered.set_value();
      gate_future_.wait();
    }
    std::lock_guard lock(mu_);
    ++puts;
    if (next != WriteStatus::kOk) {
      *error = "scripted";
      return next;
    }
    if (revisions_[obj.id] != expected) return WriteStatus::kConflict;
    *rev = revisions_[obj.id] = ++revision_;
    request_ids[obj.id] = obj.request_id;
    return WriteStatus::kOk;
  }

 private:
  std::mutex mu_;
  std::promise<void> gate_;
  std::shared_future<void> gate_future_ = gate_.get_future().share();
  std::map<std::string, int64_t> revisions_;
  int64_t revision_ = 100;
};

class OutcomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = config::parse_yaml("edge: { listen: [\"127.0.0.1\"] }\napi: { token: t }\n");
    ASSERT_TRUE(r.ok());
    applier_ =
        std::make_unique<ConfigApplier>(&store_, [this](const config::Config&) { ++applies_; });
    api_ = std::make_unique<AppsApi>(applier_.get());
    std::string error;
    ASSERT_TRUE(applier_->load(*r.config, &error)) << error;
  }
  static std::string body(const std::string& id, int port) {
    return std::string(R"({)") + (id.empty() ? "" : R"("id":")" + id + R"(",)") +
           R"("protocol":"tcp/)" + std::to_string(port) +
           R"(","origin_direct":["tcp://192.0.2.1:22"]})";
  }
  HeldStore store_;
  std::unique_ptr<ConfigApplier> applier_;
  std::unique_ptr<AppsApi> api_;
  int applies_ = 0;
};

TEST_F(OutcomeTest, UnknownOutcomeIs504AndChangesNothing) {
  store_.next = WriteStatus::kUnknown;
  Outcome o = api_->create_app(body("a", 2000));
  EXPECT_EQ(o.status, 504);
  ASSERT_FALSE(o.errors.empty());
  EXPECT_EQ(o.errors[0].code, kErrOutcomeUnknown);
  EXPECT_NE(o.errors[0].message.find("Idempotency-Key"), std::string::npos);
  EXPECT_EQ(applies_, 0);
  EXPECT_EQ(api_->get_app("a").status, 404);
  // Not made at all (nothing reached the store): 503, and the key may be used again.
  store_.next = WriteStatus::kUnavailable;
  o = api_->create_app(body("a", 2000), "k-503");
  EXPECT_EQ(o.status, 503);
  store_.next = WriteStatus::kOk;
  EXPECT_TRUE(api_->create_app(body("a", 2000), "k-503").ok());
}

TEST_F(OutcomeTest, SameKeyReplaysTheAnswerAndNeverWritesTwice) {
  Outcome first = api_->create_app(body("", 2000), "key-1");
  ASSERT_TRUE(first.ok());
  // No id in the body: the id derives from the key, so every retry names the same app.
  EXPECT_EQ(first.result["id"], IdempotencyKeys::derived_id("key-1"));
  const int puts = store_.puts;
  Outcome again = api_->create_app(body("", 2000), "key-1");
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.result, first.result);
  EXPECT_EQ(store_.puts, puts);
  EXPECT_EQ(applier_->api_app_count(), 1u);
  // The same key on another request: 422.
  Outcome other = api_->create_app(body("", 2001), "key-1");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(other.errors.at(0).code, kErrIdempotencyKeyReused);
  EXPECT_EQ(api_->create_app(body("", 2001), std::string(300, 'k')).status, 400);
}

TEST_F(OutcomeTest, RetryAfterUnknownFindsTheStoredWrite) {
  // The first attempt's outcome is unknown; etcd applied it later, and the watch brings it
  // (with the request id it was stored with). A retry with the same key, on this edge or any
  // other (the applier's check, not the per-edge memory), answers it and writes nothing.
  store_.next = WriteStatus::kUnknown;
  ASSERT_EQ(api_->create_app(body("a", 2000), "key-2").status, 504);
  StoredObject stored{
      "default", "a", body("a", 2000), "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 7};
  stored.request_id = "key-2";
  applier_->apply_remote({{Kind::kApp, false, stored}});
  store_.next = WriteStatus::kOk;
  const int puts = store_.puts;
  ChangeResult r = applier_->create_app(nlohmann::json::parse(body("a", 2000)), "key-2");
  EXPECT_TRUE(r.ok());
  ASSERT_TRUE(r.app);
  EXPECT_EQ(r.app->created_on, "2026-01-01T00:00:00Z");
  EXPECT_EQ(store_.puts, puts);
  Outcome o = api_->create_app(body("a", 2000), "key-2");
  EXPECT_TRUE(o.ok());
  // Another key for the same id is a new request: the app exists.
  EXPECT_EQ(api_->create_app(body("a", 2000), "key-3").status, 409);
  // A DELETE whose first attempt was unknown answers 200 once the app is gone.
  store_.next = WriteStatus::kUnknown;
  EXPECT_EQ(api_->delete_app("a", "del-1").status, 504);
  applier_->apply_remote({{Kind::kApp, true, StoredObject{"default", "a", "", "", "", 8}}});
  Outcome del = api_->delete_app("a", "del-1");
  EXPECT_TRUE(del.ok());
  EXPECT_EQ(del.result["id"], "a");
}

TEST_F(OutcomeTest, NothingWaitsForAWriteInFlight) {
  ASSERT_TRUE(api_->create_app(body("steady", 1000)).ok());
  store_.hold = "slow";
  std::future<void> entered = store_.entered.get_future();
  std::future<Outcome> slow =
      std::async(std::launch::async, [&] { return api_->create_app(body("slow", 2000), "s"); });
  entered.wait();  // the write is in the store's round trip now
  // Reads answer.
  EXPECT_TRUE(api_->get_app("steady").ok());
  EXPECT_EQ(api_->get_app("slow").status, 404);  // not made yet
  // The watch's changes apply.
  StoredObject remote{"default", "remote", body("remote", 3000), "t", "t", 500};
  applier_->apply_remote({{Kind::kApp, false, remote}});
  EXPECT_TRUE(api_->get_app("remote").ok());
  // A write to another object completes.
  EXPECT_TRUE(api_->create_app(body("other", 4000)).ok());
  // A write that would overlap the one in flight is refused, as is a second write to it, and
  // the same key while its request is being answered.
  EXPECT_EQ(api_->create_app(body("clash", 2000)).status, 409);
  EXPECT_EQ(api_->create_app(body("slow", 2001)).status, 409);
  EXPECT_EQ(api_->create_app(body("slow", 2000), "s").errors.at(0).code,
            kErrIdempotencyKeyInProgress);
  store_.release();
  Outcome o = slow.get();
  EXPECT_TRUE(o.ok()) << (o.errors.empty() ? "" : o.errors[0].message);
  EXPECT_TRUE(api_->get_app("slow").ok());
  EXPECT_EQ(store_.request_ids["slow"], "s");
  EXPECT_EQ(applier_->api_app_count(), 4u);
}

}  // namespace
}  // namespace rampart::control
