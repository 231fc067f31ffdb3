// TLS apps end to end, in process: an Edge with real workers in front of plain and TLS origin
// servers run by the test, and an OpenSSL client. Covers flexible/full/strict, integrity under
// backpressure, close_notify half-close, failed handshakes (no origin connection) and their
// events.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <csignal>
#include <random>

#include "core/socket_util.h"
#include "edge_test_util.h"
#include "tcp/tls_context.h"

namespace rampart::edge::testing {
namespace {

using nlohmann::json;

// A blocking TLS client connection (socket timeouts 3 s).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& sni) : fd_(connect_to(port)) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_.get());
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    ok_ = fd_.valid() && SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool ok() const { return ok_; }
  SSL* ssl() { return ssl_; }
  int fd() const { return fd_.get(); }
  X509* peer_cert() { return SSL_get0_peer_certificate(ssl_); }
  bool write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      size_t n = 0;
      if (SSL_write_ex(ssl_, s.data() + off, s.size() - off, &n) != 1) return false;
      off += n;
    }
    return true;
  }
  std::string read(size_t n) {
    std::string s(n, '\0');
    size_t off = 0;
    while (off < n) {
      size_t got = 0;
      if (SSL_read_ex(ssl_, s.data() + off, n - off, &got) != 1) return s.substr(0, off);
      off += got;
    }
    return s;
  }
  // Reads until close_notify/EOF.
  std::string read_all() {
    std::string s;
    char buf[16384];
    size_t got = 0;
    while (SSL_read_ex(ssl_, buf, sizeof buf, &got) == 1) s.append(buf, got);
    return s;
  }

 private:
  UniqueFd fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

// An origin that speaks TLS with a generated certificate for `name` and echoes.
class TlsOrigin {
 public:
  explicit TlsOrigin(const std::string& name, const std::string& dir) {
    std::string error;
    cert_ = tcp::generate_self_signed(name, 1, &error);
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert_->cert);
    SSL_CTX_use_PrivateKey(ctx_, cert_->key);
    ca_file_ = dir + "/origin-" + name + ".pem";
    FILE* f = std::fopen(ca_file_.c_str(), "w");
    PEM_write_X509(f, cert_->cert);
    std::fclose(f);
    server_ = std::make_unique<OriginServer>([this](int fd) {
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        char buf[16384];
        size_t n = 0;
        while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) {
          size_t w = 0;
          if (SSL_write_ex(ssl, buf, n, &w) != 1) break;
        }
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
    });
  }
  ~TlsOrigin() {
    server_.reset();
    SSL_CTX_free(ctx_);
  }
  uint16_t port() const { return server_->port(); }
  int accepted() const { return server_->accepted(); }
  const std::string& ca_file() const { return ca_file_; }

 private:
  std::shared_ptr<tcp::SelfSignedCert> cert_;
  SSL_CTX* ctx_ = nullptr;
  std::string ca_file_;
  std::unique_ptr<OriginServer> server_;
};

