// The UDP kernel relay's tc program (relay_udp.bpf.c) run on crafted packets with
// BPF_PROG_TEST_RUN: the rewrite of addresses and ports with checksums that verify from scratch
// (IPv4 header, UDP over the pseudo header, IPv4 without a checksum, IPv6), the verdicts (pass to
// the stack, redirect, leave to the next program), the guard's drops (bans, per-source rate) and
// the per-flow counters; and the loader's map budget (a full map refuses a flow whole).
#include "xdp/relay_udp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "net/cidr.h"
#include "net/proxy_protocol.h"
#include "xdp/loader.h"

#ifdef RAMPART_HAVE_LIBBPF
#include <bpf/bpf.h>
#endif

namespace rampart::xdp {
namespace {

uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) s += static_cast<uint32_t>(p[n - 1] << 8);
  return s;
}
uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

struct Pkt {
  std::vector<uint8_t> b;
  bool v6 = false;
  size_t l4() const { return v6 ? 54 : 34; }
  uint16_t get16(size_t at) const { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
  void put16(size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
  }
  std::string src() const { return addr(v6 ? 22 : 26); }
  std::string dst() const { return addr(v6 ? 38 : 30); }
  std::string addr(size_t at) const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, b.data() + at, buf, sizeof buf);
    return buf;
  }
  uint16_t sport() const { return get16(l4()); }
  uint16_t dport() const { return get16(l4() + 2); }
  // The UDP checksum over the pseudo header, computed from scratch (0 when the packet is right,
  // taking the stored checksum in).
  uint16_t udp_verify() const {
    const size_t len = b.size() - l4();
    uint32_t s = v6 ? sum16(b.data() + 22, 32) : sum16(b.data() + 26, 8);
    s += 17 + static_cast<uint32_t>(len);
    return fold(sum16(b.data() + l4(), len, s));
  }
  uint16_t ip_verify() const { return fold(sum16(b.data() + 14, 20)); }
  // Fills in both checksums.
  void seal(bool udp_csum = true) {
    if (!v6) {
      put16(24, 0);
      put16(24, fold(sum16(b.data() + 14, 20)));
    }
    put16(l4() + 6, 0);
    if (udp_csum) {
      uint16_t c = udp_verify();
      put16(l4() + 6, c == 0 ? 0xffff : c);
    }
  }
};

Pkt udp(const char* src, uint16_t sport, const char* dst, uint16_t dport, size_t payload) {
  Pkt p;
  p.v6 = std::strchr(src, ':') != nullptr;
  const size_t l3 = p.v6 ? 40 : 20;
  p.b.assign(14 + l3 + 8 + payload, 0);
  for (size_t i = 0; i < 12; ++i) p.b[i] = static_cast<uint8_t>(0x10 + i);  // MACs
  p.put16(12, p.v6 ? 0x86dd : 0x0800);
  uint8_t* ip = p.b.data() + 14;
  if (p.v6) {
    ip[0] = 0x60;
    p.put16(18, static_cast<uint16_t>(8 + payload));
    ip[6] = 17;
    ip[7] = 64;
    inet_pton(AF_INET6, src, ip + 8);
    inet_pton(AF_INET6, dst, ip + 24);
  } else {
    ip[0] = 0x45;
    p.put16(16, static_cast<uint16_t>(20 + 8 + payload));
    ip[8] = 64;
    ip[9] = 17;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
  }
  p.put16(p.l4(), sport);
  p.put16(p.l4() + 2, dport);
  p.put16(p.l4() + 4, static_cast<uint16_t>(8 + payload));
  for (size_t i = 0; i < payload; ++i) p.b[p.l4() + 8 + i] = static_cast<uint8_t>(i * 7 + 3);
  p.seal();
  return p;
}

net::SockAddr sa(const char* ip, uint16_t port) {
  return net::SockAddr(*net::IpAddr::parse(ip), port);
}

rrelay_key key(const char* src, uint16_t sport, const char* dst, uint16_t dport) {
  rrelay_key k{};
  UdpRelay::put_addr(sa(src, sport), k.src, &k.sport);
  UdpRelay::put_addr(sa(dst, dport), k.dst, &k.dport);
  return k;
}

