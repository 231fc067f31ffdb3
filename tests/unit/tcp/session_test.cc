// Session unit tests: one Session on a test-driven EventLoop with a ManualClock (Envoy's
// MockTimer idea). The client is one end of a socketpair, the origin a loopback listener the test
// accepts from; the test steps the loop itself (run_once) and moves the clock by hand, so the
// connect, idle and handshake timeouts fire without sleeping and without depending on how the
// kernel treats a full accept queue. Covers the relay (both ways, half-close, reset, exact bytes
// through splice), the close reasons' statuses and the leases given back on close.
#include "tcp/session.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fd_budget.h"
#include "core/pipe_pool.h"
#include "core/unique_fd.h"
#include "guard/guard.h"
#include "origin/origin_set.h"
#include "tcp/app_runtime.h"
#include "tcp/tls_context.h"
#include "tcp/worker_context.h"
#include "telemetry/close_reason.h"
#include "telemetry/conn_reporter.h"
#include "telemetry/event_ring.h"
#include "test_support.h"

namespace rampart::tcp {
namespace {

using core::UniqueFd;
using telemetry::EventType;

constexpr uint16_t kEdgePort = 7000;

using rampart::testing::random_bytes;

class SessionUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.copy_buffer = copy_buffer_.get();
    ctx_.loop = &loop_;
    ctx_.pipes = &pipes_;
    ctx_.reporter = &reporter_;
    ctx_.budget = &budget_;
    budget_.set_limit(core::FdBudget::kTcpSessions, 8);

    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listener_.valid());
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener_.get(), 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    origin_port_ = ntohs(a.sin_port);

    app_ = std::make_shared<AppRuntime>();
    app_->cfg.id = "unit";
    app_->cfg.ports = {kEdgePort, kEdgePort};
    app_->cfg.timeouts.connect = std::chrono::milliseconds(1000);
    app_->cfg.timeouts.idle = std::chrono::milliseconds(5000);
    config::OriginDirect o;
    o.ip = net::IpAddr::v4(0x7f000001);
    o.ports = {origin_port_, origin_port_};
    app_->origins = std::make_shared<origin::OriginSet>(std::vector<config::OriginDirect>{o},
                                                        config::LoadBalancing{});
    app_->egress_bind = {false};
  }

  void TearDown() override {
    while (Session* s = ctx_.sessions.head())
      s->abort({telemetry::Side::kEdge, telemetry::Cause::kNormal});
    loop_.run_once(0);  // destroys what was retired
  }

  // A session for a new client; the test keeps the client's end of the socketpair.
  void open_session(const guard::Admission* adm = nullptr) {
    int sp[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
    client_.reset(sp[1]);
    core::FdUnit unit = core::FdUnit::try_take(&budget_, core::FdBudget::kTcpSessions);
    ASSERT_TRUE(unit.ok());
    auto* s =
        new Session(&ctx_, app_, UniqueFd(sp[0]), net::SockAddr(net::IpAddr::v4(0x7f000001), 40000),
                    net::SockAddr(net::IpAddr::v4(0x7f000001), kEdgePort), std::move(unit));
    if (adm != nullptr) s->set_admission(*adm);
    s->start();
  }

  // Steps the loop (each step waits for events up to 10 ms of real time, the manual clock stays)
  // until `done` holds; false if it never did.
  bool until(const std::function<bool()>& done, int max_steps = 500) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      loop_.run_once(10);
    }
    return done();
  }

  // Accepts the session's origin connection.
  bool accept_origin() {
    return until([&] {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return false;
      origin_.reset(fd);
      return true;
    });
  }

  // Reads exactly n bytes from fd while the loop runs.
  std::string read_n(int fd, size_t n) {
    std::string got;
    char buf[65536];
    until(
        [&] {
          for (;;) {
            ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - got.size()), 0);
            if (r <= 0) break;
            got.append(buf, static_cast<size_t>(r));
            if (got.size() == n) break;
          }
          return got.size() == n;
        },
        5000);
    return got;
  }

  // True when fd reads EOF (or a reset) while the loop runs.
  bool reads_eof(int fd) {
    return until([&] {
      char b;
      ssize_t r = ::recv(fd, &b, 1, 0);
      return r == 0 || (r < 0 && errno != EAGAIN);
    });
  }

  void send_all(int fd, const std::string& s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }

  std::vector<telemetry::ConnEvent> events() {
    ring_.drain([&](const telemetry::ConnEvent& e) { seen_.push_back(e); });
    return seen_;
  }
  const telemetry::ConnEvent* find(EventType t) {
    events();
    for (const auto& e : seen_)
      if (e.type == t) return &e;
    return nullptr;
  }

  // The relay is up: one round trip both ways.
  void relaying() {
    open_session();
    ASSERT_TRUE(accept_origin());
    send_all(client_.get(), "ping");
    ASSERT_EQ(read_n(origin_.get(), 4), "ping");
    send_all(origin_.get(), "pong");
    ASSERT_EQ(read_n(client_.get(), 4), "pong");
    // Writability edges the round trip raised count as activity: let them in at this time.
    for (int i = 0; i < 5; ++i) loop_.run_once(0);
  }

  core::ManualClock clock_;
  core::EventLoop loop_{&clock_};
  core::PipePool pipes_;
  core::FdBudget budget_;
  std::unique_ptr<char[]> copy_buffer_{new char[WorkerContext::kCopyBufferSize]};
  telemetry::EventRing ring_{1024};
  telemetry::ConnReporter reporter_{&ring_};
  WorkerContext ctx_;
  UniqueFd listener_;
  uint16_t origin_port_ = 0;
  std::shared_ptr<AppRuntime> app_;
  UniqueFd client_;
  UniqueFd origin_;
  std::vector<telemetry::ConnEvent> seen_;
};

