// The UDP generation state an upgrade's new process adopts (xdp::UdpGenerations::adopt): what the
// old process sends is taken whole, with its descriptors in order (memfds stand in for the
// program, maps and sockets: adopt() only keeps them), and a state this binary cannot read is
// refused whole, never thrown on or half taken.
#include "xdp/udp_generations.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fd_support.h"

namespace rampart::xdp {
namespace {

using testing::distinct_files;
using testing::inode_of;

nlohmann::json group(const char* key, const char* addr, uint32_t base, uint32_t workers,
                     uint32_t half) {
  return {{"key", key},         {"addr", addr}, {"base", base},
          {"workers", workers}, {"half", half}, {"v6_prefix", 64}};
}

TEST(UdpGenerationsAdopt, TakesTheOldProcessesGroupsWithTheOtherHalfAndItsDescriptorsInOrder) {
  // In key order, as the old process lists them.
  const nlohmann::json state = {{"groups",
                                 {group("udp 10.0.0.1:27015", "10.0.0.1:27015", 4, 1, 1),
                                  group("udp 10.0.0.1:53", "10.0.0.1:53", 0, 2, 0)}}};
  std::vector<core::UniqueFd> fds = distinct_files(4 + 2 + 4);
  std::vector<ino_t> sent;
  for (const auto& fd : fds) sent.push_back(inode_of(fd.get()));
  UdpGenerations g;
  std::string error;
  ASSERT_TRUE(g.adopt(state.dump(), std::move(fds), &error)) << error;
  EXPECT_TRUE(g.loaded());
  // What it would hand on: the same groups, each reading the half the old process did not.
  const nlohmann::json again = nlohmann::json::parse(g.handover_state());
  ASSERT_EQ(again["groups"].size(), 2u);
  for (const auto& e : again["groups"]) {
    const bool dns = e["key"] == "udp 10.0.0.1:53";
    EXPECT_EQ(e["half"], dns ? 1 : 0) << e;
    EXPECT_EQ(e["base"], dns ? 0 : 4) << e;
    EXPECT_EQ(e["workers"], dns ? 2 : 1) << e;
  }
  std::vector<ino_t> kept;
  for (int fd : g.handover_fds()) kept.push_back(inode_of(fd));
  EXPECT_EQ(kept, sent) << "the program, the three maps, then each group's sockets";
}

TEST(UdpGenerationsAdopt, RefusesAStateItCannotReadWholeWithoutThrowing) {
  const auto one = [](nlohmann::json g) {
    return nlohmann::json{{"groups", {std::move(g)}}}.dump();
  };
  nlohmann::json wrong_type = group("k", "10.0.0.1:53", 0, 1, 0);
  wrong_type["base"] = "0";
  nlohmann::json missing = group("k", "10.0.0.1:53", 0, 1, 0);
  missing.erase("v6_prefix");
  const std::vector<std::string> bad = {
      "not json",
      R"({"groups": 7})",
      R"({"groups": [5]})",
      one(wrong_type),
      one(missing),
      one(group("k", "10.0.0.1:53", 0, 1, 2)),         // a third half
      one(group("k", "10.0.0.1:53", 0, 0, 0)),         // no worker
      one(group("k", "10.0.0.1:53", 1u << 30, 1, 0)),  // slots past the socket array
      one(group("k", "not an address", 0, 1, 0)),
      one(group("k", "10.0.0.1:53", 0, 4, 0)),  // 8 sockets announced, 2 sent
  };
  for (const auto& state : bad) {
    UdpGenerations g;
    std::string error;
    EXPECT_FALSE(g.adopt(state, distinct_files(4 + 2), &error)) << state;
    EXPECT_FALSE(g.loaded()) << "nothing taken: " << state;
    EXPECT_NE(error.find("upgrade:"), std::string::npos) << state;
  }
}

}  // namespace
}  // namespace rampart::xdp
