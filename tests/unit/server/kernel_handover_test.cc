// The kernel programs' part of an upgrade's handover (server/upgrade.h: put_kernel_handover,
// take_kernel_handover): the UDP generation state stays readable by an older binary, the XDP
// attachment rides along, and each side gets exactly its own descriptors back, in order. The
// descriptors are real (pipes), passed as duplicates the way SCM_RIGHTS delivers them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "server/upgrade.h"

namespace rampart::server {
namespace {

using core::UniqueFd;

struct Pipes {
  explicit Pipes(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      int p[2];
      EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
      ends.emplace_back(p[0]);
      ends.emplace_back(p[1]);
    }
  }
  std::vector<int> fds(size_t from, size_t n) const {
    std::vector<int> out;
    for (size_t i = from; i < from + n; ++i) out.push_back(ends[i].get());
    return out;
  }
  std::vector<UniqueFd> ends;
};

ino_t inode(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// What the new process receives for `borrowed`: duplicates.
std::vector<UniqueFd> received(const std::vector<int>& borrowed) {
  std::vector<UniqueFd> out;
  for (int fd : borrowed) out.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  return out;
}

// The same open files, in the same order.
void expect_same(const std::vector<int>& sent, const std::vector<UniqueFd>& got) {
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(inode(got[i].get()), inode(sent[i])) << i;
}

TEST(KernelHandover, EachPartGetsItsOwnDescriptorsInOrder) {
  Pipes p(3);  // 6 descriptors: 2 for XDP, 4 for the relay
  std::vector<int> sent;
  const std::string kernel = put_kernel_parts(
      {{"xdp", {R"({"hash":"ab"})", p.fds(0, 2)}}, {"udp_relay", {R"({"r":1})", p.fds(2, 4)}}},
      &sent);
  ASSERT_EQ(sent.size(), 6u);
  auto parts = take_kernel_parts(kernel, received(sent));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts["xdp"].state, R"({"hash":"ab"})");
  expect_same(p.fds(0, 2), parts["xdp"].fds);
  EXPECT_EQ(parts["udp_relay"].state, R"({"r":1})");
  expect_same(p.fds(2, 4), parts["udp_relay"].fds);
}

TEST(KernelHandover, EmptyPartsAreLeftOutAndNothingIsNothing) {
  Pipes p(1);
  std::vector<int> sent;
  const std::string kernel = put_kernel_parts(
      {{"xdp", {R"({"hash":"ab"})", p.fds(0, 2)}}, {"udp_relay", {"", {}}}}, &sent);
  auto parts = take_kernel_parts(kernel, received(sent));
  ASSERT_EQ(parts.size(), 1u);
  expect_same(p.fds(0, 2), parts["xdp"].fds);

  std::vector<int> none;
  EXPECT_EQ(put_kernel_parts({{"xdp", {"", {}}}}, &none), "");
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(take_kernel_parts("", {}).empty()) << "what an older binary sends";
}

TEST(KernelHandover, AHeaderThatDoesNotMatchTheDescriptorsDropsEveryPart) {
  Pipes p(2);
  const std::vector<int> four = p.fds(0, 4);
  for (const char* bad : {
           R"({"udp_relay":{"state":"{}","fds":2},"xdp":{"state":"{}","fds":9}})",  // too many
           R"({"udp_relay":{"state":"{}","fds":1},"xdp":{"state":"{}","fds":1}})",  // 2 left over
           R"({"xdp":{"state":"{}","fds":"4"}})",                                   // a string
           R"({"xdp":{"state":7,"fds":4}})",
           R"({"xdp":[1,2,3,4]})",
           "not json",
       })
    EXPECT_TRUE(take_kernel_parts(bad, received(four)).empty()) << bad;
}

}  // namespace
}  // namespace rampart::server
