// core::SdNotify against a real AF_UNIX datagram socket (a path and an abstract name), as
// systemd's NOTIFY_SOCKET would be.
#include "core/sd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace rampart::core {
namespace {

// A bound datagram socket; recv() waits up to 2 s for one message.
class Listener {
 public:
  explicit Listener(const std::string& name) : name_(name) {
    fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                                 (name[0] == '@' ? 0 : 1));
    if (name[0] != '@') unlink(name.c_str());
    bound_ = bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~Listener() {
    if (name_[0] != '@') unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  std::string recv() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return "(nothing)";
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    return n < 0 ? "(error)" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string name_;
  UniqueFd fd_;
  bool bound_ = false;
};

TEST(SdNotify, SendsOneDatagramToAPath) {
  const std::string path = "/tmp/rampart-sdnotify-" + std::to_string(getpid());
  Listener l(path);
  ASSERT_TRUE(l.bound());
  SdNotify n(path, 0);
  ASSERT_TRUE(n.enabled());
  std::string error;
  ASSERT_TRUE(n.send("READY=1\nSTATUS=2 apps, 0 connections", &error)) << error;
  EXPECT_EQ(l.recv(), "READY=1\nSTATUS=2 apps, 0 connections");
}

TEST(SdNotify, SendsToAnAbstractName) {
  const std::string name = "@rampart-sdnotify-test-" + std::to_string(getpid());
  Listener l(name);
  ASSERT_TRUE(l.bound());
  SdNotify n(name, 0);
  ASSERT_TRUE(n.send("STOPPING=1"));
  EXPECT_EQ(l.recv(), "STOPPING=1");
}

TEST(SdNotify, ReportsAnUnreachableSocket) {
  SdNotify n("/nonexistent/notify.sock", 0);
  std::string error;
  EXPECT_FALSE(n.send("READY=1", &error));
  EXPECT_NE(error.find("/nonexistent/notify.sock"), std::string::npos) << error;
}

TEST(SdNotify, DisabledWithoutASocket) {
  SdNotify none("", 5000000);
  EXPECT_FALSE(none.enabled());
  EXPECT_EQ(none.watchdog_usec(), 0u);
  EXPECT_TRUE(none.send("READY=1"));  // nothing to do, nothing fails
  SdNotify vsock("vsock:2:1234", 0);  // not AF_UNIX: left off
  EXPECT_FALSE(vsock.enabled());
}

TEST(SdNotify, FromEnvHonoursWatchdogPid) {
  const std::string path = "/tmp/rampart-sdnotify-env-" + std::to_string(getpid());
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  setenv("WATCHDOG_USEC", "3000000", 1);
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SdNotify::from_env().watchdog_usec(), 3000000u);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(SdNotify::from_env().watchdog_usec(), 3000000u);
  // Meant for another process (this one inherited the environment): no watchdog here.
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(SdNotify::from_env().watchdog_usec(), 0u);
  EXPECT_TRUE(SdNotify::from_env().enabled());
  setenv("WATCHDOG_USEC", "garbage", 1);
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SdNotify::from_env().watchdog_usec(), 0u);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(SdNotify::from_env().enabled());
}

TEST(SdNotify, ReloadingCarriesMonotonicUsec) {
  const uint64_t before = SdNotify::monotonic_usec();
  const std::string m = SdNotify::reloading_message();
  const uint64_t after = SdNotify::monotonic_usec();
  ASSERT_EQ(m.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << m;
  const uint64_t usec = std::stoull(m.substr(m.find('=', 12) + 1));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
}

TEST(SdNotify, StatusIsOneLine) {
  EXPECT_EQ(SdNotify::status_message("3 apps,\n120 connections"), "STATUS=3 apps, 120 connections");
}

}  // namespace
}  // namespace rampart::core
