#include <string>
#include <thread>
#include <vector>

#include "absl/base/config.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/smoke/smoke.pb.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Counter {
 public:
  void Add(int n) {
    absl::MutexLock lock(&mu_);
    value_ += n;
  }
  int value() const {
    absl::MutexLock lock(&mu_);
    return value_;
  }

 private:
  mutable absl::Mutex mu_;
  int value_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(SmokeTest, ProtoRoundTrip) {
  smoke::Greeting in;
  in.set_text(absl::StrCat("hello ", 42));
  in.add_numbers(1);
  in.add_numbers(2);
  in.mutable_when()->set_seconds(1234);

  std::string wire;
  ASSERT_TRUE(in.SerializeToString(&wire));
  smoke::Greeting out;
  ASSERT_TRUE(out.ParseFromString(wire));

  EXPECT_EQ(out.text(), "hello 42");
  EXPECT_THAT(out.text(), HasSubstr("42"));
  EXPECT_THAT(out.numbers(), ElementsAre(1, 2));
  EXPECT_EQ(out.when().seconds(), 1234);
}

TEST(SmokeTest, AbslMutex) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  // The system abseil is not TSAN-instrumented, so TSAN cannot see the
  // happens-before edges of absl::Mutex and reports false data races.
  GTEST_SKIP() << "system abseil is not built with -fsanitize=thread";
#endif
  Counter counter;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&counter] {
      for (int j = 0; j < 1000; ++j) counter.Add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 4000);
}

}  // namespace
