// The kernel programs' part of an upgrade's handover (server/upgrade.h: put_kernel_handover,
// take_kernel_handover): the UDP generation state stays readable by an older binary, the XDP
// attachment rides along, and each side gets exactly its own descriptors back, in order. The
// descriptors are real (distinct files), passed as duplicates the way SCM_RIGHTS delivers them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fd_support.h"
#include "server/upgrade.h"

namespace rampart::server {
namespace {

using core::UniqueFd;

using testing::duplicates_of;
using testing::inode_of;

// Distinct files (testing::distinct_files) and the borrowed descriptors of some of them.
struct Files {
  explicit Files(size_t n) : held(testing::distinct_files(n)) {}
  std::vector<int> fds(size_t from, size_t n) const {
    std::vector<int> out;
    for (size_t i = from; i < from + n; ++i) out.push_back(held[i].get());
    return out;
  }
  std::vector<UniqueFd> held;
};

// The same open files, in the same order.
void expect_same(const std::vector<int>& sent, const std::vector<UniqueFd>& got) {
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    EXPECT_EQ(inode_of(got[i].get()), inode_of(sent[i])) << i;
}

TEST(KernelHandover, EachPartGetsItsOwnDescriptorsInOrder) {
  Files p(6);  // 2 for XDP, 4 for the relay
  std::vector<int> sent;
  const std::string kernel = put_kernel_parts(
      {{"xdp", {R"({"hash":"ab"})", p.fds(0, 2)}}, {"udp_relay", {R"({"r":1})", p.fds(2, 4)}}},
      &sent);
  ASSERT_EQ(sent.size(), 6u);
  auto parts = take_kernel_parts(kernel, duplicates_of(sent));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts["xdp"].state, R"({"hash":"ab"})");
  expect_same(p.fds(0, 2), parts["xdp"].fds);
  EXPECT_EQ(parts["udp_relay"].state, R"({"r":1})");
  expect_same(p.fds(2, 4), parts["udp_relay"].fds);
}

TEST(KernelHandover, EmptyPartsAreLeftOutAndNothingIsNothing) {
  Files p(2);
  std::vector<int> sent;
  const std::string kernel = put_kernel_parts(
      {{"xdp", {R"({"hash":"ab"})", p.fds(0, 2)}}, {"udp_relay", {"", {}}}}, &sent);
  auto parts = take_kernel_parts(kernel, duplicates_of(sent));
  ASSERT_EQ(parts.size(), 1u);
  expect_same(p.fds(0, 2), parts["xdp"].fds);

  std::vector<int> none;
  EXPECT_EQ(put_kernel_parts({{"xdp", {"", {}}}}, &none), "");
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(take_kernel_parts("", {}).empty()) << "what an older binary sends";
}

TEST(KernelHandover, AHeaderThatDoesNotMatchTheDescriptorsDropsEveryPart) {
  Files p(4);
  const std::vector<int> four = p.fds(0, 4);
  for (const char* bad : {
           R"({"udp_relay":{"state":"{}","fds":2},"xdp":{"state":"{}","fds":9}})",  // too many
           R"({"udp_relay":{"state":"{}","fds":1},"xdp":{"state":"{}","fds":1}})",  // 2 left over
           R"({"xdp":{"state":"{}","fds":"4"}})",                                   // a string
           R"({"xdp":{"state":7,"fds":4}})",
           R"({"xdp":[1,2,3,4]})",
           "not json",
       })
    EXPECT_TRUE(take_kernel_parts(bad, duplicates_of(four)).empty()) << bad;
}

}  // namespace
}  // namespace rampart::server