std::string common_name(X509* cert) {
  char buf[256] = {};
  if (cert != nullptr)
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

class TlsSessionTest : public EdgeTest {
 protected:
  // The test's own TLS peers (OpenSSL's socket BIO writes with write(2)) must survive the edge
  // closing on them; the edge itself never raises SIGPIPE (tls_context_test checks that).
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  // One app from `spec` plus the TLS lines in `extra` (YAML, 4-space indented).
  void start_tls(const AppSpec& spec, const std::string& extra) {
    std::string y =
        "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: 2\n  data_dir: " + data_dir() +
        "\n";
    y += "protection:\n  per_ip: { max_connections: 0, new_connections_per_second: 0, burst: 0 }"
         "\n  handshake_timeout: 1s\n";
    y += "apps:\n" + app_yaml(spec) + extra;
    config::LoadResult r = config::parse_yaml(y);
    ASSERT_TRUE(r.ok()) << y;
    cfg_ = *r.config;
    edge_ = std::make_unique<Edge>();
    std::string error;
    ASSERT_TRUE(edge_->start(cfg_, &error)) << error;
    wait_listening(spec.edge_port);
  }
};

TEST_F(TlsSessionTest, FlexibleEchoesMegabytesUnderBackpressureWithTlsEventFields) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start_tls({.id = "flex", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: flexible\n    dns: { type: CNAME, name: flex.example.test }\n");
  TlsClient c(port.port(), "flex.example.test");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(common_name(c.peer_cert()), "flex.example.test");  // generated for dns.name
  const uint16_t client_port = local_port(c.fd());
  const std::string data = random_bytes(4 << 20, 7);
  // Writes 4 MiB while nothing reads for a while: every buffer on the way fills up.
  std::thread writer([&] { EXPECT_TRUE(c.write(data)); });
  std::this_thread::sleep_for(300ms);
  std::string back = c.read(data.size());
  writer.join();
  EXPECT_TRUE(back == data) << "got " << back.size() << " bytes";
  SSL_shutdown(c.ssl());

  json disc = wait_event(data_dir(), [&](const json& e) {
    return e["Event"] == "disconnect" && e["ClientPort"] == client_port;
  });
  ASSERT_FALSE(disc.is_null()) << dump_events(data_dir());
  EXPECT_EQ(disc["Status"], 200);
  EXPECT_EQ(disc["ClientBytes"], data.size());
  EXPECT_EQ(disc["OriginBytes"], data.size());
  EXPECT_EQ(disc["ClientTlsStatus"], "OK");
  EXPECT_EQ(disc["ClientTlsProtocol"], "TLSv1.3");
  EXPECT_EQ(disc["ClientTlsClientHelloServerName"], "flex.example.test");
  EXPECT_NE(disc["ClientTlsCipher"], "UNK");
}

TEST_F(TlsSessionTest, CloseNotifyFromTheClientIsAHalfClose) {
  // The origin answers only after the client's end of stream.
  OriginServer origin([](int fd) {
    std::string got;
    read_to_eof(fd, &got);
    write_all(fd, "got " + std::to_string(got.size()));
  });
  ReservedPort port;
  start_tls({.id = "half", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: flexible\n");
  TlsClient c(port.port(), "");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.write("12345"));
  EXPECT_EQ(SSL_shutdown(c.ssl()), 0);  // close_notify sent, the reply still to come
  EXPECT_EQ(c.read_all(), "got 5");
  json disc = wait_event(data_dir(), [&](const json& e) { return e["Event"] == "disconnect"; });
  EXPECT_EQ(disc["Status"], 200) << dump_events(data_dir());
}

TEST_F(TlsSessionTest, FullAndStrictReachATlsOrigin) {
  TlsOrigin origin("origin.internal", data_dir());
  ReservedPort full, strict;
  start_tls({.id = "full", .edge_port = full.port(), .origin_ports = {origin.port()}},
            "    tls: full\n");
  TlsClient c(full.port(), "x");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.write("over two TLS legs"));
  EXPECT_EQ(c.read(17), "over two TLS legs");

  AppSpec s{.id = "strict", .edge_port = strict.port(), .origin_ports = {origin.port()}};
  std::string y =
      "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: 2\n  data_dir: " + data_dir() +
      "\napps:\n" + app_yaml(s) +
      "    tls: strict\n    tls_settings: { origin_ca_file: " + origin.ca_file() +
      ", origin_server_name: origin.internal }\n";
  config::LoadResult r = config::parse_yaml(y);
  ASSERT_TRUE(r.ok()) << y;
  reload_on_control(*edge_, *r.config);
  wait_listening(strict.port());
  TlsClient v(strict.port(), "y");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v.write("verified"));
  EXPECT_EQ(v.read(8), "verified");
}

TEST_F(TlsSessionTest, StrictRejectsAnOriginWithTheWrongName) {
  TlsOrigin origin("origin.internal", data_dir());
  ReservedPort port;
  start_tls({.id = "strict", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: strict\n    tls_settings: { origin_ca_file: " + origin.ca_file() +
                ", origin_server_name: other.internal }\n");
  TlsClient c(port.port(), "");
  ASSERT_TRUE(c.ok());  // the client's leg is fine
  c.write("x");
  EXPECT_EQ(c.read_all(), "");  // then the edge closes
  json err = wait_event(data_dir(), [](const json& e) { return e["Event"] == "originError"; });
  ASSERT_FALSE(err.is_null()) << dump_events(data_dir());
  EXPECT_EQ(err["Status"], 526);
  EXPECT_EQ(err["ClientTlsStatus"], "OK");
  EXPECT_TRUE(read_events(data_dir()).size() == 1) << dump_events(data_dir());  // no connect
}

TEST_F(TlsSessionTest, JunkOrSilenceIsATlsErrorAndNeverReachesTheOrigin) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start_tls({.id = "flex", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: flexible\n");
  UniqueFd junk = connect_to(port.port());
  ASSERT_TRUE(write_all(junk.get(), "SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_NE(wait_closed(junk.get()), EAGAIN);  // closed (FIN or reset), not left hanging
  json e = wait_event(data_dir(), [](const json& e) { return e["Event"] == "tlsError"; });
  ASSERT_FALSE(e.is_null()) << dump_events(data_dir());
  EXPECT_EQ(e["Status"], 443);
  EXPECT_EQ(e["ClientTlsStatus"], "HANDSHAKE_FAILED");
  EXPECT_EQ(e["OriginPort"], 0);

  UniqueFd silent = connect_to(port.port());  // handshake_timeout is 1s
  const uint16_t silent_port = local_port(silent.get());
  json t = wait_event(
      data_dir(),
      [&](const json& e) { return e["Event"] == "tlsError" && e["ClientPort"] == silent_port; },
      3000ms);
  ASSERT_FALSE(t.is_null()) << dump_events(data_dir());
  EXPECT_EQ(t["Status"], 443);
  EXPECT_EQ(origin.accepted(), 0);
  EXPECT_TRUE(wait_for([&] { return edge_->sessions() == 0; }));
}

TEST_F(TlsSessionTest, OriginResetMidStreamEndsTheSession) {
  OriginServer origin([](int fd) {
    char buf[4];
    read_exact(fd, buf, 4);
    core::set_linger_zero(fd);  // RST
  });
  ReservedPort port;
  start_tls({.id = "rst", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: flexible\n");
  TlsClient c(port.port(), "");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.write("ping"));
  EXPECT_EQ(c.read_all(), "");
  json disc = wait_event(data_dir(), [](const json& e) { return e["Event"] == "disconnect"; });
  ASSERT_FALSE(disc.is_null()) << dump_events(data_dir());
  EXPECT_EQ(disc["Status"], 444);
}

TEST_F(TlsSessionTest, ATlsErrorFromTheClientMidStreamIs490) {
  OriginServer origin(echo_handler);
  ReservedPort port;
  start_tls({.id = "mid", .edge_port = port.port(), .origin_ports = {origin.port()}},
            "    tls: flexible\n");
  TlsClient c(port.port(), "");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.write("ping"));
  EXPECT_EQ(c.read(4), "ping");
  // A forged application-data record: the edge cannot decrypt it.
  const char forged[] =
      "\x17\x03\x03\x00\x20"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  ASSERT_TRUE(write_all(c.fd(), forged, sizeof forged - 1));
  json disc = wait_event(data_dir(), [](const json& e) { return e["Event"] == "disconnect"; });
  ASSERT_FALSE(disc.is_null()) << dump_events(data_dir());
  EXPECT_EQ(disc["Status"], 490);
  EXPECT_EQ(disc["ClientBytes"], 4);
}

}  // namespace
}  // namespace rampart::edge::testing