rrelay_flow to(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint32_t flags,
               uint32_t ifindex = 7) {
  rrelay_flow f{};
  UdpRelay::put_addr(sa(src, sport), f.src, &f.sport);
  UdpRelay::put_addr(sa(dst, dport), f.dst, &f.dport);
  f.flags = flags;
  f.ifindex = ifindex;
  return f;
}

class RelayProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* flag = std::getenv("RAMPART_REQUIRE_XDP");
    const bool required = flag != nullptr && std::string_view(flag) == "1";
    if (!UdpRelay::supported()) {
      if (required) FAIL() << "built without libbpf, but RAMPART_REQUIRE_XDP is set";
      GTEST_SKIP() << "built without libbpf: no kernel relay";
    }
    std::string error;
    if (!relay_.load(16, -1, &error)) {
      if (required) FAIL() << "cannot load BPF programs: " << error;
      GTEST_SKIP() << "cannot load BPF programs here: " << error;
    }
  }

  // Runs the program on `p` (rewritten in place); returns its verdict.
  int run(Pkt& p) {
#ifdef RAMPART_HAVE_LIBBPF
    std::vector<uint8_t> out(p.b.size() + 64);
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = p.b.data();
    opts.data_size_in = static_cast<uint32_t>(p.b.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = 1;
    const int rc = bpf_prog_test_run_opts(relay_.prog_fd(), &opts);
    EXPECT_EQ(rc, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-rc);
    out.resize(opts.data_size_out);
    p.b = out;
    return static_cast<int>(opts.retval);
#else
    (void)p;
    return -2;
#endif
  }

  // Adds one direction (the reverse is a placeholder nobody sends).
  void add(const rrelay_key& k, const rrelay_flow& f) {
    static uint16_t port = 1;
    ASSERT_TRUE(relay_.add(k, f, key("192.0.2.250", port++, "192.0.2.251", 1), rrelay_flow{}));
  }

  rrelay_flow counters(const rrelay_key& k) {
    rrelay_flow f{};
    EXPECT_TRUE(relay_.read(k, &f));
    return f;
  }

  UdpRelay relay_;
};

TEST_F(RelayProgram, LeavesUnknownPacketsToTheNextProgramUnchanged) {
  Pkt p = udp("10.77.1.2", 40000, "10.77.1.1", 7001, 32);
  const auto before = p.b;
  EXPECT_EQ(run(p), TC_ACT_UNSPEC);
  EXPECT_EQ(p.b, before);
}

TEST_F(RelayProgram, RewritesIpv4WithValidChecksumsAndRedirects) {
  const rrelay_key k = key("10.77.1.2", 40000, "10.77.1.1", 7001);
  add(k, to("10.77.2.1", 51000, "10.77.2.2", 7001, RRELAY_F_V4, 9));
  for (size_t payload : {0, 1, 33, 1472}) {
    Pkt p = udp("10.77.1.2", 40000, "10.77.1.1", 7001, payload);
    const std::vector<uint8_t> body(p.b.begin() + 42, p.b.end());
    EXPECT_EQ(run(p), TC_ACT_REDIRECT) << payload;
    EXPECT_EQ(p.src(), "10.77.2.1");
    EXPECT_EQ(p.dst(), "10.77.2.2");
    EXPECT_EQ(p.sport(), 51000);
    EXPECT_EQ(p.dport(), 7001);
    EXPECT_EQ(p.ip_verify(), 0) << "IPv4 header checksum, payload " << payload;
    EXPECT_EQ(p.udp_verify(), 0) << "UDP checksum, payload " << payload;
    EXPECT_EQ(std::vector<uint8_t>(p.b.begin() + 42, p.b.end()), body) << "payload untouched";
  }
  const rrelay_flow c = counters(k);
  EXPECT_EQ(c.packets, 4u);
  EXPECT_EQ(c.bytes, 0u + 1 + 33 + 1472);
  EXPECT_GT(c.last_ns, 0u);
}

