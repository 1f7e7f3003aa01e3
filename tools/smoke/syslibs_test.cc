#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <seccomp.h>

#include "gtest/gtest.h"

namespace {

TEST(SysLibsTest, Fuse3Links) { EXPECT_GE(fuse_version(), 30); }

TEST(SysLibsTest, SeccompLinks) {
  const scmp_version* v = seccomp_version();
  ASSERT_NE(v, nullptr);
  EXPECT_GE(v->major, 2u);
}

}  // namespace
