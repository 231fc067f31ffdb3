// get_with_deadline against a real peer socket that trickles its answer (a byte every 100 ms, in
// the headers or in the body): cpp-httplib's per-read timeout never fires, the whole-answer
// deadline does. And a prompt peer is read whole.
#include "control/peer_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace rampart::control {
namespace {

// A one-connection HTTP peer on 127.0.0.1: sends `prompt` at once, then one byte of `trickle`
// every 100 ms until the client goes away.
class Peer {
 public:
  Peer(std::string prompt, std::string trickle) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, prompt, trickle] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)!::recv(c, buf, sizeof buf, 0);  // the request (small: one read)
      ::send(c, prompt.data(), prompt.size(), MSG_NOSIGNAL);
      for (size_t i = 0; i < trickle.size() && !stop_; ++i) {
        // Wait 100 ms, or less if the client closed (then stop).
        pollfd p{c, POLLRDHUP, 0};
        if (::poll(&p, 1, 100) > 0) break;
        if (::send(c, trickle.data() + i, 1, MSG_NOSIGNAL) != 1) break;
      }
      ::close(c);
    });
  }
  ~Peer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Fetch {
  bool ok = false;  // a response came
  int status = 0;
  std::string error;
  std::string body;
  bool timed_out = false;
  std::chrono::milliseconds took{};
};

Fetch fetch(int port, std::chrono::milliseconds deadline) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(1, 0);
  cli.set_read_timeout(2, 0);  // per read: never reached by a byte every 100 ms
  Fetch f;
  const auto start = std::chrono::steady_clock::now();
  auto res = get_with_deadline(cli, "/x", {}, deadline, 1 << 20, &f.body, &f.timed_out);
  f.ok = static_cast<bool>(res);
  f.status = res ? res->status : 0;
  f.error = httplib::to_string(res.error());
  f.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  return f;
}

TEST(PeerFetch, TricklingHeadersAreCutAtTheDeadline) {
  Peer peer("HTTP/1.1 200 OK\r\n", "X-Slow: " + std::string(200, 'a') + "\r\n\r\n");
  Fetch f = fetch(peer.port(), std::chrono::milliseconds(600));
  EXPECT_TRUE(f.timed_out);
  EXPECT_FALSE(f.ok);
  EXPECT_GE(f.took.count(), 600);
  EXPECT_LT(f.took.count(), 1500);  // the trickle alone would last 20 s
}

TEST(PeerFetch, TricklingBodyIsCutAtTheDeadline) {
  Peer peer("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n", std::string(200, 'b'));
  Fetch f = fetch(peer.port(), std::chrono::milliseconds(600));
  EXPECT_TRUE(f.timed_out);
  EXPECT_FALSE(f.ok);
  EXPECT_LT(f.body.size(), 200u);
  EXPECT_LT(f.took.count(), 1500);
}

TEST(PeerFetch, APromptAnswerIsReadWhole) {
  Peer peer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", "");
  Fetch f = fetch(peer.port(), std::chrono::milliseconds(3000));
  ASSERT_TRUE(f.ok) << f.error;
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body, "hello");
  EXPECT_FALSE(f.timed_out);
  EXPECT_LT(f.took.count(), 1000);  // the watchdog does not delay a finished request
}

}  // namespace
}  // namespace rampart::control
