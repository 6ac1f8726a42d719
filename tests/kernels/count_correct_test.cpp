#include "kernels/count_correct.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/error.h"

namespace detnn::kernels {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Each row's prediction by the documented rule, written out per case.
TEST(CountCorrect, FirstMaximumWinsAndNaNNeverReplacesTheBest) {
  const std::vector<float> logits = {
      1,    3,    2,      // 1
      5,    5,    0,      // tie: the first maximum, 0
      0,    2,    2,      // tie: 1
      1,    kNaN, 4,      // the NaN is skipped: 2
      kNaN, 7,    9,      // a NaN first stays the prediction: 0
      -1,   -2,   -0.5f,  // 2
  };
  const std::vector<int32_t> right = {1, 0, 1, 2, 0, 2};
  const std::vector<int32_t> wrong = {0, 1, 2, 1, 2, 0};
  int64_t count = 0;
  count_correct_cpu(logits.data(), right.data(), 6, 3, &count);
  EXPECT_EQ(count, 6);
  count_correct_cpu(logits.data(), wrong.data(), 6, 3, &count);
  EXPECT_EQ(count, 6);  // adds, and none of `wrong` is right
  const std::vector<int32_t> half = {1, 1, 1, 2, 2, 2};
  count_correct_cpu(logits.data(), half.data(), 6, 3, &count);
  EXPECT_EQ(count, 6 + 4);
}

TEST(CountCorrect, OneClassAlwaysPredictsItAndEmptyCallsAddNothing) {
  const std::vector<float> logits = {kNaN, -1, 2};
  const std::vector<int32_t> labels = {0, 0, 0};
  int64_t count = 5;
  count_correct_cpu(logits.data(), labels.data(), 3, 1, &count);
  EXPECT_EQ(count, 8);
  count_correct_cpu(nullptr, nullptr, 0, 10, &count);
  EXPECT_EQ(count, 8);
}

TEST(CountCorrect, BadShapesAreRefused) {
  int64_t count = 0;
  EXPECT_THROW(count_correct_cpu(nullptr, nullptr, -1, 3, &count), Error);
  EXPECT_THROW(count_correct_cpu(nullptr, nullptr, 1, 0, &count), Error);
}

}  // namespace
}  // namespace detnn::kernels
