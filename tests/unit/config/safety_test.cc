// Config safety (config/safety.h): an app on api.listen, origins that loop into the edge,
// private origins through the API, port caps, and the bounded file reads (config/file_read.h).
#include "config/safety.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "config/file_read.h"
#include "config/parse.h"
#include "config/validate.h"
#include "test_support.h"
#include "test_util.h"

namespace rampart::config {
namespace {

using rampart::testing::TempDir;

using rampart::testing::ip;

// A config from YAML, validated with the host's addresses given (no getifaddrs in the test).
std::vector<ConfigError> safety_errors(const std::string& yaml,
                                       std::vector<net::IpAddr> host = {}) {
  // parse_yaml validates with this machine's addresses: what it finds is found already.
  LoadResult r = parse_yaml(yaml);
  if (!r.config) return r.errors;
  std::vector<ConfigError> errors;
  check_safety(
      *r.config, [host] { return host; }, errors);
  return errors;
}

std::string with_apps(const std::string& api_listen, const std::string& apps,
                      const std::string& listen = "[\"0.0.0.0\", \"::\"]") {
  return "edge: { listen: " + listen + " }\napi: { listen: \"" + api_listen +
         "\", token: t }\napps:\n" + apps;
}

TEST(ApiListen, AppOnTheApiPortIsAConflict) {
  auto e = safety_errors(
      with_apps("127.0.0.1:8788",
                "  - {id: a, protocol: tcp/8788, edge_ips: {type: static, ips: [\"127.0.0.1\"]}, "
                "origin_direct: [\"tcp://192.0.2.1:22\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "collides with api.listen (127.0.0.1:8788)",
                        kErrListenConflict))
      << dump(e);
  // A wildcard app listener covers the API's loopback address; a range covers its port.
  e = safety_errors(
      with_apps("127.0.0.1:8788",
                "  - {id: a, protocol: tcp/8000-8800, origin_direct: [\"tcp://192.0.2.1:22\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "tcp/8788 on 0.0.0.0", kErrListenConflict))
      << dump(e);
  // A wildcard API covers every address of its family; [::] also IPv4 (dual-stack).
  e = safety_errors(
      with_apps("0.0.0.0:8788",
                "  - {id: a, protocol: tcp/8788, edge_ips: {type: static, ips: [\"10.0.0.1\"]}, "
                "origin_direct: [\"tcp://192.0.2.1:22\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "collides", kErrListenConflict)) << dump(e);
  e = safety_errors(
      with_apps("[::]:8788",
                "  - {id: a, protocol: tcp/8788, edge_ips: {type: static, ips: [\"10.0.0.1\"]}, "
                "origin_direct: [\"tcp://192.0.2.1:22\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].protocol", "collides", kErrListenConflict)) << dump(e);
}

TEST(ApiListen, OtherPortsAddressesAndUdpDoNotCollide) {
  const std::string origin = ", origin_direct: [\"tcp://192.0.2.1:22\"]}\n";
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788", "  - {id: a, protocol: tcp/8789" + origin))
                  .empty());
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788",
                                      "  - {id: a, protocol: tcp/8788, edge_ips: {type: static, "
                                      "ips: [\"127.0.0.2\"]}" +
                                          origin))
                  .empty());
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788",
                                      "  - {id: a, protocol: udp/8788, origin_direct: "
                                      "[\"udp://192.0.2.1:22\"]}\n"))
                  .empty());
  // [::1] API and an IPv4 app: different families, no wildcard.
  EXPECT_TRUE(safety_errors(with_apps("[::1]:8788",
                                      "  - {id: a, protocol: tcp/8788, edge_ips: "
                                      "{type: dynamic, connectivity: ipv4}" +
                                          origin))
                  .empty());
}

