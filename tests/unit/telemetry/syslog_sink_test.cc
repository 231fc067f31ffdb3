// SyslogSink on real sockets (a UDP socket bound on 127.0.0.1, a unix datagram socket in a temp
// dir), and the event log's syslog copy and rotation limits.
#include "telemetry/syslog_sink.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.h"
#include "telemetry/event_log.h"
#include "test_support.h"

namespace rampart::telemetry {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

using rampart::testing::TempDir;

// A UDP receiver on 127.0.0.1 with a kernel-chosen port.
struct UdpReceiver {
  core::UniqueFd fd{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  uint16_t port = 0;
  UdpReceiver() {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    socklen_t len = sizeof sin;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sin), &len);
    port = ntohs(sin.sin_port);
  }
  std::string address() const { return "udp://127.0.0.1:" + std::to_string(port); }
};

// A unix datagram receiver bound at dir/log.
struct UnixReceiver {
  core::UniqueFd fd{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  std::string path;
  explicit UnixReceiver(const std::string& dir) : path(dir + "/log") {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
  }
};

// One datagram within `limit`, or "" on timeout.
std::string receive(int fd, std::chrono::milliseconds limit = 2000ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
const std::regex kRfc5424(
    R"(<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (\S+) (\d+) - - (.*))");

TEST(SyslogSink, UdpMessageIsRfc5424) {
  UdpReceiver rx;
  SyslogOptions o;
  o.address = rx.address();
  o.facility = "local0";
  o.tag = "rampart-test";
  o.hostname = "edge1";
  std::string error;
  auto sink = SyslogSink::open(o, &error);
  ASSERT_TRUE(sink) << error;
  // 2025-11-26T23:59:01.123456789Z: the fraction is cut to microseconds.
  ASSERT_TRUE(sink->send(R"({"Event":"connect"})", kSyslogInfo, 1764201541123456789));
  std::string got = receive(rx.fd.get());
  std::smatch m;
  ASSERT_TRUE(std::regex_match(got, m, kRfc5424)) << got;
  EXPECT_EQ(m[1], "134");  // local0 (16) * 8 + info (6)
  EXPECT_EQ(m[2], "2025-11-26T23:59:01.123456Z");
  EXPECT_EQ(m[3], "edge1");
  EXPECT_EQ(m[4], "rampart-test");
  EXPECT_EQ(m[5], std::to_string(::getpid()));
  EXPECT_EQ(m[6], R"({"Event":"connect"})");
  EXPECT_EQ(sink->sent(), 1u);
  EXPECT_EQ(sink->dropped(), 0u);

  // Warning severity, and "now" when the event has no timestamp.
  ASSERT_TRUE(sink->send("{}", kSyslogWarning, 0));
  got = receive(rx.fd.get());
  ASSERT_TRUE(std::regex_match(got, m, kRfc5424)) << got;
  EXPECT_EQ(m[1], "132");
  EXPECT_EQ(m[2].str().substr(0, 2), "20");
}

TEST(SyslogSink, UnixDatagramSocket) {
  TempDir dir;
  UnixReceiver rx(dir.path());
  SyslogOptions o;
  o.address = "unix://" + rx.path;
  o.facility = "daemon";
  std::string error;
  auto sink = SyslogSink::open(o, &error);
  ASSERT_TRUE(sink) << error;
  ASSERT_TRUE(sink->send(R"({"Event":"originError"})", kSyslogWarning, 1'700'000'000'000'000'000));
  std::string got = receive(rx.fd.get());
  std::smatch m;
  ASSERT_TRUE(std::regex_match(got, m, kRfc5424)) << got;
  EXPECT_EQ(m[1], "28");  // daemon (3) * 8 + warning (4)
  EXPECT_EQ(m[2], "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(m[4], "rampart");
  EXPECT_EQ(m[6], R"({"Event":"originError"})");
}

TEST(SyslogSink, NoReceiverOrFullBufferDropsWithoutBlocking) {
  TempDir dir;
  SyslogOptions o;
  o.address = "unix://" + dir.path() + "/absent";
  std::string error;
  auto sink = SyslogSink::open(o, &error);
  ASSERT_TRUE(sink) << error;
  EXPECT_FALSE(sink->send("{}", kSyslogInfo, 0));
  EXPECT_EQ(sink->dropped(), 1u);

  // A receiver that never reads: once its queue is full, sends fail at once instead of blocking.
  UnixReceiver rx(dir.path());
  o.address = "unix://" + rx.path;
  sink = SyslogSink::open(o, &error);
  ASSERT_TRUE(sink) << error;
  const std::string big(2000, 'x');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) sink->send(big, kSyslogInfo, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_GT(sink->sent(), 0u);
  EXPECT_GT(sink->dropped(), 0u);
  EXPECT_EQ(sink->sent() + sink->dropped(), 5000u);
}

TEST(SyslogSink, BadOptionsAreRefused) {
  std::string error;
  SyslogOptions o;
  o.address = "tcp://127.0.0.1:514";
  EXPECT_FALSE(SyslogSink::open(o, &error));
  EXPECT_NE(error.find("events.syslog.address"), std::string::npos) << error;
  o.address = "udp://127.0.0.1:514";
  o.facility = "local9";
  EXPECT_FALSE(SyslogSink::open(o, &error));
  EXPECT_NE(error.find("facility"), std::string::npos) << error;
}

using rampart::testing::wait_for;

ConnEvent make_event(EventType type, uint64_t seq) {
  ConnEvent e;
  e.type = type;
  e.client_bytes = seq;
  e.set_app("app");
  e.client_ip = *net::IpAddr::parse("192.0.2.1");
  e.timestamp_ns = e.connect_ns = e.disconnect_ns = 1'700'000'000'000'000'000;
  return e;
}

TEST(EventLogSyslog, EveryLineAlsoGoesToSyslogWithItsSeverity) {
  TempDir dir;
  UdpReceiver rx;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.colo = "SYS";
  opts.syslog_address = rx.address();
  opts.syslog_facility = "local3";
  opts.syslog_tag = "edge";
  EventLog log(opts);
  std::string error;
  ASSERT_TRUE(log.start(&error)) << error;
  EventRing* ring = log.make_ring();
  const std::vector<std::pair<EventType, int>> types = {
      {EventType::kConnect, 6},        {EventType::kDisconnect, 6},  {EventType::kProgress, 6},
      {EventType::kClientFiltered, 4}, {EventType::kOriginError, 4}, {EventType::kTlsError, 4},
      {EventType::kResolveOrigin, 4}};
  for (size_t i = 0; i < types.size(); ++i) ASSERT_TRUE(ring->push(make_event(types[i].first, i)));
  log.stop();
  EXPECT_EQ(log.syslog_sent(), types.size());
  EXPECT_EQ(log.syslog_dropped(), 0u);

  std::ifstream in(opts.path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    std::string got = receive(rx.fd.get());
    std::smatch m;
    ASSERT_TRUE(std::regex_match(got, m, kRfc5424)) << got;
    EXPECT_EQ(m[1], std::to_string(19 * 8 + types[i].second)) << to_string(types[i].first);
    EXPECT_EQ(m[4], "edge");
    EXPECT_EQ(m[6], lines[i]) << "the same JSON as the file's line";
    EXPECT_EQ(json::parse(m[6].str())["Event"], to_string(types[i].first));
  }
}

TEST(EventLogSyslog, StartFailsOnABadAddress) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.syslog_address = "udp://nowhere:514";
  EventLog log(opts);
  std::string error;
  EXPECT_FALSE(log.start(&error));
  EXPECT_NE(error.find("syslog"), std::string::npos) << error;
}

std::vector<std::string> lines_of(const std::string& path, bool* whole) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  *whole = all.empty() || all.back() == '\n';
  std::vector<std::string> out;
  std::istringstream is(all);
  for (std::string line; std::getline(is, line);) out.push_back(line);
  return out;
}

TEST(EventLogRotation, FilesStayUnderMaxBytesAndNothingIsLost) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.max_bytes = 64 << 10;
  opts.keep_files = 100;  // nothing deleted: every event must be found again
  EventLog log(opts);
  std::string error;
  ASSERT_TRUE(log.start(&error)) << error;
  EventRing* ring = log.make_ring();
  uint64_t seq = 0;
  for (int batch = 0; batch < 20; ++batch) {  // ~40 KiB per batch: one flush crosses the limit
    for (int k = 0; k < 80; ++k) ASSERT_TRUE(ring->push(make_event(EventType::kDisconnect, seq++)));
    const uint64_t want = seq;
    ASSERT_TRUE(wait_for([&] { return log.written() == want; }, 3000ms));
  }
  log.stop();
  std::vector<uint64_t> all;
  int files = 0;
  for (int i = 100; i >= 0; --i) {
    const std::string p = i == 0 ? opts.path : opts.path + "." + std::to_string(i);
    if (!fs::exists(p)) continue;
    ++files;
    EXPECT_LE(fs::file_size(p), opts.max_bytes) << p;
    bool whole = false;
    for (const auto& line : lines_of(p, &whole))
      all.push_back(json::parse(line)["ClientBytes"].get<uint64_t>());
    EXPECT_TRUE(whole) << p;
  }
  EXPECT_GE(files, 10);
  ASSERT_EQ(all.size(), seq);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i);
}

TEST(EventLogRotation, KeepZeroDeletesAndExtraOldFilesGo) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.max_bytes = 4000;
  opts.keep_files = 0;
  // Left by an earlier run that kept more files.
  for (int i = 1; i <= 3; ++i) std::ofstream(opts.path + "." + std::to_string(i)) << "{}\n";
  EventLog log(opts);
  std::string error;
  ASSERT_TRUE(log.start(&error)) << error;
  EventRing* ring = log.make_ring();
  for (uint64_t i = 0; i < 30; ++i) ASSERT_TRUE(ring->push(make_event(EventType::kConnect, i)));
  log.stop();
  EXPECT_TRUE(fs::exists(opts.path));
  for (int i = 1; i <= 3; ++i) EXPECT_FALSE(fs::exists(opts.path + "." + std::to_string(i))) << i;
  bool whole = false;
  auto lines = lines_of(opts.path, &whole);
  EXPECT_TRUE(whole);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(json::parse(lines.back())["ClientBytes"], 29);
  EXPECT_LE(fs::file_size(opts.path), 4000u);
}

}  // namespace
}  // namespace rampart::telemetry
