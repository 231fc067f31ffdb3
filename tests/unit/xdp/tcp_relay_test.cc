// The sockmap relay's loader and maps (xdp::TcpRelayLoader, tcp::KernelRelayMaps) with real
// sockets on loopback: a client, the edge's two sockets (handed to the kernel) and an origin.
// They skip when this build or process cannot load BPF programs, except under
// RAMPART_REQUIRE_XDP=1 (`make unit` as root).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/unique_fd.h"
#include "tcp/kernel_relay_maps.h"
#include "test_support.h"
#include "xdp/tcp_relay_loader.h"

namespace rampart::xdp {
namespace {

using core::UniqueFd;

UniqueFd ktr_listener(uint16_t* port) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(l.get(), 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return l;
}

// A connected pair through a fresh listener: {connecting side, accepted side}.
std::pair<UniqueFd, UniqueFd> ktr_pair() {
  uint16_t port = 0;
  UniqueFd l = ktr_listener(&port);
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(c), std::move(s)};
}

// Reads exactly n bytes (blocking, 5 s per wait); what was read.
std::string ktr_read(int fd, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

void ktr_write(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(w, 0);
    data.remove_prefix(static_cast<size_t>(w));
  }
}

class TcpRelay : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* flag = std::getenv("RAMPART_REQUIRE_XDP");
    const bool required = flag != nullptr && std::string_view(flag) == "1";
    if (!TcpRelayLoader::supported()) {
      if (required) FAIL() << "built without libbpf, but RAMPART_REQUIRE_XDP is set";
      GTEST_SKIP() << "built without libbpf: no kernel relay";
    }
    std::string error;
    if (!loader_.load(capacity(), &error)) {
      if (required) FAIL() << error;
      GTEST_SKIP() << "cannot load BPF programs here: " << error;
    }
    maps_ = loader_.maps();
    std::tie(client_, edge_c_) = ktr_pair();
    std::tie(edge_o_, origin_) = ktr_pair();
  }
  virtual uint32_t capacity() const { return 8; }

  tcp::KernelRelayMaps::Refusal add() {
    int err = 0;
    return maps_->add(edge_c_.get(), edge_o_.get(), 3, &cc_, &oc_, &err);
  }
  ktr_dir dir(uint64_t cookie) const {
    ktr_dir d{};
    EXPECT_TRUE(maps_->read(cookie, &d));
    return d;
  }

  TcpRelayLoader loader_;
  tcp::KernelRelayMaps* maps_ = nullptr;
  UniqueFd client_, edge_c_, edge_o_, origin_;
  uint64_t cc_ = 0, oc_ = 0;
};

TEST_F(TcpRelay, RelaysBothWaysAndCountsEachDirection) {
  ASSERT_EQ(add(), tcp::KernelRelayMaps::Refusal::kNone);
  EXPECT_EQ(maps_->in_use(), 1u);
  const std::string up = testing::random_bytes(300000, 1);
  const std::string down = testing::random_bytes(70000, 2);
  ktr_write(client_.get(), up);
  EXPECT_EQ(ktr_read(origin_.get(), up.size()), up);
  ktr_write(origin_.get(), down);
  EXPECT_EQ(ktr_read(client_.get(), down.size()), down);
  EXPECT_EQ(dir(cc_).bytes, up.size());
  EXPECT_EQ(dir(oc_).bytes, down.size());
  EXPECT_NE(dir(cc_).last_ns, 0u);
  maps_->release(cc_, oc_);
  EXPECT_EQ(maps_->in_use(), 0u);
}