TEST(SelfLoop, OriginOnTheEdgesOwnListener) {
  // Specific listener, same address and port.
  auto e = safety_errors(with_apps(
      "127.0.0.1:8788",
      "  - {id: loop, protocol: tcp/2222, edge_ips: {type: static, ips: [\"127.0.0.1\"]}, "
      "origin_direct: [\"tcp://127.0.0.1:2222\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "is this edge's own listener (app \"loop\"",
                        kErrOriginAddress))
      << dump(e);
  // Another app's listener: a wildcard is reached through loopback and through any address
  // of the host.
  const std::string apps =
      "  - {id: front, protocol: tcp/22, origin_direct: [\"tcp://10.1.1.1:2200\"]}\n"
      "  - {id: back, protocol: tcp/2200, origin_direct: [\"tcp://192.0.2.7:22\"]}\n";
  e = safety_errors(with_apps("127.0.0.1:8788", apps), {ip("10.1.1.1")});
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "app \"back\", tcp/2200 on 0.0.0.0"))
      << dump(e);
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788", apps), {ip("10.1.1.2")}).empty());
  e = safety_errors(with_apps(
      "127.0.0.1:8788", "  - {id: a, protocol: tcp/22, origin_direct: [\"tcp://[::1]:22\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "tcp/22 on ::")) << dump(e);
  // An origin range that covers a listener port loops too.
  e = safety_errors(
      with_apps("127.0.0.1:8788",
                "  - {id: a, protocol: udp/5000-5010, edge_ips: {type: static, ips: "
                "[\"127.0.0.1\"]}, origin_direct: [\"udp://127.0.0.1:4995-5005\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "own listener")) << dump(e);
}

TEST(SelfLoop, NotALoop) {
  // Other port, other protocol, an address the edge does not listen on.
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788",
                                      "  - {id: a, protocol: tcp/2222, edge_ips: {type: static, "
                                      "ips: [\"127.0.0.1\"]}, origin_direct: "
                                      "[\"tcp://127.0.0.1:2022\"]}\n"))
                  .empty());
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788",
                                      "  - {id: a, protocol: tcp/53, origin_direct: "
                                      "[\"tcp://192.0.2.1:53\"]}\n"
                                      "  - {id: b, protocol: udp/5353, origin_direct: "
                                      "[\"udp://127.0.0.1:53\"]}\n"))
                  .empty());
  EXPECT_TRUE(safety_errors(with_apps("127.0.0.1:8788",
                                      "  - {id: a, protocol: tcp/2222, edge_ips: {type: static, "
                                      "ips: [\"127.0.0.1\"]}, origin_direct: "
                                      "[\"tcp://127.0.0.2:2222\"]}\n"),
                            {})
                  .empty());
}

TEST(SelfLoop, OriginOnTheApi) {
  auto e = safety_errors(with_apps("127.0.0.1:8788",
                                   "  - {id: a, protocol: tcp/3000, edge_ips: {type: static, "
                                   "ips: [\"10.0.0.1\"]}, origin_direct: "
                                   "[\"tcp://127.0.0.1:8788\"]}\n"));
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "this edge's own API", kErrOriginAddress))
      << dump(e);
  // An API on [::] is reached from an IPv4 host address too (dual-stack).
  e = safety_errors(with_apps("[::]:8788",
                              "  - {id: a, protocol: tcp/3000, edge_ips: {type: static, ips: "
                              "[\"10.0.0.1\"]}, origin_direct: [\"tcp://10.0.0.1:8788\"]}\n"),
                    {ip("10.0.0.1")});
  EXPECT_TRUE(has_error(e, "apps[0].origin_direct[0]", "own API")) << dump(e);
}

