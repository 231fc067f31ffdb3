// `rampart apps` client logic: URL handling, flag parsing into JSON bodies, envelope parsing and
// the human table.
#include <gtest/gtest.h>

#include "apiclient/app_table.h"
#include "apiclient/apps_args.h"
#include "apiclient/http_client.h"

namespace rampart::apiclient {
namespace {

using nlohmann::json;

AppsInvocation parse_ok(std::vector<std::string> args) {
  AppsInvocation inv;
  std::string why = parse_apps_args(args, &inv);
  EXPECT_EQ(why, "");
  return inv;
}

std::string parse_err(std::vector<std::string> args) {
  AppsInvocation inv;
  return parse_apps_args(args, &inv);
}

TEST(ApiUrl, Parse) {
  auto u = parse_api_url("http://127.0.0.1:8788");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->origin, "http://127.0.0.1:8788");
  EXPECT_EQ(u->prefix, "");
  EXPECT_EQ(apps_path(*u, "default"), "/client/v4/zones/default/spectrum/apps");
  EXPECT_EQ(apps_path(*u, "default", "abc"), "/client/v4/zones/default/spectrum/apps/abc");

  u = parse_api_url("https://api.example.com/client/v4/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->origin, "https://api.example.com");
  EXPECT_EQ(apps_path(*u, "z1"), "/client/v4/zones/z1/spectrum/apps");

  u = parse_api_url("http://[::1]:8788/edge");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->origin, "http://[::1]:8788");
  EXPECT_EQ(apps_path(*u, "default"), "/edge/client/v4/zones/default/spectrum/apps");
}

TEST(ApiUrl, Bad) {
  for (const char* bad :
       {"", "127.0.0.1:8788", "ftp://x", "http://", "http:///x", "http://h/x?y=1", "http://u@h"}) {
    std::string why;
    EXPECT_FALSE(parse_api_url(bad, &why).has_value()) << bad;
    EXPECT_NE(why.find("expected e.g. http://127.0.0.1:8788"), std::string::npos) << why;
  }
}

TEST(ApiUrl, EncodesSegments) {
  EXPECT_EQ(encode_segment("abc-1_2.3~"), "abc-1_2.3~");
  EXPECT_EQ(encode_segment("a/b c"), "a%2Fb%20c");
  auto u = parse_api_url("http://127.0.0.1:8788");
  EXPECT_EQ(apps_path(*u, "default", "../x"), "/client/v4/zones/default/spectrum/apps/..%2Fx");
}

TEST(AppsArgs, Actions) {
  EXPECT_EQ(parse_ok({"list"}).action, AppsAction::kList);
  EXPECT_EQ(parse_ok({"--help"}).action, AppsAction::kHelp);
  EXPECT_EQ(parse_ok({"list", "-h"}).action, AppsAction::kHelp);
  auto get =
      parse_ok({"get", "abc123", "--json", "--api", "http://h:1", "--zone", "z", "--token=t"});
  EXPECT_EQ(get.action, AppsAction::kGet);
  EXPECT_EQ(get.id, "abc123");
  EXPECT_EQ(get.output, OutputMode::kJson);
  EXPECT_EQ(get.api, "http://h:1");
  EXPECT_EQ(get.zone, "z");
  EXPECT_EQ(get.token, "t");
  EXPECT_EQ(parse_ok({"delete", "x", "-o", "json"}).output, OutputMode::kJson);
  EXPECT_EQ(parse_ok({"list", "--output=table"}).output, OutputMode::kTable);
}

TEST(AppsArgs, UsageErrors) {
  EXPECT_NE(parse_err({}).find("missing ACTION"), std::string::npos);
  EXPECT_NE(parse_err({"frobnicate"}).find("unknown action"), std::string::npos);
  EXPECT_NE(parse_err({"get"}).find("needs an app ID"), std::string::npos);
  EXPECT_NE(parse_err({"list", "extra"}).find("unexpected argument"), std::string::npos);
  EXPECT_NE(parse_err({"list", "--protocol", "tcp/22"}).find("unknown flag"), std::string::npos);
  EXPECT_NE(parse_err({"list", "--api"}).find("needs a value"), std::string::npos);
  EXPECT_NE(parse_err({"list", "-o", "yaml"}).find("not an output mode"), std::string::npos);
  EXPECT_NE(parse_err({"create"}).find("needs the app"), std::string::npos);
  EXPECT_NE(parse_err({"create", "--replace", "--protocol", "tcp/1"}).find("only applies"),
            std::string::npos);
  EXPECT_NE(parse_err({"create", "--ip-firewall", "maybe"}).find("not on/off"), std::string::npos);
  EXPECT_NE(parse_err({"create", "--edge-ip", "1.2.3.4", "--connectivity", "all"})
                .find("exclude each other"),
            std::string::npos);
  EXPECT_NE(parse_err({"create", "--set", "novalue"}).find("PATH=VALUE"), std::string::npos);
}

TEST(AppsArgs, CreateFlagsBuildSpectrumBody) {
  auto inv = parse_ok({"create",
                       "--protocol",
                       "tcp/22",
                       "--origin",
                       "tcp://192.0.2.1:22",
                       "--origin",
                       "tcp://[2001:db8::1]:22",
                       "--dns-name",
                       "ssh.example.com",
                       "--proxy-protocol",
                       "v2",
                       "--edge-ip",
                       "203.0.113.7",
                       "--ip-firewall",
                       "on",
                       "--tls",
                       "off",
                       "--validate",
                       "ssh",
                       "--set",
                       "timeouts.idle=2h",
                       "--set",
                       "load_balancing.health_check.rise=3"});
  json want = {
      {"protocol", "tcp/22"},
      {"origin_direct", {"tcp://192.0.2.1:22", "tcp://[2001:db8::1]:22"}},
      {"dns", {{"type", "CNAME"}, {"name", "ssh.example.com"}}},
      {"proxy_protocol", "v2"},
      {"edge_ips", {{"type", "static"}, {"ips", {"203.0.113.7"}}}},
      {"ip_firewall", true},
      {"tls", "off"},
      {"validate", "ssh"},
      {"timeouts", {{"idle", "2h"}}},
      {"load_balancing", {{"health_check", {{"rise", 3}}}}},
  };
  EXPECT_EQ(inv.fields, want) << inv.fields.dump();
  EXPECT_FALSE(inv.body_file.has_value());
}

TEST(AppsArgs, OriginDnsAndConnectivity) {
  auto inv = parse_ok({"create", "--protocol", "tcp/1000-1010", "--origin-dns", "o.example.com",
                       "--origin-port", "2000-2010", "--connectivity", "ipv4", "--dns-type",
                       "ADDRESS", "--dns-name", "a.example.com"});
  EXPECT_EQ(inv.fields["origin_dns"], json({{"name", "o.example.com"}}));
  EXPECT_EQ(inv.fields["origin_port"], "2000-2010");
  EXPECT_EQ(inv.fields["edge_ips"], json({{"type", "dynamic"}, {"connectivity", "ipv4"}}));
  EXPECT_EQ(inv.fields["dns"], json({{"type", "ADDRESS"}, {"name", "a.example.com"}}));
  EXPECT_EQ(parse_ok({"create", "--origin-port", "22"}).fields["origin_port"], 22);
}

TEST(AppsArgs, UpdateIsPartialUnlessReplace) {
  auto inv = parse_ok({"update", "abc", "--proxy-protocol", "v1", "--dns-name", "x.example"});
  EXPECT_EQ(inv.action, AppsAction::kUpdate);
  EXPECT_EQ(inv.id, "abc");
  EXPECT_FALSE(inv.replace);
  // No dns.type added on update: PATCH merges dns field by field.
  EXPECT_EQ(inv.fields, json({{"proxy_protocol", "v1"}, {"dns", {{"name", "x.example"}}}}));
  auto put = parse_ok({"update", "abc", "--json", "-", "--replace"});
  EXPECT_TRUE(put.replace);
  EXPECT_EQ(put.body_file, "-");
  EXPECT_EQ(put.output, OutputMode::kTable);
  EXPECT_EQ(parse_ok({"create", "--data=app.json"}).body_file, "app.json");
}

TEST(AppsArgs, OverlayMergesObjects) {
  json base = {{"protocol", "tcp/22"}, {"dns", {{"type", "CNAME"}, {"name", "a"}}}};
  json fields = {{"dns", {{"name", "b"}}}, {"tls", "off"}};
  json want = {{"protocol", "tcp/22"}, {"dns", {{"type", "CNAME"}, {"name", "b"}}}, {"tls", "off"}};
  EXPECT_EQ(overlay(base, fields), want);
}

TEST(Envelope, Parse) {
  auto env = parse_envelope(R"({"success":false,"errors":[{"code":11000,"message":"give one"}],
      "messages":["hello",{"code":1,"message":"note"}],"result":null})");
  ASSERT_TRUE(env);
  EXPECT_FALSE(env->success);
  ASSERT_EQ(env->errors.size(), 1u);
  EXPECT_EQ(env->errors[0].code, 11000);
  ASSERT_EQ(env->messages.size(), 2u);
  EXPECT_EQ(env->messages[0].message, "hello");
  EXPECT_EQ(env->messages[1].message, "note");
  EXPECT_EQ(error_lines(*env, 400), std::vector<std::string>{"error 11000: give one"});

