// The TCP and UDP worker counters declared once (RAMPART_TCP_WORKER_STATS, RAMPART_UDP_STATS):
// their tables, which /metrics walks, name every field of the struct once, in well-formed
// Prometheus families, and read the field the data path writes.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "tcp/worker_context.h"
#include "telemetry/stat_decl.h"
#include "udp/udp_context.h"

namespace rampart::telemetry {
namespace {

// Every counter of S appears in exactly one series row, every row's family is a well-formed
// Prometheus counter name, and no (family, label value) pair repeats.
template <typename S, size_t N>
void check_table(const std::array<StatDecl<S>, N>& table) {
  S s;
  std::set<const Counter*> seen;
  std::set<std::string> series;
  std::string family;
  size_t rows = 0;
  for (const auto& d : table) {
    if (d.is_family()) {
      ASSERT_NE(d.name, nullptr);
      family = d.name;
      EXPECT_EQ(family.rfind("rampart_", 0), 0u) << family;
      EXPECT_TRUE(std::string_view(family).ends_with("_total")) << family;
      ASSERT_NE(d.help, nullptr);
      EXPECT_FALSE(std::string(d.help).empty()) << family;
      continue;
    }
    ++rows;
    EXPECT_TRUE(seen.insert(&(s.*d.field)).second) << family << " names a field twice";
    EXPECT_EQ(d.label == nullptr, d.value == nullptr) << family;
    const std::string key = family + "/" + (d.value ? d.value : "");
    EXPECT_TRUE(series.insert(key).second) << key << " twice";
  }
  EXPECT_EQ(rows * sizeof(Counter), sizeof(S)) << "a field of the struct outside its list";
  // What the data path writes is what the table reads.
  size_t i = 1;
  for (const auto& d : table)
    if (!d.is_family()) (s.*d.field).add(i++);
  i = 1;
  for (const auto& d : table) {
    if (!d.is_family()) {
      EXPECT_EQ((s.*d.field).get(), i++);
    }
  }
}

TEST(StatDecl, UdpCountersTable) {
  check_table(udp::kUdpStats);
  udp::UdpCounters c;
  ++c.drop_send;
  c.shed_no_room += 3;
  uint64_t drop_send = 0, no_room = 0;
  for (const auto& d : udp::kUdpStats) {
    if (d.field == &udp::UdpCounters::drop_send) drop_send = (c.*d.field).get();
    if (d.field == &udp::UdpCounters::shed_no_room) no_room = (c.*d.field).get();
  }
  EXPECT_EQ(drop_send, 1u);
  EXPECT_EQ(no_room, 3u);
}

TEST(StatDecl, TcpWorkerCountersTable) {
  check_table(tcp::kTcpWorkerStats);
}

}  // namespace
}  // namespace rampart::telemetry
