// tls_settings (Rampart extension): YAML and JSON forms, and the rules (TCP only, readable
// files, min_version 1.2 or 1.3).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/app_json.h"
#include "config/parse.h"
#include "test_support.h"
#include "test_util.h"

namespace rampart::config {
namespace {

// Two readable files standing in for a certificate and a key (only readability is checked).
class PemFiles {
 public:
  PemFiles() {
    for (const char* n : {"cert.pem", "key.pem"}) {
      FILE* f = std::fopen(dir_.file(n).c_str(), "w");
      std::fputs("-----BEGIN X-----\n", f);
      std::fclose(f);
    }
  }
  std::string cert() const { return dir_.file("cert.pem"); }
  std::string key() const { return dir_.file("key.pem"); }
  std::string missing() const { return dir_.file("missing.pem"); }

 private:
  rampart::testing::TempDir dir_;
};

const std::string kTcpApp =
    "{protocol: tcp/443, dns: {type: CNAME, name: tls.example.com}, origin_direct: "
    "[\"tcp://192.0.2.1:443\"], tls: strict, ";

TEST(TlsSettingsYaml, ParsesEveryField) {
  PemFiles f;
  LoadResult r = parse_app(kTcpApp + "tls_settings: {certificates: [{certificate: " + f.cert() +
                           ", private_key: " + f.key() + "}, {certificate: " + f.cert() +
                           ", private_key: " + f.key() +
                           "}], min_version: \"1.3\", origin_ca_file: " + f.cert() +
                           ", origin_server_name: origin.internal}}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const TlsSettings& t = r.config->apps[0].tls_settings;
  ASSERT_EQ(t.certificates.size(), 2u);
  EXPECT_EQ(t.certificates[0].certificate, f.cert());
  EXPECT_EQ(t.certificates[1].private_key, f.key());
  EXPECT_EQ(t.min_version, "1.3");
  EXPECT_EQ(t.origin_ca_file, f.cert());
  EXPECT_EQ(t.origin_server_name, "origin.internal");
}

TEST(TlsSettingsYaml, DefaultsWhenAbsent) {
  LoadResult r = parse_app(kTcpApp + "}");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const TlsSettings& t = r.config->apps[0].tls_settings;
  EXPECT_TRUE(t.certificates.empty());
  EXPECT_EQ(t.min_version, "1.2");
  EXPECT_TRUE(t.origin_ca_file.empty());
  EXPECT_TRUE(t.origin_server_name.empty());
}

TEST(TlsSettingsYaml, Errors) {
  PemFiles f;
  auto e = parse_app(kTcpApp + "tls_settings: {min_version: \"1.1\"}}").errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings.min_version", "expected \"1.2\" or \"1.3\""))
      << dump(e);
  e = parse_app(kTcpApp + "tls_settings: {certificates: [{certificate: " + f.missing() +
                ", private_key: " + f.key() + "}]}}")
          .errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings.certificates[0].certificate", "cannot read"))
      << dump(e);
  e = parse_app(kTcpApp + "tls_settings: {certificates: [{certificate: " + f.cert() + "}]}}")
          .errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings.certificates[0].private_key", "missing"))
      << dump(e);
  e = parse_app(kTcpApp + "tls_settings: {origin_ca_file: " + f.missing() + "}}").errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings.origin_ca_file", "cannot read")) << dump(e);
  e = parse_app(kTcpApp + "tls_settings: {certs: []}}").errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings.certs", "certificates")) << dump(e);
  e = parse_app(
          "{protocol: udp/53, origin_direct: [\"udp://192.0.2.1:53\"], tls_settings: "
          "{min_version: \"1.3\"}}")
          .errors;
  EXPECT_TRUE(has_error(e, "apps[0].tls_settings", "TCP only")) << dump(e);
}

TEST(TlsSettingsJson, RoundTripsThroughTheApi) {
  PemFiles f;
  std::vector<ConfigError> errors;
  auto j = parse_json_object(
      R"({"protocol":"tcp/443","dns":{"type":"CNAME","name":"tls.example.com"},
          "origin_direct":["tcp://192.0.2.1:443"],"tls":"full",
          "tls_settings":{"certificates":[{"certificate":")" +
          f.cert() + R"(","private_key":")" + f.key() +
          R"("}],"min_version":"1.3","origin_server_name":"o.internal"}})",
      errors);
  ASSERT_TRUE(j) << dump(errors);
  auto app = decode_app(*j, errors);
  ASSERT_TRUE(app) << dump(errors);
  EXPECT_EQ(app->tls_settings.certificates.size(), 1u);
  EXPECT_EQ(app->tls_settings.min_version, "1.3");
  EXPECT_EQ(app->tls_settings.origin_server_name, "o.internal");
  nlohmann::json out = app_to_json(*app);
  EXPECT_EQ(out["tls_settings"]["certificates"][0]["certificate"], f.cert());
  auto back = decode_app(out, errors);
  ASSERT_TRUE(back) << dump(errors);
  EXPECT_EQ(back->tls_settings, app->tls_settings);
}

TEST(TlsSettingsJson, ErrorsAndAbsence) {
  std::vector<ConfigError> errors;
  auto j = parse_json_object(
      R"({"protocol":"tcp/443","origin_direct":["tcp://192.0.2.1:443"],"tls":"full",
          "tls_settings":{"certificates":"x","min_version":"1.0"}})",
      errors);
  ASSERT_TRUE(j);
  EXPECT_FALSE(decode_app(*j, errors));
  EXPECT_TRUE(has_error(errors, "tls_settings.certificates", "expected a list")) << dump(errors);
  errors.clear();
  auto plain = parse_json_object(
      R"({"protocol":"tcp/22","origin_direct":["tcp://192.0.2.1:22"],"tls":"full"})", errors);
  auto app = decode_app(*plain, errors);
  ASSERT_TRUE(app) << dump(errors);
  EXPECT_FALSE(app_to_json(*app).contains("tls_settings"));  // defaults are not echoed
}

}  // namespace
}  // namespace rampart::config
