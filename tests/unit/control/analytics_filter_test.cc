// The analytics `filters` grammar (control/analytics_filter.h): Spectrum's `;`/`,` and the
// keywords ` AND `/` OR `, AND binding tighter than OR, against reference expressions written
// out by hand as OR-of-AND lists; and the grammar errors, each a sentence naming the problem.
#include "control/analytics_filter.h"

#include <gtest/gtest.h>

namespace rampart::control {
namespace {

FilterTerm ev(const char* v, FilterOp op = FilterOp::kEq) {
  return {Dimension::kEvent, op, v};
}
FilterTerm app(const char* v, FilterOp op = FilterOp::kEq) {
  return {Dimension::kAppId, op, v};
}
FilterTerm colo(const char* v, FilterOp op = FilterOp::kEq) {
  return {Dimension::kColoName, op, v};
}

FilterExpr parsed(const std::string& text) {
  FilterExpr out;
  std::string error;
  EXPECT_TRUE(parse_filter_expr(text, &out, &error)) << text << ": " << error;
  return out;
}

std::string filter_error(const std::string& text) {
  FilterExpr out;
  std::string error;
  EXPECT_FALSE(parse_filter_expr(text, &out, &error)) << text << " was accepted";
  return error;
}

TEST(AnalyticsFilter, ReferenceExpressions) {
  struct Case {
    std::string text;
    FilterExpr want;
  };
  const std::vector<Case> cases = {
      {"event==disconnect", {{ev("disconnect")}}},
      {"event==disconnect;appID==a", {{ev("disconnect"), app("a")}}},
      {"event==disconnect AND appID==a", {{ev("disconnect"), app("a")}}},
      {"event==connect,event==disconnect", {{ev("connect")}, {ev("disconnect")}}},
      {"event==connect OR event==disconnect", {{ev("connect")}, {ev("disconnect")}}},
      // AND before OR: a AND b OR c = (a AND b) OR c; a OR b AND c = a OR (b AND c).
      {"event==connect AND appID==a OR event==disconnect",
       {{ev("connect"), app("a")}, {ev("disconnect")}}},
      {"event==connect OR appID==a AND coloName!=SFO",
       {{ev("connect")}, {app("a"), colo("SFO", FilterOp::kNe)}}},
      // The two spellings mix, with spaces around the punctuation or not.
      {"event==connect ; appID==a OR appID==b,coloName==LAB1 AND event!=progress",
       {{ev("connect"), app("a")}, {app("b")}, {colo("LAB1"), ev("progress", FilterOp::kNe)}}},
      // Spaces around the comparison and several blanks around a keyword.
      {"event == connect   AND\tappID >= m", {{ev("connect"), app("m", FilterOp::kGe)}}},
      // A value that contains a keyword's letters is a value.
      {"appID==ORANGE AND coloName==ANDOVER", {{app("ORANGE"), colo("ANDOVER")}}},
  };
  for (const auto& c : cases) EXPECT_EQ(parsed(c.text), c.want) << c.text;
}

TEST(AnalyticsFilter, GrammarErrorsSayWhy) {
  auto says = [](const std::string& text, const std::string& what) {
    const std::string e = filter_error(text);
    EXPECT_EQ(e.rfind("filters: ", 0), 0u) << e;
    EXPECT_NE(e.find(what), std::string::npos) << text << " -> " << e;
  };
  says("event==a;", "empty filter");
  says(",event==a", "empty filter");
  says("event==a AND  OR event==b", "empty filter");
  says("event==a;;event==b", "empty filter");
  says("event==a AND", "has a space");           // a trailing keyword: part of the value
  says("event==a and appID==b", "has a space");  // keywords are upper case
  says("event==a appID==b", "has a space");      // no joiner at all
  says("event", "is not DIMENSION OPERATOR VALUE");
  says("==a", "is not DIMENSION OPERATOR VALUE");
  says("event==", "is not DIMENSION OPERATOR VALUE");
  says("colour==red", "unknown dimension \"colour\"");
  says("ipVersion==5 OR event==a", "ipVersion is 4 or 6");
  says("(event==a OR event==b) AND appID==c", "unknown dimension \"(event\"");
}

}  // namespace
}  // namespace rampart::control
