// `rampart top`'s table: rates over complete samples, sorting, formatting.
#include "apiclient/top_table.h"

#include <gtest/gtest.h>

namespace rampart::apiclient {
namespace {

using nlohmann::json;

json live_fixture() {
  return json::parse(R"({"interval_ms":1000,"now":10500,"apps":[
    {"appID":"idle","protocol":"udp/53","totals":{"connections":0,"connectionsTotal":0,"drops":0},
     "series":[]},
    {"appID":"ssh","protocol":"tcp/22",
     "totals":{"connections":3,"connectionsTotal":42,"bytesIngress":1,"bytesEgress":2,"drops":7},
     "series":[
       {"t":7000,"connections":1,"bytesIngress":100,"bytesEgress":1000,"connects":1,"errors":0},
       {"t":8000,"connections":2,"bytesIngress":300,"bytesEgress":3072,"connects":2,"errors":1},
       {"t":9000,"connections":3,"bytesIngress":500,"bytesEgress":5120,"connects":4,"errors":1},
       {"t":10000,"connections":3,"bytesIngress":9,"bytesEgress":9,"connects":0,"errors":0}]}]})");
}

TEST(TopTable, RatesOverTheLastSamples) {
  json live = live_fixture();
  AppRates r = app_rates(live["apps"][1], 1000, 2);  // t=9000 and t=10000
  EXPECT_DOUBLE_EQ(r.connects, 2.0);
  EXPECT_DOUBLE_EQ(r.bytes_in, 254.5);
  EXPECT_DOUBLE_EQ(r.bytes_out, 2564.5);
  EXPECT_DOUBLE_EQ(r.errors, 0.5);
  AppRates three = app_rates(live["apps"][1], 1000, 3);  // 8000..10000
  EXPECT_DOUBLE_EQ(three.bytes_in, 809.0 / 3);
  AppRates slow = app_rates(live["apps"][1], 2000, 2);  // two-second samples halve the rate
  EXPECT_DOUBLE_EQ(slow.connects, 1.0);
  AppRates none = app_rates(live["apps"][0], 1000, 2);
  EXPECT_EQ(none.connects, 0);
}

TEST(TopTable, HumanRate) {
  EXPECT_EQ(human_rate(0), "0 B/s");
  EXPECT_EQ(human_rate(1536), "1.5 KiB/s");
  EXPECT_EQ(human_rate(200.0 * 1024 * 1024), "200 MiB/s");
}

TEST(TopTable, BusiestAppFirstWithAllColumns) {
  std::string t = top_table(live_fixture(), 2);
  EXPECT_EQ(t.rfind("APP ", 0), 0u);
  for (const char* col : {"PROTO", "ACTIVE", "CONN/S", "IN/S", "OUT/S", "ERR/S", "CONNS", "DROPS"})
    EXPECT_NE(t.find(col), std::string::npos) << col;
  size_t ssh = t.find("ssh"), idle = t.find("idle");
  ASSERT_NE(ssh, std::string::npos);
  ASSERT_NE(idle, std::string::npos);
  EXPECT_LT(ssh, idle);
  std::string ssh_line = t.substr(ssh, t.find('\n', ssh) - ssh);
  EXPECT_NE(ssh_line.find("tcp/22"), std::string::npos);
  EXPECT_NE(ssh_line.find(" 2.0 "), std::string::npos);
  EXPECT_NE(ssh_line.find("254 B/s"), std::string::npos);
  EXPECT_NE(ssh_line.find("2.5 KiB/s"), std::string::npos);
  EXPECT_NE(ssh_line.find(" 42 "), std::string::npos);
  EXPECT_EQ(top_table(json::object(), 2).find("(no apps)") != std::string::npos, true);
}

}  // namespace
}  // namespace rampart::apiclient
