#include "guard/validate.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rampart::guard {
namespace {

using Bytes = std::vector<uint8_t>;

std::string fixture_dir() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind('/')) + "/fixtures/";
}

Bytes fixture_bytes(const std::string& name) {
  std::ifstream in(fixture_dir() + name, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes str(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

using Fn = Validation (*)(const uint8_t*, size_t);

Validation run(Fn f, const Bytes& b) {
  return f(b.data(), b.size());
}

// A valid sample passes; every strict prefix of its deciding part is kNeedMore, never kFail.
void expect_valid(Fn f, const Bytes& b, const char* what) {
  ASSERT_EQ(run(f, b), Validation::kPass) << what;
  bool passed = false;
  for (size_t n = 0; n < b.size(); ++n) {
    Validation r = f(b.data(), n);
    EXPECT_NE(r, Validation::kFail) << what << ": prefix of " << n << " bytes";
    if (r == Validation::kPass) passed = true;
    if (passed) {
      EXPECT_EQ(r, Validation::kPass) << what << ": longer prefix " << n;
    }
  }
}

Bytes minecraft_handshake(const std::string& host, uint32_t version, uint8_t next) {
  Bytes body = {0x00};
  auto varint = [](Bytes& out, uint32_t v) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out.push_back(v ? (b | 0x80) : b);
    } while (v);
  };
  varint(body, version);
  varint(body, static_cast<uint32_t>(host.size()));
  body.insert(body.end(), host.begin(), host.end());
  body.push_back(0x63);  // 25565
  body.push_back(0xDD);
  body.push_back(next);
  Bytes pkt;
  varint(pkt, static_cast<uint32_t>(body.size()));
  pkt.insert(pkt.end(), body.begin(), body.end());
  return pkt;
}

const Bytes kRdpCr = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                      0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
// mosquitto_pub -i t -t x -m y: MQTT 3.1.1 CONNECT, clean session, keepalive 60, client id "t".
const Bytes kMqtt311 = {0x10, 0x0d, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                        0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 't'};
const Bytes kMqtt31 = {0x10, 0x0f, 0x00, 0x06, 'M',  'Q',  'I',  's', 'd',
                       'p',  0x03, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00};
const Bytes kMqtt5 = {0x10, 0x0e, 0x00, 0x04, 'M',  'Q',  'T',  'T',
                      0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00};

Bytes pg_startup() {
  std::string params = std::string("user\0postgres\0database\0postgres\0\0", 33);
  uint32_t len = static_cast<uint32_t>(8 + params.size());
  Bytes b = {static_cast<uint8_t>(len >> 24),
             static_cast<uint8_t>(len >> 16),
             static_cast<uint8_t>(len >> 8),
             static_cast<uint8_t>(len),
             0x00,
             0x03,
             0x00,
             0x00};
  b.insert(b.end(), params.begin(), params.end());
  return b;
}

TEST(ValidateSsh, RealOpenSshBanner) {
  Bytes b = fixture_bytes("ssh_banner.bin");
  ASSERT_FALSE(b.empty());
  expect_valid(validate_ssh, b, "OpenSSH banner");
  EXPECT_EQ(run(validate_ssh, str("SSH-2.0-PuTTY_Release_0.78\r\n")), Validation::kPass);
  EXPECT_EQ(run(validate_ssh, str("SSH-1.99-OpenSSH_3.9\r\n")), Validation::kPass);
}

TEST(ValidateSsh, JunkAndOldVersions) {
  EXPECT_EQ(run(validate_ssh, str("GET / HTTP/1.1\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_ssh, str("SSH-1.5-old\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_ssh, str("ssh-2.0-lower\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_ssh, str("\x16\x03\x01")), Validation::kFail);
  EXPECT_EQ(run(validate_ssh, str("SSH-")), Validation::kNeedMore);
  EXPECT_EQ(run(validate_ssh, str("SSH-1.9")), Validation::kNeedMore);
  EXPECT_EQ(run(validate_ssh, {}), Validation::kNeedMore);
}

TEST(ValidateTls, CapturedClientHello) {
  Bytes b = fixture_bytes("tls_client_hello.bin");
  ASSERT_GE(b.size(), 11u);
  expect_valid(validate_tls, b, "openssl s_client ClientHello");
}

TEST(ValidateTls, Junk) {
  Bytes b = fixture_bytes("tls_client_hello.bin");
  Bytes alert = b;
  alert[0] = 0x15;
  EXPECT_EQ(run(validate_tls, alert), Validation::kFail);
  Bytes server_hello = b;
  server_hello[5] = 0x02;
  EXPECT_EQ(run(validate_tls, server_hello), Validation::kFail);
  Bytes ssl2 = b;
  ssl2[1] = 0x02;
  EXPECT_EQ(run(validate_tls, ssl2), Validation::kFail);
  Bytes huge = b;
  huge[3] = 0xff;
  EXPECT_EQ(run(validate_tls, huge), Validation::kFail);
  EXPECT_EQ(run(validate_tls, str("SSH-2.0-x\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_tls, str("GET / HTTP/1.1\r\n")), Validation::kFail);
}

TEST(ValidateRdp, X224ConnectionRequest) {
  expect_valid(validate_rdp, kRdpCr, "X.224 CR");
  std::string cookie = "Cookie: mstshash=user\r\n";
  Bytes with_cookie = {0x03,
                       0x00,
                       0x00,
                       static_cast<uint8_t>(11 + cookie.size()),
                       static_cast<uint8_t>(6 + cookie.size()),
                       0xe0,
                       0,
                       0,
                       0,
                       0,
                       0};
  with_cookie.insert(with_cookie.end(), cookie.begin(), cookie.end());
  EXPECT_EQ(run(validate_rdp, with_cookie), Validation::kPass);
}

TEST(ValidateRdp, Junk) {
  Bytes b = kRdpCr;
  b[5] = 0xd0;  // disconnect request
  EXPECT_EQ(run(validate_rdp, b), Validation::kFail);
  b = kRdpCr;
  b[4] = 0x20;  // LI disagrees with the TPKT length
  EXPECT_EQ(run(validate_rdp, b), Validation::kFail);
  b = kRdpCr;
  b[1] = 0x01;
  EXPECT_EQ(run(validate_rdp, b), Validation::kFail);
  EXPECT_EQ(run(validate_rdp, {0x03, 0x00, 0x00, 0x05}), Validation::kFail);  // too short a TPKT
  EXPECT_EQ(run(validate_rdp, str("hello")), Validation::kFail);
}

TEST(ValidateMinecraft, Handshakes) {
  expect_valid(validate_minecraft, minecraft_handshake("localhost", 765, 1), "status");
  expect_valid(validate_minecraft, minecraft_handshake("mc.example.com", 47, 2), "login");
  expect_valid(validate_minecraft, minecraft_handshake(std::string(255, 'a'), 767, 3), "long");
  std::string forge = std::string("mc.example.com\0FML3\0", 20);
  EXPECT_EQ(run(validate_minecraft, minecraft_handshake(forge, 763, 2)), Validation::kPass);
  // A login handshake is followed by Login Start in the same segment: still a pass.
  Bytes two = minecraft_handshake("localhost", 765, 2);
  two.insert(two.end(), {0x05, 0x00, 0x03, 'b', 'o', 'b'});
  EXPECT_EQ(run(validate_minecraft, two), Validation::kPass);
  EXPECT_EQ(run(validate_minecraft, {0xFE, 0x01, 0xFA}), Validation::kPass);  // legacy ping
}

TEST(ValidateMinecraft, Junk) {
  Bytes b = minecraft_handshake("localhost", 765, 1);
  Bytes bad_next = minecraft_handshake("localhost", 765, 4);  // next state 4 does not exist
  EXPECT_EQ(run(validate_minecraft, bad_next), Validation::kFail);
  Bytes bad_id = b;
  bad_id[1] = 0x01;
  EXPECT_EQ(run(validate_minecraft, bad_id), Validation::kFail);
  Bytes bad_len = b;
  bad_len[0] = static_cast<uint8_t>(b[0] + 3);  // length disagrees with the fields
  EXPECT_EQ(run(validate_minecraft, bad_len), Validation::kFail);
  EXPECT_EQ(run(validate_minecraft, str("GET / HTTP/1.1\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_minecraft, {0xff, 0xff, 0xff, 0xff}), Validation::kFail);
  EXPECT_EQ(run(validate_minecraft, {0x10, 0x00, 0x80}), Validation::kNeedMore);
}

TEST(ValidateMqtt, Connects) {
  expect_valid(validate_mqtt, kMqtt311, "3.1.1");
  expect_valid(validate_mqtt, kMqtt31, "3.1");
  expect_valid(validate_mqtt, kMqtt5, "5.0");
}

TEST(ValidateMqtt, Junk) {
  Bytes b = kMqtt311;
  b[0] = 0x30;  // PUBLISH first
  EXPECT_EQ(run(validate_mqtt, b), Validation::kFail);
  b = kMqtt311;
  b[8] = 0x07;  // unknown level
  EXPECT_EQ(run(validate_mqtt, b), Validation::kFail);
  b = kMqtt311;
  b[5] = 'X';
  EXPECT_EQ(run(validate_mqtt, b), Validation::kFail);
  EXPECT_EQ(run(validate_mqtt, {0x10, 0xff, 0xff, 0xff, 0xff}), Validation::kFail);
  EXPECT_EQ(run(validate_mqtt, {0x10, 0x02, 0x00, 0x00}), Validation::kFail);
}

TEST(ValidatePostgres, StartupAndRequests) {
  expect_valid(validate_postgres, pg_startup(), "startup 3.0");
  expect_valid(validate_postgres, {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}, "SSLRequest");
  expect_valid(validate_postgres, {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30}, "GSSENCRequest");
  Bytes cancel = {0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 2};
  EXPECT_EQ(run(validate_postgres, cancel), Validation::kPass);
}

TEST(ValidatePostgres, Junk) {
  EXPECT_EQ(run(validate_postgres, {0, 0, 0, 8, 0x00, 0x02, 0x00, 0x00}),
            Validation::kFail);  // 2.0
  EXPECT_EQ(run(validate_postgres, {0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f}), Validation::kFail);
  EXPECT_EQ(run(validate_postgres, {0, 0, 0, 8, 0x00, 0x03, 0x00, 0x00}), Validation::kFail);
  EXPECT_EQ(run(validate_postgres, str("GET / HTTP/1.1")), Validation::kFail);
  EXPECT_EQ(run(validate_postgres, {0, 0, 0x10}), Validation::kNeedMore);
}

TEST(ValidateRedis, RespAndInline) {
  expect_valid(validate_redis, str("*1\r\n$4\r\nPING\r\n"), "RESP PING");
  EXPECT_EQ(run(validate_redis, str("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")),
            Validation::kPass);
  expect_valid(validate_redis, str("PING\r\n"), "inline PING");
  EXPECT_EQ(run(validate_redis, str("set k v\n")), Validation::kPass);
}

TEST(ValidateRedis, Junk) {
  EXPECT_EQ(run(validate_redis, str("\x16\x03\x01\x02\x00")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("*\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("*1\r\n+OK\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("*99999999\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("PING\x01\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("PI1NG\r\n")), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str(std::string(40, 'a'))), Validation::kFail);
  EXPECT_EQ(run(validate_redis, str("PING")), Validation::kNeedMore);
}

TEST(Validate, DispatchAndNone) {
  Bytes junk = {0x00, 0x01, 0x02, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
  EXPECT_EQ(validate_first_bytes(config::Validator::kNone, junk.data(), junk.size()),
            Validation::kPass);
  for (auto v : {config::Validator::kSsh, config::Validator::kTls, config::Validator::kRdp,
                 config::Validator::kMinecraft, config::Validator::kMqtt,
                 config::Validator::kPostgres, config::Validator::kRedis}) {
    EXPECT_EQ(validate_first_bytes(v, junk.data(), junk.size()), Validation::kFail)
        << config::to_string(v);
  }
}

// Every validator decides within kValidateMaxBytes: a kNeedMore there would stall a session.
TEST(Validate, DecidesWithinTheBuffer) {
  Bytes big(kValidateMaxBytes, 'a');
  for (auto v : {config::Validator::kSsh, config::Validator::kTls, config::Validator::kRdp,
                 config::Validator::kMinecraft, config::Validator::kMqtt,
                 config::Validator::kPostgres, config::Validator::kRedis}) {
    EXPECT_NE(validate_first_bytes(v, big.data(), big.size()), Validation::kNeedMore)
        << config::to_string(v);
  }
  Bytes mc = minecraft_handshake(std::string(1020, 'a'), 765, 2);
  EXPECT_LE(mc.size(), kValidateMaxBytes);
  EXPECT_EQ(run(validate_minecraft, mc), Validation::kPass);
}

}  // namespace
}  // namespace rampart::guard

namespace rampart::guard {
namespace {

// A client that closes before sending a byte is a probe (nc -z, check_tcp), not a violation.
TEST(ProbeKind, FinOrResetBeforeAnyByte) {
  EXPECT_EQ(probe_kind(0, 0), Probe::kFin);
  EXPECT_EQ(probe_kind(-1, ECONNRESET), Probe::kRst);
  EXPECT_EQ(probe_kind(-1, ETIMEDOUT), Probe::kNone);
  EXPECT_EQ(probe_kind(-1, EPIPE), Probe::kNone);
  EXPECT_EQ(probe_kind(5, 0), Probe::kNone);  // bytes came: the validator judges them
}

}  // namespace
}  // namespace rampart::guard
