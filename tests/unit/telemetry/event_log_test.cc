// EventRing (SPSC, bounded, counts drops) and EventLog (Spectrum spectrum_events NDJSON, written
// by a background thread, rotated on whole lines).
#include "telemetry/event_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/event_ring.h"
#include "test_support.h"

namespace rampart::telemetry {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

ConnEvent event_with_seq(uint64_t seq) {
  ConnEvent e;
  e.client_bytes = seq;
  return e;
}

TEST(EventRing, PushThenDrainInOrder) {
  EventRing ring(8);
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(ring.push(event_with_seq(i)));
  std::vector<uint64_t> got;
  EXPECT_EQ(ring.drain([&](const ConnEvent& e) { got.push_back(e.client_bytes); }), 5u);
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ring.drain([&](const ConnEvent&) { FAIL(); }), 0u);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(EventRing, FullRingDropsAndCounts) {
  EventRing ring(8);
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(ring.push(event_with_seq(i)));
  EXPECT_FALSE(ring.push(event_with_seq(100)));
  EXPECT_FALSE(ring.push(event_with_seq(101)));
  EXPECT_EQ(ring.dropped(), 2u);
  std::vector<uint64_t> got;
  ring.drain([&](const ConnEvent& e) { got.push_back(e.client_bytes); });
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));  // the newest were dropped
  // Space again after the drain.
  EXPECT_TRUE(ring.push(event_with_seq(8)));
  EXPECT_EQ(ring.dropped(), 2u);
}

TEST(EventRing, WrapsAroundManyTimes) {
  EventRing ring(4);
  uint64_t next = 0, expect = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(ring.push(event_with_seq(next++)));
    ring.drain([&](const ConnEvent& e) { ASSERT_EQ(e.client_bytes, expect++); });
  }
  EXPECT_EQ(expect, next);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(EventRing, OneProducerOneConsumerThread) {
  EventRing ring(256);
  constexpr uint64_t kEvents = 200000;
  uint64_t pushed = 0;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kEvents; ++i)
      if (ring.push(event_with_seq(i))) ++pushed;
  });
  uint64_t received = 0, last = 0;
  bool ordered = true;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool producer_done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    ring.drain([&](const ConnEvent& e) {
      if (received > 0 && e.client_bytes <= last) ordered = false;
      last = e.client_bytes;
      ++received;
    });
    if (producer_done) break;
    if (received + ring.dropped() == kEvents) producer_done = true;  // one more drain, then stop
  }
  producer.join();
  ring.drain([&](const ConnEvent&) { ++received; });
  EXPECT_TRUE(ordered);
  EXPECT_EQ(received, pushed);
  EXPECT_EQ(received + ring.dropped(), kEvents);
}

// The Spectrum spectrum_events fields (SPEC §5), all of them, nothing else.
const std::set<std::string> kFields = {
    "Application",   "ClientAsn",        "ClientBytes",
    "ClientCountry", "ClientIP",         "ClientMatchedIpFirewall",
    "ClientPort",    "ClientProto",      "ClientTcpRtt",
    "ColoCode",      "ConnectTimestamp", "DisconnectTimestamp",
    "Event",         "IpFirewall",       "OriginBytes",
    "OriginIP",      "OriginPort",       "OriginProto",
    "OriginTcpRtt",  "ProxyProtocol",    "Status",
    "Timestamp"};

