// Spectrum's analytics query: parameter parsing (defaults, every error path, filters, relative
// times, the interval cap), calendar buckets, and the shape of the result (summary and bytime).
#include "control/analytics_query.h"

#include <gtest/gtest.h>

#include <numeric>

#include "analytics_test_util.h"

namespace rampart::control {
namespace {

using nlohmann::json;

struct Parsed {
  bool ok = false;
  AnalyticsQuery q;
  std::string error;
};

Parsed parse_params(const Params& p, bool bytime = false, int64_t now = kNow) {
  Parsed r;
  r.ok = parse_analytics_query(p, now, bytime, &r.q, &r.error);
  return r;
}

// The error of a query that must fail; fails the test when it parses.
std::string query_error(const Params& p, bool bytime = false) {
  Parsed r = parse_params(p, bytime);
  EXPECT_FALSE(r.ok) << "parsed without error";
  return r.error;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ------------------------------------------------------------------ parsing

TEST(AnalyticsQueryParse, Defaults) {
  Parsed r = parse_params({});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.q.metrics,
            (std::vector<Metric>{Metric::kCount, Metric::kBytesIngress, Metric::kBytesEgress}));
  EXPECT_TRUE(r.q.dimensions.empty());
  EXPECT_TRUE(r.q.filters.empty());
  EXPECT_EQ(r.q.filters_text, "");
  EXPECT_EQ(r.q.until, kNow);
  EXPECT_EQ(r.q.since, kNow - 6 * 3600);
  EXPECT_FALSE(r.q.time_delta.has_value());  // summary: no buckets
  EXPECT_TRUE(r.q.sort.empty());
  EXPECT_EQ(r.q.limit, kMaxLimit);
}

TEST(AnalyticsQueryParse, DefaultTimeDeltaFollowsTheSpan) {
  Parsed six_hours = parse_params({}, true);
  ASSERT_TRUE(six_hours.ok) << six_hours.error;
  EXPECT_EQ(six_hours.q.time_delta, TimeDelta::kMinute);
  Parsed one_day = parse_params({{"since", "-1440"}}, true);
  ASSERT_TRUE(one_day.ok) << one_day.error;
  EXPECT_EQ(one_day.q.time_delta, TimeDelta::kHour);
  Parsed three_days = parse_params({{"since", "-4320"}}, true);
  ASSERT_TRUE(three_days.ok) << three_days.error;
  EXPECT_EQ(three_days.q.time_delta, TimeDelta::kHour);
  Parsed a_week = parse_params({{"since", "-10080"}}, true);
  ASSERT_TRUE(a_week.ok) << a_week.error;
  EXPECT_EQ(a_week.q.time_delta, TimeDelta::kDay);
}

TEST(AnalyticsQueryParse, MetricsAndDimensionsCommaSeparatedOrRepeatedWithoutDuplicates) {
  Parsed r = parse_params({{"metrics", "bytesEgress, count"},
                           {"metrics", "count,duration99th"},
                           {"dimensions", "appID,event"},
                           {"dimensions", " appID , ipVersion,coloName"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.q.metrics,
            (std::vector<Metric>{Metric::kBytesEgress, Metric::kCount, Metric::kDuration99th}));
  EXPECT_EQ(r.q.dimensions, (std::vector<Dimension>{Dimension::kAppId, Dimension::kEvent,
                                                    Dimension::kIpVersion, Dimension::kColoName}));
}

TEST(AnalyticsQueryParse, EveryMetricAndDimensionNameRoundTrips) {
  for (const char* m : {"count", "bytesIngress", "bytesEgress", "durationAvg", "durationMedian",
                        "duration90th", "duration99th"}) {
    Parsed r = parse_params({{"metrics", m}});
    ASSERT_TRUE(r.ok) << m << ": " << r.error;
    ASSERT_EQ(r.q.metrics.size(), 1u);
    EXPECT_STREQ(metric_name(r.q.metrics[0]), m);
  }
  for (const char* d : {"event", "appID", "coloName", "ipVersion"}) {
    Parsed r = parse_params({{"dimensions", d}});
    ASSERT_TRUE(r.ok) << d << ": " << r.error;
    ASSERT_EQ(r.q.dimensions.size(), 1u);
    EXPECT_STREQ(dimension_name(r.q.dimensions[0]), d);
  }
}

TEST(AnalyticsQueryParse, UnknownParameter) {
  std::string e = query_error({{"metrics", "count"}, {"colo", "x"}});
  EXPECT_TRUE(has(e, "unknown query parameter \"colo\"")) << e;
  EXPECT_TRUE(has(e, "time_delta")) << e;  // lists what is accepted
}

TEST(AnalyticsQueryParse, UnknownMetricNamesTheParameterAndTheChoices) {
  std::string e = query_error({{"metrics", "count,bytes"}});
  EXPECT_TRUE(has(e, "metrics: unknown metric \"bytes\"")) << e;
  EXPECT_TRUE(has(e, "count, bytesIngress, bytesEgress, durationAvg")) << e;
}

TEST(AnalyticsQueryParse, UnknownDimension) {
  std::string e = query_error({{"dimensions", "event,country"}});
  EXPECT_TRUE(has(e, "dimensions: unknown dimension \"country\"")) << e;
  EXPECT_TRUE(has(e, "event, appID, coloName, ipVersion")) << e;
}

TEST(AnalyticsQueryParse, MalformedFilters) {
  for (const char* bad : {"event", "event=connect", "==connect", "event==", "event==connect;",
                          ";event==connect", "event==connect,,appID==a", "event!="}) {
    std::string e = query_error({{"filters", bad}});
    EXPECT_TRUE(has(e, "filters: ")) << bad << " -> " << e;
    EXPECT_TRUE(has(e, "is not DIMENSION OPERATOR VALUE")) << bad << " -> " << e;
  }
}

TEST(AnalyticsQueryParse, FilterOnUnknownDimension) {
  std::string e = query_error({{"filters", "event==connect;country==US"}});
  EXPECT_TRUE(has(e, "filters: unknown dimension \"country\"")) << e;
}

TEST(AnalyticsQueryParse, FilterIpVersionIs4Or6) {
  std::string e = query_error({{"filters", "ipVersion==5"}});
  EXPECT_TRUE(has(e, "filters: ipVersion is 4 or 6, not \"5\"")) << e;
  EXPECT_TRUE(parse_params({{"filters", "ipVersion==6"}}).ok);
  EXPECT_TRUE(parse_params({{"filters", "ipVersion == 4"}}).ok);
}

TEST(AnalyticsQueryParse, BlankFiltersAreNoFilters) {
  Parsed r = parse_params({{"filters", "  "}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.q.filters.empty());
}

TEST(AnalyticsQueryParse, FilterOperatorsLongestFirst) {
  Parsed r = parse_params({{"filters",
                            "ipVersion>=6;ipVersion<=6;ipVersion>4;ipVersion<6;"
                            "appID!=x;event==connect"}});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.q.filters.size(), 1u);
  const auto& t = r.q.filters[0];
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].op, FilterOp::kGe);
  EXPECT_EQ(t[0].value, "6");
  EXPECT_EQ(t[1].op, FilterOp::kLe);
  EXPECT_EQ(t[2].op, FilterOp::kGt);
  EXPECT_EQ(t[2].value, "4");
  EXPECT_EQ(t[3].op, FilterOp::kLt);
  EXPECT_EQ(t[4].op, FilterOp::kNe);
  EXPECT_EQ(t[4].dim, Dimension::kAppId);
  EXPECT_EQ(t[4].value, "x");
  EXPECT_EQ(t[5].op, FilterOp::kEq);
  EXPECT_EQ(t[5].dim, Dimension::kEvent);
  EXPECT_EQ(t[5].value, "connect");
}

TEST(AnalyticsQueryParse, SemicolonBindsTighterThanComma) {
  // (event==connect AND appID==a) OR (event==disconnect)
  Parsed r = parse_params({{"filters", "event==connect;appID==a,event==disconnect"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.q.filters_text, "event==connect;appID==a,event==disconnect");
  ASSERT_EQ(r.q.filters.size(), 2u);
  EXPECT_EQ(r.q.filters[0].size(), 2u);
  EXPECT_EQ(r.q.filters[1].size(), 1u);
  auto row = [](std::string ev, std::string app) {
    return std::map<Dimension, std::string>{{Dimension::kEvent, std::move(ev)},
                                            {Dimension::kAppId, std::move(app)},
                                            {Dimension::kColoName, "LAB1"},
                                            {Dimension::kIpVersion, "4"}};
  };
  EXPECT_TRUE(row_matches(r.q, row("connect", "a")));
  EXPECT_FALSE(row_matches(r.q, row("connect", "b")));
  EXPECT_TRUE(row_matches(r.q, row("disconnect", "b")));
  EXPECT_FALSE(row_matches(r.q, row("clientFiltered", "a")));
}

TEST(AnalyticsQueryParse, RowMatchesOperators) {
  auto row = [](std::string ip_version, std::string app) {
    return std::map<Dimension, std::string>{{Dimension::kEvent, "connect"},
                                            {Dimension::kAppId, std::move(app)},
                                            {Dimension::kColoName, "LAB1"},
                                            {Dimension::kIpVersion, std::move(ip_version)}};
  };
  auto matches = [&](const char* filter, const std::map<Dimension, std::string>& values) {
    Parsed r = parse_params({{"filters", filter}});
    EXPECT_TRUE(r.ok) << filter << ": " << r.error;
    return row_matches(r.q, values);
  };
  EXPECT_TRUE(matches("ipVersion==4", row("4", "a")));
  EXPECT_FALSE(matches("ipVersion==4", row("6", "a")));
  EXPECT_TRUE(matches("ipVersion!=4", row("6", "a")));
  EXPECT_TRUE(matches("ipVersion>4", row("6", "a")));
  EXPECT_FALSE(matches("ipVersion>4", row("4", "a")));
  EXPECT_TRUE(matches("ipVersion>=4", row("4", "a")));
  EXPECT_TRUE(matches("ipVersion<6", row("4", "a")));
  EXPECT_TRUE(matches("ipVersion<=6", row("6", "a")));
  EXPECT_FALSE(matches("ipVersion<4", row("4", "a")));
  // Other dimensions compare as strings.
  EXPECT_TRUE(matches("appID>b", row("4", "c")));
  EXPECT_FALSE(matches("appID>b", row("4", "a")));
  EXPECT_TRUE(matches("appID<=b", row("4", "b")));
  EXPECT_TRUE(matches("coloName==LAB1", row("4", "a")));
  EXPECT_FALSE(matches("coloName!=LAB1", row("4", "a")));
  // No filters: everything.
  EXPECT_TRUE(row_matches(parse_params({}).q, row("6", "z")));
}

TEST(AnalyticsQueryParse, RelativeAndAbsoluteTimes) {
  Parsed r = parse_params({{"since", "-90"}, {"until", "-30"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.q.since, kNow - 90 * 60);
  EXPECT_EQ(r.q.until, kNow - 30 * 60);
  Parsed zero = parse_params({{"since", "-60"}, {"until", "0"}});
  ASSERT_TRUE(zero.ok) << zero.error;
  EXPECT_EQ(zero.q.until, kNow);
  // `since` alone counts back from `until`'s default (now); `until` alone moves the default since.
  Parsed until_only = parse_params({{"until", "2026-11-27T01:00:00Z"}});
  ASSERT_TRUE(until_only.ok) << until_only.error;
  EXPECT_EQ(until_only.q.until, kNow - 3600);
  EXPECT_EQ(until_only.q.since, kNow - 3600 - 6 * 3600);
  Parsed abs =
      parse_params({{"since", "2026-11-27T01:30:00+01:00"}, {"until", "2026-11-27T02:00:00.250Z"}});
  ASSERT_TRUE(abs.ok) << abs.error;
  EXPECT_EQ(abs.q.since, kNow - 90 * 60);
  EXPECT_EQ(abs.q.until, kNow);
}

TEST(AnalyticsQueryParse, BadTimes) {
  for (const char* bad : {"yesterday", "5", "-5m", "2026-11-27T02:00:00", "2026-11-27", ""}) {
    std::string e = query_error({{"since", bad}});
    EXPECT_TRUE(has(e, std::string("since: \"") + bad + "\" is not an RFC 3339 time")) << bad << e;
  }
  std::string e = query_error({{"until", "soon"}});
  EXPECT_TRUE(has(e, "until: \"soon\" is not an RFC 3339 time")) << e;
}

TEST(AnalyticsQueryParse, ExtremeValuesAreRefusedNotOverflowed) {
  // Each of these once overflowed int64 arithmetic (UBSan); now each is a clear 400.
  for (const char* t : {"-9223372036854775808", "-9223372036854775807", "-153722867280912931",
                        "-99999999999999999999999", "-30000000"}) {
    std::string e = query_error({{"since", t}});
    EXPECT_TRUE(has(e, std::string("since: \"") + t + "\" minutes from now is before 1970")) << e;
    e = query_error({{"until", t}});
    EXPECT_TRUE(has(e, "until: ")) << e;
  }
  for (const char* t :
       {"0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00"}) {
    std::string e = query_error({{"since", t}});
    EXPECT_TRUE(has(e, "is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z")) << t << e;
  }
  // The whole accepted range still works, by the coarsest interval.
  Parsed wide = parse_params({{"since", "1970-01-01T00:00:00Z"},
                              {"until", "9999-12-31T23:59:59Z"},
                              {"time_delta", "year"}},
                             true);
  EXPECT_FALSE(wide.ok);  // 8030 years: more than kMaxIntervals, refused as such
  EXPECT_TRUE(has(wide.error, "time_delta: more than")) << wide.error;
  Parsed old = parse_params({{"since", "1970-01-01T00:00:00Z"}, {"time_delta", "year"}}, true);
  EXPECT_TRUE(old.ok) << old.error;
  for (const char* l : {"18446744073709551616", "-1", "0", "1e3", " 5"})
    EXPECT_TRUE(has(query_error({{"limit", l}}), "limit: ")) << l;
}

TEST(AnalyticsQueryParse, SinceMustBeBeforeUntil) {
  std::string e = query_error({{"since", "-10"}, {"until", "-20"}});
  EXPECT_TRUE(has(e, "since (2026-11-27T01:50:00Z) must be before until (2026-11-27T01:40:00Z)"))
      << e;
  e = query_error({{"since", "-10"}, {"until", "-10"}});
  EXPECT_TRUE(has(e, "must be before until")) << e;
  // The default since (until - 6h) never reaches before 1970 (found by analytics_query_fuzz).
  e = query_error({{"until", "1970-01-01T00:00:00Z"}});
  EXPECT_TRUE(has(e, "since (1970-01-01T00:00:00Z) must be before until")) << e;
  Parsed early = parse_params({{"until", "1970-01-01T01:00:00Z"}});
  ASSERT_TRUE(early.ok) << early.error;
  EXPECT_EQ(early.q.since, 0);
}

TEST(AnalyticsQueryParse, TimeDelta) {
  for (const char* d :
       {"minute", "dekaminute", "hour", "day", "week", "month", "quarter", "year"}) {
    Parsed r = parse_params({{"time_delta", d}, {"since", "-60"}}, true);
    EXPECT_TRUE(r.ok) << d << ": " << r.error;
  }
  std::string e = query_error({{"time_delta", "fortnight"}}, true);
  EXPECT_TRUE(has(e, "time_delta: \"fortnight\" is not one of minute, dekaminute, hour")) << e;
}

TEST(AnalyticsQueryParse, IntervalCountIsCapped) {
  // now is minute-aligned: since = now - 2000 min gives exactly 2000 one-minute intervals.
  Parsed at_cap = parse_params({{"since", "-2000"}, {"time_delta", "minute"}}, true);
  EXPECT_TRUE(at_cap.ok) << at_cap.error;
  std::string e = query_error({{"since", "-2001"}, {"time_delta", "minute"}}, true);
  EXPECT_TRUE(has(e, "time_delta: more than 2000 intervals between since and until")) << e;
  // A non-aligned since adds the partial first bucket.
  Parsed unaligned = parse_params({{"since", "-2000"}, {"time_delta", "minute"}}, true, kNow + 30);
  EXPECT_FALSE(unaligned.ok);
  // A larger time_delta over the same span is fine, and summary has no buckets to cap.
  EXPECT_TRUE(parse_params({{"since", "-200000"}, {"time_delta", "day"}}, true).ok);
  EXPECT_TRUE(parse_params({{"since", "-200000"}, {"time_delta", "minute"}}, false).ok);
}

TEST(AnalyticsQueryParse, Sort) {
  Parsed r =
      parse_params({{"dimensions", "appID"}, {"sort", "-count,+appID"}, {"sort", "bytesIngress"}});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.q.sort.size(), 3u);
  EXPECT_EQ(r.q.sort[0], (std::pair<std::string, bool>{"count", true}));
  EXPECT_EQ(r.q.sort[1], (std::pair<std::string, bool>{"appID", false}));
  EXPECT_EQ(r.q.sort[2], (std::pair<std::string, bool>{"bytesIngress", false}));

  std::string e = query_error({{"sort", "-durationAvg"}});  // not a selected metric
  EXPECT_TRUE(has(e, "sort: \"durationAvg\" is not one of the selected metrics or dimensions"))
      << e;
  e = query_error({{"sort", "event"}});  // not a selected dimension
  EXPECT_TRUE(has(e, "sort: \"event\"")) << e;
  e = query_error({{"sort", "-"}});
  EXPECT_TRUE(has(e, "sort: ")) << e;
}

TEST(AnalyticsQueryParse, Limit) {
  Parsed one = parse_params({{"limit", "1"}});
  ASSERT_TRUE(one.ok) << one.error;
  EXPECT_EQ(one.q.limit, 1u);
  Parsed max = parse_params({{"limit", "10000"}});
  ASSERT_TRUE(max.ok) << max.error;
  EXPECT_EQ(max.q.limit, 10000u);
  for (const char* bad : {"0", "10001", "-1", "ten", "5x", "", " 5"}) {
    std::string e = query_error({{"limit", bad}});
    EXPECT_TRUE(has(e, std::string("limit: \"") + bad + "\" is not a number from 1 to 10000"))
        << bad << " -> " << e;
  }
}

// ------------------------------------------------------------------ times and buckets

TEST(AnalyticsTime, Rfc3339RoundTrip) {
  EXPECT_EQ(rfc3339(kNow), "2026-11-27T02:00:00Z");
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00Z"), kNow);
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00z"), kNow);
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00.999999Z"), kNow);
  EXPECT_EQ(parse_rfc3339("2026-11-27T03:30:00+01:30"), kNow);
  EXPECT_EQ(parse_rfc3339("2026-11-26T21:00:00-05:00"), kNow);
  // A time-offset is exactly +HH:MM: shorter forms are refused, never read past the string.
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00+5:30"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00+05:3"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-11-27T02:00:00+05"), std::nullopt);
  EXPECT_FALSE(parse_rfc3339("2026-11-27T02:00:00"));
  EXPECT_FALSE(parse_rfc3339("2026-11-27T02:00:00Zjunk"));
  EXPECT_FALSE(parse_rfc3339("2026-11-27T02:00:00+0100"));
  EXPECT_FALSE(parse_rfc3339("not a time"));
}

TEST(AnalyticsTime, FixedBuckets) {
  const int64_t t = kNow + 17 * 60 + 42;  // 02:17:42
  EXPECT_EQ(bucket_start(TimeDelta::kMinute, t), kNow + 17 * 60);
  EXPECT_EQ(bucket_next(TimeDelta::kMinute, kNow), kNow + 60);
  EXPECT_EQ(bucket_start(TimeDelta::kDekaminute, t), kNow + 10 * 60);
  EXPECT_EQ(bucket_next(TimeDelta::kDekaminute, kNow), kNow + 600);
  EXPECT_EQ(bucket_start(TimeDelta::kHour, t), kNow);
  EXPECT_EQ(bucket_next(TimeDelta::kHour, kNow), kNow + 3600);
  EXPECT_EQ(bucket_start(TimeDelta::kDay, t), kNow - 2 * 3600);
  EXPECT_EQ(bucket_next(TimeDelta::kDay, kNow - 2 * 3600), kNow + 22 * 3600);
  // A bucket start is its own start.
  for (TimeDelta d : {TimeDelta::kMinute, TimeDelta::kDekaminute, TimeDelta::kHour, TimeDelta::kDay,
                      TimeDelta::kWeek, TimeDelta::kMonth, TimeDelta::kQuarter, TimeDelta::kYear}) {
    int64_t s = bucket_start(d, t);
    EXPECT_LE(s, t);
    EXPECT_EQ(bucket_start(d, s), s);
    EXPECT_GT(bucket_next(d, s), t);
    EXPECT_EQ(bucket_start(d, bucket_next(d, s)), bucket_next(d, s));
  }
}

TEST(AnalyticsTime, WeeksStartOnMonday) {
  const int64_t monday = 1795392000;                        // 2026-11-23T00:00:00Z
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, kNow), monday);  // Friday 27th
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, monday), monday);
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, monday - 1), monday - 7 * 86400);  // Sunday night
  EXPECT_EQ(bucket_next(TimeDelta::kWeek, monday), monday + 7 * 86400);
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, 0), -3 * 86400);  // Thu 1970-01-01 -> Mon 12-29
  // Before the epoch too (since=1969-12-27T00:00:00Z is a valid RFC 3339 time): Sat -> Mon 22nd.
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, -5 * 86400), -10 * 86400);
  EXPECT_EQ(bucket_start(TimeDelta::kWeek, -5 * 86400 + 7), -10 * 86400);
  for (int64_t t = -30 * 86400; t < 30 * 86400; t += 3600 * 7) {
    int64_t s = bucket_start(TimeDelta::kWeek, t);
    EXPECT_LE(s, t) << t;
    EXPECT_GT(s + 7 * 86400, t) << t;
  }
}

