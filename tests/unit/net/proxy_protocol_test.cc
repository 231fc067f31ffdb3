#include "net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace rampart::net {
namespace {

SockAddr sa(const char* text) {
  return *SockAddr::parse(text);
}

const uint8_t* u8(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

DecodeStatus decode(const std::string& s, ProxyHeader* h) {
  return decode_proxy_header(u8(s), s.size(), h);
}

DecodeStatus decode(const std::vector<uint8_t>& v, ProxyHeader* h) {
  return decode_proxy_header(v.data(), v.size(), h);
}

std::string v1(const SockAddr& c, const SockAddr& e) {
  char buf[kProxyV1MaxLen];
  size_t n = encode_proxy_v1(c, e, buf, sizeof buf);
  return std::string(buf, n);
}

std::vector<uint8_t> v2(const SockAddr& c, const SockAddr& e, bool dgram) {
  std::vector<uint8_t> out(kProxyV2MaxLen);
  out.resize(encode_proxy_v2(c, e, dgram, out.data(), out.size()));
  return out;
}

const std::vector<uint8_t> kSig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

std::vector<uint8_t> with_sig(std::vector<uint8_t> rest) {
  std::vector<uint8_t> v = kSig;
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

// ---- v1 encode ----

TEST(ProxyV1Encode, Tcp4ExactBytes) {
  EXPECT_EQ(v1(sa("192.0.2.1:56324"), sa("198.51.100.7:22")),
            "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\r\n");
}

TEST(ProxyV1Encode, Tcp6ExactBytes) {
  EXPECT_EQ(v1(sa("[2001:db8::1]:65535"), sa("[2001:db8::2]:0")),
            "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n");
}

TEST(ProxyV1Encode, MixedFamiliesUseMappedTcp6) {
  EXPECT_EQ(v1(sa("192.0.2.1:1000"), sa("[2001:db8::2]:443")),
            "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1000 443\r\n");
  EXPECT_EQ(v1(sa("[2001:db8::1]:1000"), sa("10.0.0.1:443")),
            "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1000 443\r\n");
}

TEST(ProxyV1Encode, UnspecifiedFamilyIsUnknown) {
  EXPECT_EQ(v1(SockAddr(), sa("10.0.0.1:443")), "PROXY UNKNOWN\r\n");
}

TEST(ProxyV1Encode, CapTooSmallWritesNothing) {
  std::string expect = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\r\n";
  char buf[kProxyV1MaxLen];
  std::memset(buf, 'x', sizeof buf);
  EXPECT_EQ(encode_proxy_v1(sa("192.0.2.1:56324"), sa("198.51.100.7:22"), buf, expect.size() - 1),
            0u);
  EXPECT_EQ(buf[0], 'x');
  EXPECT_EQ(encode_proxy_v1(sa("192.0.2.1:56324"), sa("198.51.100.7:22"), buf, expect.size()),
            expect.size());
}

TEST(ProxyV1Encode, LongestLineFits) {
  std::string line = v1(sa("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"),
                        sa("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
  EXPECT_EQ(line.size(), 104u);
  ProxyHeader h;
  EXPECT_EQ(decode(line, &h), DecodeStatus::kOk);
}

// ---- v1 decode ----

TEST(ProxyV1Decode, Tcp4) {
  ProxyHeader h;
  std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\r\nGET / HTTP/1.0\r\n";
  ASSERT_EQ(decode(line, &h), DecodeStatus::kOk);
  EXPECT_EQ(h.version, 1);
  EXPECT_FALSE(h.local);
  EXPECT_FALSE(h.dgram);
  EXPECT_EQ(h.src, sa("192.0.2.1:56324"));
  EXPECT_EQ(h.dst, sa("198.51.100.7:22"));
  EXPECT_EQ(h.src.family(), AF_INET);
  EXPECT_EQ(h.length, 44u);
}

TEST(ProxyV1Decode, Tcp6) {
  ProxyHeader h;
  ASSERT_EQ(decode("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n", &h), DecodeStatus::kOk);
  EXPECT_EQ(h.src, sa("[2001:db8::1]:1"));
  EXPECT_EQ(h.dst, sa("[::ffff:10.0.0.1]:65535"));
  EXPECT_EQ(h.dst.family(), AF_INET6);
}

TEST(ProxyV1Decode, Unknown) {
  ProxyHeader h;
  ASSERT_EQ(decode("PROXY UNKNOWN\r\n", &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.length, 15u);
  ASSERT_EQ(decode("PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\nxx", &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.length, 39u);
  EXPECT_EQ(decode("PROXY UNKNOWNX\r\n", &h), DecodeStatus::kInvalid);
}

TEST(ProxyV1Decode, RoundTrip) {
  const char* pairs[][2] = {{"1.2.3.4:1", "5.6.7.8:2"},
                            {"0.0.0.0:0", "255.255.255.255:65535"},
                            {"[::]:0", "[::1]:80"},
                            {"[2001:db8:1:2:3:4:5:6]:5", "[fe80::1]:6"}};
  for (auto& p : pairs) {
    ProxyHeader h;
    ASSERT_EQ(decode(v1(sa(p[0]), sa(p[1])), &h), DecodeStatus::kOk) << p[0];
    EXPECT_EQ(h.src, sa(p[0]));
    EXPECT_EQ(h.dst, sa(p[1]));
  }
}

TEST(ProxyV1Decode, TruncatedAtEveryLengthIsIncomplete) {
  for (std::string line : {"PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\r\n",
                           "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n", "PROXY UNKNOWN\r\n",
                           "PROXY UNKNOWN 1 2 3\r\n"}) {
    for (size_t n = 0; n < line.size(); ++n) {
      ProxyHeader h;
      EXPECT_EQ(decode_proxy_header(u8(line), n, &h), DecodeStatus::kIncomplete)
          << line << " at " << n;
    }
    ProxyHeader h;
    EXPECT_EQ(decode(line, &h), DecodeStatus::kOk);
  }
}

TEST(ProxyV1Decode, Invalid) {
  const char* bad[] = {
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\n",      // LF alone
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22\rX",     // CR alone
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22 \r\n",   // trailing space
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324 22 9\r\n",  // extra field
      "PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n",       // missing field
      "PROXY TCP4  192.0.2.1 198.51.100.7 56324 22\r\n",   // double space
      "PROXY TCP4 192.0.2.1 198.51.100.7 056324 22\r\n",   // leading zero
      "PROXY TCP4 192.0.2.1 198.51.100.7 00 22\r\n",       // leading zero
      "PROXY TCP4 192.0.2.1 198.51.100.7 65536 22\r\n",    // port range
      "PROXY TCP4 192.0.2.1 198.51.100.7 +1 22\r\n",       // sign
      "PROXY TCP4 192.0.2.1 198.51.100.7 -1 22\r\n",       // sign
      "PROXY TCP4 192.0.2.1 198.51.100.7 1 2x\r\n",        // junk
      "PROXY TCP4 256.0.2.1 198.51.100.7 1 2\r\n",         // octet range
      "PROXY TCP4 192.0.2 198.51.100.7 1 2\r\n",           // short address
      "PROXY TCP4 ::1 198.51.100.7 1 2\r\n",               // family mismatch
      "PROXY TCP6 192.0.2.1 ::1 1 2\r\n",                  // family mismatch
      "PROXY TCP6 ::1 ::1%eth0 1 2\r\n",                   // zone
      "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",                // protocol
      "PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n",                // case
      "PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n",               // double space
      "PROXY TCP4\r\n",                                    // nothing after protocol
      "PROXY\r\n",
      "PROXY \r\n",
      "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
      "GET / HTTP/1.1\r\n",
      "PROXZ",
      "PROXY TCP7",
      "PROXY TCP4 1.2.3.4x",
      "PROXY TCP4 1.2.3.4 1.2.3.4 1 123456",
      "PROXY TCP4 1.2.3.4 1.2.3.4 01",
      "PROXY TCP4 1234.1.1.1111111111111",
  };
  for (const char* line : bad) {
    ProxyHeader h;
    EXPECT_EQ(decode(line, &h), DecodeStatus::kInvalid) << line;
  }
}

TEST(ProxyV1Decode, LineLengthLimit) {
  // UNKNOWN may carry anything up to 107 bytes including CRLF.
  std::string ok = "PROXY UNKNOWN " + std::string(107 - 14 - 2, 'a') + "\r\n";
  ASSERT_EQ(ok.size(), 107u);
  ProxyHeader h;
  EXPECT_EQ(decode(ok, &h), DecodeStatus::kOk);
  std::string too_long = "PROXY UNKNOWN " + std::string(107 - 14 - 1, 'a') + "\r\n";
  EXPECT_EQ(decode(too_long, &h), DecodeStatus::kInvalid);
  // Without a CR, 106 bytes are already too many: the CR would be byte 107 and the LF byte 108.
  std::string no_crlf = "PROXY UNKNOWN " + std::string(100, 'a');
  EXPECT_EQ(decode_proxy_header(u8(no_crlf), 105, &h), DecodeStatus::kIncomplete);
  EXPECT_EQ(decode_proxy_header(u8(no_crlf), 106, &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode_proxy_header(u8(no_crlf), 107, &h), DecodeStatus::kInvalid);
}

// ---- v2 encode ----

TEST(ProxyV2Encode, Tcp4ExactBytes) {
  auto got = v2(sa("192.0.2.1:56324"), sa("198.51.100.7:22"), false);
  auto want =
      with_sig({0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x00, 0x16});
  EXPECT_EQ(got, want);
}

TEST(ProxyV2Encode, Udp6ExactBytes) {
  auto got = v2(sa("[2001:db8::1]:53"), sa("[2001:db8::2]:5353"), true);
  std::vector<uint8_t> want = with_sig({0x21, 0x22, 0x00, 0x24});
  std::vector<uint8_t> a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::vector<uint8_t> b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  want.insert(want.end(), a.begin(), a.end());
  want.insert(want.end(), b.begin(), b.end());
  want.insert(want.end(), {0x00, 0x35, 0x14, 0xE9});
  EXPECT_EQ(got, want);
}

TEST(ProxyV2Encode, FamilyBytes) {
  EXPECT_EQ(v2(sa("1.2.3.4:1"), sa("1.2.3.4:2"), false)[13], 0x11);
  EXPECT_EQ(v2(sa("1.2.3.4:1"), sa("1.2.3.4:2"), true)[13], 0x12);
  EXPECT_EQ(v2(sa("[::1]:1"), sa("[::1]:2"), false)[13], 0x21);
  EXPECT_EQ(v2(sa("[::1]:1"), sa("[::1]:2"), true)[13], 0x22);
}

TEST(ProxyV2Encode, MixedFamiliesMapV4) {
  auto got = v2(sa("192.0.2.1:1"), sa("[2001:db8::2]:2"), false);
  ASSERT_EQ(got.size(), 16u + 36u);
  EXPECT_EQ(got[13], 0x21);
  std::vector<uint8_t> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_TRUE(std::equal(mapped.begin(), mapped.end(), got.begin() + 16));
  ProxyHeader h;
  ASSERT_EQ(decode(got, &h), DecodeStatus::kOk);
  EXPECT_EQ(h.src, sa("[::ffff:192.0.2.1]:1"));
  EXPECT_EQ(h.src.ip().unmapped(), sa("192.0.2.1:1").ip());
}

TEST(ProxyV2Encode, CapTooSmall) {
  uint8_t buf[kProxyV2MaxLen];
  EXPECT_EQ(encode_proxy_v2(sa("1.2.3.4:1"), sa("1.2.3.4:2"), false, buf, 27), 0u);
  EXPECT_EQ(encode_proxy_v2(sa("1.2.3.4:1"), sa("1.2.3.4:2"), false, buf, 28), 28u);
  EXPECT_EQ(encode_proxy_v2(sa("[::1]:1"), sa("[::1]:2"), false, buf, 51), 0u);
  EXPECT_EQ(encode_proxy_v2(sa("[::1]:1"), sa("[::1]:2"), false, buf, 52), 52u);
}

TEST(ProxyV2Encode, UnspecifiedFamily) {
  auto got = v2(SockAddr(), sa("1.2.3.4:2"), false);
  EXPECT_EQ(got, with_sig({0x21, 0x00, 0x00, 0x00}));
  ProxyHeader h;
  ASSERT_EQ(decode(got, &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
}

// ---- v2 decode ----

TEST(ProxyV2Decode, RoundTrip) {
  const char* pairs[][2] = {{"1.2.3.4:1", "5.6.7.8:2"},
                            {"0.0.0.0:0", "255.255.255.255:65535"},
                            {"[::]:0", "[::1]:80"},
                            {"[2001:db8:1:2:3:4:5:6]:5", "[fe80::1]:6"}};
  for (auto& p : pairs) {
    for (bool dgram : {false, true}) {
      ProxyHeader h;
      auto bytes = v2(sa(p[0]), sa(p[1]), dgram);
      bytes.push_back('x');  // payload after the header
      ASSERT_EQ(decode(bytes, &h), DecodeStatus::kOk) << p[0];
      EXPECT_EQ(h.version, 2);
      EXPECT_FALSE(h.local);
      EXPECT_EQ(h.dgram, dgram);
      EXPECT_EQ(h.src, sa(p[0]));
      EXPECT_EQ(h.dst, sa(p[1]));
      EXPECT_EQ(h.src.family(), sa(p[0]).family());
      EXPECT_EQ(h.length, bytes.size() - 1);
    }
  }
}

TEST(ProxyV2Decode, TruncatedAtEveryLengthIsIncomplete) {
  for (auto bytes : {v2(sa("1.2.3.4:1"), sa("5.6.7.8:2"), false),
                     v2(sa("[2001:db8::1]:1"), sa("[2001:db8::2]:2"), true)}) {
    for (size_t n = 0; n < bytes.size(); ++n) {
      ProxyHeader h;
      EXPECT_EQ(decode_proxy_header(bytes.data(), n, &h), DecodeStatus::kIncomplete) << n;
    }
  }
}

TEST(ProxyV2Decode, TlvsAreSkipped) {
  auto bytes = with_sig({0x21,
                         0x11,
                         0x00,
                         0x0C + 7,
                         10,
                         0,
                         0,
                         1,
                         10,
                         0,
                         0,
                         2,
                         0,
                         80,
                         1,
                         187,
                         /* TLV ALPN */ 0x01,
                         0x00,
                         0x02,
                         'h',
                         '2',
                         /* NOOP */ 0x04,
                         0x00,
                         0x00});
  ASSERT_EQ(bytes.size(), 16u + 12 + 8);
  bytes.pop_back();  // 0x0C + 7 = 19: the header claims 16 + 19 = 35 bytes
  ProxyHeader h;
  ASSERT_EQ(decode(bytes, &h), DecodeStatus::kOk);
  EXPECT_EQ(h.length, 35u);
  EXPECT_EQ(h.src, sa("10.0.0.1:80"));
  EXPECT_EQ(h.dst, sa("10.0.0.2:443"));
}

TEST(ProxyV2Decode, Local) {
  ProxyHeader h;
  ASSERT_EQ(decode(with_sig({0x20, 0x00, 0x00, 0x00}), &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.length, 16u);
  // LOCAL ignores the family and whatever address block there is.
  ASSERT_EQ(decode(with_sig({0x20, 0x11, 0x00, 0x02, 0xAA, 0xBB}), &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.length, 18u);
}

TEST(ProxyV2Decode, ProxyWithUnspecOrUnixIsTreatedAsLocal) {
  ProxyHeader h;
  ASSERT_EQ(decode(with_sig({0x21, 0x00, 0x00, 0x00}), &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
  std::vector<uint8_t> unix_hdr = with_sig({0x21, 0x31, 0x00, 216});
  unix_hdr.resize(16 + 216);
  ASSERT_EQ(decode(unix_hdr, &h), DecodeStatus::kOk);
  EXPECT_TRUE(h.local);
}

TEST(ProxyV2Decode, BadSignature) {
  for (size_t i = 0; i < 12; ++i) {
    auto bytes = v2(sa("1.2.3.4:1"), sa("5.6.7.8:2"), false);
    bytes[i] ^= 0x40;
    ProxyHeader h;
    EXPECT_EQ(decode(bytes, &h), DecodeStatus::kInvalid) << i;
    // A wrong byte is detected as soon as it arrives.
    EXPECT_EQ(decode_proxy_header(bytes.data(), i + 1, &h), DecodeStatus::kInvalid) << i;
  }
}

TEST(ProxyV2Decode, BadVersionCommandFamily) {
  ProxyHeader h;
  for (uint8_t vc : {0x11, 0x31, 0x22, 0x2F, 0x01}) {
    EXPECT_EQ(decode(with_sig({vc, 0x11, 0x00, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), &h),
              DecodeStatus::kInvalid);
    EXPECT_EQ(decode(with_sig({vc}), &h), DecodeStatus::kInvalid);
  }
  for (uint8_t fam : {0x01, 0x10, 0x13, 0x23, 0x41, 0xFF}) {
    EXPECT_EQ(decode(with_sig({0x21, fam, 0x00, 0x24}), &h), DecodeStatus::kInvalid);
    EXPECT_EQ(decode(with_sig({0x21, fam}), &h), DecodeStatus::kInvalid);
  }
}

TEST(ProxyV2Decode, LengthMustCoverAddresses) {
  ProxyHeader h;
  EXPECT_EQ(decode(with_sig({0x21, 0x11, 0x00, 0x0B}), &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode(with_sig({0x21, 0x12, 0x00, 0x00}), &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode(with_sig({0x21, 0x21, 0x00, 0x0C}), &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode(with_sig({0x21, 0x22, 0x00, 0x23}), &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode(with_sig({0x21, 0x31, 0x00, 0x24}), &h), DecodeStatus::kInvalid);
  // Enough length but not enough bytes yet.
  EXPECT_EQ(decode(with_sig({0x21, 0x21, 0x00, 0x24}), &h), DecodeStatus::kIncomplete);
  EXPECT_EQ(decode(with_sig({0x21, 0x11, 0xFF, 0xFF}), &h), DecodeStatus::kIncomplete);
}

TEST(ProxyDecode, Detection) {
  ProxyHeader h;
  EXPECT_EQ(decode_proxy_header(nullptr, 0, &h), DecodeStatus::kIncomplete);
  EXPECT_EQ(decode(std::string("\x16\x03\x01", 3), &h), DecodeStatus::kInvalid);  // TLS
  EXPECT_EQ(decode(std::string("SSH-2.0"), &h), DecodeStatus::kInvalid);
  EXPECT_EQ(decode(std::string("\r\n\r\n", 4), &h), DecodeStatus::kIncomplete);
}

TEST(ProxyDecode, OutputUntouchedUnlessOk) {
  ProxyHeader h;
  h.version = 42;
  EXPECT_EQ(decode(std::string("PROXY TCP4 1.2.3.4"), &h), DecodeStatus::kIncomplete);
  EXPECT_EQ(decode(std::string("PROXY TCP4 1.2.3.4 1.2.3.4 1 99999\r\n"), &h),
            DecodeStatus::kInvalid);
  EXPECT_EQ(h.version, 42);
}

// ---- SPP ----

TEST(Spp, ExactLayoutV4) {
  uint8_t out[kSppHeaderLen];
  encode_spp(sa("192.0.2.1:56324"), sa("198.51.100.7:53"), out);
  const uint8_t want[kSppHeaderLen] = {
      0x56, 0xEC,                                                       // magic
      0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0,  2,   1,  // client
      0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7,  // edge
      0xDC, 0x04,                                                       // client port
      0x00, 0x35};                                                      // edge port
  EXPECT_EQ(std::memcmp(out, want, kSppHeaderLen), 0);
}

TEST(Spp, ExactLayoutV6) {
  uint8_t out[kSppHeaderLen];
  encode_spp(sa("[2001:db8::1]:1"), sa("[2001:db8::ff]:65535"), out);
  const uint8_t want[kSppHeaderLen] = {
      0x56, 0xEC, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0x01, 0x20,
      0x01, 0x0d, 0xb8, 0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x01, 0xff, 0xff};
  EXPECT_EQ(std::memcmp(out, want, kSppHeaderLen), 0);
}

TEST(Spp, RoundTripUnmapsV4) {
  uint8_t out[kSppHeaderLen + 3] = {};
  encode_spp(sa("192.0.2.1:56324"), sa("[2001:db8::7]:53"), out);
  SppHeader h;
  ASSERT_TRUE(decode_spp(out, sizeof out, &h));
  EXPECT_EQ(h.client, sa("192.0.2.1:56324"));
  EXPECT_EQ(h.client.family(), AF_INET);
  EXPECT_EQ(h.edge, sa("[2001:db8::7]:53"));
  EXPECT_EQ(h.edge.family(), AF_INET6);
}

TEST(Spp, ShortOrBadMagic) {
  uint8_t out[kSppHeaderLen];
  encode_spp(sa("1.2.3.4:1"), sa("5.6.7.8:2"), out);
  SppHeader h;
  for (size_t n = 0; n < kSppHeaderLen; ++n) EXPECT_FALSE(decode_spp(out, n, &h)) << n;
  EXPECT_TRUE(decode_spp(out, kSppHeaderLen, &h));
  out[0] = 0xEC;
  out[1] = 0x56;
  EXPECT_FALSE(decode_spp(out, kSppHeaderLen, &h));
}

}  // namespace
}  // namespace rampart::net
