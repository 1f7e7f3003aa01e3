#include "sentry/fs/fsutil/options.h"

#include "gtest/gtest.h"

namespace sentry::fs::fsutil {
namespace {

TEST(OptionsTest, SplitsKeysAndValues) {
  auto o = SplitMountOptions("mode=755,,newinstance,uid=0,x=");
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0].key, "mode");
  EXPECT_EQ(o[0].value, "755");
  EXPECT_EQ(o[1].key, "newinstance");
  EXPECT_FALSE(o[1].has_value);
  EXPECT_EQ(o[3].key, "x");
  EXPECT_TRUE(o[3].has_value);
  EXPECT_TRUE(SplitMountOptions("").empty());
}

TEST(OptionsTest, ParseUint32IsWholeStringOnly) {
  EXPECT_EQ(*ParseUint32("755", 8), 0755u);
  EXPECT_EQ(*ParseUint32("1000", 10), 1000u);
  for (const char* bad : {"", "8", "12a", "-1", "99999999999"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseUint32(bad, std::string_view(bad) == "8" ? 8 : 10).ok());
  }
}

}  // namespace
}  // namespace sentry::fs::fsutil