TEST_F(RelayProgram, KeepsAMissingIpv4UdpChecksumMissing) {
  const rrelay_key k = key("10.77.1.2", 40001, "10.77.1.1", 7001);
  add(k, to("10.77.2.1", 51001, "10.77.2.2", 7001, RRELAY_F_V4));
  Pkt p = udp("10.77.1.2", 40001, "10.77.1.1", 7001, 20);
  p.seal(false);
  EXPECT_EQ(run(p), TC_ACT_REDIRECT);
  EXPECT_EQ(p.get16(p.l4() + 6), 0) << "no checksum stays no checksum";
  EXPECT_EQ(p.ip_verify(), 0);
  EXPECT_EQ(p.dst(), "10.77.2.2");
}

TEST_F(RelayProgram, RewritesIpv6WithAValidChecksum) {
  const rrelay_key k = key("fd77:1::2", 40000, "fd77:1::1", 7004);
  add(k, to("fd77:2::1", 52000, "fd77:2::2", 7004, 0));
  for (size_t payload : {0, 7, 1200}) {
    Pkt p = udp("fd77:1::2", 40000, "fd77:1::1", 7004, payload);
    EXPECT_EQ(run(p), TC_ACT_REDIRECT);
    EXPECT_EQ(p.src(), "fd77:2::1");
    EXPECT_EQ(p.dst(), "fd77:2::2");
    EXPECT_EQ(p.sport(), 52000);
    EXPECT_EQ(p.udp_verify(), 0) << "UDP checksum, payload " << payload;
  }
  EXPECT_EQ(counters(k).packets, 3u);
}

TEST_F(RelayProgram, PassesLocalDestinationsToTheStackAndClearsMacsIntoLoopback) {
  const rrelay_key k1 = key("127.0.0.1", 40000, "127.0.0.1", 7001);
  add(k1, to("127.0.0.1", 53000, "127.0.0.1", 9001, RRELAY_F_V4 | RRELAY_F_PASS));
  Pkt p = udp("127.0.0.1", 40000, "127.0.0.1", 7001, 10);
  EXPECT_EQ(run(p), TC_ACT_OK);
  EXPECT_EQ(p.dport(), 9001);
  EXPECT_EQ(p.udp_verify(), 0);

  const rrelay_key k2 = key("10.77.1.2", 40002, "10.77.1.1", 7001);
  add(k2, to("127.0.0.1", 53001, "127.0.0.1", 9001, RRELAY_F_V4 | RRELAY_F_TO_LO, 1));
  Pkt q = udp("10.77.1.2", 40002, "10.77.1.1", 7001, 10);
  EXPECT_EQ(run(q), TC_ACT_REDIRECT);
  EXPECT_EQ(std::vector<uint8_t>(q.b.begin(), q.b.begin() + 12), std::vector<uint8_t>(12, 0));
  EXPECT_EQ(q.ip_verify(), 0);
  EXPECT_EQ(q.udp_verify(), 0);
}

TEST_F(RelayProgram, LeavesFragmentsToTheStack) {
  const rrelay_key k = key("10.77.1.2", 40003, "10.77.1.1", 7001);
  add(k, to("10.77.2.1", 51003, "10.77.2.2", 7001, RRELAY_F_V4));
  Pkt p = udp("10.77.1.2", 40003, "10.77.1.1", 7001, 100);
  p.put16(20, 0x2000);  // more fragments
  p.seal();
  EXPECT_EQ(run(p), TC_ACT_UNSPEC);
  EXPECT_EQ(p.dst(), "10.77.1.1");
  EXPECT_EQ(counters(k).packets, 0u);
}

