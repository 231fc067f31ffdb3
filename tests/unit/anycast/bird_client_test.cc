// BIRD's control-socket protocol: reply parsing, and the client against a fake BIRD on a unix
// socket (greeting, multi-line replies, errors, a restart between commands).
#include "anycast/bird_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace rampart::anycast {
namespace {

TEST(BirdReplyParser, SingleLine) {
  BirdReplyParser p;
  EXPECT_TRUE(p.feed("0011 rampart_anycast: enabled"));
  EXPECT_TRUE(p.reply().ok());
  EXPECT_EQ(p.reply().code, 11);
  EXPECT_EQ(p.reply().text(), "rampart_anycast: enabled");
}

TEST(BirdReplyParser, MultiLineWithContinuations) {
  BirdReplyParser p;
  EXPECT_FALSE(p.feed("2002-Name       Proto      Table      State  Since         Info"));
  EXPECT_FALSE(p.feed("1002-rampart_anycast Static     master4    up     12:00:00.000"));
  EXPECT_FALSE(p.feed(" uplink     BGP        ---        up     12:00:01.000  Established"));
  EXPECT_TRUE(p.feed("0000 "));
  const BirdReply& r = p.reply();
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.lines[2], "uplink     BGP        ---        up     12:00:01.000  Established");
}

TEST(BirdReplyParser, Errors) {
  BirdReplyParser p;
  EXPECT_TRUE(p.feed("8003 No protocols match"));
  EXPECT_FALSE(p.reply().ok());
  EXPECT_EQ(p.reply().code, 8003);
  p.reset();
  EXPECT_TRUE(p.feed("9001 syntax error, unexpected CF_SYM_UNDEFINED"));
  EXPECT_FALSE(p.reply().ok());
  p.reset();
  // An error line inside a reply that ends with 0000 still fails it.
  EXPECT_FALSE(p.feed("8001-Protocol is down"));
  EXPECT_TRUE(p.feed("0000 "));
  EXPECT_FALSE(p.reply().ok());
  p.reset();
  EXPECT_FALSE(p.feed("12"));  // too short for a code: text
  EXPECT_FALSE(p.reply().complete);
}

// A fake BIRD: accepts one connection at a time, greets it, answers each line from `answers`
// (or "9001 syntax error"). close_after closes the connection after that many commands.
class FakeBird {
 public:
  explicit FakeBird(std::map<std::string, std::string> answers, int close_after = 0)
      : answers_(std::move(answers)), close_after_(close_after) {
    path_ = "/tmp/rampart-fakebird-" + std::to_string(getpid()) + "-" + std::to_string(counter_++) +
            ".ctl";
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path_.c_str(), sizeof sun.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBird() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  int connections() const { return connections_; }
  std::vector<std::string> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string hello = "0001 BIRD 2.0.12 ready.\n";
      (void)!write(c, hello.data(), hello.size());
      std::string buf;
      int served = 0;
      char tmp[512];
      ssize_t n;
      while ((n = read(c, tmp, sizeof tmp)) > 0) {
        buf.append(tmp, static_cast<size_t>(n));
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
          std::string line = buf.substr(0, nl);
          buf.erase(0, nl + 1);
          {
            std::lock_guard lock(mu_);
            commands_.push_back(line);
          }
          auto it = answers_.find(line);
          std::string out = it != answers_.end() ? it->second : "9001 syntax error\n";
          (void)!write(c, out.data(), out.size());
          if (close_after_ > 0 && ++served == close_after_) {
            close(c);
            c = -1;
            break;
          }
        }
        if (c < 0) break;
      }
      if (c >= 0) close(c);
    }
  }

  static inline std::atomic<int> counter_{0};
  std::map<std::string, std::string> answers_;
  int close_after_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

TEST(BirdClient, CommandsOnOneConnection) {
  FakeBird bird({{"enable p", "0011 p: enabled\n"},
                 {"show protocols p", "2002-Name Proto\n1002-p Static up\n0000 \n"}});
  BirdClient c(bird.path());
  std::string error;
  BirdReply r = c.command("enable p", &error);
  EXPECT_TRUE(r.ok()) << error;
  EXPECT_EQ(r.code, 11);
  r = c.command("show protocols p", &error);
  EXPECT_TRUE(r.ok()) << error;
  EXPECT_EQ(r.lines.size(), 3u);
  r = c.command("bogus", &error);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(bird.connections(), 1);
}

TEST(BirdClient, ReconnectsOnceAfterBirdClosedTheConnection) {
  FakeBird bird({{"disable p", "0009 p: disabled\n"}}, /*close_after=*/1);
  BirdClient c(bird.path());
  std::string error;
  EXPECT_TRUE(c.command("disable p", &error).ok()) << error;
  EXPECT_TRUE(c.command("disable p", &error).ok()) << error;  // the first connection is gone
  EXPECT_EQ(bird.connections(), 2);
}

TEST(BirdClient, NoBird) {
  BirdClient c("/tmp/rampart-no-such-bird.ctl", std::chrono::milliseconds(200));
  std::string error;
  BirdReply r = c.command("enable p", &error);
  EXPECT_FALSE(r.complete);
  EXPECT_NE(error.find("cannot connect to BIRD"), std::string::npos) << error;
}

}  // namespace
}  // namespace rampart::anycast
