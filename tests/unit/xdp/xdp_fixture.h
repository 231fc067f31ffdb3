// Shared by the XDP unit tests: configs, crafted packets, and the XdpProgram fixture that loads
// the program and runs it on a packet with BPF_PROG_TEST_RUN. The BPF tests skip when this build
// or this process cannot load programs (no libbpf, no CAP_BPF), except under
// RAMPART_REQUIRE_XDP=1 (`make unit` as root), where a skip would hide that they did not run.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "net/cidr.h"
#include "test_support.h"
#include "xdp/loader.h"
#include "xdp/map_plan.h"

#ifdef RAMPART_HAVE_LIBBPF
#include <bpf/bpf.h>
#endif

namespace rampart::xdp {

using rampart::testing::rule;

inline config::App app(const char* id, config::Proto proto, uint16_t first, uint16_t last,
                       bool ip_firewall = true) {
  config::App a;
  a.id = id;
  a.proto = proto;
  a.ports = {first, last};
  a.ip_firewall = ip_firewall;
  return a;
}

// Limits off unless a test sets them.
inline config::Config base_config() {
  config::Config c;
  c.protection.per_ip = {0, 0, 0, 0, 0};
  c.protection.udp_reflection_ports.clear();
  c.apps.push_back(app("tcp", config::Proto::kTcp, 7000, 7000));
  c.apps.push_back(app("udp", config::Proto::kUdp, 5300, 5300));
  return c;
}

// The map plan of `c` with every app serving, each with its effective protection (its own or
// the zone's), as edge::compile_config plans it from the compiled apps (that side is checked by
// tests/unit/edge/compiled_config_test.cc).
inline MapPlan plan_of(const config::Config& c) {
  std::vector<PlanApp> apps;
  for (const auto& a : c.apps)
    apps.push_back(
        {a.proto, a.ports, a.protection ? &*a.protection : &c.protection, a.ip_firewall});
  return plan_maps(apps, c.protection.ipv6_prefix, c.ip_access_rules);
}

// ---------------------------------------------------------------- packets

inline void put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
  p[at] = static_cast<uint8_t>(v >> 8);
  p[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet + IPv4 or IPv6 + a TCP (flags) or UDP header and 8 bytes of payload. Checksums are
// left zero: XDP runs before anything verifies them.
inline std::vector<uint8_t> packet(const char* src, uint16_t sport, uint16_t dport, bool tcp,
                                   uint8_t tcp_flags = 0x02) {
  const bool v6 = std::strchr(src, ':') != nullptr;
  const size_t l3 = v6 ? 40 : 20, l4 = tcp ? 20 : 8, payload = 8;
  std::vector<uint8_t> p(14 + l3 + l4 + payload, 0);
  put16(p, 12, v6 ? 0x86dd : 0x0800);
  uint8_t* ip = p.data() + 14;
  const uint8_t proto = tcp ? 6 : 17;
  if (v6) {
    ip[0] = 0x60;
    put16(p, 14 + 4, static_cast<uint16_t>(l4 + payload));
    ip[6] = proto;
    ip[7] = 64;
    inet_pton(AF_INET6, src, ip + 8);
    inet_pton(AF_INET6, "2001:db8::1", ip + 24);
  } else {
    ip[0] = 0x45;
    put16(p, 14 + 2, static_cast<uint16_t>(l3 + l4 + payload));
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, "10.77.1.1", ip + 16);
  }
  const size_t t = 14 + l3;
  put16(p, t, sport);
  put16(p, t + 2, dport);
  if (tcp) {
    p[t + 12] = 0x50;  // data offset 5
    p[t + 13] = tcp_flags;
    put16(p, t + 14, 64240);
  } else {
    put16(p, t + 4, static_cast<uint16_t>(l4 + payload));
  }
  return p;
}

// A ban as the guard hands it over: an address (/32, /128) or an IPv6 prefix.
inline net::Cidr source(const char* text) {
  return *net::Cidr::parse(text);
}

inline std::vector<uint8_t> syn(const char* src, uint16_t dport = 7000) {
  return packet(src, 40000, dport, true);
}
inline std::vector<uint8_t> datagram(const char* src, uint16_t sport = 40000,
                                     uint16_t dport = 5300) {
  return packet(src, sport, dport, false);
}

// ---------------------------------------------------------------- the kernel program

class XdpProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    // `make unit` sets RAMPART_REQUIRE_XDP=1 where it runs as root: there a skip would hide that
    // the BPF_PROG_TEST_RUN tests did not run, so it is a failure instead.
    const char* flag = std::getenv("RAMPART_REQUIRE_XDP");
    const bool required = flag != nullptr && std::string_view(flag) == "1";
    if (!Loader::supported()) {
      if (required) FAIL() << "built without libbpf, but RAMPART_REQUIRE_XDP is set";
      GTEST_SKIP() << "built without libbpf: no XDP fast path";
    }
    std::string error;
    if (!loader_.load(&error)) {
      if (required) FAIL() << "cannot load BPF programs: " << error;
      GTEST_SKIP() << "cannot load BPF programs here: " << error;
    }
  }

  // The program's verdict on `pkt` (XDP_PASS / XDP_DROP).
  int run(const std::vector<uint8_t>& pkt) { return run_on(loader_, pkt); }
  static int run_on(const Loader& loader, const std::vector<uint8_t>& pkt) {
#ifdef RAMPART_HAVE_LIBBPF
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = pkt.data();
    opts.data_size_in = static_cast<uint32_t>(pkt.size());
    opts.repeat = 1;
    const int rc = bpf_prog_test_run_opts(loader.prog_fd(), &opts);
    EXPECT_EQ(rc, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-rc);
    return static_cast<int>(opts.retval);
#else
    (void)loader;
    (void)pkt;
    return -1;
#endif
  }

  Loader loader_;
};

}  // namespace rampart::xdp
