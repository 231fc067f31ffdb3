// store: and store_tls: (the fleet store), parsed and validated.
#include <gtest/gtest.h>

#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

TEST(StoreConfig, DefaultIsSqlite) {
  auto r = parse_yaml("api: { token: t }\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->store.url, "sqlite");
  EXPECT_FALSE(r.config->store.is_etcd());
}

TEST(StoreConfig, EtcdEndpoints) {
  auto r = parse_yaml("api: { token: t }\nstore: etcd://127.0.0.1:2379,[::1]:22379\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_TRUE(r.config->store.is_etcd());
  EXPECT_NE(first_error("store: mysql://x:1\n").find("store:"), std::string::npos);
  EXPECT_NE(first_error("store: etcd://127.0.0.1\n").find("not HOST:PORT"), std::string::npos);
  EXPECT_NE(first_error("store: etcd://h:99999\n").find("not HOST:PORT"), std::string::npos);
}

TEST(StoreConfig, Tls) {
  EXPECT_NE(first_error("store: sqlite\nstore_tls: { ca: /etc/hostname }\n").find("store_tls"),
            std::string::npos);
  EXPECT_NE(first_error("store: etcd://h:2379\nstore_tls: { certificate: /etc/hostname }\n")
                .find("store_tls.private_key"),
            std::string::npos);
  EXPECT_NE(first_error("store: etcd://h:2379\nstore_tls: { ca: /nonexistent.pem }\n")
                .find("cannot read"),
            std::string::npos);
  EXPECT_NE(first_error("store: etcd://h:2379\nstore_tls: { key: x }\n").find("store_tls"),
            std::string::npos);
  auto r = parse_yaml(
      "api: { token: t }\nstore: etcd://h:2379\nstore_tls: { ca: /etc/hostname, certificate: "
      "/etc/hostname, private_key: /etc/hostname }\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.config->store.tls_ca, "/etc/hostname");
}

}  // namespace
}  // namespace rampart::config