TEST_F(TcpRelay, BytesThatArrivedBeforeTheHandOffAreRelayed) {
  // The client spoke first (a validator only peeks): nothing else will arrive to wake the
  // verdict, so the insertion itself must get those bytes moving.
  ktr_write(client_.get(), "PING\r\n");
  ktr_write(origin_.get(), "+HELLO\r\n");
  pollfd p{edge_c_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  ASSERT_EQ(add(), tcp::KernelRelayMaps::Refusal::kNone);
  EXPECT_EQ(ktr_read(origin_.get(), 6), "PING\r\n");
  EXPECT_EQ(ktr_read(client_.get(), 8), "+HELLO\r\n");
  EXPECT_EQ(dir(cc_).bytes, 6u);
}

TEST_F(TcpRelay, FinIsCountedInBytesReceivedAndRefusedSocketsStayUntouched) {
  ASSERT_EQ(add(), tcp::KernelRelayMaps::Refusal::kNone);
  ktr_write(client_.get(), "abc");
  ASSERT_EQ(ktr_read(origin_.get(), 3), "abc");
  ::shutdown(client_.get(), SHUT_WR);
  pollfd p{edge_c_.get(), POLLRDHUP, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  // What KernelRelay relies on to know every byte went through the program before a FIN.
  struct {
    uint8_t head[104];
    uint64_t pacing[2];
    uint64_t acked;
    uint64_t received;
  } ti{};
  socklen_t len = sizeof ti;
  ASSERT_EQ(::getsockopt(edge_c_.get(), IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
  EXPECT_EQ(ti.received, 3u + 1u);  // the FIN takes one sequence number
  EXPECT_EQ(dir(cc_).bytes, 3u);
  // The FIN reached the verdict as an empty skb, which must not be redirected: sending zero
  // bytes fails the peer's psock with EPIPE.
  int soerr = 0;
  len = sizeof soerr;
  ::getsockopt(edge_o_.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
  EXPECT_EQ(soerr, 0);
  ktr_write(origin_.get(), "still relayed");
  EXPECT_EQ(ktr_read(client_.get(), 13), "still relayed");
  // A connection whose client half-closed cannot be handed over: nothing stays in the maps.
  maps_->release(cc_, oc_);
  auto [c2, e2] = ktr_pair();
  auto [e3, o3] = ktr_pair();
  ::shutdown(c2.get(), SHUT_WR);
  p = {e2.get(), POLLRDHUP, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  int err = 0;
  uint64_t a = 0, b = 0;
  EXPECT_EQ(maps_->add(e2.get(), e3.get(), 0, &a, &b, &err), tcp::KernelRelayMaps::Refusal::kState);
  EXPECT_EQ(maps_->in_use(), 0u);
  ktr_write(o3.get(), "still user space");
  char buf[32];
  EXPECT_EQ(ktr_read(e3.get(), 16), "still user space");
  (void)buf;
}

class TcpRelayFull : public TcpRelay {
 protected:
  uint32_t capacity() const override { return 1; }
};

TEST_F(TcpRelayFull, AFullMapRefusesWithoutTouchingTheSockets) {
  ASSERT_EQ(add(), tcp::KernelRelayMaps::Refusal::kNone);
  auto [c2, e2] = ktr_pair();
  auto [e3, o3] = ktr_pair();
  int err = 0;
  uint64_t a = 0, b = 0;
  EXPECT_EQ(maps_->add(e2.get(), e3.get(), 0, &a, &b, &err), tcp::KernelRelayMaps::Refusal::kFull);
  ktr_write(c2.get(), "user");
  EXPECT_EQ(ktr_read(e2.get(), 4), "user");
  // The first connection closes (its sockets leave the SOCKHASHes with it) and gives its room
  // back, as a session does.
  edge_c_.reset();
  edge_o_.reset();
  maps_->release(cc_, oc_);
  EXPECT_EQ(maps_->add(e2.get(), e3.get(), 0, &a, &b, &err), tcp::KernelRelayMaps::Refusal::kNone);
  ktr_write(c2.get(), "kernel");
  EXPECT_EQ(ktr_read(o3.get(), 6), "kernel");
}

}  // namespace
}  // namespace rampart::xdp

namespace rampart::xdp {
namespace {

// SO_MEMINFO of a socket: [SK_MEMINFO_RMEM_ALLOC, RCVBUF, WMEM_ALLOC, SNDBUF, FWD_ALLOC,
// WMEM_QUEUED, OPTMEM, BACKLOG, DROPS].
std::array<uint32_t, 9> ktr_meminfo(int fd) {
  std::array<uint32_t, 9> m{};
  socklen_t len = sizeof m;
  ::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m.data(), &len);
  return m;
}

TEST_F(TcpRelay, ASlowReaderPausesTheDirectionAndBoundsTheKernelQueue) {
  ASSERT_EQ(add(), tcp::KernelRelayMaps::Refusal::kNone);
  ::fcntl(client_.get(), F_SETFL, O_NONBLOCK);
  const std::string stream = testing::random_bytes(48 << 20, 3);
  uint64_t sent = 0;
  // The origin reads nothing: the client pushes until its socket stays full for 300 ms.
  for (;;) {
    ASSERT_LT(sent, stream.size()) << "the kernel queue grew without bound";
    ssize_t w = ::send(client_.get(), stream.data() + sent,
                       std::min<size_t>(1 << 16, stream.size() - sent), MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<uint64_t>(w);
      continue;
    }
    pollfd p{client_.get(), POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) break;
  }
  int client_outq = 0, edge_outq = 0, origin_inq = 0;
  ::ioctl(client_.get(), SIOCOUTQ, &client_outq);
  ::ioctl(edge_o_.get(), SIOCOUTQ, &edge_outq);
  ::ioctl(origin_.get(), SIOCINQ, &origin_inq);
  const auto ec = ktr_meminfo(edge_c_.get());
  const ktr_dir d = dir(cc_);
  EXPECT_EQ(d.paused, 1u);
  EXPECT_EQ(maps_->pauses(3), 1u);  // the worker's counter, read from memory
  EXPECT_EQ(maps_->pauses(0), 0u);
  const uint64_t arrived = sent - static_cast<uint64_t>(client_outq);  // left the client
  // The edge holds what it redirected and the origin did not take (its send queue, and the
  // psock queue, which the budget bounds) plus what waits paused in its client-side socket.
  const uint64_t in_psock =
      d.bytes - static_cast<uint64_t>(edge_outq) - static_cast<uint64_t>(origin_inq);
  const uint64_t held = arrived - static_cast<uint64_t>(origin_inq);
  std::printf("client sent %" PRIu64 " (outq %d); redirected %" PRIu64
              ": origin inq %d, edge send queue %d, "
              "psock %" PRIu64 "; paused in the edge's client socket %" PRIu64
              " (rmem %u, rcvbuf %u); edge holds %" PRIu64 "\n",
              sent, client_outq, static_cast<uint64_t>(d.bytes), origin_inq, edge_outq, in_psock,
              static_cast<uint64_t>(arrived - d.bytes), ec[0], ec[1], held);
  EXPECT_LE(in_psock, KTR_QUEUE_BUDGET);
  EXPECT_LT(held, uint64_t{16} << 20);
  // The origin reads: the redirected bytes first, then (user space's part once paused) the
  // rest, read from the edge socket's own queue, in order.
  EXPECT_TRUE(ktr_read(origin_.get(), d.bytes) == stream.substr(0, d.bytes));
  const std::string rest = ktr_read(edge_c_.get(), arrived - d.bytes);
  EXPECT_TRUE(rest == stream.substr(d.bytes, arrived - d.bytes));
  EXPECT_EQ(dir(cc_).bytes, d.bytes);  // nothing redirected after the pause
}

}  // namespace
}  // namespace rampart::xdp
