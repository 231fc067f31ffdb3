// Origin lockdown rules: parsing of addresses/ports, normalisation, and the text of each format.
#include "lockdown/lockdown.h"

#include <gtest/gtest.h>

#include <string>

#include "config/parse.h"

namespace rampart::lockdown {
namespace {

using config::Proto;

net::Cidr cidr(const char* text) {
  auto c = parse_edge_address(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(net::Cidr{});
}

Spec make_spec(std::vector<const char*> sources, std::vector<const char*> ports,
               std::vector<Proto> protos = {Proto::kTcp}) {
  Spec spec;
  for (const char* s : sources) spec.sources.push_back(cidr(s));
  for (const char* p : ports) EXPECT_TRUE(parse_port_arg(p, protos, &spec.ports)) << p;
  normalize(&spec);
  return spec;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// The text without its comment lines.
std::string rules_only(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text[start] != '#') out += text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------- parsing

TEST(LockdownParse, Formats) {
  EXPECT_EQ(parse_format("nftables"), Format::kNftables);
  EXPECT_EQ(parse_format("nft"), Format::kNftables);
  EXPECT_EQ(parse_format("iptables"), Format::kIptables);
  EXPECT_EQ(parse_format("ufw"), Format::kUfw);
  EXPECT_FALSE(parse_format("pf").has_value());
  EXPECT_FALSE(parse_format("").has_value());
}

TEST(LockdownParse, EdgeAddresses) {
  EXPECT_EQ(cidr("192.0.2.10").to_string(), "192.0.2.10/32");
  EXPECT_EQ(cidr("192.0.2.0/28").to_string(), "192.0.2.0/28");
  EXPECT_EQ(cidr("2001:db8::10").prefix_len(), 128);
  EXPECT_EQ(cidr("2001:db8::/64").prefix_len(), 64);
  EXPECT_TRUE(cidr("::ffff:192.0.2.1").base().is_v4());
}

TEST(LockdownParse, BadEdgeAddresses) {
  for (const char* bad :
       {"", "edge.example.com", "192.0.2.300", "192.0.2.1/24", "192.0.2.0/33", "2001:db8::/129",
        "0.0.0.0/0", "::/0", "0.0.0.0", "::", "[2001:db8::1]", "10.0.0.0/-1", "1.2.3.4/"}) {
    std::string why;
    EXPECT_FALSE(parse_edge_address(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  std::string why;
  parse_edge_address("0.0.0.0/0", &why);
  EXPECT_NE(why.find("every address"), std::string::npos) << why;
}

TEST(LockdownParse, Ports) {
  std::vector<ProtoPorts> out;
  ASSERT_TRUE(parse_port_arg("22", {Proto::kTcp}, &out));
  ASSERT_TRUE(parse_port_arg("1000-2000", {Proto::kTcp, Proto::kUdp}, &out));
  ASSERT_TRUE(parse_port_arg("udp/53", {Proto::kTcp}, &out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], (ProtoPorts{Proto::kTcp, {22, 22}}));
  EXPECT_EQ(out[1], (ProtoPorts{Proto::kTcp, {1000, 2000}}));
  EXPECT_EQ(out[2], (ProtoPorts{Proto::kUdp, {1000, 2000}}));
  EXPECT_EQ(out[3], (ProtoPorts{Proto::kUdp, {53, 53}}));
}

TEST(LockdownParse, BadPorts) {
  for (const char* bad :
       {"", "0", "65536", "70000", "-1", "abc", "2000-1000", "22-", "tcp/", "sctp/22", "udp/0"}) {
    std::vector<ProtoPorts> out;
    std::string why;
    EXPECT_FALSE(parse_port_arg(bad, {Proto::kTcp}, &out, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
    EXPECT_TRUE(out.empty()) << bad;
  }
}

TEST(LockdownParse, Protos) {
  EXPECT_EQ(parse_protos("tcp"), std::vector<Proto>{Proto::kTcp});
  EXPECT_EQ(parse_protos("udp"), std::vector<Proto>{Proto::kUdp});
  EXPECT_EQ(parse_protos("both"), (std::vector<Proto>{Proto::kTcp, Proto::kUdp}));
  EXPECT_EQ(parse_protos("tcp,udp"), (std::vector<Proto>{Proto::kTcp, Proto::kUdp}));
  std::string why;
  EXPECT_FALSE(parse_protos("icmp", &why).has_value());
  EXPECT_NE(why.find("expected tcp, udp or both"), std::string::npos);
}

TEST(LockdownNormalize, MergesPortsAndDropsCoveredSources) {
  Spec spec = make_spec(
      {"2001:db8::1", "10.0.0.0/8", "10.1.2.3", "192.0.2.1", "2001:db8::/64", "192.0.2.1"},
      {"8005-8020", "8000-8010", "22", "23", "udp/53", "8021", "9000"});
  ASSERT_EQ(spec.sources.size(), 3u);
  EXPECT_EQ(spec.sources[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(spec.sources[1].to_string(), "192.0.2.1/32");
  EXPECT_EQ(spec.sources[2].to_string(), "2001:db8::/64");
  std::vector<ProtoPorts> want = {{Proto::kTcp, {22, 23}},
                                  {Proto::kTcp, {8000, 8021}},
                                  {Proto::kTcp, {9000, 9000}},
                                  {Proto::kUdp, {53, 53}}};
  EXPECT_EQ(spec.ports, want);
}

TEST(LockdownCheck, NeedsSourcesAndPorts) {
  Spec spec;
  EXPECT_NE(check(spec).find("no edge addresses"), std::string::npos);
  spec.sources.push_back(cidr("192.0.2.1"));
  EXPECT_NE(check(spec).find("no ports"), std::string::npos);
  spec.ports.push_back({Proto::kTcp, {22, 22}});
  EXPECT_EQ(check(spec), "");
}

TEST(LockdownConfig, PortsFromApps) {
  auto r = config::parse_yaml(R"(
edge:
  egress_ips: ["192.0.2.10", "2001:db8::10"]
api:
  token: t
apps:
  - id: ssh
    protocol: tcp/2222
    origin_direct: ["tcp://203.0.113.5:22", "tcp://[2001:db8::5]:22"]
  - id: game
    protocol: udp/27015-27020
    origin_direct: ["udp://203.0.113.6:27015-27020"]
)");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  Spec spec;
  spec.ports = ports_from_config(*r.config);
  normalize(&spec);
  std::vector<ProtoPorts> want = {{Proto::kTcp, {22, 22}}, {Proto::kUdp, {27015, 27020}}};
  EXPECT_EQ(spec.ports, want);
}

TEST(LockdownWarnings, Port22) {
  EXPECT_TRUE(warnings(make_spec({"192.0.2.1"}, {"8022"})).empty());
  EXPECT_EQ(warnings(make_spec({"192.0.2.1"}, {"22"})).size(), 1u);
  EXPECT_EQ(warnings(make_spec({"192.0.2.1"}, {"20-30"})).size(), 1u);
  EXPECT_TRUE(warnings(make_spec({"192.0.2.1"}, {"udp/22"})).empty());
  std::string text = render_nftables(make_spec({"192.0.2.1"}, {"22"}));
  EXPECT_NE(text.find("# WARNING: tcp port 22 (SSH)"), std::string::npos) << text;
}

// ---------------------------------------------------------------- nftables

TEST(LockdownNftables, AtomicTableV4AndV6) {
  Spec spec = make_spec({"192.0.2.10", "2001:db8::/64"}, {"443", "8000-8010"});
  spec.generated_by = "rampart lockdown --port 443";
  std::string text = render_nftables(spec);
  // Re-applying replaces the table in one transaction.
  size_t create = text.find("\ntable inet rampart_lockdown {}\n");
  size_t del = text.find("\ndelete table inet rampart_lockdown\n");
  size_t def = text.find("\ntable inet rampart_lockdown {\n");
  ASSERT_NE(create, std::string::npos) << text;
  ASSERT_NE(del, std::string::npos) << text;
  ASSERT_NE(def, std::string::npos) << text;
  EXPECT_LT(create, del);
  EXPECT_LT(del, def);
  EXPECT_TRUE(has_line(text, "    elements = { 192.0.2.10 }")) << text;
  EXPECT_TRUE(has_line(text, "    elements = { 2001:db8::/64 }")) << text;
  EXPECT_TRUE(has_line(text, "    elements = { 443, 8000-8010 }")) << text;
  EXPECT_TRUE(has_line(text, "    type filter hook input priority filter - 10; policy accept;"));
  EXPECT_TRUE(has_line(text, "    ip saddr @edge_v4 tcp dport @tcp_ports accept")) << text;
  EXPECT_TRUE(has_line(text, "    ip6 saddr @edge_v6 tcp dport @tcp_ports accept")) << text;
  EXPECT_TRUE(has_line(
      text,
      "    tcp dport @tcp_ports counter drop comment \"rampart lockdown: not from the edge\""));
  EXPECT_TRUE(has_line(text, "    iifname \"lo\" accept"));
  EXPECT_TRUE(has_line(text, "    ct direction reply accept"));
  EXPECT_EQ(text.find("udp"), std::string::npos) << text;
  // The accepts come before the drop.
  EXPECT_LT(text.find("@edge_v6 tcp dport"), text.find("counter drop"));
  EXPECT_NE(text.find("# Generated by: rampart lockdown --port 443"), std::string::npos);
  EXPECT_NE(text.find("nft -f"), std::string::npos);
  EXPECT_NE(text.find("Undo: nft delete table inet rampart_lockdown"), std::string::npos);
  EXPECT_EQ(text.find("WARNING"), std::string::npos);
}

TEST(LockdownNftables, UdpAndTcpAndNoV6) {
  std::string text =
      render_nftables(make_spec({"10.77.2.1"}, {"22", "udp/27015-27020"}, {Proto::kTcp}));
  EXPECT_TRUE(has_line(text, "  set tcp_ports {")) << text;
  EXPECT_TRUE(has_line(text, "  set udp_ports {")) << text;
  EXPECT_TRUE(has_line(text, "    elements = { 27015-27020 }")) << text;
  EXPECT_TRUE(has_line(text, "    ip saddr @edge_v4 udp dport @udp_ports accept")) << text;
  EXPECT_TRUE(has_line(text,
                       "    udp dport @udp_ports counter drop comment \"rampart lockdown: "
                       "not from the edge\""));
  // The empty v6 set is declared without elements (nft refuses `elements = { }`).
  EXPECT_NE(text.find("  set edge_v6 {\n    type ipv6_addr\n    flags interval\n  }\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no IPv6 edge address"), std::string::npos);
}

TEST(LockdownNftables, LongListsWrap) {
  std::vector<const char*> ports = {"1",  "3",  "5",  "7",  "9",  "11", "13",
                                    "15", "17", "19", "21", "23", "25"};
  std::string text = render_nftables(make_spec({"192.0.2.1"}, ports));
  EXPECT_NE(text.find("    elements = {\n      1, 3, 5, 7, 9, 11, 13, 15,\n      17, 19, 21, 23, "
                      "25\n    }\n"),
            std::string::npos)
      << text;
}

// ---------------------------------------------------------------- iptables

TEST(LockdownIptables, ScriptAppliesBothFamiliesIdempotently) {
  std::string text = render_iptables(
      make_spec({"192.0.2.10", "2001:db8::/64"}, {"22", "8000-8010"}), IptablesOutput::kScript);
  EXPECT_EQ(text.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_TRUE(has_line(text, "iptables-restore --noflush <<'RAMPART_IPV4'"));
  EXPECT_TRUE(has_line(text, "ip6tables-restore --noflush <<'RAMPART_IPV6'"));
  EXPECT_TRUE(has_line(text,
                       "iptables -C INPUT -j RAMPART-LOCKDOWN 2>/dev/null || iptables -I "
                       "INPUT 1 -j RAMPART-LOCKDOWN"));
  EXPECT_TRUE(has_line(text,
                       "ip6tables -C INPUT -j RAMPART-LOCKDOWN 2>/dev/null || ip6tables -I "
                       "INPUT 1 -j RAMPART-LOCKDOWN"));
  // The script's restore input never inserts the jump itself (that would duplicate it).
  EXPECT_EQ(text.find("\n-I INPUT"), std::string::npos);
  EXPECT_EQ(count(text, ":RAMPART-LOCKDOWN - [0:0]"), 2u);
  EXPECT_EQ(count(text, "\nCOMMIT\n"), 2u);
  // Never touches the built-in chains' policies.
  EXPECT_EQ(text.find(":INPUT"), std::string::npos);
}

TEST(LockdownIptables, RestoreV4) {
  std::string text = render_iptables(
      make_spec({"192.0.2.10", "198.51.100.0/24", "2001:db8::/64"}, {"22", "8000-8010", "udp/53"}),
      IptablesOutput::kIpv4Restore);
  EXPECT_TRUE(has_line(text, "*filter"));
  EXPECT_TRUE(has_line(text, ":RAMPART-LOCKDOWN - [0:0]"));
  EXPECT_TRUE(has_line(text, "-A RAMPART-LOCKDOWN -i lo -j RETURN"));
  EXPECT_TRUE(has_line(text, "-A RAMPART-LOCKDOWN -m conntrack --ctdir REPLY -j RETURN"));
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -s 192.0.2.10 -p tcp -m multiport --dports "
                       "22,8000:8010 -j RETURN"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -s 198.51.100.0/24 -p tcp -m multiport "
                       "--dports 22,8000:8010 -j RETURN"));
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -p tcp -m multiport --dports 22,8000:8010 -m "
                       "comment --comment \"rampart lockdown: not from the edge\" -j DROP"));
  EXPECT_TRUE(has_line(text, "-A RAMPART-LOCKDOWN -s 192.0.2.10 -p udp --dport 53 -j RETURN"));
  EXPECT_TRUE(has_line(text, "-I INPUT 1 -j RAMPART-LOCKDOWN"));
  EXPECT_EQ(rules_only(text).find("2001:db8"), std::string::npos) << text;
  EXPECT_LT(text.find("-s 192.0.2.10 -p tcp"), text.find("-j DROP"));
  EXPECT_TRUE(text.ends_with("COMMIT\n"));
}

TEST(LockdownIptables, RestoreV6WithoutV6SourcesDropsOnly) {
  std::string text =
      render_iptables(make_spec({"192.0.2.10"}, {"443"}), IptablesOutput::kIpv6Restore);
  EXPECT_EQ(text.find("-s "), std::string::npos) << text;
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -p tcp --dport 443 -m comment --comment "
                       "\"rampart lockdown: not from the edge\" -j DROP"));
  EXPECT_NE(text.find("ip6tables-restore --noflush"), std::string::npos);
}

TEST(LockdownIptables, MultiportChunksOf15Slots) {
  std::vector<const char*> ports;
  std::vector<std::string> storage;
  for (int i = 0; i < 20; ++i) storage.push_back(std::to_string(1000 + 2 * i));
  for (const auto& s : storage) ports.push_back(s.c_str());
  std::string text = render_iptables(make_spec({"192.0.2.1"}, ports), IptablesOutput::kIpv4Restore);
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -s 192.0.2.1 -p tcp -m multiport --dports "
                       "1000,1002,1004,1006,1008,1010,1012,1014,1016,1018,1020,1022,1024,"
                       "1026,1028 -j RETURN"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "-A RAMPART-LOCKDOWN -s 192.0.2.1 -p tcp -m multiport --dports "
                       "1030,1032,1034,1036,1038 -j RETURN"))
      << text;
  EXPECT_EQ(count(text, "-j DROP"), 2u);
}

// ---------------------------------------------------------------- ufw

TEST(LockdownUfw, AllowsBeforeDenies) {
  std::string text =
      render_ufw(make_spec({"192.0.2.10", "2001:db8::/64"}, {"22", "8000-8010", "udp/53"}));
  const char* c = " comment 'rampart lockdown'";
  std::vector<std::string> allows = {
      "ufw allow proto tcp from 192.0.2.10 to any port 22",
      "ufw allow proto tcp from 2001:db8::/64 to any port 22",
      "ufw allow proto tcp from 192.0.2.10 to any port 8000:8010",
      "ufw allow proto tcp from 2001:db8::/64 to any port 8000:8010",
      "ufw allow proto udp from 192.0.2.10 to any port 53",
      "ufw allow proto udp from 2001:db8::/64 to any port 53",
  };
  std::vector<std::string> denies = {
      "ufw deny proto tcp to any port 22",
      "ufw deny proto tcp to any port 8000:8010",
      "ufw deny proto udp to any port 53",
  };
  size_t last_allow = 0;
  for (const auto& a : allows) {
    ASSERT_TRUE(has_line(text, a + c)) << a << "\n" << text;
    last_allow = std::max(last_allow, text.find(a + c));
  }
  for (const auto& d : denies) {
    ASSERT_TRUE(has_line(text, d + c)) << d << "\n" << text;
    EXPECT_GT(text.find(d + c), last_allow) << d;
  }
  EXPECT_EQ(count(text, "\nufw "), allows.size() + denies.size());
  EXPECT_NE(text.find("FIRST matching rule"), std::string::npos);
  EXPECT_NE(text.find("# WARNING: tcp port 22"), std::string::npos);
}

TEST(LockdownRender, DispatchesOnFormat) {
  Spec spec = make_spec({"192.0.2.1"}, {"443"});
  EXPECT_EQ(render(Format::kNftables, spec), render_nftables(spec));
  EXPECT_EQ(render(Format::kUfw, spec), render_ufw(spec));
  EXPECT_EQ(render(Format::kIptables, spec), render_iptables(spec, IptablesOutput::kScript));
  EXPECT_EQ(render(Format::kIptables, spec, IptablesOutput::kIpv6Restore),
            render_iptables(spec, IptablesOutput::kIpv6Restore));
}

}  // namespace
}  // namespace rampart::lockdown