TEST_F(RelayProgram, DropsBannedSourcesAndCountsThemOnTheFlow) {
  const rrelay_key k = key("10.77.1.9", 40000, "10.77.1.1", 7001);
  add(k, to("10.77.2.1", 51009, "10.77.2.2", 7001, RRELAY_F_V4 | RRELAY_F_BANS));
  Pkt p = udp("10.77.1.9", 40000, "10.77.1.1", 7001, 10);
  EXPECT_EQ(run(p), TC_ACT_REDIRECT) << "not banned yet";
  relay_.banned(*net::Cidr::parse("10.77.1.9/32"), 60'000);
  Pkt q = udp("10.77.1.9", 40000, "10.77.1.1", 7001, 10);
  const auto before = q.b;
  EXPECT_EQ(run(q), TC_ACT_SHOT);
  EXPECT_EQ(q.b, before) << "a dropped packet is not rewritten";
  rrelay_flow c = counters(k);
  EXPECT_EQ(c.drop_banned, 1u);
  EXPECT_EQ(c.packets, 1u);
  relay_.unban(*net::Cidr::parse("10.77.1.9/32"));
  Pkt r = udp("10.77.1.9", 40000, "10.77.1.1", 7001, 10);
  EXPECT_EQ(run(r), TC_ACT_REDIRECT) << "unbanned";
}

TEST_F(RelayProgram, BansAnIpv6SourceByItsPrefix) {
  const rrelay_key k = key("fd77:1::9", 40000, "fd77:1::1", 7004);
  rrelay_flow f = to("fd77:2::1", 52009, "fd77:2::2", 7004, RRELAY_F_BANS);
  f.ban_v6_prefix = 64;
  add(k, f);
  relay_.banned(*net::Cidr::parse("fd77:1::/64"), 60'000);
  Pkt p = udp("fd77:1::9", 40000, "fd77:1::1", 7004, 10);
  EXPECT_EQ(run(p), TC_ACT_SHOT);
  EXPECT_EQ(counters(k).drop_banned, 1u);
}

TEST_F(RelayProgram, SharesTheXdpGuardsBanMap) {
  Loader xdp;  // the XDP guard (protection.xdp): the relay reads its bans
  std::string error;
  ASSERT_TRUE(xdp.load(&error)) << error;
  UdpRelay shared;
  ASSERT_TRUE(shared.load(16, xdp.bans_fd(), &error)) << error;
  const rrelay_key k = key("10.77.1.7", 40000, "10.77.1.1", 7001);
  ASSERT_TRUE(shared.add(k, to("10.77.2.1", 51007, "10.77.2.2", 7001, RRELAY_F_V4 | RRELAY_F_BANS),
                         key("10.77.2.2", 7001, "10.77.2.1", 51007), rrelay_flow{}));
  xdp.banned(*net::Cidr::parse("10.77.1.7/32"), 60'000);  // what the edge's ban fan-out does
  Pkt p = udp("10.77.1.7", 40000, "10.77.1.1", 7001, 10);
#ifdef RAMPART_HAVE_LIBBPF
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = p.b.data();
  opts.data_size_in = static_cast<uint32_t>(p.b.size());
  opts.repeat = 1;
  ASSERT_EQ(bpf_prog_test_run_opts(shared.prog_fd(), &opts), 0);
  EXPECT_EQ(static_cast<int>(opts.retval), TC_ACT_SHOT) << "banned through the XDP guard's map";
  xdp.unban(*net::Cidr::parse("10.77.1.7/32"));
  ASSERT_EQ(bpf_prog_test_run_opts(shared.prog_fd(), &opts), 0);
  EXPECT_EQ(static_cast<int>(opts.retval), TC_ACT_REDIRECT) << "unbanned there too";
#endif
  rrelay_flow c{};
  ASSERT_TRUE(shared.read(k, &c));
  EXPECT_EQ(c.drop_banned, 1u);
}

TEST_F(RelayProgram, CutsASourceToItsDatagramRate) {
  const rrelay_key k = key("10.77.1.8", 40000, "10.77.1.1", 7001);
  rrelay_flow f = to("10.77.2.1", 51008, "10.77.2.2", 7001, RRELAY_F_V4 | RRELAY_F_UDP_RATE);
  f.udp_rate = 1;  // one per second: a test run of a few ms refills nothing
  f.udp_burst = 3;
  f.app_no = relay_.app_no("rate-test");
  add(k, f);
  int relayed = 0, dropped = 0;
  for (int i = 0; i < 10; ++i) {
    Pkt p = udp("10.77.1.8", 40000, "10.77.1.1", 7001, 10);
    const int v = run(p);
    relayed += v == TC_ACT_REDIRECT;
    dropped += v == TC_ACT_SHOT;
  }
  EXPECT_EQ(relayed, 3) << "the burst";
  EXPECT_EQ(dropped, 7);
  const rrelay_flow c = counters(k);
  EXPECT_EQ(c.drop_rate, 7u);
  EXPECT_EQ(c.packets, 3u);
  const RelayCounters all = relay_.counters();
  EXPECT_GE(all.drop_udp_rate, 7u);
}

// A header as user space builds it: the bytes, zero-padded in the entry.
void set_header(rrelay_flow* f, const std::vector<uint8_t>& hdr) {
  std::memcpy(f->hdr, hdr.data(), hdr.size());
  f->hdr_len = static_cast<uint32_t>(hdr.size());
  f->flags |= RRELAY_F_ADD_HDR;
}

std::vector<uint8_t> spp_header(const char* client, uint16_t cport, const char* edge,
                                uint16_t eport) {
  std::vector<uint8_t> h(net::kSppHeaderLen);
  net::encode_spp(sa(client, cport), sa(edge, eport), h.data());
  return h;
}

TEST_F(RelayProgram, AddsTheHeaderUserSpaceBuiltWithValidChecksums) {
  struct Case {
    const char *client, *edge, *egress, *origin;
    bool v2;
  };
  uint16_t port = 41000;
  for (const Case& c : {Case{"10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2", false},
                        Case{"10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2", true},
                        Case{"fd77:1::2", "fd77:1::1", "fd77:2::1", "fd77:2::2", false},
                        Case{"fd77:1::2", "fd77:1::1", "fd77:2::1", "fd77:2::2", true}}) {
    ++port;
    std::vector<uint8_t> hdr;
    if (c.v2) {
      hdr.resize(net::kProxyV2MaxLen);
      hdr.resize(
          net::encode_proxy_v2(sa(c.client, port), sa(c.edge, 7005), true, hdr.data(), hdr.size()));
    } else {
      hdr = spp_header(c.client, port, c.edge, 7005);
    }
    const rrelay_key k = key(c.client, port, c.edge, 7005);
    rrelay_flow f =
        to(c.egress, 51000, c.origin, 7005, std::strchr(c.client, ':') ? 0 : RRELAY_F_V4, 1);
    set_header(&f, hdr);
    add(k, f);
    for (size_t payload : {0, 1, 300, 1000}) {
      Pkt p = udp(c.client, port, c.edge, 7005, payload);
      const std::vector<uint8_t> body(p.b.begin() + static_cast<long>(p.l4()) + 8, p.b.end());
      ASSERT_EQ(run(p), TC_ACT_REDIRECT) << c.client << " v2 " << c.v2 << " payload " << payload;
      ASSERT_EQ(p.b.size(), p.l4() + 8 + hdr.size() + payload);
      const size_t at = p.l4() + 8;
      EXPECT_EQ(std::vector<uint8_t>(p.b.begin() + static_cast<long>(at),
                                     p.b.begin() + static_cast<long>(at + hdr.size())),
                hdr);
      EXPECT_EQ(std::vector<uint8_t>(p.b.begin() + static_cast<long>(at + hdr.size()), p.b.end()),
                body);
      EXPECT_EQ(p.get16(p.l4() + 4), 8 + hdr.size() + payload) << "UDP length";
      if (p.v6) {
        EXPECT_EQ(p.get16(18), 8 + hdr.size() + payload) << "IPv6 payload length";
      } else {
        EXPECT_EQ(p.get16(16), 28 + hdr.size() + payload) << "IPv4 total length";
        EXPECT_EQ(p.ip_verify(), 0);
      }
      EXPECT_EQ(p.udp_verify(), 0) << c.client << " v2 " << c.v2 << " payload " << payload;
      EXPECT_EQ(p.dst(), c.origin);
      if (c.v2) {
        net::ProxyHeader h;
        EXPECT_EQ(net::decode_proxy_header(p.b.data() + at, p.b.size() - at, &h),
                  net::DecodeStatus::kOk);
      } else {
        net::SppHeader h;
        ASSERT_TRUE(net::decode_spp(p.b.data() + at, p.b.size() - at, &h));
        EXPECT_EQ(h.client, sa(c.client, port));
      }
    }
    EXPECT_EQ(counters(k).bytes, 1301u) << "the client's payload, as user space counts it";
  }
}

TEST_F(RelayProgram, ChecksAndStripsTheSppHeaderOfReplies) {
  const rrelay_key k = key("10.77.2.2", 7005, "10.77.2.1", 51000);
  rrelay_flow f = to("10.77.1.1", 7005, "10.77.1.2", 40000, RRELAY_F_V4 | RRELAY_F_STRIP_SPP, 1);
  add(k, f);
  const auto spp = spp_header("10.77.1.2", 40000, "10.77.1.1", 7005);
  auto reply = [&](const std::vector<uint8_t>& hdr, size_t payload) {
    Pkt p = udp("10.77.2.2", 7005, "10.77.2.1", 51000, hdr.size() + payload);
    std::copy(hdr.begin(), hdr.end(), p.b.begin() + 42);
    p.seal();
    return p;
  };
  for (size_t payload : {0, 5, 700}) {
    Pkt p = reply(spp, payload);
    const std::vector<uint8_t> body(p.b.begin() + 42 + 38, p.b.end());
    ASSERT_EQ(run(p), TC_ACT_REDIRECT);
    EXPECT_EQ(std::vector<uint8_t>(p.b.begin() + 42, p.b.end()), body) << "header stripped";
    EXPECT_EQ(p.get16(38), 8 + payload);
    EXPECT_EQ(p.get16(16), 28 + payload);
    EXPECT_EQ(p.ip_verify(), 0);
    EXPECT_EQ(p.udp_verify(), 0) << payload;
    EXPECT_EQ(p.dst(), "10.77.1.2");
    EXPECT_EQ(p.dport(), 40000);
  }
  // Replies naming another client (address or port), or without the magic, or too short: left
  // to the stack unchanged (user space drops and counts them as spp_mismatch).
  for (const auto& bad : {spp_header("10.77.1.3", 40000, "10.77.1.1", 7005),
                          spp_header("10.77.1.2", 40001, "10.77.1.1", 7005),
                          std::vector<uint8_t>(38, 0x56), std::vector<uint8_t>{0x56, 0xec}}) {
    Pkt p = reply(bad, 0);
    const auto before = p.b;
    EXPECT_EQ(run(p), TC_ACT_UNSPEC);
    EXPECT_EQ(p.b, before);
  }
  EXPECT_EQ(counters(k).packets, 3u);
  EXPECT_EQ(counters(k).bytes, 3 * 38u + 705) << "as the origin sent them";
}

TEST_F(RelayProgram, AFullMapRefusesAFlowWholeAndTakeReadsTheLastCounters) {
  UdpRelay small;
  std::string error;
  ASSERT_TRUE(small.load(1, -1, &error)) << error;  // one flow: two entries
  const rrelay_key a = key("10.77.1.2", 1, "10.77.1.1", 7001);
  const rrelay_key ar = key("10.77.2.2", 7001, "10.77.2.1", 51000);
  const rrelay_key b = key("10.77.1.3", 1, "10.77.1.1", 7001);
  const rrelay_key br = key("10.77.2.2", 7001, "10.77.2.1", 51001);
  rrelay_flow v{};
  v.packets = 5;
  ASSERT_TRUE(small.add(a, v, ar, v));
  EXPECT_FALSE(small.add(b, v, br, v)) << "the map is full";
  rrelay_flow got{};
  EXPECT_FALSE(small.read(b, &got)) << "nothing of the refused flow stays";
  EXPECT_TRUE(small.take(a, &got));
  EXPECT_EQ(got.packets, 5u);
  EXPECT_FALSE(small.read(a, &got)) << "take deletes";
  small.remove(a, ar);
  EXPECT_TRUE(small.add(b, v, br, v)) << "room again";
}

}  // namespace
}  // namespace rampart::xdp