  Envelope empty;
  EXPECT_EQ(error_lines(empty, 500)[0], "error: the API answered HTTP 500 without saying why");
  std::string why;
  EXPECT_FALSE(parse_envelope("<html>404</html>", &why));
  EXPECT_NE(why.find("not a JSON object"), std::string::npos);
  EXPECT_FALSE(parse_envelope(R"({"result":[]})", &why));
  EXPECT_NE(why.find("success"), std::string::npos);
}

TEST(AppTable, Columns) {
  json apps = json::array({{{"id", "0123456789abcdef0123456789abcdef"},
                            {"protocol", "tcp/22"},
                            {"dns", {{"type", "CNAME"}, {"name", "ssh.example.com"}}},
                            {"origin_direct", {"tcp://192.0.2.1:22", "tcp://192.0.2.2:22"}},
                            {"proxy_protocol", "off"},
                            {"modified_on", "2024-01-02T03:04:05Z"}},
                           {{"id", "b"},
                            {"protocol", "udp/53"},
                            {"origin_dns", {{"name", "dns.example.com"}}},
                            {"origin_port", 53}}});
  // Columns are as wide as their widest cell plus two spaces.
  auto pad = [](std::string s, size_t w) { return s + std::string(w + 2 - s.size(), ' '); };
  const size_t wid = 32, wproto = 8, wdns = 15, worigin = 37, wpp = 14;
  std::string want = pad("ID", wid) + pad("PROTOCOL", wproto) + pad("DNS", wdns) +
                     pad("ORIGIN", worigin) + pad("PROXY_PROTOCOL", wpp) + "MODIFIED\n" +
                     pad("0123456789abcdef0123456789abcdef", wid) + pad("tcp/22", wproto) +
                     pad("ssh.example.com", wdns) +
                     pad("tcp://192.0.2.1:22,tcp://192.0.2.2:22", worigin) + pad("off", wpp) +
                     "2024-01-02T03:04:05Z\n" + pad("b", wid) + pad("udp/53", wproto) +
                     pad("-", wdns) + pad("dns.example.com:53", worigin) + pad("-", wpp) + "-\n";
  EXPECT_EQ(app_table(apps), want);
  EXPECT_EQ(app_table(json::array()), "ID  PROTOCOL  DNS  ORIGIN  PROXY_PROTOCOL  MODIFIED\n");
  EXPECT_EQ(origin_summary(json::object()), "-");
}

}  // namespace
}  // namespace rampart::apiclient