TEST_F(SessionUnitTest, RelaysBothWaysPassesHalfClosesAndGivesBackItsLeases) {
  open_session();
  ASSERT_TRUE(accept_origin());
  EXPECT_EQ(app_->origins->at(0).active.load(), 1);
  EXPECT_EQ(budget_.in_use(core::FdBudget::kTcpSessions), 1u);
  send_all(client_.get(), "hello");
  EXPECT_EQ(read_n(origin_.get(), 5), "hello");
  send_all(origin_.get(), "world!");
  EXPECT_EQ(read_n(client_.get(), 6), "world!");
  // The client's FIN reaches the origin; the other way keeps flowing.
  ::shutdown(client_.get(), SHUT_WR);
  EXPECT_TRUE(reads_eof(origin_.get()));
  EXPECT_EQ(ctx_.sessions.size(), 1u);
  send_all(origin_.get(), "late reply");
  EXPECT_EQ(read_n(client_.get(), 10), "late reply");
  ::shutdown(origin_.get(), SHUT_WR);
  EXPECT_TRUE(reads_eof(client_.get()));
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  // Every shared count is back.
  EXPECT_EQ(app_->origins->at(0).active.load(), 0);
  EXPECT_EQ(budget_.in_use(core::FdBudget::kTcpSessions), 0u);

  const telemetry::ConnEvent* c = find(EventType::kConnect);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, telemetry::status::kOpened);
  EXPECT_EQ(c->origin_port, origin_port_);
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(d->client_bytes, 5u);
  EXPECT_EQ(d->origin_bytes, 16u);
  EXPECT_STREQ(d->app, "unit");
  EXPECT_EQ(d->client_port, 40000);
}

// The connect timer fires while the origin's connect is still in progress: 522, whatever the
// kernel does with the SYN (the test fires the timer before the loop sees the connect complete).
TEST_F(SessionUnitTest, ConnectTimeoutIs522AndClosesTheClient) {
  open_session();
  ASSERT_EQ(ctx_.sessions.size(), 1u);
  ASSERT_EQ(find(EventType::kConnect), nullptr) << "the connect completed synchronously";
  clock_.advance(999);
  loop_.timers().advance(clock_.now_ms());
  EXPECT_EQ(ctx_.sessions.size(), 1u) << "closed before its connect timeout";
  clock_.advance(20);
  loop_.timers().advance(clock_.now_ms());
  EXPECT_EQ(ctx_.sessions.size(), 0u);
  loop_.run_once(0);
  EXPECT_TRUE(reads_eof(client_.get()));
  const telemetry::ConnEvent* e = find(EventType::kOriginError);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 522);
  EXPECT_EQ(find(EventType::kConnect), nullptr);
  EXPECT_EQ(app_->origins->at(0).active.load(), 0);
  EXPECT_EQ(budget_.in_use(core::FdBudget::kTcpSessions), 0u);
}

