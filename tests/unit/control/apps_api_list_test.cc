// AppsApi lists with Cloudflare's parameters (issue #13): the access-rule filters (mode,
// configuration.target/value, notes, match), order/direction and pagination with result_info,
// invalid values answered with a 400 naming the parameter; api.zones routing; and Cloudflare's
// schema fields stored, echoed and noted rather than refused. Real ConfigApplier and SQLite.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

#include "config/parse.h"
#include "control/apps_api.h"
#include "control/config_applier.h"
#include "control/sqlite_store.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;

class ListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = config::parse_yaml(
        "edge: { listen: [\"127.0.0.1\"], data_dir: /tmp }\napi: { token: t }\n");
    ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
    std::string error;
    store_ = SqliteStore::open(dir_.file("rampart.db"), &error);
    ASSERT_TRUE(store_) << error;
    applier_ = std::make_unique<ConfigApplier>(store_.get(), [](const config::Config&) {});
    api_ = std::make_unique<AppsApi>(applier_.get());
    ASSERT_TRUE(applier_->load(*r.config, &error)) << error;
  }
  void TearDown() override {
    api_.reset();
    applier_.reset();
    store_.reset();
  }
  std::string rule(const std::string& mode, const std::string& target, const std::string& value,
                   const std::string& notes) {
    Outcome o =
        api_->create_rule(R"({"mode":")" + mode + R"(","configuration":{"target":")" + target +
                          R"(","value":")" + value + R"("},"notes":")" + notes + R"("})");
    EXPECT_TRUE(o.ok()) << (o.errors.empty() ? "" : o.errors[0].message);
    return o.result.value("id", "");
  }
  // The values (configuration.value) a list answers, in order.
  std::vector<std::string> values(const ListQuery& q) {
    Outcome o = api_->list_rules(q);
    EXPECT_TRUE(o.ok()) << (o.errors.empty() ? "" : o.errors[0].message);
    std::vector<std::string> out;
    for (const auto& r : o.result) out.push_back(r["configuration"].value("value", ""));
    return out;
  }
  void seed() {
    rule("block", "ip", "198.51.100.7", "Attack 26/02");
    rule("block", "ip", "198.51.100.8", "attack 27/02");
    rule("whitelist", "ip", "192.0.2.1", "office");
    rule("block", "ip_range", "203.0.113.0/24", "scanner range");
    rule("block", "country", "XX", "");
    rule("whitelist", "asn", "AS64500", "partner");
    rule("block", "ip6", "2001:db8::1", "Attack v6");
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ConfigApplier> applier_;
  std::unique_ptr<AppsApi> api_;
};

using V = std::vector<std::string>;

TEST_F(ListTest, RuleFiltersMatchAllByDefault) {
  seed();
  EXPECT_EQ(values({}).size(), 7u);
  ListQuery q;
  q.value = "198.51.100.7";  // the "unblock this IP" script's list: that rule only
  EXPECT_EQ(values(q), V{"198.51.100.7"});
  q.target = "ip";
  EXPECT_EQ(values(q), V{"198.51.100.7"});
  q.target = "ip_range";  // all: both must hold
  EXPECT_EQ(values(q), V{});
  q.match = "any";  // any: either
  EXPECT_EQ(values(q), (V{"198.51.100.7", "203.0.113.0/24"}));
  ListQuery m;
  m.mode = "whitelist";
  EXPECT_EQ(values(m), (V{"192.0.2.1", "AS64500"}));
  m.mode = "challenge";  // a Cloudflare mode that no L4 rule has
  EXPECT_EQ(values(m), V{});
  ListQuery n;
  n.notes = "ATTACK";  // case-insensitive substring
  EXPECT_EQ(values(n), (V{"198.51.100.7", "198.51.100.8", "2001:db8::1"}));
  n.mode = "whitelist";
  n.match = "any";
  EXPECT_EQ(values(n), (V{"198.51.100.7", "198.51.100.8", "192.0.2.1", "AS64500", "2001:db8::1"}));
}

TEST_F(ListTest, RuleValuesCompareCanonically) {
  seed();
  ListQuery q;
  q.value = "2001:DB8:0::1";
  EXPECT_EQ(values(q), V{"2001:db8::1"});
  q.value = "64500";
  EXPECT_EQ(values(q), V{"AS64500"});
  q.value = "xx";
  EXPECT_EQ(values(q), V{"XX"});
  q.value = "198.51.100.9";
  EXPECT_EQ(values(q), V{});
}

TEST_F(ListTest, RuleOrderDirectionAndPages) {
  seed();
  ListQuery q;
  q.target = "ip";
  q.order = "configuration.value";
  EXPECT_EQ(values(q), (V{"192.0.2.1", "198.51.100.7", "198.51.100.8"}));
  q.direction = "desc";
  EXPECT_EQ(values(q), (V{"198.51.100.8", "198.51.100.7", "192.0.2.1"}));
  ListQuery m;
  m.order = "mode";
  std::vector<std::string> modes;
  for (const auto& r : api_->list_rules(m).result) modes.push_back(r.value("mode", ""));
  EXPECT_EQ(modes, (V{"block", "block", "block", "block", "block", "whitelist", "whitelist"}));
  ListQuery p;
  p.per_page = "3";
  p.page = "3";
  Outcome o = api_->list_rules(p);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.result.size(), 1u);
  EXPECT_EQ(o.result_info["page"], 3);
  EXPECT_EQ(o.result_info["per_page"], 3);
  EXPECT_EQ(o.result_info["count"], 1);
  EXPECT_EQ(o.result_info["total_count"], 7);
  EXPECT_EQ(o.result_info["total_pages"], 3);
  p.page = "4";  // past the end: an empty page, as Cloudflare answers (SDKs stop there)
  o = api_->list_rules(p);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o.result.empty());
  EXPECT_EQ(o.result_info["total_count"], 7);
  // Filters apply before paging: total_count counts matches.
  ListQuery f;
  f.mode = "block";
  f.per_page = "2";
  o = api_->list_rules(f);
  EXPECT_EQ(o.result_info["total_count"], 5);
  EXPECT_EQ(o.result_info["total_pages"], 3);
}

