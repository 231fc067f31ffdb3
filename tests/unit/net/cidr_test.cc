#include "net/cidr.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace rampart::net {
namespace {

using rampart::testing::ip;

Cidr cidr(const char* text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr());
}

TEST(Cidr, ParseForms) {
  EXPECT_EQ(cidr("1.2.3.4").to_string(), "1.2.3.4/32");
  EXPECT_EQ(cidr("1.2.3.0/24").to_string(), "1.2.3.0/24");
  EXPECT_EQ(cidr("1.2.3.4/24").to_string(), "1.2.3.0/24");  // host bits cleared
  EXPECT_EQ(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(cidr("255.255.255.255/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(cidr("10.1.2.3/9").to_string(), "10.0.0.0/9");
  EXPECT_EQ(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
  EXPECT_EQ(cidr("2001:db8::1").to_string(), "2001:db8::1/128");
  EXPECT_EQ(cidr("2001:db8:ffff::1/33").to_string(), "2001:db8:8000::/33");
  EXPECT_EQ(cidr("::/0").to_string(), "::/0");
  EXPECT_EQ(cidr("1.2.3.4").prefix_len(), 32);
  EXPECT_EQ(cidr("::1").prefix_len(), 128);
  EXPECT_TRUE(cidr("1.2.3.4").base().is_v4());
}

TEST(Cidr, MappedPrefixBecomesV4) {
  Cidr c = cidr("::ffff:10.0.0.0/104");
  EXPECT_TRUE(c.base().is_v4());
  EXPECT_EQ(c.to_string(), "10.0.0.0/8");
  EXPECT_EQ(cidr("::ffff:1.2.3.4").to_string(), "1.2.3.4/32");
  // A shorter prefix covering the mapped range stays IPv6.
  EXPECT_TRUE(cidr("::ffff:0:0/95").base().is_v6());
}

TEST(Cidr, ParseRejects) {
  for (const char* bad : {"",
                          "/",
                          "/24",
                          "1.2.3.4/",
                          "1.2.3.4/33",
                          "1.2.3.4/-1",
                          "1.2.3.4/+8",
                          "1.2.3.4/08",
                          "1.2.3.4/ 8",
                          "1.2.3.4/8 ",
                          " 1.2.3.4",
                          "1.2.3.4/1000",
                          "1.2.3.4/8/8",
                          "300.1.1.1",
                          "300.1.1.1/8",
                          "1.2.3",
                          "1.2.3.4.5",
                          "2001:db8::/129",
                          "2001:db8::/1280",
                          "2001:db8:::/32",
                          "fe80::1%eth0/64",
                          "[::1]/128",
                          "abc",
                          "1.2.3.4/x"}) {
    EXPECT_FALSE(Cidr::parse(bad).has_value()) << bad;
  }
  EXPECT_FALSE(Cidr::from(ip("1.2.3.4"), 33).has_value());
  EXPECT_FALSE(Cidr::from(ip("::"), -1).has_value());
  EXPECT_TRUE(Cidr::from(ip("::"), 128).has_value());
}

TEST(Cidr, Contains) {
  Cidr c = cidr("192.0.2.0/24");
  EXPECT_TRUE(c.contains(ip("192.0.2.0")));
  EXPECT_TRUE(c.contains(ip("192.0.2.255")));
  EXPECT_FALSE(c.contains(ip("192.0.3.0")));
  EXPECT_FALSE(c.contains(ip("192.0.1.255")));
  EXPECT_TRUE(c.contains(ip("::ffff:192.0.2.9")));  // mapped matches as IPv4
  EXPECT_FALSE(c.contains(ip("::c000:209")));       // IPv4-compatible is not mapped

  Cidr host = cidr("10.0.0.1/32");
  EXPECT_TRUE(host.contains(ip("10.0.0.1")));
  EXPECT_FALSE(host.contains(ip("10.0.0.0")));
  EXPECT_FALSE(host.contains(ip("10.0.0.2")));

  Cidr all4 = cidr("0.0.0.0/0");
  EXPECT_TRUE(all4.contains(ip("0.0.0.0")));
  EXPECT_TRUE(all4.contains(ip("255.255.255.255")));
  EXPECT_TRUE(all4.contains(ip("::ffff:8.8.8.8")));
  EXPECT_FALSE(all4.contains(ip("::1")));

  Cidr all6 = cidr("::/0");
  EXPECT_TRUE(all6.contains(ip("::")));
  EXPECT_TRUE(all6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(all6.contains(ip("1.2.3.4")));
  EXPECT_FALSE(all6.contains(ip("::ffff:1.2.3.4")));  // that is 1.2.3.4

  Cidr h6 = cidr("2001:db8::1/128");
  EXPECT_TRUE(h6.contains(ip("2001:db8::1")));
  EXPECT_FALSE(h6.contains(ip("2001:db8::")));
  EXPECT_FALSE(h6.contains(ip("2001:db8::2")));

  Cidr odd = cidr("2001:db8::/33");
  EXPECT_TRUE(odd.contains(ip("2001:db8:7fff:ffff::")));
  EXPECT_FALSE(odd.contains(ip("2001:db8:8000::")));

  Cidr mapped = cidr("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.contains(ip("10.9.9.9")));
  EXPECT_TRUE(mapped.contains(ip("::ffff:10.9.9.9")));
}

TEST(PrefixTrie, Empty) {
  PrefixTrie<int> t;
  EXPECT_EQ(t.lookup(ip("1.2.3.4")), nullptr);
  EXPECT_EQ(t.lookup(ip("::1")), nullptr);
  EXPECT_TRUE(t.empty());
}

TEST(PrefixTrie, LongestMatchOverlapping) {
  PrefixTrie<std::string> t;
  t.insert(cidr("10.0.0.0/8"), "a8");
  t.insert(cidr("10.1.0.0/16"), "a16");
  t.insert(cidr("10.1.2.0/24"), "a24");
  t.insert(cidr("10.1.2.3/32"), "a32");
  t.insert(cidr("10.128.0.0/9"), "b9");
  t.insert(cidr("0.0.0.0/0"), "default4");
  t.insert(cidr("2001:db8::/32"), "v6-32");
  t.insert(cidr("2001:db8:1::/48"), "v6-48");
  t.insert(cidr("2001:db8:1::1/128"), "v6-128");
  EXPECT_EQ(t.size(), 9u);

  auto look = [&](const char* a) {
    const std::string* v = t.lookup(ip(a));
    return v ? *v : std::string("none");
  };
  EXPECT_EQ(look("10.1.2.3"), "a32");
  EXPECT_EQ(look("10.1.2.4"), "a24");
  EXPECT_EQ(look("10.1.3.4"), "a16");
  EXPECT_EQ(look("10.2.3.4"), "a8");
  EXPECT_EQ(look("10.200.0.1"), "b9");
  EXPECT_EQ(look("11.0.0.0"), "default4");
  EXPECT_EQ(look("::ffff:10.1.2.3"), "a32");
  EXPECT_EQ(look("2001:db8:1::1"), "v6-128");
  EXPECT_EQ(look("2001:db8:1::2"), "v6-48");
  EXPECT_EQ(look("2001:db8:2::"), "v6-32");
  EXPECT_EQ(look("2001:db9::"), "none");
  EXPECT_EQ(look("::"), "none");

  // Replace, and exact find.
  t.insert(cidr("10.1.0.0/16"), "a16'");
  EXPECT_EQ(t.size(), 9u);
  EXPECT_EQ(look("10.1.3.4"), "a16'");
  ASSERT_NE(t.find(cidr("10.1.0.0/16")), nullptr);
  EXPECT_EQ(*t.find(cidr("10.1.0.0/16")), "a16'");
  EXPECT_EQ(t.find(cidr("10.1.0.0/17")), nullptr);
  EXPECT_EQ(t.find(cidr("10.0.0.0/7")), nullptr);
}

TEST(PrefixTrie, InsertOrderDoesNotMatter) {
  // Insert shorter after longer (exercises node insertion above an existing node and splits).
  PrefixTrie<int> t;
  t.insert(cidr("10.1.2.3/32"), 32);
  t.insert(cidr("10.1.2.128/25"), 25);
  t.insert(cidr("10.1.0.0/16"), 16);
  t.insert(cidr("10.0.0.0/8"), 8);
  t.insert(cidr("10.1.2.0/24"), 24);
  EXPECT_EQ(*t.lookup(ip("10.1.2.3")), 32);
  EXPECT_EQ(*t.lookup(ip("10.1.2.4")), 24);
  EXPECT_EQ(*t.lookup(ip("10.1.2.200")), 25);
  EXPECT_EQ(*t.lookup(ip("10.1.200.1")), 16);
  EXPECT_EQ(*t.lookup(ip("10.200.0.1")), 8);
  EXPECT_EQ(t.lookup(ip("11.0.0.0")), nullptr);
}

// Brute force: the longest of `all` containing `a`, or -1.
int brute(const std::vector<std::pair<Cidr, int>>& all, const IpAddr& a) {
  int best_len = -1, best = -1;
  for (auto& [c, v] : all) {
    if (c.contains(a) && c.prefix_len() > best_len) {
      best_len = c.prefix_len();
      best = v;
    }
  }
  return best;
}

IpAddr random_v4(std::mt19937_64& rng) {
  return IpAddr::v4(static_cast<uint32_t>(rng()));
}

IpAddr random_v6(std::mt19937_64& rng) {
  std::array<uint8_t, 16> b;
  uint64_t hi = rng(), lo = rng();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  b[0] = 0x20;  // keep clear of ::ffff:0:0/96
  return IpAddr::v6(b);
}

TEST(PrefixTrie, HundredThousandRandomPrefixesAgainstBruteForce) {
  std::mt19937_64 rng(12345);
  PrefixTrie<int> t;
  std::vector<std::pair<Cidr, int>> all;
  constexpr int kCount = 100000;
  for (int i = 0; i < kCount; ++i) {
    bool v6 = i % 2 == 1;
    // Mostly long prefixes, some short ones so that overlaps are common.
    int max = v6 ? 128 : 32;
    int len = (rng() % 4 == 0) ? static_cast<int>(rng() % 17) : static_cast<int>(rng() % (max + 1));
    auto c = Cidr::from(v6 ? random_v6(rng) : random_v4(rng), len);
    ASSERT_TRUE(c.has_value());
    t.insert(*c, i);
    all.emplace_back(*c, i);
  }
  // Later duplicates replace earlier ones in the trie; make the brute force agree.
  std::vector<std::pair<Cidr, int>> dedup;
  {
    PrefixTrie<size_t> seen;
    for (auto& e : all) {
      if (const size_t* idx = seen.find(e.first)) {
        dedup[*idx].second = e.second;
      } else {
        seen.insert(e.first, dedup.size());
        dedup.push_back(e);
      }
    }
  }
  EXPECT_EQ(t.size(), dedup.size());
  for (int probe = 0; probe < 300; ++probe) {
    IpAddr a;
    if (probe % 3 == 0) {
      // An address inside a stored prefix, so that deep matches are exercised.
      const Cidr& c = dedup[rng() % dedup.size()].first;
      a = c.base();
    } else {
      a = probe % 3 == 1 ? random_v4(rng) : random_v6(rng);
    }
    const int* got = t.lookup(a);
    int want = brute(dedup, a);
    EXPECT_EQ(got ? *got : -1, want) << a.to_string();
  }
}

}  // namespace
}  // namespace rampart::net
