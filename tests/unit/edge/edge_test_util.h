// Helpers for the in-process end-to-end tests: loopback sockets, a small threaded origin server,
// an Edge started from YAML built in code, and the event log it writes.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/parse.h"
#include "core/unique_fd.h"
#include "edge/edge.h"
#include "test_support.h"

namespace rampart::edge::testing {

using namespace std::chrono_literals;
using core::UniqueFd;
using Clock = std::chrono::steady_clock;

using rampart::testing::random_bytes;
using rampart::testing::TempDir;
using rampart::testing::wait_for;

// Edge::reload, prepare and abandon run on the edge's applier thread (control()), as the
// ConfigApplier calls them; a test hands them over and waits, like an API caller. A reload
// returns once every worker runs the new snapshot (Edge::applied).
inline void reload_on_control(Edge& edge, const config::Config& cfg) {
  edge.control().call([&] { edge.reload(cfg); });
  EXPECT_TRUE(wait_for([&] { return edge.applied(); })) << "the workers did not apply the reload";
}
inline bool prepare_on_control(Edge& edge, const config::Config& cfg, std::string* error) {
  return edge.control().call([&] { return edge.prepare(cfg, error); });
}
inline void abandon_on_control(Edge& edge) {
  edge.control().call([&] { edge.abandon(); });
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

inline uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

inline void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A UDP socket bound on 127.0.0.1:<ephemeral>.
inline UniqueFd udp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = loopback(0);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// A UDP port that is free right now (bound, read, closed: a UDP socket left bound with
// SO_REUSEPORT would share the edge's datagrams).
inline uint16_t free_udp_port() {
  UniqueFd fd = udp_socket();
  return local_port(fd.get());
}

// One datagram to 127.0.0.1:port; true if all of it was sent.
inline bool send_to(int fd, const std::string& data, uint16_t port) {
  sockaddr_in a = loopback(port);
  return ::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
         static_cast<ssize_t>(data.size());
}

// A loopback port held for the edge: bound with SO_REUSEADDR|SO_REUSEPORT (as the edge binds)
// but not listening, so no other test takes it and connects to it are refused until the edge
// listens there. Also serves as an origin that refuses connections.
class ReservedPort {
 public:
  ReservedPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    int one = 1;
    setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a = loopback(0);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    port_ = local_port(fd_.get());
  }
  uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

// LISTEN sockets on 127.0.0.1:port, from /proc/net/tcp: observes the edge's listeners without
// connecting (a probe connection would become a session).
inline int listeners_on(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  char want[32];
  snprintf(want, sizeof want, "0100007F:%04X", port);
  int n = 0;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, state;
    ls >> sl >> local >> remote >> state;
    if (local == want && state == "0A") ++n;
  }
  return n;
}

// A blocking client connection to 127.0.0.1:port with 3 s I/O timeouts; invalid on failure.
inline UniqueFd connect_to(uint16_t port, int* err = nullptr) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  set_timeouts(fd.get(), 3000);
  sockaddr_in a = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (err) *err = errno;
    return {};
  }
  if (err) *err = 0;
  return fd;
}

inline bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}
inline bool write_all(int fd, const std::string& s) {
  return write_all(fd, s.data(), s.size());
}

inline bool read_exact(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}
inline std::string read_n(int fd, size_t n) {
  std::string s(n, '\0');
  if (!read_exact(fd, s.data(), n)) return "<short read>";
  return s;
}

// Reads until EOF (returns true) or an error (false, *err = errno).
inline bool read_to_eof(int fd, std::string* out, int* err = nullptr) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) return true;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (err) *err = errno;
      return false;
    }
    if (out) out->append(buf, static_cast<size_t>(r));
  }
}

// What a client sees when the connection ends: 0 for an orderly EOF, else the errno (ECONNRESET
// for a reset, EAGAIN if nothing happened within `limit`). Unread data is discarded.
inline int wait_closed(int fd, std::chrono::milliseconds limit = 2000ms) {
  auto deadline = Clock::now() + limit;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return EAGAIN;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0) return 0;
    if (r < 0 && errno != EAGAIN && errno != EINTR) return errno;
  }
}

// A threaded TCP server on 127.0.0.1:<ephemeral>: one thread per accepted connection runs
// `handler(fd)`, then the fd is closed. The destructor unblocks and joins everything.
class OriginServer {
 public:
  using Handler = std::function<void(int fd)>;
  explicit OriginServer(Handler handler, int backlog = 128) : handler_(std::move(handler)) {
    listen_fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a = loopback(0);
    EXPECT_EQ(::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_.get(), backlog), 0);
    port_ = local_port(listen_fd_.get());
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~OriginServer() {
    ::shutdown(listen_fd_.get(), SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conns_) t.join();
  }
  OriginServer(const OriginServer&) = delete;
  OriginServer& operator=(const OriginServer&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int open_connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(open_.size());
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      set_timeouts(fd, 5000);
      {
        std::lock_guard<std::mutex> lock(mu_);
        open_.insert(fd);
      }
      accepted_.fetch_add(1);
      conns_.emplace_back([this, fd] {
        handler_(fd);
        std::lock_guard<std::mutex> lock(mu_);
        open_.erase(fd);
        ::close(fd);
      });
    }
  }

  Handler handler_;
  UniqueFd listen_fd_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> conns_;  // acceptor thread only, then the destructor
  std::mutex mu_;
  std::set<int> open_;
  std::atomic<int> accepted_{0};
};

