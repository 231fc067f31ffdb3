// ConfigApplier + AppsApi: merge of file and API apps, conflicts, all-or-nothing writes,
// persistence, and the API outcomes (statuses, codes, notes) built from the applier's results.
#include "control/apps_api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "config/app_json.h"
#include "config/parse.h"
#include "control/config_applier.h"
#include "control/sqlite_store.h"
#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;

class ControllerTest : public ::testing::Test {
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
    open();
  }
  void TearDown() override {
    api_.reset();
    applier_.reset();
    store_.reset();
  }
  void open() {
    api_.reset();
    applier_.reset();
    store_.reset();
    std::string error;
    store_ = SqliteStore::open(dir_.file("rampart.db"), &error);
    ASSERT_TRUE(store_) << error;
    applier_ = std::make_unique<ConfigApplier>(
        store_.get(), [this](const config::Config& c) { applied_.push_back(c); });
    api_ = std::make_unique<AppsApi>(applier_.get());
    ASSERT_TRUE(applier_->load(file_, &error)) << error;
  }
  int first_code(const Outcome& o) { return o.errors.empty() ? 0 : o.errors[0].code; }

  TempDir dir_;
  config::Config file_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ConfigApplier> applier_;
  std::unique_ptr<AppsApi> api_;
  std::vector<config::Config> applied_;
};

const char* kApp = R"({"protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"],"tls":"full",
  "argo_smart_routing":true,"dns":{"type":"CNAME","name":"ssh.example.com"}})";

TEST_F(ControllerTest, CreateAppliesAndPersists) {
  Outcome o = api_->create_app(kApp);
  ASSERT_TRUE(o.ok()) << o.errors[0].message;
  std::string id = o.result["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(o.result["source"], "api");
  EXPECT_EQ(o.messages.size(), 2u);  // self-signed tls, argo no effect
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_EQ(applied_[0].apps.size(), 2u);

  open();  // restart
  Outcome got = api_->get_app(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.result["protocol"], "tcp/2222");
  EXPECT_EQ(applier_->config().apps.size(), 2u);
  Outcome list = api_->list_apps({});
  EXPECT_EQ(list.result.size(), 2u);
  EXPECT_EQ(list.result_info["total_count"], 2);
}

TEST_F(ControllerTest, FileAccessRulesAre409) {
  config::IpAccessRule rule;
  rule.id = "from-file";
  rule.mode = config::AccessMode::kBlock;
  rule.target = config::AccessTarget::kIp;
  rule.value = "198.51.100.7";
  file_.ip_access_rules.push_back(rule);
  open();
  Outcome patched = api_->patch_rule("from-file", R"({"notes":"x"})");
  EXPECT_EQ(patched.status, 409);
  EXPECT_EQ(first_code(patched), kErrConflict);
  EXPECT_EQ(api_->delete_rule("from-file").status, 409);
  EXPECT_EQ(api_->delete_rule("no-such-rule").status, 404);
}

TEST_F(ControllerTest, ConflictsAndFileAppsAre409) {
  Outcome o = api_->create_app(R"({"protocol":"tcp/22","origin_direct":["tcp://192.0.2.1:22"]})");
  EXPECT_EQ(o.status, 409);
  EXPECT_EQ(first_code(o), kErrConflict);
  o = api_->create_app(
      R"({"id":"ssh","protocol":"tcp/23","origin_direct":["tcp://192.0.2.1:22"]})");
  EXPECT_EQ(o.status, 409);
  EXPECT_EQ(api_->delete_app("ssh").status, 409);
  EXPECT_EQ(api_->patch_app("ssh", R"({"tls":"off"})").status, 409);
  EXPECT_EQ(api_->get_app("ssh").result["source"], "file");
  EXPECT_TRUE(applied_.empty());
}

TEST_F(ControllerTest, InvalidChangesNothing) {
  Outcome o = api_->create_app(R"({"protocol":"tcp/2222"})");
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(first_code(o), 11000);
  o = api_->create_app("not json");
  EXPECT_EQ(first_code(o), 6007);
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(api_->list_apps({}).result.size(), 1u);
}

// Cloudflare's errors[].source.pointer: the field of the body at fault, beside the unchanged code
// and message; none when the error names no field.
TEST_F(ControllerTest, ValidationErrorsPointAtTheField) {
  Outcome o = api_->create_app(R"({"protocol":"tcp/2222","origin_direct":["tcp://1.2.3:22"]})");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].code, 11002);
  EXPECT_EQ(o.errors[0].message.rfind("origin_direct[0]: invalid origin", 0), 0u);
  EXPECT_EQ(o.errors[0].pointer, "/origin_direct/0");
  o = api_->create_app(R"({"protocol":"tcp/2222"})");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].pointer, "");  // no origin at all: no field to point at
  o = api_->create_app(
      R"({"protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"],"dns":{"type":"X","name":"a.example.com"}})");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].pointer, "/dns/type");
  o = api_->create_app(
      R"({"protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"],"a.b/c~":1})");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].code, 10012);
  EXPECT_EQ(o.errors[0].pointer, "/a.b~1c~0");  // an unknown field, escaped as RFC 6901 says
  o = api_->create_app(
      R"({"protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"],"edge_ips":{"x":1}})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.errors[0].pointer, "/edge_ips/x") << o.errors[0].message;
  const Outcome created = api_->create_app(kApp);
  ASSERT_TRUE(created.ok());
  o = api_->patch_app(created.result["id"], R"({"protocol":"tcp/99999"})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.errors[0].pointer, "/protocol");
  o = api_->create_rule(R"({"mode":"block","configuration":{"target":"ip","value":"10.9.9"}})");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].code, 10001);
  EXPECT_EQ(o.errors[0].pointer, "/configuration/value");
  o = api_->create_rule(
      R"({"mode":"challenge","configuration":{"target":"ip","value":"10.9.9.9"}})");
  EXPECT_EQ(o.errors[0].pointer, "/mode");
  EXPECT_EQ(config::api_pointer({"tls_settings.certificates[0].certificate", "m"}),
            "/tls_settings/certificates/0/certificate");
  EXPECT_EQ(config::api_pointer({"", "m"}), "");
  EXPECT_EQ(config::api_pointer({"a..b", "m"}), "");
  EXPECT_EQ(config::api_pointer({"app \"x\".protocol", "m"}), "");
}

