// The `events` and `analytics` sections: parsing, defaults, validation and their value parsers.
#include <gtest/gtest.h>

#include "config/events_config.h"
#include "config/parse.h"
#include "test_util.h"

namespace rampart::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(EventsConfig, Defaults) {
  LoadResult r = parse_yaml("");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const EventsConfig& e = r.config->events;
  EXPECT_EQ(e.max_size, 256ull << 20);
  EXPECT_EQ(e.keep_files, 5);
  EXPECT_EQ(e.progress_interval, seconds(0));
  EXPECT_EQ(e.syslog_address, "");
  EXPECT_EQ(e.syslog_facility, "local0");
  EXPECT_EQ(e.syslog_tag, "rampart");
  EXPECT_EQ(r.config->analytics.retention, hours(24 * 7));
  EXPECT_EQ(e, EventsConfig{});
  EXPECT_EQ(r.config->analytics, AnalyticsConfig{});
}

TEST(EventsConfig, EveryField) {
  LoadResult r = parse_yaml(R"(
events:
  max_size: 64KiB
  keep_files: 0
  progress_interval: 5m
  syslog: { address: "udp://[::1]:5514", facility: daemon, tag: edge-1 }
analytics:
  retention: 30d
)");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const EventsConfig& e = r.config->events;
  EXPECT_EQ(e.max_size, 65536u);
  EXPECT_EQ(e.keep_files, 0);
  EXPECT_EQ(e.progress_interval, minutes(5));
  EXPECT_EQ(e.syslog_address, "udp://[::1]:5514");
  EXPECT_EQ(e.syslog_facility, "daemon");
  EXPECT_EQ(e.syslog_tag, "edge-1");
  EXPECT_EQ(r.config->analytics.retention, hours(24 * 30));

  r = parse_yaml(
      "events: {max_size: 1048576, syslog: {address: \"unix:///dev/log\"}}\n"
      "analytics: {retention: 1h}\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->events.max_size, 1u << 20);
  EXPECT_EQ(r.config->analytics.retention, hours(1));
}

TEST(EventsConfig, Errors) {
  LoadResult r = parse_yaml(R"(
events:
  max_size: 1000
  keep_files: -1
  progress_interval: 500ms
  syslog: { address: "tcp://127.0.0.1:514", facility: local9, tag: "two words" }
analytics:
  retention: 30m
)");
  const auto& e = r.errors;
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(has_error(e, "events.max_size", "minimum; expected 64KiB")) << dump(e);
  EXPECT_TRUE(has_error(e, "events.keep_files", "expected an integer from 0 to 1000")) << dump(e);
  EXPECT_TRUE(has_error(e, "events.progress_interval", "at least 1s")) << dump(e);
  EXPECT_TRUE(has_error(e, "events.syslog.address", "udp://127.0.0.1:514")) << dump(e);
  EXPECT_TRUE(has_error(e, "events.syslog.facility", "local7")) << dump(e);
  EXPECT_TRUE(has_error(e, "events.syslog.tag", "APP-NAME")) << dump(e);
  EXPECT_TRUE(has_error(e, "analytics.retention", "at least 1h")) << dump(e);

  r = parse_yaml(
      "events: {max_size: 10MB, keep_files: 5000, syslog: {port: 1}}\n"
      "analytics: {retention: forever, keep: 1}\n");
  EXPECT_TRUE(has_error(r.errors, "events.max_size", "unknown unit \"MB\"")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "events.keep_files", "too large")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "events.syslog.port", "unknown")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "analytics.retention", "invalid duration")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "analytics.keep", "unknown")) << dump(r.errors);

  r = parse_yaml("events: [1]\nanalytics: 7d\n");
  EXPECT_TRUE(has_error(r.errors, "events", "expected a map")) << dump(r.errors);
  EXPECT_TRUE(has_error(r.errors, "analytics", "expected a map")) << dump(r.errors);
  r = parse_yaml("event: {}\n");
  EXPECT_TRUE(has_error(r.errors, "event", "events")) << dump(r.errors);
}

TEST(ByteSize, ParsesUnits) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("65536"), 65536u);
  EXPECT_EQ(parse_byte_size("64KiB"), 65536u);
  EXPECT_EQ(parse_byte_size("256MiB"), 256u << 20);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("100B"), 100u);
  EXPECT_EQ(parse_byte_size("64 KiB"), 65536u);
  for (const char* s : {"", "KiB", "-1", "1.5MiB", "64kb", "64K", "1TiB", "99999999999GiB",
                        "99999999999999999999999"})
    EXPECT_FALSE(parse_byte_size(s).has_value()) << s;
  std::string why;
  EXPECT_FALSE(parse_byte_size("5MB", &why));
  EXPECT_NE(why.find("KiB, MiB or GiB"), std::string::npos) << why;
}

TEST(SyslogAddress, Forms) {
  auto a = parse_syslog_address("udp://127.0.0.1:514");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->is_unix);
  EXPECT_EQ(a->udp.to_string(), "127.0.0.1:514");
  a = parse_syslog_address("udp://[::1]:1514");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->udp.port(), 1514);
  EXPECT_TRUE(a->udp.ip().is_v6());
  a = parse_syslog_address("unix:///dev/log");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_unix);
  EXPECT_EQ(a->unix_path, "/dev/log");
  for (const char* s :
       {"", "127.0.0.1:514", "udp://::1:514", "udp://localhost:514", "udp://127.0.0.1:0",
        "udp://127.0.0.1", "unix://dev/log", "unix://", "tcp://127.0.0.1:514"})
    EXPECT_FALSE(parse_syslog_address(s).has_value()) << s;
  EXPECT_FALSE(parse_syslog_address("unix:///" + std::string(200, 'x')).has_value());
}

TEST(SyslogFacility, Names) {
  EXPECT_EQ(syslog_facility_code("kern"), 0);
  EXPECT_EQ(syslog_facility_code("daemon"), 3);
  EXPECT_EQ(syslog_facility_code("authpriv"), 10);
  EXPECT_EQ(syslog_facility_code("local0"), 16);
  EXPECT_EQ(syslog_facility_code("local7"), 23);
  EXPECT_FALSE(syslog_facility_code("local8"));
  EXPECT_FALSE(syslog_facility_code("LOCAL0"));
}

}  // namespace
}  // namespace rampart::config
