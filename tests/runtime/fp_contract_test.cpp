#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "runtime/fp_contract.h"
#include "support/test_util.h"

namespace detnn {
namespace {

// a*b = 1 + 2^-11 + 2^-24 exactly; rounded to float that is 1 + 2^-11 (a tie, to even), so
// a*b + c is 0 with two roundings and 2^-24 when fused.
TEST(FloatingPointFlags, LibraryDoesNotContractMultiplyAdd) {
  volatile float a = 1.0f + 0x1p-12f, b = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  ASSERT_EQ(std::fma(a, b, c), 0x1p-24f);  // the fused result differs, so the probe can fail
  EXPECT_EQ(fp_probe::mul_then_add(a, b, c), 0.0f);
}

TEST(FloatingPointFlags, TestCodeDoesNotContractEither) {
  volatile float a = 1.0f + 0x1p-12f, b = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  const float x = a, y = b, z = c;
  EXPECT_EQ(x * y + z, 0.0f);
}

TEST(FloatingPointFlags, DenormalsAreKept) {
  EXPECT_FALSE(fp_probe::cpu_flushes_denormals());
  volatile float tiny = std::numeric_limits<float>::min();
  const float half = tiny * 0.5f;
  EXPECT_GT(half, 0.0f);
  EXPECT_EQ(std::fpclassify(half), FP_SUBNORMAL);
}

}  // namespace
}  // namespace detnn
