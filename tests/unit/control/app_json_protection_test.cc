// An API app's per-app protection override: the YAML schema in JSON, the file's messages,
// JSON pointers, the sparse round trip, PATCH keeping and null removing, resolution over the
// zone's protection.
#include <gtest/gtest.h>

#include "config/app_json.h"
#include "config/parse.h"

namespace rampart::config {
namespace {

using nlohmann::json;

const char* kBase = R"("protocol":"tcp/22","origin_direct":["tcp://192.0.2.1:22"])";

std::optional<App> decode(const std::string& protection, std::vector<ConfigError>* errors) {
  auto j =
      parse_json_object("{" + std::string(kBase) + ",\"protection\":" + protection + "}", *errors);
  if (!j) return std::nullopt;
  return decode_app(*j, *errors);
}

// The errors of the same per-app block in a config file, with the app's path prefix removed.
std::vector<std::string> yaml_messages(const std::string& protection_yaml) {
  LoadResult r = parse_yaml(
      "apps:\n  - protocol: tcp/22\n    origin_direct: [\"tcp://192.0.2.1:22\"]\n"
      "    protection: " +
      protection_yaml + "\n");
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    std::string path = e.path;
    if (path.rfind("apps[0].", 0) == 0) path = path.substr(8);
    out.push_back(path + ": " + e.message);
  }
  return out;
}

std::vector<std::string> json_messages(const std::string& protection_json) {
  std::vector<ConfigError> errors;
  EXPECT_FALSE(decode(protection_json, &errors));
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path + ": " + e.message);
  return out;
}

TEST(AppJsonProtection, DecodesOnlyTheFieldsGiven) {
  std::vector<ConfigError> errors;
  auto app = decode(R"({"per_ip":{"new_connections_per_second":2,"burst":2},
      "handshake_timeout":"3s","dry_run":["rate_limit"]})",
                    &errors);
  ASSERT_TRUE(app) << errors[0].to_string();
  ASSERT_TRUE(app->protection_override);
  EXPECT_FALSE(app->protection);  // resolved over the zone when merged
  const ProtectionOverride& o = *app->protection_override;
  EXPECT_EQ(o.per_ip.new_connections_per_second, 2u);
  EXPECT_EQ(o.per_ip.burst, 2u);
  EXPECT_FALSE(o.per_ip.max_connections);
  EXPECT_EQ(o.handshake_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o.dry_run, std::vector<std::string>{"rate_limit"});
  EXPECT_FALSE(o.max_connections);

  ProtectionConfig zone;
  zone.per_ip.max_connections = 7;
  zone.max_connections = 99;
  ProtectionConfig p = o.resolve(zone);
  EXPECT_EQ(p.per_ip.new_connections_per_second, 2u);
  EXPECT_EQ(p.per_ip.burst, 2u);
  EXPECT_EQ(p.per_ip.max_connections, 7u);  // inherited
  EXPECT_EQ(p.max_connections, 99u);
  EXPECT_EQ(p.dry_run, std::vector<std::string>{"rate_limit"});
}

TEST(AppJsonProtection, EchoIsSparseAndRoundTrips) {
  std::vector<ConfigError> errors;
  auto app = decode(R"({"per_ip":{"burst":5},"max_connections":10,
      "autoban":{"violations":3,"window":"20s"},"udp_reflection_ports":[53],"ipv6_prefix":56})",
                    &errors);
  ASSERT_TRUE(app) << errors[0].to_string();
  json echo = app_to_json(*app);
  EXPECT_EQ(echo["protection"], json::parse(R"({"per_ip":{"burst":5},"max_connections":10,
      "autoban":{"violations":3,"window":"20s"},"udp_reflection_ports":[53],"ipv6_prefix":56})"));
  auto again = decode_app(echo, errors);
  ASSERT_TRUE(again) << errors[0].to_string();
  EXPECT_EQ(*again, *app);
  // An empty override is kept (the zone's values, explicitly) and echoed as {}.
  auto empty = decode("{}", &errors);
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->protection_override);
  EXPECT_EQ(app_to_json(*empty)["protection"], json::object());
}