TEST_F(SessionUnitTest, RefusedOriginIs521) {
  listener_.reset();  // nothing listens on the origin's port any more
  open_session();
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  const telemetry::ConnEvent* e = find(EventType::kOriginError);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 521);
  EXPECT_EQ(app_->origins->at(0).active.load(), 0);
}

TEST_F(SessionUnitTest, IdleTimeoutIs497AndClosesBothSides) {
  relaying();
  clock_.advance(4900);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 1u) << "closed before the idle timeout";
  clock_.advance(200);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 0u);
  EXPECT_TRUE(reads_eof(client_.get()));
  EXPECT_TRUE(reads_eof(origin_.get()));
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 497);
}

TEST_F(SessionUnitTest, ActivityPostponesTheIdleTimeout) {
  relaying();
  // Ten round trips 3 s apart: 30 s in all, never 5 s idle.
  for (int i = 0; i < 10; ++i) {
    clock_.advance(3000);
    loop_.run_once(0);
    ASSERT_EQ(ctx_.sessions.size(), 1u) << "closed after " << i << " round trips";
    send_all(client_.get(), "tick");
    ASSERT_EQ(read_n(origin_.get(), 4), "tick");
  }
  clock_.advance(5100);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 0u);
}

TEST_F(SessionUnitTest, OriginResetIs444) {
  relaying();
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(origin_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  origin_.reset();  // RST
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  EXPECT_TRUE(reads_eof(client_.get()));
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 444);
  EXPECT_EQ(app_->origins->at(0).active.load(), 0);
}

// Megabytes both ways at once: the bulk path (splice through pipes) keeps every byte in order.
TEST_F(SessionUnitTest, ExactBytesBothWaysThroughTheBulkPath) {
  relaying();
  const std::string up = random_bytes(3 << 20, 1);
  const std::string down = random_bytes(2 << 20, 2);
  size_t up_sent = 0, down_sent = 0;
  std::string up_got, down_got;
  char buf[65536];
  auto move = [&](int fd, const std::string& out, size_t* sent, std::string* in) {
    if (*sent < out.size()) {
      ssize_t w = ::send(fd, out.data() + *sent, std::min<size_t>(out.size() - *sent, 256 << 10),
                         MSG_NOSIGNAL);
      if (w > 0) *sent += static_cast<size_t>(w);
      if (*sent == out.size()) ::shutdown(fd, SHUT_WR);
    }
    for (;;) {
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) break;
      in->append(buf, static_cast<size_t>(r));
    }
  };
  ASSERT_TRUE(until(
      [&] {
        move(client_.get(), up, &up_sent, &down_got);
        move(origin_.get(), down, &down_sent, &up_got);
        return up_got.size() == up.size() && down_got.size() == down.size();
      },
      20000));
  EXPECT_TRUE(up_got == up);
  EXPECT_TRUE(down_got == down);
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  const telemetry::ConnEvent* d = find(EventType::kDisconnect);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(d->client_bytes, up.size() + 4);
  EXPECT_EQ(d->origin_bytes, down.size() + 4);
}

// An app with a validator: a client that sends nothing is refused at handshake_timeout (497),
// before any origin connection.
TEST_F(SessionUnitTest, HandshakeTimeoutRefusesASilentClientWith497) {
  app_->protection.handshake_timeout = std::chrono::milliseconds(2000);
  // The policy as a snapshot compiles it: its chains hold the validate filter.
  config::App app_cfg = app_->cfg;
  app_cfg.validate = config::Validator::kSsh;
  std::vector<std::string> warnings;
  app_->guard = guard::compile_app(app_cfg, app_->protection,
                                   guard::compile_zone(config::Config{}, &warnings), nullptr);
  guard::Guard guard;
  ctx_.guard = &guard;
  guard::Admission adm;
  open_session(&adm);
  clock_.advance(1990);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 1u) << "refused before handshake_timeout";
  clock_.advance(30);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 0u);
  EXPECT_TRUE(reads_eof(client_.get()));
  const telemetry::ConnEvent* e = find(EventType::kClientFiltered);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 497);
  EXPECT_STRNE(e->matched_rule, "");
  // No origin connection was ever made.
  EXPECT_LT(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK), 0);
  ctx_.guard = nullptr;  // the guard dies before the fixture
}