TEST(AnalyticsTime, CalendarMonthQuarterYear) {
  const int64_t nov1 = 1793491200, dec1 = 1796083200, jan1_27 = 1798761600, oct1 = 1790812800,
                jan1_26 = 1767225600;
  EXPECT_EQ(bucket_start(TimeDelta::kMonth, kNow), nov1);
  EXPECT_EQ(bucket_next(TimeDelta::kMonth, nov1), dec1);
  EXPECT_EQ(bucket_next(TimeDelta::kMonth, dec1), jan1_27);  // across the year
  EXPECT_EQ(bucket_start(TimeDelta::kQuarter, kNow), oct1);
  EXPECT_EQ(bucket_next(TimeDelta::kQuarter, oct1), jan1_27);
  EXPECT_EQ(bucket_start(TimeDelta::kQuarter, 1775001599), jan1_26);     // 2026-03-31T23:59:59
  EXPECT_EQ(bucket_start(TimeDelta::kQuarter, 1775001600), 1775001600);  // 2026-04-01
  EXPECT_EQ(bucket_start(TimeDelta::kYear, kNow), jan1_26);
  EXPECT_EQ(bucket_next(TimeDelta::kYear, jan1_26), jan1_27);
  // February of a leap year has 29 days.
  EXPECT_EQ(bucket_next(TimeDelta::kMonth, 1832976000), 1832976000 + 29 * 86400);
  EXPECT_EQ(bucket_start(TimeDelta::kMonth, 1832976000 + 29 * 86400 - 1), 1832976000);
}

