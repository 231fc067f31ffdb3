// A real DNS server for tests: dnsmasq on 127.0.0.1 and an unprivileged port, answering the
// names of a hosts file under the local domain "test" (anything else there is NXDOMAIN), with
// --local-ttl as the answers' TTL; set_hosts() rewrites the file and SIGHUPs dnsmasq. Used by
// the resolver's and the edge's unit tests. Owned by one test; its thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.h"

namespace rampart::testing_dns {

using namespace std::chrono_literals;

inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Whether something holds UDP 127.0.0.1:port (our own bind fails then).
inline bool udp_port_taken(uint16_t port) {
  core::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0;
}

inline uint16_t free_udp_port() {
  core::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// dnsmasq serving the names of a hosts file under the local domain "test" (anything else there
// is NXDOMAIN).
class Dnsmasq {
 public:
  Dnsmasq(int ttl, const std::string& hosts) {
    dir_ = std::filesystem::temp_directory_path() /
           ("rampart-resolve-" + std::to_string(::getpid()) + "-" + std::to_string(++count_));
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    hosts_ = (dir_ / "hosts").string();
    write_hosts(hosts);
    // The port is free for UDP when picked, but dnsmasq binds TCP on it too, and another test
    // binary running beside this one may hold it (an ephemeral port of a connection) or take it
    // first: when dnsmasq exits at once, another port is tried.
    for (int attempt = 0; attempt < 5 && !up_; ++attempt) {
      port_ = free_udp_port();
      std::vector<std::string> args = {"dnsmasq",
                                       "--keep-in-foreground",
                                       "--conf-file=/dev/null",
                                       "--no-resolv",
                                       "--no-hosts",
                                       "--addn-hosts=" + hosts_,
                                       "--local-ttl=" + std::to_string(ttl),
                                       "--local=/test/",
                                       "--listen-address=127.0.0.1",
                                       "--bind-interfaces",
                                       "--port=" + std::to_string(port_),
                                       "--pid-file=",
                                       "--user=root",
                                       "--log-facility=-"};
      pid_ = ::fork();
      if (pid_ == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp("dnsmasq", argv.data());
        ::_exit(127);
      }
      bool exited = false;
      up_ = eventually(
                [&] {
                  exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
                  return exited || udp_port_taken(port_);
                },
                5s) &&
            !exited;
      if (!up_ && !exited) {  // running but not listening within 5 s: stop it before a retry
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
      }
      if (!up_) pid_ = -1;
    }
  }
  ~Dnsmasq() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool up() const { return up_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // Replaces the hosts file and makes dnsmasq read it again.
  void set_hosts(const std::string& text) {
    write_hosts(text);
    ::kill(pid_, SIGHUP);
  }

 private:
  void write_hosts(const std::string& text) {
    const std::string tmp = hosts_ + ".new";
    std::ofstream(tmp) << text;
    std::filesystem::permissions(
        tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                 std::filesystem::perms::group_read | std::filesystem::perms::others_read);
    std::filesystem::rename(tmp, hosts_);
  }

  static inline int count_ = 0;
  std::filesystem::path dir_;
  std::string hosts_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool up_ = false;
};

}  // namespace rampart::testing_dns
