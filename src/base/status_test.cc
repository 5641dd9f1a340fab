#include "pier/base/status.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

TEST(Status, ExitCodesFollowTheCommandLineConventions) {
  EXPECT_EQ(Status::Ok().ExitCode(), 0);
  EXPECT_EQ(Status::InvalidArgument("x").ExitCode(), 1);
  EXPECT_EQ(Status::Unavailable("port taken").ExitCode(), 2);
  EXPECT_EQ(Status::IoError("disk").ExitCode(), 2);
}

TEST(Result, CarriesValueOrStatus) {
  auto ok = Half(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  EXPECT_TRUE(ok.status().ok());
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd: 3");
}

TEST(Result, OkStatusIsNotAValue) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

Result<int> Quarter(int v) {
  PIER_ASSIGN_OR_RETURN(int half, Half(v));
  PIER_ASSIGN_OR_RETURN(half, Half(half));  // reassigning works too
  return half;
}

Status BothEven(int a, int b) {
  PIER_RETURN_IF_ERROR(Half(a).status());
  PIER_RETURN_IF_ERROR(Half(b).status());
  return Status::Ok();
}

TEST(StatusMacros, PropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd: 3");
  EXPECT_TRUE(BothEven(2, 4).ok());
  EXPECT_EQ(BothEven(2, 5).message(), "odd: 5");
}

TEST(CheckDeathTest, FailedCheckNamesTheCondition) {
  EXPECT_DEATH(PIER_CHECK(1 + 1 == 3), "1 \\+ 1 == 3");
}

}  // namespace
}  // namespace pier