// ------------------------------------------------------------------ result shape

AnalyticsRow row(std::vector<std::string> dims, int64_t minute, uint64_t count, uint64_t in,
                 uint64_t out, uint64_t dur_sum = 0, uint64_t dur_n = 0) {
  AnalyticsRow r;
  r.dims = std::move(dims);
  r.minute = minute;
  r.count = count;
  r.bytes_ingress = in;
  r.bytes_egress = out;
  r.duration_sum_ms = dur_sum;
  r.durations_count = dur_n;
  return r;
}

TEST(AnalyticsResult, SummaryGroupsByDimensions) {
  AnalyticsQuery q = query({{"dimensions", "appID,event"}, {"since", "-10"}}, false);
  std::vector<AnalyticsRow> rows = {
      row({"a", "connect"}, kMin - 5, 3, 0, 0),
      row({"a", "connect"}, kMin - 2, 2, 0, 0),
      row({"a", "disconnect"}, kMin - 2, 5, 1000, 2000, 500, 5),
      row({"b", "connect"}, kMin - 1, 1, 0, 0),
  };
  json r = analytics_result(q, rows, false, 1);
  EXPECT_EQ(r["rows"], 3);
  EXPECT_EQ(r["data_lag"], 1);
  ASSERT_EQ(r["data"].size(), 3u);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"a", "connect"}));
  EXPECT_EQ(r["data"][0]["metrics"], json({5, 0, 0}));
  EXPECT_EQ(r["data"][1]["dimensions"], json({"a", "disconnect"}));
  EXPECT_EQ(r["data"][1]["metrics"], json({5, 1000, 2000}));
  EXPECT_EQ(r["data"][2]["dimensions"], json({"b", "connect"}));
  EXPECT_EQ(r["data"][2]["metrics"], json({1, 0, 0}));
  EXPECT_EQ(r["totals"], json({{"count", 11}, {"bytesIngress", 1000}, {"bytesEgress", 2000}}));
  EXPECT_EQ(r["max"], json({{"count", 5}, {"bytesIngress", 1000}, {"bytesEgress", 2000}}));
  EXPECT_EQ(r["min"], json({{"count", 1}, {"bytesIngress", 0}, {"bytesEgress", 0}}));
  EXPECT_FALSE(r.contains("time_intervals"));
  const json& echo = r["query"];
  EXPECT_EQ(echo["dimensions"], json({"appID", "event"}));
  EXPECT_EQ(echo["metrics"], json({"count", "bytesIngress", "bytesEgress"}));
  EXPECT_EQ(echo["since"], "2026-11-27T01:50:00Z");
  EXPECT_EQ(echo["until"], "2026-11-27T02:00:00Z");
  EXPECT_EQ(echo["filters"], "");
  EXPECT_EQ(echo["limit"], 10000);
  EXPECT_EQ(echo["sort"], json::array());
  EXPECT_FALSE(echo.contains("time_delta"));
}

