// check_app_files: a usable certificate pair and CA file pass; every kind of unusable file
// (missing, a directory, a device, not PEM, a key of another certificate) gives the same message.
#include "control/app_files.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "test_support.h"

namespace rampart::control {
namespace {

using rampart::testing::TempDir;

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    write_pair("a");
    write_pair("b");
    std::FILE* f = std::fopen(path("junk.pem").c_str(), "w");
    std::fputs("not a certificate\n", f);
    std::fclose(f);
  }
  std::string path(const std::string& name) const { return dir_.file(name); }

  void write_pair(const std::string& name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("t"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    std::FILE* c = std::fopen(path(name + ".pem").c_str(), "w");
    PEM_write_X509(c, cert);
    std::fclose(c);
    std::FILE* k = std::fopen(path(name + ".key").c_str(), "w");
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  // The errors of an app with one certificate pair and an optional CA file.
  std::vector<config::ConfigError> check(const std::string& cert, const std::string& key,
                                         const std::string& ca = "") {
    config::App app;
    app.id = "t";
    app.tls_settings.certificates.push_back({cert, key});
    app.tls_settings.origin_ca_file = ca;
    std::vector<config::ConfigError> errors;
    const bool ok = check_app_files(app, &errors);
    EXPECT_EQ(ok, errors.empty());
    return errors;
  }

  TempDir dir_;
};

TEST_F(Files, UsableFilesPass) {
  EXPECT_TRUE(check(path("a.pem"), path("a.key"), path("b.pem")).empty());
}

TEST_F(Files, EveryUnusableFileGivesTheSameMessage) {
  std::set<std::string> messages;
  for (auto [cert, key] : std::vector<std::pair<std::string, std::string>>{
           {path("missing.pem"), path("a.key")},
           {path("a.pem"), path("missing.key")},
           {dir_.path(), path("a.key")},
           {"/dev/zero", path("a.key")},  // would never end if it were read as a stream
           {path("junk.pem"), path("a.key")},
           {path("a.pem"), path("junk.pem")},
           {path("a.pem"), path("b.key")},  // a key of another certificate
           {"/etc/shadow", path("a.key")}}) {
    auto errors = check(cert, key);
    ASSERT_EQ(errors.size(), 1u) << cert << " " << key;
    EXPECT_EQ(errors[0].path, "tls_settings.certificates[0]");
    messages.insert(errors[0].message);
  }
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_EQ(*messages.begin(), kUnusableCertificate);
  std::set<std::string> ca_messages;
  for (const std::string& ca :
       {path("missing.pem"), path("junk.pem"), dir_.path(), std::string("/dev/zero")}) {
    auto errors = check(path("a.pem"), path("a.key"), ca);
    ASSERT_EQ(errors.size(), 1u) << ca;
    EXPECT_EQ(errors[0].path, "tls_settings.origin_ca_file");
    ca_messages.insert(errors[0].message);
  }
  EXPECT_EQ(ca_messages.size(), 1u);
}

TEST(OpaqueFileErrors, ValidatorMessagesBecomeOnePerPair) {
  std::vector<config::ConfigError> errors = {
      {"tls_settings.certificates[0].certificate", "cannot read /x: No such file or directory"},
      {"tls_settings.certificates[0].private_key", "cannot read /x: Permission denied"},
      {"app \"a\".tls_settings.origin_ca_file", "cannot read /y: No such file or directory"},
      {"protocol", "invalid value"}};
  make_file_errors_opaque(&errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "tls_settings.certificates[0]");
  EXPECT_EQ(errors[0].message, kUnusableCertificate);
  EXPECT_EQ(errors[1].message, kUnusableCaFile);
  EXPECT_EQ(errors[2].message, "invalid value");
}

}  // namespace
}  // namespace rampart::control
