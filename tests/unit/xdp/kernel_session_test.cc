// A tcp::Session of an app with kernel_relay: on, its sockets handed to the sockmap loaded by
// xdp::TcpRelayLoader: real TCP sockets on loopback (client, edge's two, origin) and a test-driven
// EventLoop. Covers the hand-off (bytes both ways, exact event counts), a half-close passed on
// only after the bytes before it, the slow-reader pause and user space's takeover (in order), and
// the maps given back at close. Skips like tcp_relay_test.cc without libbpf or CAP_BPF, except
// under RAMPART_REQUIRE_XDP=1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_loop.h"
#include "core/pipe_pool.h"
#include "core/unique_fd.h"
#include "origin/origin_set.h"
#include "tcp/app_runtime.h"
#include "tcp/session.h"
#include "tcp/worker_context.h"
#include "telemetry/conn_reporter.h"
#include "telemetry/event_ring.h"
#include "test_support.h"
#include "xdp/tcp_relay_loader.h"

namespace rampart::xdp {
namespace {

using core::UniqueFd;
using telemetry::EventType;

UniqueFd ks_listener(uint16_t* port) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
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

class KernelSession : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* flag = std::getenv("RAMPART_REQUIRE_XDP");
    const bool required = flag != nullptr && std::string_view(flag) == "1";
    if (!TcpRelayLoader::supported()) {
      if (required) FAIL() << "built without libbpf, but RAMPART_REQUIRE_XDP is set";
      GTEST_SKIP() << "built without libbpf: no kernel relay";
    }
    std::string error;
    if (!loader_.load(8, &error)) {
      if (required) FAIL() << error;
      GTEST_SKIP() << "cannot load BPF programs here: " << error;
    }
    ctx_.copy_buffer = copy_buffer_.get();
    ctx_.loop = &loop_;
    ctx_.pipes = &pipes_;
    ctx_.reporter = &reporter_;
    ctx_.kernel_relay = loader_.maps();
    origin_listener_ = ks_listener(&origin_port_);
    edge_listener_ = ks_listener(&edge_port_);
    app_ = std::make_shared<tcp::AppRuntime>();
    app_->cfg.id = "kr";
    app_->cfg.kernel_relay = config::KernelRelay::kOn;
    app_->cfg.ports = {edge_port_, edge_port_};
    app_->cfg.timeouts.connect = std::chrono::milliseconds(1000);
    app_->cfg.timeouts.idle = std::chrono::milliseconds(60000);
    config::OriginDirect o;
    o.ip = net::IpAddr::v4(0x7f000001);
    o.ports = {origin_port_, origin_port_};
    app_->origins = std::make_shared<origin::OriginSet>(std::vector<config::OriginDirect>{o},
                                                        config::LoadBalancing{});
    app_->egress_bind = {false};
  }
  void TearDown() override {
    while (tcp::Session* s = ctx_.sessions.head())
      s->abort({telemetry::Side::kEdge, telemetry::Cause::kNormal});
    loop_.run_once(0);
  }

  // Each step waits up to 10 ms for the loop and moves the manual clock on by as much, so that
  // the session's timers (its 10 ms poll while a FIN waits for bytes to leave) fire as they would
  // on a real clock.
  bool until(const std::function<bool()>& done, int max_steps = 500) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      loop_.run_once(10);
      clock_.advance(10);
    }
    return done();
  }

  // A client connects; its accepted socket becomes a session, which connects to the origin.
  void open_session() {
    client_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(edge_port_);
    ASSERT_EQ(::connect(client_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    UniqueFd accepted(
        ::accept4(edge_listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    ASSERT_TRUE(accepted.valid());
    auto* s = new tcp::Session(&ctx_, app_, std::move(accepted),
                               net::SockAddr(net::IpAddr::v4(0x7f000001), 40000),
                               net::SockAddr(net::IpAddr::v4(0x7f000001), edge_port_));
    s->start();
    ASSERT_TRUE(until([&] {
      int fd = ::accept4(origin_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) origin_.reset(fd);
      return fd >= 0;
    }));
    ASSERT_TRUE(until([&] { return ctx_.counters.kernel_relayed.get() == 1; }));
  }

  // Reads exactly n bytes from the blocking fd while the loop runs.
  std::string read_n(int fd, size_t n) {
    std::string got;
    char buf[65536];
    until(
        [&] {
          for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 0) != 1) break;
            ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - got.size()), 0);
            if (r <= 0) return true;
            got.append(buf, static_cast<size_t>(r));
            if (got.size() == n) break;
          }
          return got.size() == n;
        },
        3000);
    return got;
  }
  bool reads_eof(int fd) {
    return until([&] {
      pollfd p{fd, POLLIN, 0};
      char b;
      return ::poll(&p, 1, 0) == 1 && ::recv(fd, &b, 1, 0) <= 0;
    });
  }
  const telemetry::ConnEvent* find(EventType t) {
    ring_.drain([&](const telemetry::ConnEvent& e) { seen_.push_back(e); });
    for (const auto& e : seen_)
      if (e.type == t) return &e;
    return nullptr;
  }

  TcpRelayLoader loader_;
  core::ManualClock clock_;
  core::EventLoop loop_{&clock_};
  core::PipePool pipes_;
  std::unique_ptr<char[]> copy_buffer_{new char[tcp::WorkerContext::kCopyBufferSize]};
  telemetry::EventRing ring_{1024};
  telemetry::ConnReporter reporter_{&ring_};
  tcp::WorkerContext ctx_;
  UniqueFd origin_listener_, edge_listener_, client_, origin_;
  uint16_t origin_port_ = 0, edge_port_ = 0;
  std::shared_ptr<tcp::AppRuntime> app_;
  std::vector<telemetry::ConnEvent> seen_;
};

