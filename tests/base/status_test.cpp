// Status and Result: codes and messages, and the checked invariants (misuse aborts with a message, no UB).
#include "base/status.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("x must be even");
  return x / 2;
}

TEST(Status, OkByDefaultAndNamesItsCode) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().ToString(), "ok");
  Status s = Status::OutOfRange("the prompt is too long");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.ToString(), "out of range: the prompt is too long");
}

TEST(Result, CarriesAValueOrAStatus) {
  Result<int> good = Half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 4);
  EXPECT_EQ(*good, 4);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Result, MovesAMoveOnlyValueOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ValueOnAnErrorAbortsWithTheError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)Half(3).value(), "Result::value\\(\\) called on an error: invalid argument: x must be even");
  EXPECT_DEATH((void)*Half(5), "called on an error");
}

TEST(ResultDeathTest, BuildingOneFromAnOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Result<int> r(Status::Ok());
        (void)r;
      },
      "Result constructed from an OK Status");
}

}  // namespace
}  // namespace fpgaserve
