// The value parsers of parse.h / duration.h and the helpers of model.h.
#include <gtest/gtest.h>

#include "config/enum_names.h"
#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(Duration, Valid) {
  EXPECT_EQ(parse_duration("30s"), seconds(30));
  EXPECT_EQ(parse_duration("5m"), minutes(5));
  EXPECT_EQ(parse_duration("1h"), hours(1));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("1h30m"), minutes(90));
  EXPECT_EQ(parse_duration("1m30s500ms"), milliseconds(90500));
  EXPECT_EQ(parse_duration("2d"), hours(48));
  EXPECT_EQ(parse_duration("45"), seconds(45));
  EXPECT_EQ(parse_duration("0"), seconds(0));
  EXPECT_EQ(parse_duration("0s"), seconds(0));
}

TEST(Duration, Invalid) {
  for (const char* s : {"", "s", "-5s", "+5s", "1.5s", "5 s", " 5s", "5s ", "5x", "1h30", "5sec",
                        "ms", "99999999999999999999s", "999999999h", "1h-1m", "abc", "5S"})
    EXPECT_FALSE(parse_duration(s).has_value()) << s;
}

TEST(Duration, FormatRoundTrips) {
  EXPECT_EQ(format_duration(seconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(seconds(30)), "30s");
  EXPECT_EQ(format_duration(minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(hours(49)), "49h");
  for (auto d : {milliseconds(1), milliseconds(61001), milliseconds(3723000)})
    EXPECT_EQ(parse_duration(format_duration(d)), d) << d.count();
}

TEST(PortRange, Valid) {
  EXPECT_EQ(parse_port_range("22"), (PortRange{22, 22}));
  EXPECT_EQ(parse_port_range("1"), (PortRange{1, 1}));
  EXPECT_EQ(parse_port_range("65535"), (PortRange{65535, 65535}));
  EXPECT_EQ(parse_port_range("1000-2000"), (PortRange{1000, 2000}));
  EXPECT_EQ(parse_port_range("7-7"), (PortRange{7, 7}));
  EXPECT_EQ(parse_port_range("1000-2000")->size(), 1001u);
}

TEST(PortRange, Invalid) {
  for (const char* s : {"", "0", "65536", "99999", "123456", "-1", "1-", "-5", "2000-1000", "1-2-3",
                        "a", "22 ", " 22", "+22", "0-10", "10-70000", "1000 - 2000"})
    EXPECT_FALSE(parse_port_range(s).has_value()) << s;
}

TEST(PortRange, ErrorsSayWhatIsExpected) {
  std::string why;
  EXPECT_FALSE(parse_port_range("0", &why));
  EXPECT_NE(why.find("1-65535"), std::string::npos) << why;
  EXPECT_FALSE(parse_port_range("2000-1000", &why));
  EXPECT_NE(why.find("FIRST <= LAST"), std::string::npos) << why;
}

TEST(Protocol, Valid) {
  Proto p;
  PortRange r;
  ASSERT_TRUE(parse_protocol("tcp/22", &p, &r));
  EXPECT_EQ(p, Proto::kTcp);
  EXPECT_EQ(r, (PortRange{22, 22}));
  ASSERT_TRUE(parse_protocol("udp/1000-2000", &p, &r));
  EXPECT_EQ(p, Proto::kUdp);
  EXPECT_EQ(r, (PortRange{1000, 2000}));
}

TEST(Protocol, Invalid) {
  Proto p = Proto::kTcp;
  PortRange r{9, 9};
  for (const char* s : {"", "tcp", "tcp/", "22", "TCP/22", "sctp/22", "tcp/0", "udp/70000",
                        "tcp:22", "tcp/22/33", "tcp/abc", "/22", "tcp /22"}) {
    std::string why;
    EXPECT_FALSE(parse_protocol(s, &p, &r, &why)) << s;
    EXPECT_FALSE(why.empty()) << s;
  }
  EXPECT_EQ(r, (PortRange{9, 9}));  // untouched on failure
}

TEST(OriginDirect, Valid) {
  auto o = parse_origin_direct("tcp://1.2.3.4:22", Proto::kTcp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ip, *net::IpAddr::parse("1.2.3.4"));
  EXPECT_EQ(o->ports, (PortRange{22, 22}));
  EXPECT_EQ(o->text, "tcp://1.2.3.4:22");

  o = parse_origin_direct("tcp://[2001:db8::1]:22", Proto::kTcp);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->ip.is_v6());
  EXPECT_EQ(o->ip, *net::IpAddr::parse("2001:db8::1"));

  o = parse_origin_direct("tcp://1.2.3.4:3000-4000", Proto::kTcp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ports, (PortRange{3000, 4000}));

  o = parse_origin_direct("udp://[::1]:53", Proto::kUdp);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->ip.is_loopback());
}