TEST(PortCaps, PerAppAndTotal) {
  LoadResult r = parse_yaml(
      with_apps("127.0.0.1:8788",
                "  - {id: all, protocol: tcp/1-65535, origin_direct: [\"tcp://192.0.2.1:22\"]}\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "apps[0].protocol",
                        "port range of 65535 ports exceeds edge.max_ports_per_app (1024)"))
      << dump(r.errors);
  // Two edge addresses count twice: 600 ports x 2 + 600 x 2 + 2000 x 2 > 4096.
  r = parse_yaml(with_apps("127.0.0.1:8788",
                           "  - {id: a, protocol: tcp/10000-10599, origin_direct: "
                           "[\"tcp://192.0.2.1:22\"]}\n"
                           "  - {id: b, protocol: tcp/20000-20599, origin_direct: "
                           "[\"tcp://192.0.2.1:22\"]}\n"
                           "  - {id: c, protocol: udp/30000-30999, origin_direct: "
                           "[\"udp://192.0.2.1:22\"]}\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "apps[2].protocol",
                        "listening ports reach 4400 with this app (each port counted once per "
                        "edge address), over edge.max_ports (4096)"))
      << dump(r.errors);
  // The caps are configurable; 0 = none.
  r = parse_yaml(
      "edge: { listen: [\"10.9.9.9\"], max_ports: 0, max_ports_per_app: 0 }\napi: { token: t "
      "}\napps:\n  - {id: all, protocol: tcp/1-65535, origin_direct: [\"tcp://192.0.2.1:22\"]}\n");
  EXPECT_TRUE(r.ok()) << dump(r.errors);
  r = parse_yaml(
      "edge: { listen: [\"127.0.0.1\"], max_ports_per_app: 10 }\napi: { token: t }\napps:\n"
      "  - {id: a, protocol: tcp/1000-1010, origin_direct: [\"tcp://192.0.2.1:22\"]}\n");
  EXPECT_TRUE(
      has_error(r.errors, "apps[0].protocol", "11 ports exceeds edge.max_ports_per_app (10)"))
      << dump(r.errors);
}

TEST(OriginScope, Classifies) {
  EXPECT_EQ(origin_scope(ip("192.0.2.1")), OriginScope::kUnicast);
  EXPECT_EQ(origin_scope(ip("10.1.2.3")), OriginScope::kUnicast);  // RFC 1918: normal origins
  EXPECT_EQ(origin_scope(ip("172.16.0.1")), OriginScope::kUnicast);
  EXPECT_EQ(origin_scope(ip("192.168.1.1")), OriginScope::kUnicast);
  EXPECT_EQ(origin_scope(ip("fd12::1")), OriginScope::kUnicast);
  EXPECT_EQ(origin_scope(ip("127.0.0.1")), OriginScope::kLoopback);
  EXPECT_EQ(origin_scope(ip("127.9.9.9")), OriginScope::kLoopback);
  EXPECT_EQ(origin_scope(ip("::1")), OriginScope::kLoopback);
  EXPECT_EQ(origin_scope(ip("::ffff:127.0.0.1")), OriginScope::kLoopback);
  EXPECT_EQ(origin_scope(ip("169.254.1.1")), OriginScope::kLinkLocal);
  EXPECT_EQ(origin_scope(ip("fe80::1")), OriginScope::kLinkLocal);
  EXPECT_EQ(origin_scope(ip("169.254.169.254")), OriginScope::kMetadata);
  EXPECT_EQ(origin_scope(ip("::ffff:169.254.169.254")), OriginScope::kMetadata);
  EXPECT_EQ(origin_scope(ip("fd00:ec2::254")), OriginScope::kMetadata);
  EXPECT_EQ(origin_scope(ip("100.100.100.200")), OriginScope::kMetadata);
  EXPECT_EQ(origin_scope(ip("224.0.0.1")), OriginScope::kMulticast);
  EXPECT_EQ(origin_scope(ip("239.255.255.250")), OriginScope::kMulticast);
  EXPECT_EQ(origin_scope(ip("ff02::1")), OriginScope::kMulticast);
  EXPECT_EQ(origin_scope(ip("255.255.255.255")), OriginScope::kBroadcast);
  EXPECT_EQ(origin_scope(ip("0.1.2.3")), OriginScope::kThisNetwork);
}

