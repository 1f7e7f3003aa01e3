#include "runsc/logging/log.h"

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace runsc::logging {
namespace {

// Round trip through protobuf's JSON parser: what the logger quotes is
// what a reader gets back.
std::string ParseBack(const std::string& quoted) {
  google::protobuf::Struct st;
  auto s = google::protobuf::util::JsonStringToMessage("{\"v\":" + quoted + "}",
                                                       &st);
  EXPECT_TRUE(s.ok()) << s.ToString() << ": " << quoted;
  return st.fields().at("v").string_value();
}

TEST(JsonQuoteTest, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("plain /path"), "\"plain /path\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)),
            "\"\\u0001\\u001f\\u007f\"");
  for (const std::string s : {"a\"b\\c\nd\te", "\x01 \x1f", "caf\xc3\xa9",
                              "\xe2\x82\xac \xf0\x9f\x98\x80"}) {
    EXPECT_EQ(ParseBack(JsonQuote(s)), s);
  }
}

TEST(JsonQuoteTest, InvalidUtf8BecomesReplacementCharacters) {
  // A lone continuation byte, a truncated sequence, an overlong encoding
  // of '/', a UTF-16 surrogate, a code point above U+10FFFF.
  EXPECT_EQ(ParseBack(JsonQuote("a\x80z")), "a\xef\xbf\xbdz");
  EXPECT_EQ(ParseBack(JsonQuote("a\xc3")), "a\xef\xbf\xbd");
  EXPECT_EQ(ParseBack(JsonQuote("\xc0\xaf")), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ParseBack(JsonQuote("\xed\xa0\x80")),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ParseBack(JsonQuote("\xf4\x90\x80\x80")),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(LogTest, DebugLinesOnlyWhenEnabled) {
  SetJson(false);
  SetDebug(false);
  ::testing::internal::CaptureStderr();
  Log("runsc", "debug", "hidden");
  Log("runsc", "warning", "shown");
  SetDebug(true);
  Log("runsc gofer", "debug", "now shown");
  SetJson(true);
  Log("runsc", "debug", "as \"json\"");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "runsc: warning: shown\nrunsc gofer: debug: now shown\n"
            "{\"level\":\"debug\",\"source\":\"runsc\",\"msg\":\"as "
            "\\\"json\\\"\"}\n");
}

}  // namespace
}  // namespace runsc::logging