// A TLS app whose certificates could not be loaded: the client handshake fails at once (443).
TEST_F(SessionUnitTest, TlsAppWithoutCertificatesFailsItsHandshakeWith443) {
  app_->cfg.tls = config::TlsMode::kFlexible;
  app_->protection.handshake_timeout = std::chrono::milliseconds(2000);
  app_->tls = nullptr;  // no certificates: the handshake fails at once...
  open_session();
  EXPECT_EQ(ctx_.sessions.size(), 0u);  // ...with a tlsError, before any timer
  const telemetry::ConnEvent* e = find(EventType::kTlsError);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 443);
  EXPECT_TRUE(e->tls);
}

// A TLS client that never sends its ClientHello: the client handshake times out at
// protection.handshake_timeout (the same rule as the validator's), with a tlsError 443 and a
// reset, before any origin connection.
TEST_F(SessionUnitTest, SilentTlsClientTimesOutAtHandshakeTimeoutWith443) {
  app_->cfg.tls = config::TlsMode::kFlexible;
  app_->cfg.dns.name = "unit.example.test";
  std::string error;
  std::vector<std::string> notes;
  app_->tls = TlsContext::build(app_->cfg, nullptr, &error, &notes);
  ASSERT_TRUE(app_->tls) << error;
  app_->protection.handshake_timeout = std::chrono::milliseconds(2000);
  open_session();
  clock_.advance(1990);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 1u) << "timed out before handshake_timeout";
  clock_.advance(30);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 0u);
  EXPECT_TRUE(reads_eof(client_.get()));
  const telemetry::ConnEvent* e = find(EventType::kTlsError);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 443);
  EXPECT_LT(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK), 0);
}

// Junk instead of a ClientHello: the client handshake fails at once with a tlsError 443, and no
// origin is contacted.
TEST_F(SessionUnitTest, JunkInsteadOfAClientHelloIs443WithoutAnOrigin) {
  app_->cfg.tls = config::TlsMode::kFlexible;
  app_->cfg.dns.name = "unit.example.test";
  std::string error;
  std::vector<std::string> notes;
  app_->tls = TlsContext::build(app_->cfg, nullptr, &error, &notes);
  ASSERT_TRUE(app_->tls) << error;
  open_session();
  send_all(client_.get(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(until([&] { return ctx_.sessions.size() == 0; }));
  const telemetry::ConnEvent* e = find(EventType::kTlsError);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 443);
  EXPECT_EQ(e->origin_port, 0);
  EXPECT_LT(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK), 0);
}