TEST_F(KernelSession, RelaysInTheKernelPassesHalfClosesAndCountsExactly) {
  open_session();
  EXPECT_EQ(loader_.maps()->in_use(), 1u);
  const std::string up = testing::random_bytes(2 << 20, 7);
  ASSERT_EQ(::send(client_.get(), up.data(), up.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(up.size()));
  // The FIN right behind the bytes: passed on only once they all entered the origin's stream.
  ::shutdown(client_.get(), SHUT_WR);
  EXPECT_TRUE(read_n(origin_.get(), up.size()) == up);
  EXPECT_TRUE(reads_eof(origin_.get()));
  EXPECT_EQ(ctx_.sessions.size(), 1u);  // the other way still flows
  ASSERT_EQ(::send(origin_.get(), "late reply", 10, MSG_NOSIGNAL), 10);
  EXPECT_EQ(read_n(client_.get(), 10), "late reply");
  ::shutdown(origin_.get(), SHUT_WR);
  EXPECT_TRUE(reads_eof(client_.get()));
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  loop_.run_once(0);  // the retired session gives its entries back
  EXPECT_EQ(loader_.maps()->in_use(), 0u);
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(d->client_bytes, up.size());
  EXPECT_EQ(d->origin_bytes, 10u);
}

TEST_F(KernelSession, ASlowOriginPausesTheDirectionAndUserSpaceFinishesItInOrder) {
  open_session();
  ::fcntl(client_.get(), F_SETFL, O_NONBLOCK);
  const std::string stream = testing::random_bytes(40 << 20, 8);
  size_t sent = 0;
  // The origin reads nothing until the client is stalled.
  for (int idle = 0; idle < 30 && sent < stream.size();) {
    ssize_t w = ::send(client_.get(), stream.data() + sent,
                       std::min<size_t>(1 << 16, stream.size() - sent), MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      idle = 0;
    } else {
      ++idle;
      loop_.run_once(10);
    }
  }
  ASSERT_LT(sent, stream.size()) << "nothing bounded the kernel's queue";
  EXPECT_EQ(loader_.maps()->pauses(0), 1u);
  // The worker's pause watch: the session looks, waits for the redirected bytes to leave, then
  // relays the rest itself.
  ctx_.sessions.head()->recheck();
  ::fcntl(client_.get(), F_SETFL, 0);
  std::string got;
  char buf[65536];
  size_t pushed = sent;
  EXPECT_TRUE(until(
      [&] {
        if (pushed < stream.size()) {
          ssize_t w = ::send(client_.get(), stream.data() + pushed,
                             std::min<size_t>(1 << 16, stream.size() - pushed),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
          if (w > 0) pushed += static_cast<size_t>(w);
        }
        pollfd p{origin_.get(), POLLIN, 0};
        while (::poll(&p, 1, 0) == 1) {
          ssize_t r = ::recv(origin_.get(), buf, sizeof buf, MSG_DONTWAIT);
          if (r <= 0) break;
          got.append(buf, static_cast<size_t>(r));
        }
        return got.size() == stream.size();
      },
      20000));
  EXPECT_TRUE(got == stream);
}

// SessionUnitTest.OriginResetIs444 with the kernel relaying: a reset on either side resets the
// other and ends the session with the same status as the user-space relay.
TEST_F(KernelSession, OriginResetIs444AndResetsTheClient) {
  open_session();
  ASSERT_EQ(::send(client_.get(), "ping", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(read_n(origin_.get(), 4), "ping");
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(origin_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  origin_.reset();  // RST
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  char b;
  pollfd p{client_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  EXPECT_EQ(::recv(client_.get(), &b, 1, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 444);
  EXPECT_EQ(d->client_bytes, 4u);
}

TEST_F(KernelSession, ClientResetResetsTheOrigin) {
  open_session();
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(client_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  client_.reset();  // RST
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  char b;
  pollfd p{origin_.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  EXPECT_EQ(::recv(origin_.get(), &b, 1, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 499);
}

}  // namespace
}  // namespace rampart::xdp