bool is_rfc3339_ns(const json& v) {
  static const std::regex re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

json format_one(const ConnEvent& e, const std::string& colo = "LAB1") {
  std::string out;
  EventLog::format(e, colo, &out);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per event";
  return json::parse(out);  // throws (fails the test) on invalid JSON
}

TEST(EventLogFormat, TlsAppsCarryTheClientTlsFields) {
  ConnEvent e;
  e.type = EventType::kConnect;
  e.set_app("tls");
  json plain = format_one(e);
  EXPECT_FALSE(plain.contains("ClientTlsStatus"));  // not a TLS app: no TLS fields
  e.tls = true;
  json before = format_one(e);  // e.g. a tlsError before any handshake
  EXPECT_EQ(before["ClientTlsCipher"], "UNK");
  EXPECT_EQ(before["ClientTlsProtocol"], "unknown");
  EXPECT_EQ(before["ClientTlsClientHelloServerName"], "");
  EXPECT_EQ(before["ClientTlsStatus"], "UNKNOWN");
  e.tls_status = TlsStatus::kOk;
  e.tls_protocol = "TLSv1.3";
  e.tls_cipher = "TLS_AES_128_GCM_SHA256";
  ConnEvent::copy_text(e.tls_sni, sizeof e.tls_sni, "db.example.com");
  json ok = format_one(e);
  EXPECT_EQ(ok["ClientTlsCipher"], "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(ok["ClientTlsProtocol"], "TLSv1.3");
  EXPECT_EQ(ok["ClientTlsClientHelloServerName"], "db.example.com");
  EXPECT_EQ(ok["ClientTlsStatus"], "OK");
  e.tls_status = TlsStatus::kHandshakeFailed;
  EXPECT_EQ(format_one(e)["ClientTlsStatus"], "HANDSHAKE_FAILED");
}

TEST(EventLogFormat, DisconnectHasEveryFieldWithSpectrumNames) {
  ConnEvent e;
  e.type = EventType::kDisconnect;
  e.status = status::kNormal;
  e.ip_firewall = true;
  e.proxy_protocol = 2;
  e.set_app("0123456789abcdef0123456789abcdef");
  e.client_ip = *net::IpAddr::parse("198.51.100.7");
  e.client_port = 51234;
  e.origin_ip = *net::IpAddr::parse("203.0.113.5");
  e.origin_port = 22;
  e.client_bytes = 1234;
  e.origin_bytes = 5678;
  e.client_rtt_us = 150;
  e.origin_rtt_us = 20;
  e.connect_ns = 1764201541123456789;  // 2025-11-26T23:59:01.123456789Z
  e.disconnect_ns = e.connect_ns + 2'000'000'000;
  e.timestamp_ns = e.disconnect_ns;
  json j = format_one(e);
  std::set<std::string> keys;
  for (auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, kFields);

  EXPECT_EQ(j["Application"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["ClientIP"], "198.51.100.7");
  EXPECT_EQ(j["ClientPort"], 51234);
  EXPECT_EQ(j["ClientProto"], "tcp");
  EXPECT_EQ(j["ClientBytes"], 1234);
  EXPECT_EQ(j["OriginBytes"], 5678);
  EXPECT_EQ(j["ClientTcpRtt"], 150000);  // nanoseconds, as Spectrum
  EXPECT_EQ(j["OriginTcpRtt"], 20000);
  EXPECT_EQ(j["OriginIP"], "203.0.113.5");
  EXPECT_EQ(j["OriginPort"], 22);
  EXPECT_EQ(j["OriginProto"], "tcp");
  EXPECT_EQ(j["ColoCode"], "LAB1");
  EXPECT_EQ(j["Event"], "disconnect");
  EXPECT_EQ(j["IpFirewall"], true);
  EXPECT_EQ(j["ProxyProtocol"], "v2");
  EXPECT_EQ(j["Status"], 200);
  EXPECT_EQ(j["ConnectTimestamp"], "2025-11-26T23:59:01.123456789Z");
  EXPECT_EQ(j["DisconnectTimestamp"], "2025-11-26T23:59:03.123456789Z");
  EXPECT_TRUE(is_rfc3339_ns(j["Timestamp"]));
  EXPECT_TRUE(j["ClientAsn"].is_number());
  EXPECT_TRUE(j["ClientCountry"].is_string());
  EXPECT_TRUE(j["ClientMatchedIpFirewall"].is_string());
}

TEST(EventLogFormat, OriginErrorWithoutOriginAndUdpIpv6) {
  ConnEvent e;
  e.type = EventType::kOriginError;
  e.status = status::kOriginRefused;
  e.udp = true;
  e.set_app("app");
  e.client_ip = *net::IpAddr::parse("2001:db8::1");
  e.client_port = 4000;
  e.connect_ns = 1'700'000'000'000'000'000;
  e.timestamp_ns = e.connect_ns;
  json j = format_one(e);
  EXPECT_EQ(j.size(), kFields.size());
  EXPECT_EQ(j["Event"], "originError");
  EXPECT_EQ(j["Status"], 521);
  EXPECT_EQ(j["ClientIP"], "2001:db8::1");
  EXPECT_EQ(j["ClientProto"], "udp");
  EXPECT_EQ(j["OriginProto"], "udp");
  EXPECT_EQ(j["OriginIP"], "");
  EXPECT_EQ(j["OriginPort"], 0);
  EXPECT_EQ(j["ProxyProtocol"], "off");
  EXPECT_TRUE(j["DisconnectTimestamp"].is_null());  // only disconnects have one
  EXPECT_TRUE(is_rfc3339_ns(j["ConnectTimestamp"]));
}

TEST(EventLogFormat, EveryEventTypeName) {
  const std::vector<std::pair<EventType, std::string>> names = {
      {EventType::kConnect, "connect"},
      {EventType::kDisconnect, "disconnect"},
      {EventType::kClientFiltered, "clientFiltered"},
      {EventType::kTlsError, "tlsError"},
      {EventType::kResolveOrigin, "resolveOrigin"},
      {EventType::kOriginError, "originError"}};
  for (const auto& [type, name] : names) {
    ConnEvent e;
    e.type = type;
    EXPECT_EQ(format_one(e)["Event"], name);
  }
}

TEST(EventLogFormat, EscapesStrings) {
  ConnEvent e;
  e.set_app("we\"ird\\app\n\x01");
  json j = format_one(e, "CO\"LO");
  EXPECT_EQ(j["Application"], "we\"ird\\app\n\x01");
  EXPECT_EQ(j["ColoCode"], "CO\"LO");
}

TEST(EventLogFormat, InvalidUtf8SniBecomesReplacementCharacters) {
  ConnEvent e;
  e.type = EventType::kTlsError;
  e.tls = true;
  // A client's raw server name: invalid bytes, an overlong '/', a surrogate, a lone
  // continuation byte, a truncated sequence, control characters and U+2028, around valid text.
  const std::string sni =
      "ok.\xff\xfe.\xc0\xaf.\xed\xa0\x80.\x80.\x1b[31m\x7f\xe2\x80\xa8.h\xc3\xa9.\xe2\x82";
  ConnEvent::copy_text(e.tls_sni, sizeof e.tls_sni, sni);
  std::string line;
  EventLog::format(e, "LAB1", &line);
  // One line of valid JSON (json::parse throws on invalid UTF-8), escaped, not raw.
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("\\u001b[31m\\u007f\\u2028"), std::string::npos) << line;
  json j = format_one(e);
  EXPECT_EQ(j["ClientTlsClientHelloServerName"],
            "ok.\uFFFD\uFFFD.\uFFFD\uFFFD.\uFFFD\uFFFD\uFFFD.\uFFFD.\x1b[31m\x7f\u2028.h\u00e9."
            "\uFFFD\uFFFD");
}

TEST(EventLogFormat, JsonStringKeepsValidUtf8) {
  std::string out;
  append_json_string(&out, "caf\xc3\xa9 \xf0\x9f\x94\x92 \xe2\x82\xac");  // e-acute, U+1F512, euro
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xf0\x9f\x94\x92 \xe2\x82\xac\"");
  out.clear();
  append_json_string(&out, std::string_view("a\0b", 3));
  EXPECT_EQ(out, "\"a\\u0000b\"");
  out.clear();
  append_json_string(&out, "\xf4\x90\x80\x80");  // past U+10FFFF
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

TEST(EventLogFormat, LongAppIdIsTruncatedNotOverflowed) {
  ConnEvent e;
  e.set_app(std::string(200, 'a'));
  EXPECT_EQ(format_one(e)["Application"], std::string(63, 'a'));
}

TEST(EventLogFormat, ZeroTimestampsAreNull) {
  ConnEvent e;
  e.type = EventType::kDisconnect;
  json j = format_one(e);
  EXPECT_TRUE(j["ConnectTimestamp"].is_null());
  EXPECT_TRUE(j["DisconnectTimestamp"].is_null());
  EXPECT_TRUE(j["Timestamp"].is_null());
}

using rampart::testing::TempDir;

std::vector<std::string> read_lines(const std::string& path, bool* ends_with_newline = nullptr) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  if (ends_with_newline) *ends_with_newline = all.empty() || all.back() == '\n';
  std::vector<std::string> lines;
  std::string line;
  std::istringstream is(all);
  while (std::getline(is, line)) lines.push_back(line);
  return lines;
}

using rampart::testing::wait_for;

TEST(EventLog, WritesOneJsonLinePerEvent) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.colo = "TST";
  EventLog log(opts);
  std::string error;
  ASSERT_TRUE(log.start(&error)) << error;
  EventRing* a = log.make_ring();
  EventRing* b = log.make_ring();
  for (uint64_t i = 0; i < 10; ++i) {
    ConnEvent e = event_with_seq(i);
    e.set_app(i % 2 ? "odd" : "even");
    ASSERT_TRUE((i % 2 ? a : b)->push(e));
  }
  ASSERT_TRUE(wait_for([&] { return log.written() == 10; })) << log.written();
  // Written by the background thread without stop(): the file is readable while running.
  EXPECT_EQ(read_lines(opts.path).size(), 10u);
  log.set_colo("NEW");
  ConnEvent last = event_with_seq(10);
  a->push(last);
  log.stop();  // flushes what is queued
  EXPECT_EQ(log.written(), 11u);
  EXPECT_EQ(log.dropped(), 0u);
  bool nl = false;
  auto lines = read_lines(opts.path, &nl);
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_TRUE(nl);
  std::multiset<uint64_t> seqs;
  for (const auto& line : lines) {
    json j = json::parse(line);
    seqs.insert(j["ClientBytes"].get<uint64_t>());
    EXPECT_EQ(j["ColoCode"], j["ClientBytes"] == 10 ? "NEW" : "TST");
  }
  EXPECT_EQ(seqs.size(), 11u);
  EXPECT_EQ(*seqs.rbegin(), 10u);
}

