// What dns_publish publishes (docs/dns_publish.md): the address records this edge owns, planned
// from an applied config, and the difference from what it last published. Pure functions; any
// thread.
#pragma once

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "net/ip_addr.h"

namespace rampart::publish {

// One A or AAAA record: owner name (config::fqdn) and address.
struct Record {
  std::string name;
  net::IpAddr ip;
  // By name, then A before AAAA, then address bytes.
  bool operator<(const Record& o) const {
    if (name != o.name) return name < o.name;
    if (ip.is_v4() != o.ip.is_v4()) return ip.is_v4();
    return std::memcmp(ip.bytes(), o.ip.bytes(), ip.size()) < 0;
  }
  bool operator==(const Record& o) const { return name == o.name && ip == o.ip; }
  std::string to_string() const;  // "ssh.example.com. A 203.0.113.7"
};

struct Plan {
  std::set<Record> records;
  // Apps whose dns.name is outside `zone` (not published), one line each.
  std::vector<std::string> outside;
};

// Each serving app's dns.name (apps named in `disabled` serve nothing and publish nothing) gets
// its static edge_ips, else edge.public_ips filtered by edge_ips.connectivity (ipv4: A only,
// ipv6: AAAA only); any dns.type (a CNAME-type app gets address records too). Names outside
// `zone` are left out (Plan::outside); unspecified addresses are never published.
Plan plan_records(const config::Config& cfg, const std::set<std::string>& disabled,
                  const std::string& zone);

// What one update sends: the records to add and those to delete (each "delete an RR from an
// RRset", RFC 2136 2.5.4: never the whole RRset, which other edges share).
struct Diff {
  std::vector<Record> add;
  std::vector<Record> remove;
  bool empty() const { return add.empty() && remove.empty(); }
};
Diff diff_records(const std::set<Record>& published, const std::set<Record>& desired);

}  // namespace rampart::publish
