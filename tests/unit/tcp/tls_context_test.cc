// TlsContext: self-signed generation, certificate loading, SNI selection, reuse across reloads.
#include "tcp/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "test_support.h"

namespace rampart::tcp {
namespace {

using rampart::testing::TempDir;

// Writes a generated certificate and its key as PEM files; returns their config entry.
config::TlsCertificate write_pem(const TempDir& dir, const std::string& prefix,
                                 const SelfSignedCert& c) {
  config::TlsCertificate out{dir.file(prefix + ".pem"), dir.file(prefix + ".key")};
  FILE* f = std::fopen(out.certificate.c_str(), "w");
  PEM_write_X509(f, c.cert);
  std::fclose(f);
  f = std::fopen(out.private_key.c_str(), "w");
  PEM_write_PrivateKey(f, c.key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return out;
}

std::string common_name(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

config::App tls_app(const std::string& name, config::TlsMode mode = config::TlsMode::kFlexible) {
  config::App app;
  app.id = "tls-app";
  app.dns.name = name;
  app.tls = mode;
  return app;
}

TEST(SelfSigned, IsAnEcP256CertificateForTheNameValidFor90Days) {
  std::string error;
  auto c = generate_self_signed("ssh.example.com", 90, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(EVP_PKEY_get_base_id(c->key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(c->key), 256);
  EXPECT_EQ(common_name(c->cert), "ssh.example.com");
  EXPECT_EQ(X509_check_host(c->cert, "ssh.example.com", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(c->cert, "other.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_private_key(c->cert, c->key), 1);
  // Self-signed: its own key verifies it.
  EXPECT_EQ(X509_verify(c->cert, c->key), 1);
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c->cert), X509_get0_notAfter(c->cert)),
            1);
  EXPECT_EQ(days, 90);
  EXPECT_LE(X509_cmp_current_time(X509_get0_notBefore(c->cert)), 0);
}

TEST(SelfSigned, AnIpAddressGetsAnIpSubjectAltName) {
  std::string error;
  auto c = generate_self_signed("192.0.2.7", 90, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(X509_check_ip_asc(c->cert, "192.0.2.7", 0), 1);
}

TEST(SelfSigned, EachCertificateHasItsOwnKeyAndSerial) {
  std::string error;
  auto a = generate_self_signed("a.test", 90, &error);
  auto b = generate_self_signed("a.test", 90, &error);
  ASSERT_TRUE(a && b);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->cert), X509_get0_serialNumber(b->cert)), 0);
  EXPECT_NE(EVP_PKEY_eq(a->key, b->key), 1);
}

TEST(TlsContextBuild, WithoutCertificatesGeneratesOneForDnsNameAndWarns) {
  std::string error;
  std::vector<std::string> notes;
  auto t = TlsContext::build(tls_app("db.example.com"), nullptr, &error, &notes);
  ASSERT_TRUE(t) << error;
  ASSERT_TRUE(t->self_signed());
  EXPECT_EQ(t->certificate_count(), 1u);
  EXPECT_EQ(common_name(t->certificate(0)), "db.example.com");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("self-signed certificate for db.example.com"), std::string::npos);
  EXPECT_FALSE(t->tls_to_origin());  // flexible: plaintext to the origin
}

TEST(TlsContextBuild, ReloadKeepsTheSelfSignedCertificateWhileDnsNameIsTheSame) {
  std::string error;
  std::vector<std::string> notes;
  auto first = TlsContext::build(tls_app("db.example.com"), nullptr, &error, &notes);
  ASSERT_TRUE(first);
  notes.clear();
  auto again = TlsContext::build(tls_app("db.example.com", config::TlsMode::kFull), first.get(),
                                 &error, &notes);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->self_signed(), first->self_signed());
  EXPECT_EQ(X509_cmp(again->certificate(0), first->certificate(0)), 0);
  EXPECT_TRUE(notes.empty());  // said once, not at every reload
  EXPECT_TRUE(again->tls_to_origin());
  auto renamed = TlsContext::build(tls_app("other.example.com"), again.get(), &error, &notes);
  ASSERT_TRUE(renamed);
  EXPECT_NE(renamed->self_signed(), first->self_signed());
  EXPECT_EQ(common_name(renamed->certificate(0)), "other.example.com");
}

TEST(TlsContextBuild, SelectsTheCertificateByServerName) {
  TempDir dir;
  std::string error;
  auto a = generate_self_signed("tls.example.test", 90, &error);
  auto w = generate_self_signed("*.wild.test", 90, &error);
  auto b = generate_self_signed("b.example.test", 90, &error);
  ASSERT_TRUE(a && w && b);
  config::App app = tls_app("tls.example.test");
  app.tls_settings.certificates = {write_pem(dir, "a", *a), write_pem(dir, "w", *w),
                                   write_pem(dir, "b", *b)};
  std::vector<std::string> notes;
  auto t = TlsContext::build(app, nullptr, &error, &notes);
  ASSERT_TRUE(t) << error;
  EXPECT_FALSE(t->self_signed());
  EXPECT_TRUE(notes.empty());
  ASSERT_EQ(t->certificate_count(), 3u);
  EXPECT_EQ(t->select("tls.example.test"), 0u);
  EXPECT_EQ(t->select("x.wild.test"), 1u);
  EXPECT_EQ(t->select("X.WILD.TEST"), 1u);  // names compare case-insensitively
  EXPECT_EQ(t->select("b.example.test"), 2u);
  EXPECT_EQ(t->select("a.b.wild.test"), 0u);  // a wildcard covers one label only
  EXPECT_EQ(t->select("wild.test"), 0u);
  EXPECT_EQ(t->select("unknown.test"), 0u);  // the first is the default
  EXPECT_EQ(t->select(""), 0u);
}

TEST(TlsContextBuild, AKeyThatDoesNotMatchItsCertificateIsAnError) {
  TempDir dir;
  std::string error;
  auto a = generate_self_signed("a.test", 90, &error);
  auto b = generate_self_signed("b.test", 90, &error);
  ASSERT_TRUE(a && b);
  config::App app = tls_app("a.test");
  config::TlsCertificate ca = write_pem(dir, "a", *a);
  config::TlsCertificate cb = write_pem(dir, "b", *b);
  app.tls_settings.certificates = {{ca.certificate, cb.private_key}};
  std::vector<std::string> notes;
  EXPECT_FALSE(TlsContext::build(app, nullptr, &error, &notes));
  EXPECT_NE(error.find(cb.private_key), std::string::npos) << error;
}

TEST(TlsContextBuild, AFileThatIsNotPemIsAnError) {
  TempDir dir;
  FILE* f = std::fopen(dir.file("junk.pem").c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  config::App app = tls_app("a.test");
  app.tls_settings.certificates = {{dir.file("junk.pem"), dir.file("junk.pem")}};
  std::string error;
  std::vector<std::string> notes;
  EXPECT_FALSE(TlsContext::build(app, nullptr, &error, &notes));
  EXPECT_NE(error.find("junk.pem"), std::string::npos) << error;
}

TEST(TlsContextBuild, StrictLoadsTheOriginCaFile) {
  TempDir dir;
  std::string error;
  auto ca = generate_self_signed("ca.test", 90, &error);
  ASSERT_TRUE(ca);
  config::App app = tls_app("a.test", config::TlsMode::kStrict);
  app.tls_settings.origin_ca_file = write_pem(dir, "ca", *ca).certificate;
  std::vector<std::string> notes;
  auto t = TlsContext::build(app, nullptr, &error, &notes);
  ASSERT_TRUE(t) << error;
  EXPECT_TRUE(t->tls_to_origin());
  app.tls_settings.origin_ca_file = dir.file("missing.pem");
  EXPECT_FALSE(TlsContext::build(app, nullptr, &error, &notes));
  EXPECT_NE(error.find("origin_ca_file"), std::string::npos) << error;
}

TEST(TlsContextSockets, WritingToAVanishedPeerIsAnErrorNotSigpipe) {
  // SIGPIPE keeps its default action (terminate) here: the edge must never depend on a process
  // that ignores it.
  std::string error;
  std::vector<std::string> notes;
  auto t = TlsContext::build(tls_app("a.test", config::TlsMode::kFull), nullptr, &error, &notes);
  ASSERT_TRUE(t) << error;
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  ::close(sv[1]);
  SSL* ssl = t->new_origin_ssl(sv[0], "192.0.2.1");
  ASSERT_NE(ssl, nullptr);
  errno = 0;
  EXPECT_NE(SSL_do_handshake(ssl), 1);  // the ClientHello write fails with EPIPE
  EXPECT_EQ(SSL_get_error(ssl, -1), SSL_ERROR_SYSCALL);
  EXPECT_EQ(errno, EPIPE);
  SSL_free(ssl);
  ::close(sv[0]);
}

}  // namespace
}  // namespace rampart::tcp
