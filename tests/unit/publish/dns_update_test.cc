// send_update (publish/dns_update.h) against real loopback sockets: a closed port fails within
// the timeout (ldns sends on an unconnected socket, so the ICMP error is not seen: a timeout or
// unreachable, naming the server), a server that never answers as a timeout, and a success answer
// without the key's TSIG signature (a forged or misrouted NOERROR) is not taken as a success. The
// server side here answers with a message built by ldns from the query it received.
#include "publish/dns_update.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace rampart::publish {
namespace {

using namespace std::chrono_literals;

// A UDP socket on 127.0.0.1 (an ephemeral port).
struct UdpSocket {
  int fd = -1;
  uint16_t port = 0;
  UdpSocket() {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~UdpSocket() {
    if (fd >= 0) close(fd);
  }
};

// `timeout`: short where the test waits for it (a silent server), long where a thread answers
// (an ASan build on a loaded machine may take longer than 300 ms to schedule it).
UpdateTarget target(uint16_t port, std::chrono::milliseconds timeout = 300ms) {
  UpdateTarget t;
  t.server = {*net::IpAddr::parse("127.0.0.1"), port};
  t.zone = "example.com.";
  t.key_name = "rampart.";
  t.algorithm = "hmac-sha256";
  t.secret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=";
  t.timeout = timeout;
  return t;
}

Diff one_add() {
  Diff d;
  d.add.push_back({"ssh.example.com.", *net::IpAddr::parse("203.0.113.7")});
  d.remove.push_back({"old.example.com.", *net::IpAddr::parse("2001:db8::7")});
  return d;
}

TEST(DnsUpdate, ClosedPortFailsWithinTheTimeout) {
  uint16_t port;
  {
    UdpSocket s;
    port = s.port;
  }
  const auto start = std::chrono::steady_clock::now();
  UpdateResult r = send_update(target(port), one_add());
  EXPECT_TRUE(r.kind == UpdateResult::Kind::kUnreachable || r.kind == UpdateResult::Kind::kTimeout)
      << r.detail;
  EXPECT_NE(r.detail.find("127.0.0.1 port " + std::to_string(port)), std::string::npos) << r.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(DnsUpdate, SilentServerIsATimeout) {
  UdpSocket server;
  const auto start = std::chrono::steady_clock::now();
  UpdateResult r = send_update(target(server.port), one_add());
  EXPECT_EQ(r.kind, UpdateResult::Kind::kTimeout) << r.detail;
  EXPECT_STREQ(result_label(r.kind), "timeout");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  // What reached the server is one signed UPDATE with both records (parsed with ldns).
  uint8_t buf[4096];
  ssize_t n = recv(server.fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  ldns_pkt* pkt = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&pkt, buf, static_cast<size_t>(n)), LDNS_STATUS_OK);
  EXPECT_EQ(ldns_pkt_get_opcode(pkt), LDNS_PACKET_UPDATE);
  EXPECT_NE(ldns_pkt_tsig(pkt), nullptr);
  ldns_rr_list* updates = ldns_pkt_authority(pkt);
  ASSERT_EQ(ldns_rr_list_rr_count(updates), 2u);
  // The delete first: class NONE, ttl 0 (one RR out of its RRset); then the add.
  EXPECT_EQ(ldns_rr_get_class(ldns_rr_list_rr(updates, 0)), LDNS_RR_CLASS_NONE);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(updates, 0)), 0u);
  EXPECT_EQ(ldns_rr_get_type(ldns_rr_list_rr(updates, 0)), LDNS_RR_TYPE_AAAA);
  EXPECT_EQ(ldns_rr_get_class(ldns_rr_list_rr(updates, 1)), LDNS_RR_CLASS_IN);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(updates, 1)), 60u);
  ldns_pkt_free(pkt);
}

// Answers the first query it receives with `rcode`, unsigned.
void answer_once(const UdpSocket& server, ldns_pkt_rcode rcode) {
  uint8_t buf[4096];
  sockaddr_storage from{};
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(server.fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0) return;
  ldns_pkt* q = nullptr;
  if (ldns_wire2pkt(&q, buf, static_cast<size_t>(n)) != LDNS_STATUS_OK) return;
  ldns_pkt* a = ldns_pkt_new();
  ldns_pkt_set_id(a, ldns_pkt_id(q));
  ldns_pkt_set_qr(a, true);
  ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
  ldns_pkt_set_rcode(a, rcode);
  uint8_t* wire = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&wire, a, &size) == LDNS_STATUS_OK)
    sendto(server.fd, wire, size, 0, reinterpret_cast<sockaddr*>(&from), len);
  free(wire);
  ldns_pkt_free(a);
  ldns_pkt_free(q);
}

TEST(DnsUpdate, UnsignedSuccessIsNotASuccess) {
  UdpSocket server;
  std::thread t([&] { answer_once(server, LDNS_RCODE_NOERROR); });
  UpdateResult r = send_update(target(server.port, 10s), one_add());
  t.join();
  EXPECT_EQ(r.kind, UpdateResult::Kind::kBadReply) << r.detail;
  EXPECT_NE(r.detail.find("TSIG"), std::string::npos) << r.detail;
}

TEST(DnsUpdate, RefusedAndNotAuthAreNamed) {
  for (auto [rc, kind, word] :
       {std::tuple{LDNS_RCODE_REFUSED, UpdateResult::Kind::kRefused, "REFUSED"},
        std::tuple{LDNS_RCODE_NOTAUTH, UpdateResult::Kind::kNotAuth, "NOTAUTH"},
        std::tuple{LDNS_RCODE_SERVFAIL, UpdateResult::Kind::kRcode, "SERVFAIL"}}) {
    UdpSocket server;
    const auto code = rc;  // clang 14 cannot capture a structured binding
    std::thread t([&] { answer_once(server, code); });
    UpdateResult r = send_update(target(server.port, 10s), one_add());
    t.join();
    EXPECT_EQ(r.kind, kind) << r.detail;
    EXPECT_NE(r.detail.find(word), std::string::npos) << r.detail;
  }
}

}  // namespace
}  // namespace rampart::publish