// Echoes until EOF, then closes.
inline void echo_handler(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return;
    if (!write_all(fd, buf, static_cast<size_t>(r))) return;
  }
}

struct AppSpec {
  std::string id;
  uint16_t edge_port = 0;
  std::vector<uint16_t> origin_ports;
  std::string proxy_protocol = "off";
  std::string policy = "round_robin";
  std::string connect_timeout = "1s";
  std::string idle_timeout = "30s";
};

inline std::string app_yaml(const AppSpec& a) {
  std::string origins;
  for (uint16_t p : a.origin_ports) {
    if (!origins.empty()) origins += ", ";
    origins += "\"tcp://127.0.0.1:" + std::to_string(p) + "\"";
  }
  return "  - id: " + a.id + "\n    protocol: tcp/" + std::to_string(a.edge_port) +
         "\n    edge_ips: { type: static, ips: [\"127.0.0.1\"] }\n    origin_direct: [" + origins +
         "]\n    proxy_protocol: \"" + a.proxy_protocol +
         "\"\n    load_balancing: { policy: " + a.policy +
         ", health_check: { enabled: false } }\n    timeouts: { connect: " + a.connect_timeout +
         ", idle: " + a.idle_timeout + " }\n";
}

inline config::Config make_config(const std::string& data_dir, const std::vector<AppSpec>& apps,
                                  int workers = 2) {
  std::string y =
      "edge:\n  colo: UT\n  listen: [\"127.0.0.1\"]\n  workers: " + std::to_string(workers) +
      "\n  data_dir: " + data_dir + "\n";
  // These tests open many connections from 127.0.0.1 quickly: no per-source limits (0 = none).
  y += "protection:\n  per_ip: { max_connections: 0, new_connections_per_second: 0, burst: 0 }\n";
  y += apps.empty() ? "apps: []\n" : "apps:\n";
  for (const auto& a : apps) y += app_yaml(a);
  config::LoadResult r = config::parse_yaml(y);
  std::string errors;
  for (const auto& e : r.errors) errors += "\n  " + e.to_string();
  EXPECT_TRUE(r.ok()) << y << errors;
  return r.ok() ? *r.config : config::Config{};
}

// Reads <data_dir>/events.ndjson (written by the EventLog thread every ~100 ms); a line the
// thread is still writing is left out.
inline std::vector<nlohmann::json> read_events(const std::string& data_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(data_dir + "/events.ndjson");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// Waits for an event matching `pred`; returns it, or a null json after `limit`.
template <typename Pred>
nlohmann::json wait_event(const std::string& data_dir, Pred pred,
                          std::chrono::milliseconds limit = 2000ms) {
  nlohmann::json found;
  wait_for(
      [&] {
        for (auto& e : read_events(data_dir))
          if (!e.is_discarded() && pred(e)) {
            found = e;
            return true;
          }
        return false;
      },
      limit);
  return found;
}

inline std::string dump_events(const std::string& data_dir) {
  std::string s;
  for (auto& e : read_events(data_dir)) s += "\n  " + e.dump();
  return s;
}

// An Edge on a temp data_dir, stopped (and its threads joined) at the end of the test.
class EdgeTest : public ::testing::Test {
 protected:
  void start(const std::vector<AppSpec>& apps, int workers = 2) {
    cfg_ = make_config(dir_.path(), apps, workers);
    edge_ = std::make_unique<Edge>();
    std::string error;
    ASSERT_TRUE(edge_->start(cfg_, &error)) << error;
    for (const auto& a : apps) wait_listening(a.edge_port, workers);
  }
  void reload(const std::vector<AppSpec>& apps, int workers = 2) {
    cfg_ = make_config(dir_.path(), apps, workers);
    reload_on_control(*edge_, cfg_);
  }
  void wait_listening(uint16_t port, int workers = 2) {
    ASSERT_TRUE(wait_for([&] { return listeners_on(port) == workers; }))
        << "port " << port << ": " << listeners_on(port) << " listeners";
  }
  const std::string& data_dir() const { return dir_.path(); }

  TempDir dir_;
  config::Config cfg_;
  std::unique_ptr<Edge> edge_;
};

}  // namespace rampart::edge::testing
