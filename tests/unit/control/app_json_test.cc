// JSON decoding and validation of API apps and access rules: every error code, round trips.
#include "config/app_json.h"

#include <gtest/gtest.h>

#include "config/validate.h"

namespace rampart::config {
namespace {

using nlohmann::json;

// The create request of Spectrum's getting-started guide (origin changed).
const char* kSpecRequest = R"({"protocol":"tcp/22","dns":{"type":"CNAME","name":"ssh.example.com"},
  "origin_direct":["tcp://127.0.0.1:2222"],"proxy_protocol":"off","ip_firewall":true,"tls":"full",
  "edge_ips":{"type":"dynamic","connectivity":"all"},"traffic_type":"direct","argo_smart_routing":true})";

// Decodes `text`; returns the error codes (empty on success).
std::vector<int> codes(const std::string& text, App* out = nullptr) {
  std::vector<ConfigError> errors;
  auto j = parse_json_object(text, errors);
  if (j) {
    auto app = decode_app(*j, errors);
    if (app && out) *out = *app;
  }
  std::vector<int> c;
  for (const auto& e : errors) c.push_back(e.code);
  return c;
}

std::string app_with(const std::string& fields) {
  return R"({"protocol":"tcp/22",)" + fields + "}";
}

TEST(AppJson, SpecRequestDecodes) {
  App app;
  EXPECT_EQ(codes(kSpecRequest, &app), std::vector<int>{});
  EXPECT_EQ(app.proto, Proto::kTcp);
  EXPECT_EQ(app.ports.first, 22);
  EXPECT_EQ(app.tls, TlsMode::kFull);
  EXPECT_TRUE(app.argo_smart_routing);
  EXPECT_TRUE(app.ip_firewall);
  ASSERT_EQ(app.origin_direct.size(), 1u);
  EXPECT_EQ(app.origin_direct[0].ports.first, 2222);
  EXPECT_EQ(app.id.size(), 32u);  // generated
  EXPECT_EQ(app.dns.name, "ssh.example.com");
}

TEST(AppJson, RoundTrip) {
  App app;
  ASSERT_EQ(codes(R"({"protocol":"tcp/1000-1010","origin_dns":{"name":"o.example.com","ttl":60},
      "origin_port":"3000-3010","validate":"ssh",
      "load_balancing":{"policy":"hash","health_check":{"interval":"3s","timeout":"1s"}},
      "timeouts":{"connect":"2s","idle":600},"edge_ips":{"type":"static","ips":["127.0.0.1"]},
      "kernel_relay":"off"})",
                  &app),
            std::vector<int>{});
  std::vector<ConfigError> errors;
  auto again = decode_app(app_to_json(app), errors);
  ASSERT_TRUE(again) << (errors.empty() ? "" : errors[0].to_string());
  EXPECT_EQ(*again, app);
  EXPECT_EQ(app.timeouts.idle, std::chrono::seconds(600));
  EXPECT_EQ(app.load_balancing.policy, LbPolicy::kHash);
  EXPECT_EQ(app.kernel_relay, KernelRelay::kOff);
}

TEST(AppJson, OriginBothOrNeitherIs11000) {
  EXPECT_EQ(codes(R"({"protocol":"tcp/22"})"), std::vector<int>{kErrOriginConfig});
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://192.0.2.1:22"],
                               "origin_dns":{"name":"a.example.com"},"origin_port":22)")),
            std::vector<int>{kErrOriginConfig});
}

