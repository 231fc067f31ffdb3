// core/utf8.h: UTF-8 sequence checks and the one-line log escaping.
#include "core/utf8.h"

#include <gtest/gtest.h>

namespace rampart::core {
namespace {

size_t seq(std::string_view s) {
  return utf8_sequence(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

TEST(Utf8, ValidSequences) {
  EXPECT_EQ(seq("a"), 1u);
  EXPECT_EQ(seq("\xc3\xa9"), 2u);
  EXPECT_EQ(seq("\xe2\x82\xac"), 3u);
  EXPECT_EQ(seq("\xf0\x9f\x94\x92"), 4u);
  EXPECT_EQ(seq("\xf4\x8f\xbf\xbf"), 4u);  // U+10FFFF
}

TEST(Utf8, InvalidSequences) {
  EXPECT_EQ(seq(""), 0u);
  EXPECT_EQ(seq("\x80"), 0u);              // lone continuation
  EXPECT_EQ(seq("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(seq("\xe0\x80\xaf"), 0u);      // overlong
  EXPECT_EQ(seq("\xed\xa0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(seq("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(seq("\xf5\x80\x80\x80"), 0u);
  EXPECT_EQ(seq("\xe2\x82"), 0u);  // truncated
  EXPECT_EQ(seq("\xc3("), 0u);     // bad continuation
  EXPECT_EQ(seq("\xff"), 0u);
}

TEST(Utf8, LogSafeEscapesControlsAndInvalidBytes) {
  EXPECT_EQ(log_safe("plain text, caf\xc3\xa9"), "plain text, caf\xc3\xa9");
  EXPECT_EQ(log_safe("forged\n2026-01-01T00:00:00.000Z ERROR x"),
            "forged\\x0a2026-01-01T00:00:00.000Z ERROR x");
  EXPECT_EQ(log_safe("a\x1b[31m\x7f\xff\xc0\xaf"), "a\\x1b[31m\\x7f\\xff\\xc0\\xaf");
  EXPECT_EQ(log_safe(std::string_view("nul\0", 4)), "nul\\x00");
}

}  // namespace
}  // namespace rampart::core