TEST(OriginScope, MulticastAndBroadcastAreNeverOrigins) {
  LoadResult r = parse_yaml(
      "apps:\n  - {protocol: udp/53, origin_direct: [\"udp://224.0.0.251:53\"]}\n"
      "  - {protocol: udp/54, origin_direct: [\"udp://255.255.255.255:53\"]}\n"
      "  - {protocol: tcp/55, origin_direct: [\"tcp://0.1.2.3:53\"]}\n");
  EXPECT_TRUE(has_error(r.errors, "apps[0].origin_direct[0]", "a multicast address cannot be",
                        kErrOriginAddress))
      << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "apps[1].origin_direct[0]", "broadcast")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "apps[2].origin_direct[0]", "0.0.0.0/8")) << dump(r.errors);
  // In the file, loopback and link-local stay allowed (the operator's own file); check notes
  // the link-local ones.
  r = parse_yaml(
      "api: { token: t }\napps:\n  - {protocol: tcp/80, origin_direct: "
      "[\"tcp://169.254.169.254:80\", \"tcp://127.0.0.1:8080\"]}\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  auto notes = safety_notes(*r.config);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("apps[0].origin_direct[0]: origin \"tcp://169.254.169.254:80\" is a "
                          "cloud metadata service address"),
            std::string::npos)
      << notes[0];
}