TEST(AppJson, BadOriginIs11002) {
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://2001:db8::1:22"])")),
            std::vector<int>{kErrOriginAddress});
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://host.example.com:22"])")),
            std::vector<int>{kErrOriginAddress});
  EXPECT_EQ(codes(app_with(R"("origin_direct":["udp://192.0.2.1:22"])")),
            std::vector<int>{kErrOriginAddress});
  EXPECT_EQ(codes(app_with(R"("origin_direct":[22])")), std::vector<int>{kErrOriginAddress});
  EXPECT_EQ(codes(app_with(R"("origin_direct":"tcp://192.0.2.1:22")")),
            std::vector<int>{kErrOriginAddress});
}

TEST(AppJson, BadOriginDnsIs11001) {
  EXPECT_EQ(codes(app_with(R"("origin_dns":{"name":"a.example.com"})")),
            std::vector<int>{kErrOriginDns});  // no origin_port
  EXPECT_EQ(codes(app_with(R"("origin_dns":{"name":"bad name"},"origin_port":22)")),
            std::vector<int>{kErrOriginDns});
  EXPECT_EQ(
      codes(app_with(R"("origin_dns":{"name":"a.example.com","type":"SRV"},"origin_port":22)")),
      std::vector<int>{kErrOriginDns});
  EXPECT_EQ(codes(app_with(R"("origin_dns":{"name":"a.example.com"},"origin_port":"x")")),
            std::vector<int>{kErrOriginDns});
}

TEST(AppJson, BadDnsIs11004) {
  EXPECT_EQ(codes(app_with(R"("dns":{"type":"TXT","name":"a.example.com"},
                               "origin_direct":["tcp://192.0.2.1:22"])")),
            std::vector<int>{kErrDns});
  EXPECT_EQ(codes(app_with(R"("dns":{"type":"CNAME","name":"-bad-"},
                               "origin_direct":["tcp://192.0.2.1:22"])")),
            std::vector<int>{kErrDns});
}

TEST(AppJson, UnknownFieldIs10012) {
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://192.0.2.1:22"],"colour":"red")")),
            std::vector<int>{kErrUnknownField});
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://192.0.2.1:22"],"dns":{"name":"a.b","x":1})")),
            std::vector<int>{kErrUnknownField});
}

TEST(AppJson, WrongTypesAndValuesAre10001) {
  const std::string o = R"("origin_direct":["tcp://192.0.2.1:22"],)";
  EXPECT_EQ(codes(app_with(o + R"("ip_firewall":"yes")")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("tls":"maybe")")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("proxy_protocol":2)")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("proxy_protocol":"simple")")),
            std::vector<int>{kErrInvalidValue});  // simple is UDP only
  EXPECT_EQ(codes(app_with(o + R"("timeouts":{"idle":"forever"})")),
            std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("traffic_type":"ftp")")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("kernel_relay":"always")")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("virtual_network_id":7)")), std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(app_with(o + R"("protection":{"per_ip":{"burst":-1}})")),
            std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(R"({"protocol":"sctp/22","origin_direct":["tcp://192.0.2.1:22"]})"),
            std::vector<int>{kErrInvalidValue});
  EXPECT_EQ(codes(R"({"protocol":"udp/53","origin_direct":["udp://192.0.2.1:53"],"tls":"full"})"),
            std::vector<int>{kErrInvalidValue});
}

TEST(AppJson, MalformedJsonIs6007) {
  EXPECT_EQ(codes("{"), std::vector<int>{kErrMalformedJson});
  EXPECT_EQ(codes("[1,2]"), std::vector<int>{kErrMalformedJson});
  EXPECT_EQ(codes(""), std::vector<int>{kErrMalformedJson});
  EXPECT_EQ(codes(std::string(100, '[') + std::string(100, ']')),
            std::vector<int>{kErrMalformedJson});
  EXPECT_EQ(codes("{\"protocol\":\"\xff\"}"), std::vector<int>{kErrMalformedJson});
}

TEST(AppJson, ReadOnlyFieldsIgnored) {
  App app;
  EXPECT_EQ(codes(app_with(R"("origin_direct":["tcp://192.0.2.1:22"],"created_on":"x",
                               "modified_on":"y","source":"api","id":"myapp")"),
                  &app),
            std::vector<int>{});
  EXPECT_EQ(app.id, "myapp");
}

TEST(AppJson, PatchMergesAndSwitchesOrigin) {
  App app;
  ASSERT_EQ(
      codes(
          app_with(
              R"("origin_direct":["tcp://192.0.2.1:22"],"dns":{"type":"CNAME","name":"a.example.com"})"),
          &app),
      std::vector<int>{});
  json merged =
      merge_app_patch(app_to_json(app), json::parse(R"({"origin_dns":{"name":"o.example.com"},
      "origin_port":22,"dns":{"name":"b.example.com"}})"));
  std::vector<ConfigError> errors;
  auto patched = decode_app(merged, errors);
  ASSERT_TRUE(patched) << errors[0].to_string();
  EXPECT_TRUE(patched->origin_direct.empty());
  EXPECT_EQ(patched->origin_dns->name, "o.example.com");
  EXPECT_EQ(patched->dns.type, "CNAME");
  EXPECT_EQ(patched->dns.name, "b.example.com");
  EXPECT_EQ(patched->id, app.id);
}

TEST(RuleJson, DecodeAndErrors) {
  std::vector<ConfigError> errors;
  auto r = decode_rule(json::parse(R"({"mode":"block","configuration":{"target":"ip_range",
      "value":"198.51.100.0/24"},"notes":"abusive"})"),
                       errors);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->target, AccessTarget::kIpRange);
  EXPECT_EQ(r->id.size(), 32u);
  EXPECT_EQ(rule_to_json(*r)["configuration"]["value"], "198.51.100.0/24");
  errors.clear();
  EXPECT_FALSE(decode_rule(json::parse(R"({"mode":"challenge","configuration":{"target":"ip",
      "value":"1.2.3.4"}})"),
                           errors));
  EXPECT_FALSE(decode_rule(json::parse(R"({"mode":"block","configuration":{"target":"ip",
      "value":"1.2.3"}})"),
                           errors));
  EXPECT_FALSE(decode_rule(json::parse(R"({"mode":"block"})"), errors));
  EXPECT_FALSE(decode_rule(json::parse(R"({"mode":"block","configuration":{"target":"ip",
      "value":"1.2.3.4"},"extra":1})"),
                           errors));
  for (const auto& e : errors) EXPECT_NE(e.code, 0) << e.to_string();
}

}  // namespace
}  // namespace rampart::config
