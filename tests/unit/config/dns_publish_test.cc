// The `dns_publish` section and edge.public_ips: parsing, validation, the name rules and the
// secret file (docs/dns_publish.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/dns_publish_config.h"
#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

TEST(DnsPublishConfig, OffByDefault) {
  LoadResult r = parse_yaml("");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_FALSE(r.config->dns_publish.enabled());
  EXPECT_TRUE(r.config->edge.public_ips.empty());
  EXPECT_TRUE(dns_publish_notes(*r.config).empty());
}

TEST(DnsPublishConfig, EveryField) {
  LoadResult r = parse_yaml(R"(
edge: { public_ips: ["203.0.113.7", "2001:db8::7"] }
dns_publish:
  server: "[2001:db8::53]:5353"
  zone: example.com.
  tsig: { name: rampart, algorithm: hmac-sha512, secret_file: /etc/rampart/tsig.key }
  ttl: 30
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const DnsPublishConfig& d = r.config->dns_publish;
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d.server, "[2001:db8::53]:5353");
  EXPECT_EQ(d.zone, "example.com.");
  EXPECT_EQ(d.tsig_name, "rampart");
  EXPECT_EQ(d.tsig_algorithm, "hmac-sha512");
  EXPECT_EQ(d.tsig_secret_file, "/etc/rampart/tsig.key");
  EXPECT_EQ(d.ttl, 30u);
  ASSERT_EQ(r.config->edge.public_ips.size(), 2u);
  EXPECT_EQ(r.config->edge.public_ips[1].to_string(), "2001:db8::7");
}

TEST(DnsPublishConfig, Errors) {
  LoadResult r = parse_yaml(R"(
edge: { public_ips: ["203.0.113.300"] }
dns_publish:
  server: "ns.example.com:53"
  zone: "exa mple.com"
  tsig: { name: "", algorithm: hmac-sha3, secret: x }
  ttl: 0
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "edge.public_ips[0]", "203.0.113.300")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.server", "192.0.2.53:53")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.zone", "not a zone name")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.tsig.name", "key name")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.tsig.algorithm", "hmac-sha256")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.tsig.secret_file", "missing")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "dns_publish.ttl", "1-86400")) << dump(r.errors);
  LoadResult no_server = parse_yaml("dns_publish: { zone: example.com }\n");
  EXPECT_TRUE(has_error(no_server.errors, "dns_publish.server", "missing"))
      << dump(no_server.errors);
}

TEST(DnsPublishConfig, NameRules) {
  EXPECT_EQ(fqdn("SSH.Example.com"), "ssh.example.com.");
  EXPECT_EQ(fqdn("ssh.example.com."), "ssh.example.com.");
  EXPECT_EQ(fqdn(""), "");
  EXPECT_TRUE(is_dns_name("a-b_c.example.com."));
  EXPECT_TRUE(is_dns_name("*.example.com"));
  EXPECT_FALSE(is_dns_name("a..example.com"));
  EXPECT_FALSE(is_dns_name("a b.example.com"));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(is_dns_name("."));
  EXPECT_TRUE(in_zone("ssh.Example.com", "example.COM."));
  EXPECT_TRUE(in_zone("example.com.", "example.com"));
  EXPECT_FALSE(in_zone("notexample.com", "example.com"));
  EXPECT_FALSE(in_zone("example.org", "example.com"));
  EXPECT_FALSE(in_zone("com", "example.com"));
}

TEST(DnsPublishConfig, Server) {
  auto s = parse_dns_server("192.0.2.53");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ip.to_string(), "192.0.2.53");
  EXPECT_EQ(s->port, 53);
  s = parse_dns_server("192.0.2.53:5300");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 5300);
  s = parse_dns_server("[2001:db8::53]:54");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ip.to_string(), "2001:db8::53");
  EXPECT_EQ(s->port, 54);
  s = parse_dns_server("2001:db8::53");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 53);
  for (const char* bad : {"", "ns.example.com", "192.0.2.53:", "192.0.2.53:0", "192.0.2.53:65536",
                          "[2001:db8::53", "[2001:db8::53]x", "0.0.0.0:53", "192.0.2.53:5x"})
    EXPECT_FALSE(parse_dns_server(bad)) << bad;
}

class SecretFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rampart-tsig-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(SecretFile, Base64AloneWhitespaceIgnored) {
  write("  c2VjcmV0LWtleS1mb3ItdGVzdHM=\n");
  std::string secret, error;
  ASSERT_TRUE(read_tsig_secret(path_, &secret, &error)) << error;
  EXPECT_EQ(secret, "c2VjcmV0LWtleS1mb3ItdGVzdHM=");
}

TEST_F(SecretFile, RefusedWithoutShowingTheSecret) {
  std::string secret, error;
  write("key \"rampart\" { secret \"hunter2hunter2\"; };\n");
  EXPECT_FALSE(read_tsig_secret(path_, &secret, &error));
  EXPECT_NE(error.find("base64 secret alone"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  write("");
  EXPECT_FALSE(read_tsig_secret(path_, &secret, &error));
  EXPECT_FALSE(read_tsig_secret(path_ + ".missing", &secret, &error));
  EXPECT_NE(error.find("secret_file"), std::string::npos) << error;
  EXPECT_TRUE(secret.empty());
}

TEST(DnsPublishConfig, NotesNameAppsOutsideTheZoneAndMissingPublicIps) {
  LoadResult r = parse_yaml(R"(
dns_publish: { server: 192.0.2.53, zone: example.com, tsig: { name: k, secret_file: /k } }
apps:
  - { id: out, protocol: tcp/22, dns: { type: CNAME, name: ssh.example.org }, origin_direct: ["tcp://192.0.2.1:22"] }
  - { id: in, protocol: tcp/23, dns: { type: CNAME, name: ssh.example.com }, origin_direct: ["tcp://192.0.2.1:22"] }
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  auto notes = dns_publish_notes(*r.config);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("ssh.example.org is outside dns_publish.zone example.com."),
            std::string::npos)
      << notes[0];
  EXPECT_NE(notes[1].find("edge.public_ips is empty"), std::string::npos) << notes[1];
}

}  // namespace
}  // namespace rampart::config