TEST_F(ListTest, InvalidRuleParametersAre400) {
  auto bad = [&](ListQuery q, const std::string& name) {
    Outcome o = api_->list_rules(q);
    EXPECT_EQ(o.status, 400);
    ASSERT_FALSE(o.errors.empty());
    EXPECT_EQ(o.errors[0].code, config::kErrInvalidValue);
    EXPECT_EQ(o.errors[0].message.rfind(name + ": ", 0), 0u) << o.errors[0].message;
  };
  ListQuery q;
  q.mode = "deny";
  bad(q, "mode");
  q = {};
  q.target = "hostname";
  bad(q, "configuration.target");
  q = {};
  q.match = "some";
  bad(q, "match");
  q = {};
  q.order = "notes";
  bad(q, "order");
  q = {};
  q.direction = "up";
  bad(q, "direction");
  q = {};
  q.per_page = "1001";
  bad(q, "per_page");
  q = {};
  q.page = "0";
  bad(q, "page");
}

TEST_F(ListTest, AppsPageAndOrder) {
  for (int port : {2003, 2001, 2002}) {
    Outcome o = api_->create_app(R"({"protocol":"tcp/)" + std::to_string(port) +
                                 R"(","origin_direct":["tcp://192.0.2.1:22"]})");
    ASSERT_TRUE(o.ok()) << o.errors[0].message;
  }
  ListQuery q;
  q.order = "protocol";
  q.per_page = "2";
  Outcome o = api_->list_apps(q);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o.result.size(), 2u);
  EXPECT_EQ(o.result[0].value("protocol", ""), "tcp/2001");
  EXPECT_EQ(o.result_info["total_pages"], 2);
  q.page = "2";
  q.direction = "desc";
  o = api_->list_apps(q);
  ASSERT_EQ(o.result.size(), 1u);
  EXPECT_EQ(o.result[0].value("protocol", ""), "tcp/2001");
  q.order = "ports";
  EXPECT_EQ(api_->list_apps(q).status, 400);
}

TEST_F(ListTest, ZonesAreAliases) {
  EXPECT_TRUE(api_->has_zone("default"));
  EXPECT_FALSE(api_->has_zone("023e105f4ecef8ad9ca31a8372d0c353"));
  api_->set_zones(
      {{"023e105f4ecef8ad9ca31a8372d0c353", "example.com"}, {std::string(32, 'a'), ""}});
  EXPECT_TRUE(api_->has_zone("default"));
  EXPECT_TRUE(api_->has_zone("023e105f4ecef8ad9ca31a8372d0c353"));
  EXPECT_TRUE(api_->has_zone(std::string(32, 'a')));
  EXPECT_FALSE(api_->has_zone("example.com"));
  EXPECT_FALSE(api_->has_zone(std::string(32, 'b')));
  const std::string why = api_->unknown_zone(std::string(32, 'b'));
  EXPECT_NE(why.find("023e105f4ecef8ad9ca31a8372d0c353\" (example.com)"), std::string::npos) << why;
  const std::string id = rule("block", "ip", "198.51.100.7", "");
  const Outcome o = api_->get_rule(id);
  EXPECT_EQ(o.result["scope"]["id"], "023e105f4ecef8ad9ca31a8372d0c353");
  EXPECT_EQ(o.result["scope"]["name"], "example.com");
}

TEST_F(ListTest, CloudflareFieldsStoredEchoedAndNoted) {
  Outcome o = api_->create_app(
      R"({"protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"],"traffic_type":"https",
          "virtual_network_id":"0a1b2c3d-0000-4000-8000-000000000001",
          "origin_worker_id":"my-worker","argo_smart_routing":true})");
  ASSERT_TRUE(o.ok()) << o.errors[0].message;
  std::set<std::string> noted;
  for (const auto& m : o.messages) {
    EXPECT_EQ(m.code, config::kNoteNoEffect) << m.message;
    noted.insert(m.message.substr(0, m.message.find(':')));
  }
  EXPECT_EQ(noted, (std::set<std::string>{"argo_smart_routing", "traffic_type https",
                                          "virtual_network_id", "origin_worker_id"}));
  const std::string id = o.result.value("id", "");
  const Outcome got = api_->get_app(id);
  EXPECT_EQ(got.result["traffic_type"], "https");
  EXPECT_EQ(got.result["virtual_network_id"], "0a1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(got.result["origin_worker_id"], "my-worker");
  // Kept across a PATCH of something else.
  const Outcome patched = api_->patch_app(id, R"({"ip_firewall":true})");
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ(patched.result["virtual_network_id"], "0a1b2c3d-0000-4000-8000-000000000001");
}

}  // namespace
}  // namespace rampart::control