TEST(AnalyticsResult, NoDimensionsIsOneGroup) {
  AnalyticsQuery q = query({{"since", "-10"}}, false);
  std::vector<AnalyticsRow> rows = {row({}, kMin - 3, 4, 10, 20), row({}, kMin - 1, 6, 1, 2)};
  json r = analytics_result(q, rows, false, 0);
  ASSERT_EQ(r["data"].size(), 1u);
  EXPECT_EQ(r["data"][0]["dimensions"], json::array());
  EXPECT_EQ(r["data"][0]["metrics"], json({10, 11, 22}));
  EXPECT_EQ(r["rows"], 1);
}

TEST(AnalyticsResult, EmptyResult) {
  AnalyticsQuery q = query({{"dimensions", "event"}}, false);
  json r = analytics_result(q, {}, false, 0);
  EXPECT_EQ(r["data"], json::array());
  EXPECT_EQ(r["rows"], 0);
  EXPECT_EQ(r["totals"], json({{"count", 0}, {"bytesIngress", 0}, {"bytesEgress", 0}}));
  EXPECT_EQ(r["max"], json::object());
  EXPECT_EQ(r["min"], json::object());
}

TEST(AnalyticsResult, SortAndLimit) {
  std::vector<AnalyticsRow> rows = {
      row({"a"}, kMin - 1, 3, 300, 1),
      row({"b"}, kMin - 1, 7, 100, 1),
      row({"c"}, kMin - 1, 5, 200, 1),
  };
  auto order = [](const json& r) {
    std::vector<std::string> ids;
    for (const auto& d : r["data"]) ids.push_back(d["dimensions"][0]);
    return ids;
  };
  json desc =
      analytics_result(query({{"dimensions", "appID"}, {"sort", "-count"}}, false), rows, false, 0);
  EXPECT_EQ(order(desc), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(desc["query"]["sort"], json({"-count"}));
  json asc = analytics_result(query({{"dimensions", "appID"}, {"sort", "bytesIngress"}}, false),
                              rows, false, 0);
  EXPECT_EQ(order(asc), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(asc["query"]["sort"], json({"+bytesIngress"}));
  json by_dim =
      analytics_result(query({{"dimensions", "appID"}, {"sort", "-appID"}}, false), rows, false, 0);
  EXPECT_EQ(order(by_dim), (std::vector<std::string>{"c", "b", "a"}));
  // Ties fall through to the next key.
  json tie = analytics_result(
      query({{"dimensions", "appID"}, {"sort", "-bytesEgress,-bytesIngress"}}, false), rows, false,
      0);
  EXPECT_EQ(order(tie), (std::vector<std::string>{"a", "c", "b"}));

  json top = analytics_result(
      query({{"dimensions", "appID"}, {"sort", "-count"}, {"limit", "1"}}, false), rows, false, 0);
  EXPECT_EQ(order(top), (std::vector<std::string>{"b"}));
  EXPECT_EQ(top["rows"], 1);
  EXPECT_EQ(top["query"]["limit"], 1);
  // max/min describe the rows returned; totals stay those of everything that matched.
  EXPECT_EQ(top["max"]["count"], 7);
  EXPECT_EQ(top["min"]["count"], 7);
  EXPECT_EQ(top["totals"]["count"], 15);
}

TEST(AnalyticsResult, DurationMetrics) {
  AnalyticsQuery q = query({{"metrics", "durationAvg,durationMedian,duration90th,duration99th"},
                            {"dimensions", "appID"}},
                           false);
  AnalyticsRow a = row({"a"}, kMin - 2, 3, 0, 0, 10, 3);  // avg 3.333...
  a.durations.assign(telemetry::kDurationBuckets, 0);
  a.durations[telemetry::duration_bucket(1000)] = 100;
  AnalyticsRow b = row({"b"}, kMin - 2, 0, 0, 0, 0, 0);  // no durations: 0
  json r = analytics_result(q, {a, b}, false, 0);
  ASSERT_EQ(r["data"].size(), 2u);
  const json& ma = r["data"][0]["metrics"];
  EXPECT_NEAR(ma[0].get<double>(), 10.0 / 3.0, 1e-9);
  EXPECT_FALSE(ma[0].is_number_integer());
  const size_t bucket = telemetry::duration_bucket(1000);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(ma[i].is_number_integer()) << ma[i];  // percentiles are rounded to whole ms
    double v = ma[i].get<double>();
    EXPECT_GE(v, std::floor(telemetry::duration_bucket_low(bucket))) << i;
    EXPECT_LE(v, std::ceil(telemetry::duration_bucket_high(bucket))) << i;
  }
  EXPECT_LE(ma[1].get<double>(), ma[2].get<double>());
  EXPECT_LE(ma[2].get<double>(), ma[3].get<double>());
  EXPECT_EQ(r["data"][1]["metrics"], json({0, 0, 0, 0}));
  EXPECT_EQ(r["min"]["durationAvg"], 0);
}

TEST(AnalyticsResult, BytimeSeries) {
  // Five one-minute buckets: [kNow-5m, kNow).
  AnalyticsQuery q =
      query({{"dimensions", "event"}, {"since", "-5"}, {"time_delta", "minute"}}, true);
  std::vector<AnalyticsRow> rows = {
      row({"connect"}, kMin - 5, 2, 0, 0),
      row({"connect"}, kMin - 1, 3, 0, 0),
      row({"disconnect"}, kMin - 3, 4, 400, 800),
      row({"disconnect"}, kMin - 1, 1, 100, 200),
  };
  json r = analytics_result(q, rows, true, 0);
  ASSERT_EQ(r["time_intervals"].size(), 5u);
  EXPECT_EQ(r["time_intervals"][0], json({"2026-11-27T01:55:00Z", "2026-11-27T01:56:00Z"}));
  EXPECT_EQ(r["time_intervals"][4], json({"2026-11-27T01:59:00Z", "2026-11-27T02:00:00Z"}));
  EXPECT_EQ(r["query"]["time_delta"], "minute");
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][0]["dimensions"], json({"connect"}));
  EXPECT_EQ(r["data"][0]["metrics"][0], json({2, 0, 0, 0, 3}));
  EXPECT_EQ(r["data"][1]["metrics"][0], json({0, 0, 4, 0, 1}));
  EXPECT_EQ(r["data"][1]["metrics"][1], json({0, 0, 400, 0, 100}));
  EXPECT_EQ(r["data"][1]["metrics"][2], json({0, 0, 800, 0, 200}));
  EXPECT_EQ(r["totals"], json({{"count", 10}, {"bytesIngress", 500}, {"bytesEgress", 1000}}));
  // max/min over every point of every series.
  EXPECT_EQ(r["max"]["count"], 4);
  EXPECT_EQ(r["min"]["count"], 0);
  EXPECT_EQ(r["max"]["bytesEgress"], 800);
  // The series add up to the totals.
  uint64_t sum = 0;
  for (const auto& d : r["data"])
    for (const auto& v : d["metrics"][0]) sum += v.get<uint64_t>();
  EXPECT_EQ(sum, 10u);
}