std::string origin_error(const char* text, Proto p = Proto::kTcp) {
  std::string why;
  EXPECT_FALSE(parse_origin_direct(text, p, &why)) << text;
  return why;
}

TEST(OriginDirect, Ipv6WithoutBracketsSuggestsTheBracketedForm) {
  EXPECT_EQ(origin_error("tcp://2001:db8::1:22"),
            "invalid origin \"tcp://2001:db8::1:22\": IPv6 addresses must be in brackets, e.g. "
            "tcp://[2001:db8::1]:22");
  EXPECT_NE(origin_error("tcp://::1").find("must be in brackets"), std::string::npos);
}

TEST(OriginDirect, SchemeMustMatchTheApp) {
  EXPECT_NE(origin_error("udp://1.2.3.4:22", Proto::kTcp).find("must use tcp://"),
            std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3.4:22", Proto::kUdp).find("must use udp://"),
            std::string::npos);
  EXPECT_NE(origin_error("http://1.2.3.4:22").find("unknown scheme"), std::string::npos);
}

TEST(OriginDirect, Malformed) {
  EXPECT_NE(origin_error("1.2.3.4:22").find("expected tcp://IP:PORT"), std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3.4").find("missing port"), std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3.4:").find("missing port"), std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3.4:0").find("1-65535"), std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3.4:65536").find("1-65535"), std::string::npos);
  EXPECT_NE(origin_error("tcp://origin.example.com:22").find("origin_dns"), std::string::npos);
  EXPECT_NE(origin_error("tcp://1.2.3:22").find("not a valid IP"), std::string::npos);
  EXPECT_NE(origin_error("tcp://[2001:db8::1]").find("missing port"), std::string::npos);
  EXPECT_NE(origin_error("tcp://[2001:db8::1:22").find("missing ']'"), std::string::npos);
  EXPECT_NE(origin_error("tcp://[1.2.3.4]:22").find("only for IPv6"), std::string::npos);
  EXPECT_NE(origin_error("tcp://0.0.0.0:22").find("unspecified"), std::string::npos);
  EXPECT_NE(origin_error("tcp://[::]:22").find("unspecified"), std::string::npos);
  EXPECT_FALSE(origin_error("tcp://1.2.3.4:22/").empty());
  EXPECT_FALSE(origin_error("tcp://").empty());
  EXPECT_FALSE(origin_error("").empty());
  EXPECT_FALSE(origin_error("tcp://1.2.3.4:4000-3000").empty());
  EXPECT_FALSE(origin_error("tcp://[fe80::1%eth0]:22").empty());
}

TEST(Cidr, ValidAndInvalid) {
  net::IpAddr net;
  int len = -1;
  EXPECT_TRUE(parse_cidr("198.51.100.0/24", &net, &len));
  EXPECT_EQ(net, *net::IpAddr::parse("198.51.100.0"));
  EXPECT_EQ(len, 24);
  EXPECT_TRUE(parse_cidr("2001:db8::/32", &net, &len));
  EXPECT_EQ(len, 32);
  EXPECT_TRUE(parse_cidr("0.0.0.0/0", nullptr, nullptr));
  EXPECT_TRUE(parse_cidr("192.0.2.7/32", nullptr, nullptr));
  EXPECT_TRUE(parse_cidr("::/0", nullptr, nullptr));
  std::string why;
  EXPECT_FALSE(parse_cidr("198.51.100.7/24", nullptr, nullptr, &why));
  EXPECT_NE(why.find("did you mean 198.51.100.0/24"), std::string::npos) << why;
  for (const char* s : {"198.51.100.0", "198.51.100.0/33", "2001:db8::/129", "x/8", "1.2.3.4/",
                        "1.2.3.4/-1", "1.2.3.4/ 8", "/8"})
    EXPECT_FALSE(parse_cidr(s, nullptr, nullptr)) << s;
}

