#include "guard/reuseport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace rampart::guard {
namespace {

TEST(Steering, ProgramHashIsBalanced) {
  std::vector<int> per(4);
  for (uint32_t i = 0; i < 4000; ++i) {
    unsigned char a[4] = {10, 77, static_cast<unsigned char>(i >> 8),
                          static_cast<unsigned char>(i)};
    ++per[steering_index(a, 4, 4)];
  }
  for (int n : per) EXPECT_GT(n, 800);
}

// protection.ipv6_prefix: every address of one IPv6 source prefix reaches the same worker (its
// per-source state is exact), and different /64s still spread.
TEST(Steering, OneIpv6PrefixLandsOnOneWorker) {
  unsigned char a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2};
  const unsigned first = steering_index(a, 16, 4);
  for (int i = 0; i < 256; ++i) {
    a[8 + i % 8] = static_cast<unsigned char>(i * 37 + 1);
    EXPECT_EQ(steering_index(a, 16, 4), first) << i;
  }
  // A /48 source: the fourth 16-bit group no longer matters either.
  unsigned char b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};
  const unsigned of48 = steering_index(b, 16, 4, 48);
  b[6] = 0x12;
  b[15] = 9;
  EXPECT_EQ(steering_index(b, 16, 4, 48), of48);
  std::vector<int> per(4);
  for (uint32_t i = 0; i < 4000; ++i) {
    unsigned char c[16] = {
        0x20, 0x01, 0x0d, 0xb8, static_cast<unsigned char>(i >> 8), static_cast<unsigned char>(i),
        0,    0};
    ++per[steering_index(c, 16, 4)];
  }
  for (int n : per) EXPECT_GT(n, 800);
}

// Loopback UDP: datagrams from 127.0.0.X land on the socket the userspace twin predicts.
TEST(Steering, KernelFollowsTheProgram) {
  const unsigned kSocks = 2;
  std::vector<int> socks;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (unsigned i = 0; i < kSocks; ++i) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int one = 1;
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (i == 0) {
      socklen_t len = sizeof addr;
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    }
    socks.push_back(fd);
  }
  std::string error;
  ASSERT_TRUE(attach_steering(socks[0], kSocks, &error)) << error;
  for (unsigned host = 2; host < 40; ++host) {
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000000u | host);
    ASSERT_EQ(bind(tx, reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
    ASSERT_EQ(sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 1);
    close(tx);
    unsigned char a[4] = {127, 0, 0, static_cast<unsigned char>(host)};
    unsigned want = steering_index(a, 4, kSocks);
    pollfd p{socks[want], POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 1000), 1) << "host " << host;
    char buf[4];
    EXPECT_EQ(recv(socks[want], buf, sizeof buf, 0), 1);
    EXPECT_EQ(recv(socks[1 - want], buf, sizeof buf, MSG_DONTWAIT), -1) << "host " << host;
  }
  for (int fd : socks) close(fd);
}

}  // namespace
}  // namespace rampart::guard