// handshake_timeout: 0 lifts the handshake limit, for TLS apps as for validators (one rule, one
// owner), but a client that never completes its handshake is still bounded by the idle timeout.
TEST_F(SessionUnitTest, ZeroHandshakeTimeoutFallsBackToTheIdleTimeout) {
  app_->cfg.tls = config::TlsMode::kFlexible;
  app_->cfg.dns.name = "unit.example.test";
  std::string error;
  std::vector<std::string> notes;
  app_->tls = TlsContext::build(app_->cfg, nullptr, &error, &notes);
  ASSERT_TRUE(app_->tls) << error;
  app_->protection.handshake_timeout = std::chrono::milliseconds(0);
  app_->cfg.timeouts.idle = std::chrono::milliseconds(600'000);
  open_session();
  clock_.advance(599'000);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 1u) << "closed before the idle timeout";
  EXPECT_EQ(find(EventType::kTlsError), nullptr);
  clock_.advance(2'000);
  loop_.run_once(0);
  EXPECT_EQ(ctx_.sessions.size(), 0u) << "a silent TLS client outlived the idle timeout";
}

TEST(CloseReasonTest, OneTableGivesEveryStatus) {
  using telemetry::Cause;
  using telemetry::Side;
  EXPECT_EQ(telemetry::status_of({Side::kOrigin, Cause::kConnectTimeout}), 522);
  EXPECT_EQ(telemetry::status_of({Side::kOrigin, Cause::kRefused}), 521);
  EXPECT_EQ(telemetry::status_of({Side::kClient, Cause::kReset}), 499);
  EXPECT_EQ(telemetry::status_of({Side::kOrigin, Cause::kReset}), 444);
  EXPECT_EQ(telemetry::status_of({Side::kClient, Cause::kBrokenPipe}), 498);
  EXPECT_EQ(telemetry::status_of({Side::kOrigin, Cause::kBrokenPipe}), 448);
  EXPECT_EQ(telemetry::status_of({Side::kClient, Cause::kTlsError}), 490);
  EXPECT_EQ(telemetry::status_of({Side::kOrigin, Cause::kTlsCertificate}), 526);
  EXPECT_EQ(telemetry::status_of({Side::kClient, Cause::kUnresolved}), 999);
  // errno -> reason, written once for both relays.
  EXPECT_EQ(
      telemetry::status_of(telemetry::close_reason_of_errno(ECONNRESET, Side::kClient, false)),
      499);
  EXPECT_EQ(telemetry::status_of(telemetry::close_reason_of_errno(EPIPE, Side::kOrigin, true)),
            448);
  EXPECT_EQ(telemetry::status_of(telemetry::close_reason_of_errno(EPIPE, Side::kOrigin, false)),
            444);
  EXPECT_EQ(telemetry::status_of(telemetry::close_reason_of_errno(ETIMEDOUT, Side::kOrigin, false)),
            445);
  EXPECT_EQ(telemetry::status_of(telemetry::close_reason_of_errno(EINVAL, Side::kOrigin, false)),
            999);
  EXPECT_EQ(telemetry::status_of(telemetry::connect_failure(ETIMEDOUT)), 522);
  EXPECT_EQ(telemetry::status_of(telemetry::connect_failure(ECONNREFUSED)), 521);
  EXPECT_EQ(telemetry::status_of(telemetry::connect_failure(EHOSTUNREACH)), 523);
  // Every row's status maps back to a reason with that status.
  for (const telemetry::CloseRow& row : telemetry::kCloseTable)
    EXPECT_EQ(telemetry::status_of(telemetry::close_reason_of(row.status)), row.status);
}

TEST(LeaseTest, LeasesGiveBackExactlyOnce) {
  core::FdBudget b;
  b.set_limit(core::FdBudget::kUdpConfirmed, 1);
  {
    core::FdUnit u = core::FdUnit::try_take(&b, core::FdBudget::kUdpConfirmed);
    EXPECT_TRUE(u.ok());
    EXPECT_FALSE(core::FdUnit::try_take(&b, core::FdBudget::kUdpConfirmed).ok());
    core::FdUnit moved = std::move(u);
    u.reset();  // moved from: gives nothing back
    EXPECT_EQ(b.in_use(core::FdBudget::kUdpConfirmed), 1u);
  }
  EXPECT_EQ(b.in_use(core::FdBudget::kUdpConfirmed), 0u);
  EXPECT_TRUE(core::FdUnit::try_take(nullptr, core::FdBudget::kUdpConfirmed).ok());

  config::OriginDirect o;
  o.ip = net::IpAddr::v4(0x7f000001);
  origin::OriginSet set({o, o}, config::LoadBalancing{});
  {
    origin::OriginLease a(set, 1);
    origin::OriginLease b2 = std::move(a);
    EXPECT_EQ(set.at(1).active.load(), 1);
    a = origin::OriginLease(set, 0);
    EXPECT_EQ(set.at(0).active.load(), 1);
    b2.reset();
    b2.reset();
    EXPECT_EQ(set.at(1).active.load(), 0);
  }
  EXPECT_EQ(set.at(0).active.load(), 0);
}

}  // namespace
}  // namespace rampart::tcp
