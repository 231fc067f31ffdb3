// EventLoop on real fds: fd readiness, cross-thread post(), stop(), retire() and timers driven
// by the loop's own clock; plus the socket helpers on loopback.
#include "core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/clock.h"
#include "core/socket_util.h"

namespace rampart::core {
namespace {

using namespace std::chrono_literals;

class CountingHandler : public EventHandler {
 public:
  void on_events(uint32_t ev) override {
    ++calls;
    events = ev;
  }
  int calls = 0;
  uint32_t events = 0;
};

// Runs `loop` until `done` or the deadline; true if `done` became true.
template <typename Pred>
bool run_until(EventLoop& loop, Pred done, std::chrono::milliseconds limit = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.run_once(20);
  }
  return true;
}

TEST(EventLoop, DispatchesFdEvents) {
  EventLoop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  CountingHandler h;
  ASSERT_TRUE(loop.add(a.get(), EPOLLIN, &h));
  loop.run_once(0);
  EXPECT_EQ(h.calls, 0);
  ASSERT_EQ(write(b.get(), "x", 1), 1);
  ASSERT_TRUE(run_until(loop, [&] { return h.calls > 0; }));
  EXPECT_TRUE(h.events & EPOLLIN);

  // modify() to EPOLLOUT, then remove(): no more calls.
  ASSERT_TRUE(loop.modify(a.get(), EPOLLOUT | EPOLLET, &h));
  int before = h.calls;
  ASSERT_TRUE(run_until(loop, [&] { return h.calls > before; }));
  EXPECT_TRUE(h.events & EPOLLOUT);
  loop.remove(a.get());
  before = h.calls;
  ASSERT_EQ(write(b.get(), "y", 1), 1);
  loop.run_once(30);
  EXPECT_EQ(h.calls, before);
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopThread) {
  EventLoop loop;
  std::atomic<int> ran{0};
  std::thread::id loop_thread;
  std::thread t([&] {
    loop_thread = std::this_thread::get_id();
    loop.run();
  });
  std::thread::id seen;
  for (int i = 0; i < 100; ++i) {
    loop.post([&] {
      seen = std::this_thread::get_id();
      ran.fetch_add(1);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (ran.load() < 100 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  loop.stop();
  t.join();
  EXPECT_EQ(ran.load(), 100);
  EXPECT_EQ(seen, loop_thread);
  EXPECT_TRUE(loop.stopping());
}

TEST(EventLoop, StopWakesABlockedLoopPromptly) {
  EventLoop loop;
  std::thread t([&] { loop.run(); });
  std::this_thread::sleep_for(20ms);  // let it block in epoll_wait (no timers: 1 s timeout)
  auto t0 = std::chrono::steady_clock::now();
  loop.stop();
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST(EventLoop, PostedBeforeStopStillRuns) {
  EventLoop loop;
  bool ran = false;
  std::thread t([&] { loop.run(); });
  loop.post([&] { ran = true; });
  loop.stop();
  t.join();
  EXPECT_TRUE(ran);
}

struct Tracked : Retirable {
  explicit Tracked(bool* destroyed) : destroyed_(destroyed) {}
  ~Tracked() override { *destroyed_ = true; }
  bool* destroyed_;
};

TEST(EventLoop, RetireDestroysAfterTheBatch) {
  EventLoop loop;
  bool destroyed = false;
  bool alive_in_task = false;
  loop.post([&] {
    loop.retire(std::make_unique<Tracked>(&destroyed));
    alive_in_task = !destroyed;
  });
  ASSERT_TRUE(run_until(loop, [&] { return destroyed; }));
  EXPECT_TRUE(alive_in_task);
}

TEST(EventLoop, RetiredObjectsAreDestroyedWithTheLoop) {
  bool destroyed = false;
  {
    EventLoop loop;
    loop.retire(std::make_unique<Tracked>(&destroyed));
  }
  EXPECT_TRUE(destroyed);
}

class LoopTimer : public Timer {
 public:
  void on_timer() override { fired_ms = coarse_ms(); }
  int64_t fired_ms = -1;
};

TEST(EventLoop, TimersFireFromRunOnce) {
  EventLoop loop;
  LoopTimer t;
  // A tick-aligned expiry: independent of the wheel's rounding (see timer_wheel_test.cc).
  int64_t expiry = (loop.now_ms() / TimerWheel::kTickMs + 6) * TimerWheel::kTickMs;
  loop.timers().schedule(&t, expiry);
  ASSERT_TRUE(run_until(
      loop, [&] { return t.fired_ms >= 0; }, 1000ms));
  EXPECT_GE(t.fired_ms, expiry);
  EXPECT_LT(t.fired_ms, expiry + 200);
}

TEST(EventLoop, ManualClockFiresTimersWithoutSleeping) {
  ManualClock clock(5'000);
  EventLoop loop(&clock);
  struct T : Timer {
    int fired = 0;
    void on_timer() override { ++fired; }
  } t;
  loop.timers().schedule(&t, loop.now_ms() + 30'000);
  loop.run_once(0);
  EXPECT_EQ(t.fired, 0);
  clock.advance(29'000);
  loop.run_once(0);
  EXPECT_EQ(t.fired, 0);
  EXPECT_EQ(loop.now_ms(), 34'000);
  clock.advance(1'100);
  loop.run_once(0);
  EXPECT_EQ(t.fired, 1);
}

TEST(EventLoop, OwnerIsTheFirstThreadToRunIt) {
  EventLoop loop;
  EXPECT_TRUE(loop.in_loop_thread());  // nobody owns it yet: set-up may happen anywhere
  loop.run_once(0);
  EXPECT_TRUE(loop.in_loop_thread());
  bool other = true;
  std::thread([&] { other = loop.in_loop_thread(); }).join();
  EXPECT_FALSE(other);
}

#ifndef NDEBUG
TEST(EventLoopDeathTest, AssertInLoopThreadAbortsOffTheOwnerThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.run_once(0);
        std::thread([&] { loop.assert_in_loop_thread("test"); }).join();
      },
      "used from thread .*: test");
}
#endif

TEST(SocketUtil, OpenListenerOnLoopback) {
  std::string error;
  UniqueFd fd = open_listener(net::SockAddr(*net::IpAddr::parse("127.0.0.1"), 0), SockType::kStream,
                              16, &error);
  ASSERT_TRUE(fd.valid()) << error;
  EXPECT_TRUE(fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
  net::SockAddr bound = local_addr(fd.get());
  ASSERT_NE(bound.port(), 0);
  EXPECT_EQ(bound.ip().to_string(), "127.0.0.1");

  // SO_REUSEPORT: a second listener (another worker) binds the same port.
  UniqueFd second = open_listener(bound, SockType::kStream, 16, &error);
  EXPECT_TRUE(second.valid()) << error;

  // A datagram socket is bound, not listening.
  UniqueFd udp = open_listener(net::SockAddr(*net::IpAddr::parse("127.0.0.1"), 0), SockType::kDgram,
                               16, &error);
  ASSERT_TRUE(udp.valid()) << error;
  EXPECT_NE(local_addr(udp.get()).port(), 0);
}

TEST(SocketUtil, OpenListenerReportsBindErrors) {
  std::string error;
  // 192.0.2.1 (TEST-NET-1) is not an address of this host.
  UniqueFd fd = open_listener(net::SockAddr(*net::IpAddr::parse("192.0.2.1"), 4242),
                              SockType::kStream, 16, &error);
  EXPECT_FALSE(fd.valid());
  EXPECT_NE(error.find("bind 192.0.2.1:4242"), std::string::npos) << error;
}

TEST(SocketUtil, LingerZeroSendsReset) {
  std::string error;
  UniqueFd lfd = open_listener(net::SockAddr(*net::IpAddr::parse("127.0.0.1"), 0),
                               SockType::kStream, 16, &error);
  ASSERT_TRUE(lfd.valid()) << error;
  net::SockAddr addr = local_addr(lfd.get());
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(client.get(), addr.get(), addr.len()), 0);
  int fl = fcntl(lfd.get(), F_GETFL);
  fcntl(lfd.get(), F_SETFL, fl & ~O_NONBLOCK);
  UniqueFd server(accept(lfd.get(), nullptr, nullptr));
  ASSERT_TRUE(server.valid());
  set_nodelay(server.get());
  EXPECT_GT(tcp_rtt_us(server.get()), 0u);
  EXPECT_EQ(tcp_rtt_us(lfd.get() + 1000), 0u);  // not a socket
  set_linger_zero(server.get());
  server.reset();
  timeval tv{2, 0};
  setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[8];
  EXPECT_EQ(recv(client.get(), buf, sizeof buf, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

}  // namespace
}  // namespace rampart::core