TEST(AnalyticsResult, BytimeCoarseBucketsSumMinutes) {
  // Hour buckets over three hours; rows in the same hour add up.
  AnalyticsQuery q = query({{"since", "-180"}, {"time_delta", "hour"}}, true);
  std::vector<AnalyticsRow> rows = {
      row({}, kMin - 170, 1, 10, 0),
      row({}, kMin - 121, 2, 20, 0),  // 23:59: the first hour
      row({}, kMin - 120, 4, 40, 0),  // 00:00: the second hour
      row({}, kMin - 1, 8, 80, 0),
  };
  json r = analytics_result(q, rows, true, 0);
  ASSERT_EQ(r["time_intervals"].size(), 3u);
  EXPECT_EQ(r["time_intervals"][0][0], "2026-11-26T23:00:00Z");
  EXPECT_EQ(r["data"][0]["metrics"][0], json({3, 4, 8}));
  EXPECT_EQ(r["data"][0]["metrics"][1], json({30, 40, 80}));
}

TEST(AnalyticsResult, BytimeCalendarIntervals) {
  AnalyticsQuery q = query({{"since", "2026-01-15T00:00:00Z"},
                            {"until", "2026-04-02T00:00:00Z"},
                            {"time_delta", "month"}},
                           true);
  json r = analytics_result(q, {}, true, 0);
  ASSERT_EQ(r["time_intervals"].size(), 4u);
  EXPECT_EQ(r["time_intervals"][0], json({"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"}));
  EXPECT_EQ(r["time_intervals"][1], json({"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}));
  EXPECT_EQ(r["time_intervals"][3], json({"2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"}));
}

}  // namespace
}  // namespace rampart::control