TEST(EventLog, AppendsToAnExistingFile) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  for (int run = 0; run < 2; ++run) {
    EventLog log(opts);
    std::string error;
    ASSERT_TRUE(log.start(&error)) << error;
    log.make_ring()->push(event_with_seq(static_cast<uint64_t>(run)));
    log.stop();
  }
  EXPECT_EQ(read_lines(opts.path).size(), 2u);
}

TEST(EventLog, StartFailsWithAReason) {
  EventLogOptions opts;
  opts.path = "/nonexistent-dir-for-rampart-test/events.ndjson";
  EventLog log(opts);
  std::string error;
  EXPECT_FALSE(log.start(&error));
  EXPECT_NE(error.find(opts.path), std::string::npos) << error;
}

TEST(EventLog, RotationKeepsWholeLines) {
  TempDir dir;
  EventLogOptions opts;
  opts.path = dir.path() + "/events.ndjson";
  opts.colo = "ROT";
  opts.max_bytes = 4000;  // a line is ~500 bytes
  opts.keep_files = 3;
  EventLog log(opts);
  std::string error;
  ASSERT_TRUE(log.start(&error)) << error;
  EventRing* ring = log.make_ring();
  uint64_t seq = 0;
  // Several writer passes, each a batch bigger than max_bytes, with a flush in between.
  for (int batch = 0; batch < 6; ++batch) {
    for (int k = 0; k < 12; ++k) {
      ConnEvent e = event_with_seq(seq++);
      e.type = EventType::kDisconnect;
      e.client_ip = *net::IpAddr::parse("192.0.2.1");
      e.timestamp_ns = e.connect_ns = e.disconnect_ns = 1'700'000'000'000'000'000;
      ASSERT_TRUE(ring->push(e));
    }
    uint64_t want = seq;
    ASSERT_TRUE(wait_for([&] { return log.written() == want; }));
  }
  log.stop();

  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(opts.path));
  EXPECT_TRUE(fs::exists(opts.path + ".1"));
  EXPECT_TRUE(fs::exists(opts.path + ".2"));
  EXPECT_TRUE(fs::exists(opts.path + ".3"));
  EXPECT_FALSE(fs::exists(opts.path + ".4")) << "keep_files = 3";
  std::vector<uint64_t> all;
  for (const std::string& p : {opts.path + ".3", opts.path + ".2", opts.path + ".1", opts.path}) {
    bool nl = false;
    auto lines = read_lines(p, &nl);
    EXPECT_TRUE(nl) << p << " ends in the middle of a line";
    for (const auto& line : lines) {
      json j;
      ASSERT_NO_THROW(j = json::parse(line)) << p << ": " << line;
      all.push_back(j["ClientBytes"].get<uint64_t>());
    }
  }
  // Oldest to newest, consecutive, ending with the last event (the oldest files were dropped).
  ASSERT_FALSE(all.empty());
  for (size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i], all[i - 1] + 1);
  EXPECT_EQ(all.back(), seq - 1);
  EXPECT_LT(all.size(), seq);
}

}  // namespace
}  // namespace rampart::telemetry