TEST_F(ControllerTest, PutPatchDelete) {
  Outcome o = api_->create_app(kApp);
  ASSERT_TRUE(o.ok());
  std::string id = o.result["id"];
  std::string created = o.result["created_on"];
  o = api_->patch_app(id, R"({"proxy_protocol":"v2"})");
  ASSERT_TRUE(o.ok()) << o.errors[0].message;
  EXPECT_EQ(o.result["proxy_protocol"], "v2");
  EXPECT_EQ(o.result["protocol"], "tcp/2222");
  EXPECT_EQ(o.result["created_on"], created);
  o = api_->replace_app(id, R"({"protocol":"tcp/2223","origin_direct":["tcp://192.0.2.1:22"]})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.result["proxy_protocol"], "off");
  EXPECT_EQ(api_->replace_app("nope", kApp).status, 404);
  EXPECT_TRUE(api_->delete_app(id).ok());
  EXPECT_EQ(api_->delete_app(id).status, 404);
  open();
  EXPECT_EQ(api_->get_app(id).status, 404);
}

TEST_F(ControllerTest, AccessRulesReachTheConfig) {
  Outcome o = api_->create_rule(
      R"({"mode":"block","configuration":{"target":"ip","value":"198.51.100.7"},"notes":"x"})");
  ASSERT_TRUE(o.ok()) << o.errors[0].message;
  std::string id = o.result["id"];
  ASSERT_EQ(applied_.back().ip_access_rules.size(), 1u);
  EXPECT_EQ(applied_.back().ip_access_rules[0].value, "198.51.100.7");
  o = api_->patch_rule(id, R"({"mode":"whitelist"})");
  ASSERT_TRUE(o.ok()) << o.errors[0].message;
  EXPECT_EQ(applied_.back().ip_access_rules[0].mode, config::AccessMode::kWhitelist);
  open();
  EXPECT_EQ(api_->list_rules({}).result.size(), 1u);
  EXPECT_TRUE(api_->delete_rule(id).ok());
  EXPECT_TRUE(applied_.back().ip_access_rules.empty());
}

TEST_F(ControllerTest, FileReloadCollidingWithApiAppIsRefused) {
  Outcome o = api_->create_app(
      R"({"id":"web","protocol":"tcp/2222","origin_direct":["tcp://192.0.2.1:22"]})");
  ASSERT_TRUE(o.ok());
  config::Config next = file_;
  next.apps.push_back(next.apps[0]);
  next.apps.back().id = "web";
  next.apps.back().ports = {3000, 3000};
  std::vector<std::string> errors;
  EXPECT_FALSE(applier_->reload_file(next, &errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(applier_->config().apps.size(), 2u);
}

TEST_F(ControllerTest, ListParameters) {
  for (int port = 3000; port < 3005; ++port)
    ASSERT_TRUE(api_->create_app(R"({"protocol":"tcp/)" + std::to_string(port) +
                                 R"(","origin_direct":["tcp://192.0.2.1:22"]})")
                    .ok());
  ListQuery q;
  q.page = "2";
  q.per_page = "2";
  q.order = "protocol";
  q.direction = "desc";
  Outcome o = api_->list_apps(q);
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o.result.size(), 2u);
  EXPECT_EQ(o.result[0]["protocol"], "tcp/3002");
  EXPECT_EQ(o.result_info["total_count"], 6);
  q.order = "color";
  EXPECT_EQ(api_->list_apps(q).status, 400);
  q.order = "";
  q.per_page = "0";
  EXPECT_EQ(api_->list_apps(q).status, 400);
}

// Config safety through the API (docs/hardening.md, "Config safety").
TEST_F(ControllerTest, AppOnTheApiPortIsAConflict) {
  Outcome o = api_->create_app(R"({"protocol":"tcp/8788","origin_direct":["tcp://192.0.2.1:22"]})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status, 409);
  EXPECT_EQ(first_code(o), 10009);
  EXPECT_NE(o.errors[0].message.find("collides with api.listen (127.0.0.1:8788)"),
            std::string::npos)
      << o.errors[0].message;
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(api_->list_apps({}).result.size(), 1u);
}

TEST_F(ControllerTest, SelfLoopAndHugeRangesAreRefused) {
  Outcome o = api_->create_app(
      R"({"protocol":"tcp/3000","origin_direct":["tcp://127.0.0.1:22"]})");  // the file's app
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(first_code(o), 11002);
  o = api_->create_app(R"({"protocol":"tcp/1-65535","origin_direct":["tcp://192.0.2.1:22"],
      "edge_ips":{"type":"static","ips":["10.9.9.9"]}})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status, 400);
  bool named = false;
  for (const auto& e : o.errors)
    named |= e.message.find("port range of 65535 ports exceeds edge.max_ports_per_app (1024)") !=
             std::string::npos;
  EXPECT_TRUE(named) << o.errors[0].message;
  EXPECT_TRUE(applied_.empty());
}

TEST_F(ControllerTest, PrivateOriginsNeedAllowPrivateOrigins) {
  for (const char* origin : {"tcp://127.0.0.1:2022", "tcp://169.254.169.254:80", "tcp://[::1]:2022",
                             "tcp://[fe80::1]:22"}) {
    Outcome o = api_->create_app(R"({"protocol":"tcp/3000","origin_direct":[")" +
                                 std::string(origin) + R"("]})");
    ASSERT_FALSE(o.ok()) << origin;
    EXPECT_EQ(o.status, 400);
    EXPECT_EQ(first_code(o), 11002) << origin;
    EXPECT_NE(o.errors[0].message.find("api.allow_private_origins"), std::string::npos);
  }
  EXPECT_TRUE(
      api_->create_app(R"({"protocol":"tcp/3001","origin_direct":["tcp://10.20.30.40:22"]})")
          .ok());  // RFC 1918: a normal origin
  file_.api.allow_private_origins = true;
  open();
  Outcome o =
      api_->create_app(R"({"protocol":"tcp/3000","origin_direct":["tcp://127.0.0.1:2022"]})");
  EXPECT_TRUE(o.ok()) << o.errors[0].message;
  // Allowed on the edge host, an origin still may not be one of the edge's own listeners.
  o = api_->create_app(R"({"protocol":"tcp/3002","origin_direct":["tcp://127.0.0.1:22"]})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(first_code(o), 11002);
  EXPECT_NE(o.errors[0].message.find("is this edge's own listener (app \"ssh\""), std::string::npos)
      << o.errors[0].message;
}

TEST_F(ControllerTest, ARefusedPreflightChangesNothing) {
  int prepared = 0, abandoned = 0;
  applier_->set_preflight({[&](const config::Config& c, std::string* why) {
                             ++prepared;
                             if (c.apps.size() < 2) return true;
                             *why =
                                 "cannot listen on tcp 127.0.0.1:3000: bind: Address "
                                 "already in use";
                             return false;
                           },
                           [&] { ++abandoned; }});
  Outcome o = api_->create_app(R"({"protocol":"tcp/3000","origin_direct":["tcp://192.0.2.1:22"]})");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status, 409);
  EXPECT_EQ(first_code(o), 10009);
  EXPECT_NE(o.errors[0].message.find("127.0.0.1:3000: bind: Address already in use"),
            std::string::npos)
      << o.errors[0].message;
  EXPECT_EQ(prepared, 1);
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(api_->list_apps({}).result.size(), 1u);
  open();  // nothing was saved either
  EXPECT_EQ(api_->list_apps({}).result.size(), 1u);
  // SIGHUP: the same refusal, and the running config stays.
  config::Config next = file_;
  next.apps.push_back(next.apps[0]);
  next.apps[1].id = "web";
  next.apps[1].ports = {3000, 3000};
  applier_->set_preflight({[](const config::Config& c, std::string* why) {
                             *why = "cannot listen on tcp 127.0.0.1:3000";
                             return c.apps.size() < 2;
                           },
                           nullptr});
  std::vector<std::string> errors;
  EXPECT_FALSE(applier_->reload_file(next, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("tcp 127.0.0.1:3000"), std::string::npos) << errors[0];
  EXPECT_EQ(applier_->config().apps.size(), 1u);
  EXPECT_EQ(abandoned, 0);
}

TEST_F(ControllerTest, StoredAppWithoutItsCertificateLoadsAndIsReported) {
  std::string error;
  const std::string body =
      R"({"id":"tls","protocol":"tcp/4443","tls":"flexible","origin_direct":["tcp://192.0.2.1:443"],)"
      R"("tls_settings":{"certificates":[{"certificate":")" +
      dir_.path() + R"(/gone.pem","private_key":")" + dir_.path() + R"(/gone.key"}]}})";
  int64_t revision = 0;
  ASSERT_EQ(
      store_->put_if(Kind::kApp,
                     {kDefaultZone, "tls", body, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}, 0,
                     &revision, &error),
      WriteStatus::kOk)
      << error;
  open();  // a restart with the file gone: the edge starts, the app is there
  EXPECT_EQ(applier_->config().apps.size(), 2u);
  api_->set_app_status(
      [](const std::string& id) { return id == "tls" ? std::string("certificate gone") : ""; });
  Outcome got = api_->get_app("tls");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(got.messages[0].code, kNoteAppDisabled);
  EXPECT_NE(got.messages[0].message.find("is disabled: certificate gone"), std::string::npos);
  EXPECT_TRUE(api_->get_app("ssh").messages.empty());
  // Other writes still work; a write of this app with the file still gone is refused.
  EXPECT_TRUE(
      api_->create_app(R"({"protocol":"tcp/3000","origin_direct":["tcp://192.0.2.1:22"]})").ok());
  Outcome again = api_->patch_app("tls", R"({"proxy_protocol":"v1"})");
  EXPECT_FALSE(again.ok());
}

TEST_F(ControllerTest, StoredAppsThatNoLongerFitAreLeftOutNotFatal) {
  // Saved by an earlier version (or written into the store directly): tcp/1-65535, and an app
  // on api.listen's port. The edge must still start, with every app that fits.
  std::string error;
  int64_t revision = 0;
  const char* kTime = "2026-01-01T00:00:00Z";
  for (const auto& [id, body] : std::vector<std::pair<std::string, std::string>>{
           {"all", R"({"id":"all","protocol":"tcp/1-65535","origin_direct":["tcp://192.0.2.1:22"],
                       "edge_ips":{"type":"static","ips":["10.9.9.9"]}})"},
           {"good",
            R"({"id":"good","protocol":"tcp/3000","origin_direct":["tcp://192.0.2.1:22"]})"},
           {"onapi",
            R"({"id":"onapi","protocol":"tcp/8788","origin_direct":["tcp://192.0.2.1:22"]})"}})
    ASSERT_EQ(
        store_->put_if(Kind::kApp, {kDefaultZone, id, body, kTime, kTime}, 0, &revision, &error),
        WriteStatus::kOk)
        << error;
  open();
  const config::Config running = applier_->config();
  ASSERT_EQ(running.apps.size(), 2u);  // the file's ssh and "good"
  EXPECT_EQ(running.apps[1].id, "good");
  Outcome got = api_->get_app("all");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(got.messages[0].code, kNoteAppLeftOut);
  EXPECT_NE(got.messages[0].message.find("edge.max_ports_per_app"), std::string::npos)
      << got.messages[0].message;
  EXPECT_EQ(api_->get_app("onapi").messages.size(), 1u);
  EXPECT_EQ(api_->list_apps({}).result.size(), 4u);
  // Fixable and removable through the API.
  Outcome fixed = api_->patch_app("all", R"({"protocol":"tcp/4000-4010"})");
  ASSERT_TRUE(fixed.ok()) << fixed.errors[0].message;
  EXPECT_EQ(applier_->config().apps.size(), 3u);
  EXPECT_TRUE(api_->get_app("all").messages.empty());
  ASSERT_TRUE(api_->delete_app("onapi").ok());
  open();
  EXPECT_EQ(applier_->config().apps.size(), 3u);
}

}  // namespace
}  // namespace rampart::control
