// The etcd pieces that need no etcd: base64, key ranges, URLs, the value format, and the
// ConfigApplier's compare-and-swap outcomes and remote changes (with a scripted store).
#include <gtest/gtest.h>

#include <map>

#include "config/parse.h"
#include "control/apps_api.h"
#include "control/config_applier.h"
#include "control/etcd_client.h"
#include "control/etcd_store.h"

namespace rampart::control {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "/rampart/apps/default/x"}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("/r/a"), "L3IvYQ==");
  EXPECT_FALSE(base64_decode("abc"));
}

TEST(EtcdClient, PrefixEndAndUrls) {
  EXPECT_EQ(EtcdClient::prefix_end("/rampart/"), "/rampart0");
  std::string error;
  auto eps = EtcdClient::parse_url("etcd://127.0.0.1:2379,10.0.0.2:22379", &error);
  ASSERT_TRUE(eps) << error;
  EXPECT_EQ(*eps, (std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:22379"}));
  EXPECT_FALSE(EtcdClient::parse_url("http://127.0.0.1:2379", &error));
  EXPECT_FALSE(EtcdClient::parse_url("etcd://127.0.0.1", &error));
  EXPECT_FALSE(EtcdClient::parse_url("etcd://127.0.0.1:2379,", &error));
}

TEST(EtcdStore, KeysAndValues) {
  EXPECT_EQ(EtcdStore::key(Kind::kApp, "default", "ssh"), "/rampart/apps/default/ssh");
  auto parts = EtcdStore::parse_key("/rampart/access_rules/default/r1");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->kind, Kind::kAccessRule);
  EXPECT_EQ(parts->id, "r1");
  EXPECT_FALSE(EtcdStore::parse_key("/rampart/edges/E1-host-1"));
  EXPECT_FALSE(EtcdStore::parse_key("/rampart/apps/default/"));

  StoredObject obj{"default", "ssh", R"({"id":"ssh","protocol":"tcp/22"})", "c", "m"};
  EtcdKv kv{"/rampart/apps/default/ssh", EtcdStore::encode(obj), 42, 0};
  auto back = EtcdStore::decode(*EtcdStore::parse_key(kv.key), kv, nullptr);
  ASSERT_TRUE(back);
  obj.revision = 42;
  EXPECT_EQ(*back, obj);
  // Written by hand (etcdctl) without an id: the key names it.
  EtcdKv hand{"/rampart/apps/default/web", R"({"protocol":"tcp/80"})", 7, 0};
  back = EtcdStore::decode(*EtcdStore::parse_key(hand.key), hand, nullptr);
  ASSERT_TRUE(back);
  EXPECT_NE(back->body.find("\"id\":\"web\""), std::string::npos);
}

// A store whose conditional writes answer what the test says, and that checks revisions.
class ScriptedStore : public Store {
 public:
  WriteStatus next = WriteStatus::kOk;
  int64_t revision = 100;
  std::map<std::string, int64_t> revisions;
  bool load(Kind, std::vector<StoredObject>* out, std::string*) override {
    out->clear();
    return true;
  }
  bool put(Kind, const StoredObject&, std::string*) override { return true; }
  bool remove(Kind, const std::string&, const std::string&, bool*, std::string*) override {
    return true;
  }
  WriteStatus put_if(Kind, const StoredObject& obj, int64_t expected, int64_t* rev,
                     std::string* error, StoredObject* = nullptr) override {
    if (next != WriteStatus::kOk) {
      *error = "scripted";
      return next;
    }
    if (revisions[obj.id] != expected) return WriteStatus::kConflict;
    *rev = revisions[obj.id] = ++revision;
    return WriteStatus::kOk;
  }
};

class RemoteTest : public ::testing::Test {
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
  static StoredObject app(const std::string& id, int port, int64_t revision) {
    return {"default",
            id,
            R"({"id":")" + id + R"(","protocol":"tcp/)" + std::to_string(port) +
                R"(","origin_direct":["tcp://192.0.2.1:22"]})",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:0" + std::to_string(revision % 10) + "Z",
            revision};
  }
  ScriptedStore store_;
  std::unique_ptr<ConfigApplier> applier_;
  std::unique_ptr<AppsApi> api_;
  int applies_ = 0;
};

TEST_F(RemoteTest, StoreOutcomesMapToStatusCodes) {
  const std::string body =
      R"({"id":"a","protocol":"tcp/2000","origin_direct":["tcp://192.0.2.1:22"]})";
  store_.next = WriteStatus::kUnavailable;
  Outcome o = api_->create_app(body);
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(o.errors.at(0).code, kErrStoreUnavailable);
  store_.next = WriteStatus::kConflict;
  o = api_->create_app(body);
  EXPECT_EQ(o.status, 409);
  EXPECT_EQ(o.errors.at(0).code, kErrConflict);
  EXPECT_EQ(applies_, 0);  // nothing applied on failure
  store_.next = WriteStatus::kOk;
  EXPECT_TRUE(api_->create_app(body).ok());
  // Another edge wrote "a" meanwhile: this edge's revision is stale -> 409.
  store_.revisions["a"] = 555;
  o = api_->patch_app("a", R"({"ip_firewall":false})");
  EXPECT_EQ(o.status, 409);
}

TEST_F(RemoteTest, StaleModifiedOnIs409) {
  Outcome o = api_->create_app(
      R"({"id":"a","protocol":"tcp/2000","origin_direct":["tcp://192.0.2.1:22"]})");
  ASSERT_TRUE(o.ok());
  std::string mod = o.result["modified_on"];
  o = api_->patch_app("a", R"({"ip_firewall":false,"modified_on":"2001-01-01T00:00:00Z"})");
  EXPECT_EQ(o.status, 409);
  o = api_->patch_app("a", R"({"ip_firewall":false,"modified_on":")" + mod + R"("})");
  EXPECT_TRUE(o.ok()) << (o.errors.empty() ? "" : o.errors[0].message);
}

TEST_F(RemoteTest, RemoteChangesApplyInRevisionOrder) {
  applier_->apply_remote({{Kind::kApp, false, app("x", 3000, 10)}});
  EXPECT_EQ(applies_, 1);
  EXPECT_EQ(api_->get_app("x").result["protocol"], "tcp/3000");
  // An older version (a late event) changes nothing.
  applier_->apply_remote({{Kind::kApp, false, app("x", 3001, 9)}});
  EXPECT_EQ(applies_, 1);
  applier_->apply_remote({{Kind::kApp, false, app("x", 3002, 11)}});
  EXPECT_EQ(api_->get_app("x").result["protocol"], "tcp/3002");
  // A change that conflicts (same port as x) is left out; the rest of the batch applies.
  applier_->apply_remote(
      {{Kind::kApp, false, app("y", 3002, 12)}, {Kind::kApp, false, app("z", 3003, 13)}});
  EXPECT_EQ(api_->get_app("y").status, 404);
  EXPECT_TRUE(api_->get_app("z").ok());
  StoredObject gone{"default", "x", "", "", "", 14};
  applier_->apply_remote({{Kind::kApp, true, gone}});
  EXPECT_EQ(api_->get_app("x").status, 404);
  // A full reload at revision 20 without z removes it; with w adds it.
  applier_->reset_remote({app("w", 4000, 15)}, {}, 20);
  EXPECT_EQ(api_->get_app("z").status, 404);
  EXPECT_TRUE(api_->get_app("w").ok());
  EXPECT_EQ(applier_->api_app_count(), 1u);
}

}  // namespace
}  // namespace rampart::control