TEST(Hostname, Validity) {
  EXPECT_TRUE(is_valid_hostname("ssh.example.com"));
  EXPECT_TRUE(is_valid_hostname("localhost"));
  EXPECT_TRUE(is_valid_hostname("a-b.example.com."));
  EXPECT_TRUE(is_valid_hostname("_srv.example.com"));
  EXPECT_FALSE(is_valid_hostname(""));
  EXPECT_FALSE(is_valid_hostname("-a.example.com"));
  EXPECT_FALSE(is_valid_hostname("a..b"));
  EXPECT_FALSE(is_valid_hostname("a b.com"));
  EXPECT_FALSE(is_valid_hostname(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(is_valid_hostname("*.example.com"));
  EXPECT_TRUE(is_valid_hostname("*.example.com", true));
}

TEST(ExpandEnv, Forms) {
  ScopedEnv a("RAMPART_T_A", "alpha");
  ScopedEnv b("RAMPART_T_UNSET", nullptr);
  ScopedEnv c("RAMPART_T_EMPTY", "");
  EXPECT_EQ(expand_env("plain"), "plain");
  EXPECT_EQ(expand_env("${RAMPART_T_A}"), "alpha");
  EXPECT_EQ(expand_env("x${RAMPART_T_A}y${RAMPART_T_A}"), "xalphayalpha");
  EXPECT_EQ(expand_env("${RAMPART_T_UNSET}"), "");
  EXPECT_EQ(expand_env("${RAMPART_T_UNSET:-dflt}"), "dflt");
  EXPECT_EQ(expand_env("${RAMPART_T_EMPTY:-dflt}"), "dflt");
  EXPECT_EQ(expand_env("${RAMPART_T_A:-dflt}"), "alpha");
  EXPECT_EQ(expand_env("${RAMPART_T_UNSET:-}"), "");
  EXPECT_EQ(expand_env("$${RAMPART_T_A}"), "${RAMPART_T_A}");
  EXPECT_EQ(expand_env("cost $5 and $ and $HOME"), "cost $5 and $ and $HOME");
  std::string why;
  EXPECT_FALSE(expand_env("${RAMPART_T_A", &why));
  EXPECT_NE(why.find("unterminated"), std::string::npos);
  EXPECT_FALSE(expand_env("${}", &why));
  EXPECT_FALSE(expand_env("${9X}", &why));
  EXPECT_FALSE(expand_env("${A B}", &why));
}

TEST(OriginPortFor, OffsetMapping) {
  PortRange edge{1000, 2000};
  EXPECT_EQ(origin_port_for(edge, PortRange{3000, 4000}, 1005), 3005);
  EXPECT_EQ(origin_port_for(edge, PortRange{3000, 4000}, 1000), 3000);
  EXPECT_EQ(origin_port_for(edge, PortRange{3000, 4000}, 2000), 4000);
  EXPECT_EQ(origin_port_for(edge, PortRange{22, 22}, 1005), 22);
  EXPECT_EQ(origin_port_for(PortRange{22, 22}, PortRange{2022, 2022}, 22), 2022);
  // Out-of-range input (ruled out by validate) stays within the origin range.
  EXPECT_EQ(origin_port_for(edge, PortRange{3000, 4000}, 999), 3000);
  EXPECT_EQ(origin_port_for(edge, PortRange{3000, 3010}, 1500), 3000);
}

TEST(ConfigError, ToString) {
  EXPECT_EQ((ConfigError{"apps[0].origin_direct[1]", "bad", 11002}).to_string(),
            "apps[0].origin_direct[1]: bad (error 11002)");
  EXPECT_EQ((ConfigError{"edge.drain_timeout", "bad", 0}).to_string(), "edge.drain_timeout: bad");
  EXPECT_EQ((ConfigError{"", "syntax", 0}).to_string(), "syntax");
}

TEST(EnumNames, RoundTrip) {
  EXPECT_STREQ(to_string(Proto::kUdp), "udp");
  EXPECT_STREQ(to_string(ProxyProtocol::kSimple), "simple");
  EXPECT_STREQ(to_string(LbPolicy::kLeastConnections), "least_connections");
  EXPECT_STREQ(to_string(TlsMode::kStrict), "strict");
  EXPECT_STREQ(to_string(Validator::kMinecraft), "minecraft");
  EXPECT_STREQ(to_string(AccessTarget::kIpRange), "ip_range");
  EXPECT_STREQ(to_string(XdpMode::kGeneric), "generic");
  EXPECT_STREQ(to_string(Connectivity::kIpv6), "ipv6");
  EXPECT_STREQ(to_string(EdgeIpsType::kStatic), "static");
  EXPECT_STREQ(to_string(AccessMode::kWhitelist), "whitelist");
  EXPECT_STREQ(to_string(ProxyProtocolUdp::kFirst), "first");
  for (const auto& e : kValidatorNames)
    EXPECT_EQ(enum_from_string(kValidatorNames, to_string(e.value)), e.value);
  EXPECT_EQ(enum_choices(kProxyProtocolNames), "off, v1, v2, simple");
  EXPECT_FALSE(enum_from_string(kTlsModeNames, "OFF").has_value());
}

}  // namespace
}  // namespace rampart::config