TEST(AppJsonProtection, PatchKeepsAndNullRemoves) {
  std::vector<ConfigError> errors;
  auto app = decode(R"({"per_ip":{"burst":5,"new_connections_per_second":2}})", &errors);
  ASSERT_TRUE(app);
  auto kept = decode_app(merge_app_patch(app_to_json(*app), json::parse(R"({"ip_firewall":true})")),
                         errors);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->protection_override, app->protection_override);
  auto raised = decode_app(
      merge_app_patch(app_to_json(*app), json::parse(R"({"protection":{"per_ip":{"burst":50}}})")),
      errors);
  ASSERT_TRUE(raised);
  EXPECT_EQ(raised->protection_override->per_ip.burst, 50u);
  EXPECT_EQ(raised->protection_override->per_ip.new_connections_per_second, 2u);  // merged
  auto removed =
      decode_app(merge_app_patch(app_to_json(*app), json::parse(R"({"protection":null})")), errors);
  ASSERT_TRUE(removed);
  EXPECT_FALSE(removed->protection_override);
  EXPECT_FALSE(app_to_json(*removed).contains("protection"));
  // A PUT body with "protection": null has no override either.
  auto put = decode("null", &errors);
  ASSERT_TRUE(put);
  EXPECT_FALSE(put->protection_override);
}

TEST(AppJsonProtection, SameMessagesAsTheConfigFile) {
  // Values refused by validate_protection and by the per-app block's own rules.
  EXPECT_EQ(json_messages(R"({"ipv6_prefix":0})"), yaml_messages("{ ipv6_prefix: 0 }"));
  EXPECT_EQ(json_messages(R"({"ipv6_prefix":129})"), yaml_messages("{ ipv6_prefix: 129 }"));
  EXPECT_EQ(json_messages(R"({"autoban":{"violations":3,"window":"0s"}})"),
            yaml_messages("{ autoban: { violations: 3, window: 0s } }"));
  EXPECT_EQ(json_messages(R"({"source_table_size":5})"), yaml_messages("{ source_table_size: 5 }"));
  EXPECT_EQ(json_messages(R"({"xdp":{"interface":"eth0"}})"),
            yaml_messages("{ xdp: { interface: eth0 } }"));
  EXPECT_EQ(json_messages(R"({"udp_reflection_ports":[0]})"),
            yaml_messages("{ udp_reflection_ports: [0] }"));
  EXPECT_EQ(json_messages(R"({"dry_run":["everything"]})"),
            yaml_messages("{ dry_run: [everything] }"));
}

TEST(AppJsonProtection, CodesAndPointers) {
  // Each body is refused with exactly one error; code 0 = not checked, pointer "" = not checked.
  struct Case {
    const char* body;
    int code;
    const char* pointer;
  };
  const Case cases[] = {
      {R"({"per_ip":{"burst":"many"}})", kErrInvalidValue, "/protection/per_ip/burst"},
      {R"({"per_ip":{"new_connections_per_second":4294967296}})", 0,
       "/protection/per_ip/new_connections_per_second"},
      {R"({"per_ip":{"burts":2}})", kErrUnknownField, "/protection/per_ip/burts"},
      {R"({"colour":"red"})", kErrUnknownField, ""},
      {R"({"ipv6_prefix":0})", kErrInvalidValue, "/protection/ipv6_prefix"},
      {R"({"dry_run":["acl",7]})", 0, "/protection/dry_run/1"},
      {R"([1])", 0, "/protection"},
  };
  for (const Case& c : cases) {
    std::vector<ConfigError> errors;
    EXPECT_FALSE(decode(c.body, &errors)) << c.body;
    ASSERT_EQ(errors.size(), 1u) << c.body;
    if (c.code != 0) EXPECT_EQ(errors[0].code, c.code) << c.body;
    if (*c.pointer != '\0') EXPECT_EQ(api_pointer(errors[0]), c.pointer) << c.body;
  }
}

}  // namespace
}  // namespace rampart::config
