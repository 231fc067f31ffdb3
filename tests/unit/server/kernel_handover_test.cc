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

const char* kUdp = R"({"groups":[{"key":"udp 10.0.0.1:53","workers":2}]})";

TEST(KernelHandover, BothPartsTravelAndEachGetsItsOwnDescriptorsInOrder) {
  Pipes p(3);  // 6 descriptors: 4 for UDP, 2 for XDP
  Handover h;
  put_kernel_handover({kUdp, p.fds(0, 4), R"({"hash":"ab"})", p.fds(4, 2)}, &h);
  const nlohmann::json j = nlohmann::json::parse(h.extra);
  EXPECT_TRUE(j.contains("groups")) << "an older binary reads the UDP state where it always was";
  ASSERT_EQ(h.extra_fds.size(), 6u);

  AdoptedKernel k = take_kernel_handover(h.extra, received(h.extra_fds));
  EXPECT_EQ(nlohmann::json::parse(k.udp), nlohmann::json::parse(kUdp)) << "without the xdp key";
  expect_same(p.fds(0, 4), k.udp_fds);
  EXPECT_EQ(k.xdp, R"({"hash":"ab"})");
  expect_same(p.fds(4, 2), k.xdp_fds);
}

TEST(KernelHandover, WhatAnOlderBinarySendsIsAllUdp) {
  Pipes p(2);
  AdoptedKernel k = take_kernel_handover(kUdp, received(p.fds(0, 4)));
  EXPECT_EQ(nlohmann::json::parse(k.udp), nlohmann::json::parse(kUdp));
  expect_same(p.fds(0, 4), k.udp_fds);
  EXPECT_TRUE(k.xdp.empty());
  EXPECT_TRUE(k.xdp_fds.empty());
}

TEST(KernelHandover, XdpAloneAndNothingAtAll) {
  Pipes p(1);
  Handover h;
  put_kernel_handover({"", {}, R"({"hash":"ab"})", p.fds(0, 2)}, &h);
  AdoptedKernel k = take_kernel_handover(h.extra, received(h.extra_fds));
  EXPECT_TRUE(k.udp.empty()) << "no UDP state to adopt: the UDP side is not asked";
  EXPECT_TRUE(k.udp_fds.empty());
  expect_same(p.fds(0, 2), k.xdp_fds);

  Handover none;
  put_kernel_handover({}, &none);
  EXPECT_TRUE(none.extra.empty());
  EXPECT_TRUE(none.extra_fds.empty());
  EXPECT_TRUE(take_kernel_handover("", {}).udp.empty());
}

TEST(KernelHandover, ABrokenHeaderNeverTakesAnotherPartsDescriptors) {
  Pipes p(2);
  // More XDP descriptors announced than arrived: the XDP part is dropped, UDP keeps all four.
  const std::string extra = R"({"groups":[],"xdp":{"state":"{}","fds":9}})";
  AdoptedKernel k = take_kernel_handover(extra, received(p.fds(0, 4)));
  EXPECT_TRUE(k.xdp.empty());
  EXPECT_TRUE(k.xdp_fds.empty());
  expect_same(p.fds(0, 4), k.udp_fds);
  // Not JSON at all: handed to the UDP side, which reports it unreadable.
  AdoptedKernel bad = take_kernel_handover("not json", received(p.fds(0, 1)));
  EXPECT_EQ(bad.udp, "not json");
  EXPECT_EQ(bad.udp_fds.size(), 1u);
  // A wrong type for the count or the state: no XDP part, and nothing thrown.
  for (const char* e : {R"({"xdp":{"state":"{}","fds":"2"}})", R"({"xdp":{"state":7,"fds":1}})",
                        R"({"xdp":[1,2]})"}) {
    AdoptedKernel w = take_kernel_handover(e, received(p.fds(0, 2)));
    EXPECT_TRUE(w.xdp.empty()) << e;
  }
}

}  // namespace
}  // namespace rampart::server
