// api.* hardening knobs and fleet:, parsed and validated; resolve_credentials: tokens from the
// config or their files, the minimum length, printable characters, a fleet token of its own.
#include "config/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/file_read.h"
#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

std::string resolve_error(const std::string& yaml, Credentials* out = nullptr) {
  auto r = parse_yaml(yaml);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.errors[0].to_string());
  if (!r.ok()) return "parse";
  Credentials c;
  std::vector<ConfigError> errors;
  bool ok = resolve_credentials(*r.config, &c, &errors);
  EXPECT_EQ(ok, errors.empty());
  if (out) *out = c;
  return errors.empty() ? "" : errors[0].to_string();
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/rampart-cred-XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      (void)!write(fd, content.data(), content.size());
      close(fd);
    }
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ApiHardeningConfig, DefaultsAndValues) {
  auto r = parse_yaml(
      "api: { token: t, request_timeout: 3s, keepalive_timeout: 0s, max_connections: 64, "
      "max_connections_per_source: 4, "
      "server_name: [edge1.example.net, \"*.example.org\"] }\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.config->api.request_timeout, std::chrono::seconds(3));
  EXPECT_EQ(r.config->api.keepalive_timeout.count(), 0);
  EXPECT_EQ(r.config->api.max_connections, 64u);
  EXPECT_EQ(r.config->api.max_connections_per_source, 4u);
  EXPECT_EQ(r.config->api.server_name.size(), 2u);
  auto d = parse_yaml("api: { token: t }\n");
  EXPECT_EQ(d.config->api.request_timeout, std::chrono::seconds(10));
  EXPECT_EQ(d.config->api.max_connections, 256u);
  EXPECT_EQ(d.config->api.max_connections_per_source, 32u);
  EXPECT_NE(first_error("api: { request_timeout: 0s }\n").find("api.request_timeout"),
            std::string::npos);
  EXPECT_NE(first_error("api: { max_connections: 2 }\n").find("api.max_connections"),
            std::string::npos);
  EXPECT_NE(first_error("api: { server_name: [\"http://x\"] }\n").find("api.server_name[0]"),
            std::string::npos);
  EXPECT_NE(first_error("api: { server_name: [\"a.*.b\"] }\n").find("api.server_name[0]"),
            std::string::npos);
  EXPECT_NE(first_error("fleet: { token: abcdefabcdefabcdef }\n").find("only used with store"),
            std::string::npos);
  EXPECT_NE(first_error("store: etcd://h:1\nfleet: { ca_file: /nonexistent.pem }\n")
                .find("fleet.ca_file"),
            std::string::npos);
}

TEST(Credentials, MinimumLengthAndCharacters) {
  EXPECT_EQ(resolve_error("api: { token: bench-token-0123456789 }\n"), "");
  EXPECT_EQ(resolve_error("api: { token: test-token-rpt123 }\n"), "");
  std::string e = resolve_error("api: { token: t }\n");
  EXPECT_NE(e.find("api.token: the token is 1 characters long"), std::string::npos) << e;
  EXPECT_NE(e.find("at least 16"), std::string::npos) << e;
  EXPECT_NE(resolve_error("api: { token: \"abcdefgh ijklmnopq\" }\n").find("printable"),
            std::string::npos);
  EXPECT_NE(resolve_error("edge: { colo: X }\n").find("api.token: the API needs a token"),
            std::string::npos);
}

TEST(Credentials, TokenFiles) {
  TempFile good("  file-token-0123456789abcdef \nsecond line\n");
  Credentials c;
  EXPECT_EQ(resolve_error("api: { token_file: " + good.path() + " }\n", &c), "");
  EXPECT_EQ(c.api_token, "file-token-0123456789abcdef");
  TempFile short_one("short\n");
  std::string e = resolve_error("api: { token_file: " + short_one.path() + " }\n");
  EXPECT_NE(e.find("api.token_file: the token in " + short_one.path() + " is 5 characters"),
            std::string::npos)
      << e;
  EXPECT_NE(resolve_error("api: { token_file: /nonexistent/token }\n").find("cannot read"),
            std::string::npos);
  // A device or a FIFO is refused without blocking.
  // (the config check refuses it first; read_token_file on its own too)
  EXPECT_NE(first_error("api: { token_file: /dev/zero }\n").find("not a regular file"),
            std::string::npos);
  std::string token, error;
  EXPECT_FALSE(read_token_file("/dev/zero", &token, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
}

// One limit for token files: what validate_api lets through, read_token_file reads whole.
TEST(Credentials, TokenFileLimitIsTheConfigCheckOne) {
  const std::string token = "file-token-0123456789abcdef";
  std::string padding(kMaxSecretFileBytes - token.size() - 1, '#');
  TempFile at_limit(token + "\n" + padding);
  std::string got, error;
  ASSERT_TRUE(read_token_file(at_limit.path(), &got, &error)) << error;
  EXPECT_EQ(got, token);
  EXPECT_TRUE(parse_yaml("api: { token_file: " + at_limit.path() + " }\n").ok());
  TempFile over(token + "\n" + padding + "#");
  EXPECT_FALSE(read_token_file(over.path(), &got, &error));
  EXPECT_NE(error.find("over the 64.0 KiB limit"), std::string::npos) << error;
  EXPECT_NE(first_error("api: { token_file: " + over.path() + " }\n").find("64.0 KiB"),
            std::string::npos);
}

TEST(Credentials, FleetTokenOfItsOwn) {
  const std::string head = "api: { token: admin-token-0123456789 }\nstore: etcd://h:1\n";
  Credentials c;
  EXPECT_EQ(resolve_error(head + "fleet: { token: fleet-token-0123456789 }\n", &c), "");
  EXPECT_EQ(c.fleet_token, "fleet-token-0123456789");
  EXPECT_NE(resolve_error(head + "fleet: { token: admin-token-0123456789 }\n")
                .find("fleet.token: is the same as the API token"),
            std::string::npos);
  EXPECT_NE(resolve_error(head + "fleet: { token: short }\n").find("fleet.token"),
            std::string::npos);
  EXPECT_EQ(resolve_error(head, &c), "");
  EXPECT_EQ(c.fleet_token, "");
}

TEST(ApiTokens, ScopedTokensAndSessionTimeouts) {
  TempFile file("viewer-file-token-0123456789\n");
  auto r = parse_yaml(
      "api:\n"
      "  token: admin-token-0123456789\n"
      "  session_timeout: 8h\n"
      "  session_idle_timeout: 15m\n"
      "  tokens:\n"
      "    - { name: viewer, token_file: " +
      file.path() +
      ", scope: read }\n"
      "    - { name: ops, token: ops-token-0123456789, scope: write }\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  const ApiConfig& a = r.config->api;
  EXPECT_EQ(a.session_timeout, std::chrono::hours(8));
  EXPECT_EQ(a.session_idle_timeout, std::chrono::minutes(15));
  ASSERT_EQ(a.tokens.size(), 2u);
  EXPECT_EQ(a.tokens[0].scope, TokenScope::kRead);
  EXPECT_STREQ(to_string(a.tokens[1].scope), "write");
  Credentials c;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(resolve_credentials(*r.config, &c, &errors)) << errors[0].to_string();
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0],
            (ScopedToken{"viewer", "viewer-file-token-0123456789", TokenScope::kRead}));
  EXPECT_EQ(c.tokens[1], (ScopedToken{"ops", "ops-token-0123456789", TokenScope::kWrite}));
  auto d = parse_yaml("api: { token: t }\n");
  EXPECT_EQ(d.config->api.session_timeout, std::chrono::hours(12));
  EXPECT_EQ(d.config->api.session_idle_timeout, std::chrono::hours(1));
  EXPECT_TRUE(parse_yaml("api: { token: t, session_idle_timeout: 0s }\n").ok());
}

TEST(ApiTokens, Refusals) {
  const std::string head = "api:\n  token: admin-token-0123456789\n";
  EXPECT_NE(first_error(head + "  tokens: [{ name: v, token: viewer-token-0123456789 }]\n")
                .find("api.tokens[0].scope: missing; expected one of: read, write"),
            std::string::npos);
  EXPECT_NE(first_error(head + "  tokens: [{ name: v, token: x, scope: admin }]\n")
                .find("api.tokens[0].scope"),
            std::string::npos);
  EXPECT_NE(first_error(head + "  tokens: [{ token: viewer-token-0123456789, scope: read }]\n")
                .find("api.tokens[0].name: missing"),
            std::string::npos);
  EXPECT_NE(first_error(head + "  tokens: [{ name: \"a b\", token: x, scope: read }]\n")
                .find("api.tokens[0].name"),
            std::string::npos);
  EXPECT_NE(
      first_error(head + "  tokens: [{ name: v, token: x, scope: read }, { name: v, token: y, "
                         "scope: read }]\n")
          .find("api.tokens[1].name: \"v\" is listed twice"),
      std::string::npos);
  EXPECT_NE(first_error(head + "  tokens: [{ name: v, token: x, token_file: /f, scope: read }]\n")
                .find("api.tokens[0].token_file: both"),
            std::string::npos);
  EXPECT_NE(first_error("api: { token: t, session_timeout: 10s }\n").find("api.session_timeout"),
            std::string::npos);
  EXPECT_NE(first_error("api: { token: t, session_idle_timeout: 40d }\n")
                .find("api.session_idle_timeout"),
            std::string::npos);
  EXPECT_NE(resolve_error(head + "  tokens: [{ name: v, scope: read }]\n")
                .find("api.tokens[0].token: missing"),
            std::string::npos);
  EXPECT_NE(resolve_error(head + "  tokens: [{ name: v, token: short, scope: read }]\n")
                .find("api.tokens[0].token: the token is 5 characters long"),
            std::string::npos);
  // One token, one scope: never the admin token again, nor one given twice, nor the fleet's.
  EXPECT_NE(resolve_error(head + "  tokens: [{ name: v, token: admin-token-0123456789, scope: "
                                 "read }]\n")
                .find("api.tokens[0].token: is the same as api.token"),
            std::string::npos);
  EXPECT_NE(
      resolve_error(head + "  tokens: [{ name: a, token: same-token-0123456789, scope: read }, "
                           "{ name: b, token: same-token-0123456789, scope: write }]\n")
          .find("api.tokens[1].token"),
      std::string::npos);
  EXPECT_NE(
      resolve_error(head + "  tokens: [{ name: a, token: same-token-0123456789, scope: read }]\n"
                           "store: etcd://h:1\nfleet: { token: same-token-0123456789 }\n")
          .find("fleet.token: is the same as the API token"),
      std::string::npos);
}

}  // namespace
}  // namespace rampart::config