TEST(ApiOrigins, EdgeHostAndLinkLocalRefused) {
  LoadResult r = parse_yaml(
      "api: { token: t }\napps:\n  - {protocol: tcp/81, origin_direct: [\"tcp://127.0.0.1:80\", "
      "\"tcp://[::ffff:169.254.169.254]:80\", \"tcp://10.0.0.9:80\", \"tcp://192.168.1.5:80\", "
      "\"tcp://[fe80::1]:80\"]}\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  std::vector<ConfigError> e;
  const HostAddresses host = [] { return std::vector<net::IpAddr>{ip("10.0.0.9")}; };
  EXPECT_FALSE(check_api_origins(r.config->apps[0], host, e));
  EXPECT_TRUE(has_error(e, "origin_direct[0]", "loopback", kErrOriginAddress)) << dump(e);
  EXPECT_TRUE(has_error(e, "origin_direct[1]", "metadata", kErrOriginAddress)) << dump(e);
  EXPECT_TRUE(has_error(e, "origin_direct[2]", "the edge host itself")) << dump(e);
  EXPECT_TRUE(has_error(e, "origin_direct[4]", "link-local")) << dump(e);
  EXPECT_TRUE(has_error(e, "origin_direct[0]", "api.allow_private_origins: true")) << dump(e);
  EXPECT_EQ(e.size(), 4u) << dump(e);  // RFC 1918 192.168.1.5 is a normal origin
}

TEST(ApiConfig, AllowPrivateOriginsParses) {
  LoadResult r = parse_yaml("api: { token: t, allow_private_origins: true }\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.config->api.allow_private_origins);
  EXPECT_FALSE(parse_yaml("api: { token: t }\n").config->api.allow_private_origins);
}

class FileReadTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(FileReadTest, NonRegularFilesAreRefusedAtOnce) {
  std::string out, error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(read_regular_file("/dev/zero", kMaxConfigFileBytes, &out, &error));
  EXPECT_NE(error.find("/dev/zero is a character device, not a regular file"), std::string::npos)
      << error;
  const std::string fifo = dir_.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(read_regular_file(fifo, kMaxConfigFileBytes, &out, &error));  // no writer: no wait
  EXPECT_NE(error.find("is a FIFO"), std::string::npos) << error;
  EXPECT_FALSE(check_regular_file(dir_.path(), kMaxPemFileBytes, &error));
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Opens of `path` seen by inotify since the watch began (IN_OPEN, also for FIFOs and devices).
class OpenWatch {
 public:
  explicit OpenWatch(const std::string& path) : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    inotify_add_watch(fd_, path.c_str(), IN_OPEN);
  }
  ~OpenWatch() { ::close(fd_); }
  int opens() {
    int n = 0;
    alignas(inotify_event) char buf[4096];
    for (ssize_t got; (got = ::read(fd_, buf, sizeof buf)) > 0;)
      for (ssize_t at = 0; at < got;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + at);
        n += (ev->mask & IN_OPEN) != 0;
        at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    return n;
  }

 private:
  int fd_;
};

// Opening a device node as root can act on it (/dev/watchdog arms the watchdog): what is not a
// regular file is refused from stat() alone, never opened.
TEST_F(FileReadTest, NonRegularFilesAreNeverOpened) {
  const std::string fifo = dir_.file("fifo"), file = dir_.file("file");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  {
    std::ofstream f(file);
    f << "x\n";
  }
  OpenWatch fifo_opens(fifo), file_opens(file);
  std::string out, error;
  EXPECT_FALSE(read_regular_file(fifo, 100, &out, &error));
  EXPECT_FALSE(check_regular_file(fifo, 100, &error));
  EXPECT_EQ(fifo_opens.opens(), 0);
  ASSERT_TRUE(read_regular_file(file, 100, &out, &error)) << error;
  EXPECT_EQ(file_opens.opens(), 1);                        // the watch does see opens
  EXPECT_FALSE(read_regular_file(file, 1, &out, &error));  // too large: not opened either
  EXPECT_EQ(file_opens.opens(), 0);
}

TEST_F(FileReadTest, SizeCapAndContent) {
  const std::string big = dir_.file("big.yaml");
  {
    std::ofstream f(big);
    f << std::string(kMaxConfigFileBytes + 1, '#');
  }
  std::string out, error;
  EXPECT_FALSE(read_regular_file(big, kMaxConfigFileBytes, &out, &error));
  EXPECT_NE(error.find("is 4194305 bytes, over the 4.0 MiB limit"), std::string::npos) << error;
  const std::string small = dir_.file("small.yaml");
  {
    std::ofstream f(small);
    f << "edge: {colo: X}\n";
  }
  ASSERT_TRUE(read_regular_file(small, kMaxConfigFileBytes, &out, &error)) << error;
  EXPECT_EQ(out, "edge: {colo: X}\n");
  EXPECT_FALSE(read_regular_file(dir_.file("missing"), 10, &out, &error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST_F(FileReadTest, LoadFileAndTokenFileAreBounded) {
  LoadResult r = load_file("/dev/zero");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r.errors, "/dev/zero", "not a regular file")) << dump(r.errors);
  r = parse_yaml("api: { token_file: /dev/zero }\n");
  EXPECT_TRUE(has_error(r.errors, "api.token_file", "/dev/zero is a character device"))
      << dump(r.errors);
}

TEST_F(FileReadTest, MissingCertificateIsUnavailableNotFatalForServe) {
  const std::string yaml =
      "api: { token: t }\napps:\n  - {id: tls, protocol: tcp/443, tls: full, origin_direct: "
      "[\"tcp://192.0.2.1:443\"], tls_settings: {certificates: [{certificate: " +
      dir_.path() + "/gone.pem, private_key: " + dir_.path() +
      "/gone.key}]}}\n  - {id: plain, protocol: tcp/22, origin_direct: [\"tcp://192.0.2.1:22\"]}\n";
  LoadResult strict = parse_yaml(yaml);  // rampart check
  EXPECT_FALSE(strict.ok());
  ASSERT_FALSE(strict.errors.empty());
  EXPECT_TRUE(strict.errors[0].unavailable) << dump(strict.errors);
  LoadResult serve = parse_yaml(yaml, /*tolerate_unavailable=*/true);
  ASSERT_TRUE(serve.ok()) << dump(serve.errors);
  EXPECT_EQ(serve.config->apps.size(), 2u);
  EXPECT_EQ(serve.errors.size(), 2u) << dump(serve.errors);  // certificate and key
  // Any other error still refuses the file.
  EXPECT_FALSE(parse_yaml(yaml + "  - {protocol: tcp/0}\n", true).ok());
}

}  // namespace
}  // namespace rampart::config
