#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/cuda/fp_probe.h"
#include "support/test_util.h"

namespace detnn {
namespace {

// DESIGN §2 on the device: no contraction, IEEE division and square root, denormals kept; the
// same bits as the host for 1M random operand triples plus the contraction probe.
TEST(FloatingPointFlagsGpu, DeviceArithmeticMatchesHostBits) {
  DETNN_REQUIRE_GPU();
  const int64_t n = test::scaled_size(1 << 20);
  auto a = test::random_floats(n, 11, -4.f, 4.f), b = test::random_floats(n, 12, -4.f, 4.f),
       c = test::random_floats(n, 13, -4.f, 4.f);
  a[0] = b[0] = 1.0f + 0x1p-12f;  // the contraction probe of fp_contract_test.cpp
  c[0] = -(1.0f + 0x1p-11f);
  std::vector<float> mul_add(n), fused(n), quotient(n), root(n), half(n);
  test::fp_ops_cuda(a.data(), b.data(), c.data(), n, mul_add.data(), fused.data(), quotient.data(),
                    root.data(), half.data());
  EXPECT_EQ(mul_add[0], 0.0f) << "the device contracted a*b+c";
  EXPECT_EQ(fused[0], 0x1p-24f);
  EXPECT_NE(half[1], 0.0f) << "the device flushed a denormal";
  for (int64_t i = 0; i < n; ++i) {
    const float ma = a[i] * b[i] + c[i];
    ASSERT_EQ(test::float_bits(mul_add[i]), test::float_bits(ma)) << i;
    ASSERT_EQ(test::float_bits(fused[i]), test::float_bits(std::fma(a[i], b[i], c[i]))) << i;
    ASSERT_EQ(test::float_bits(quotient[i]), test::float_bits(a[i] / b[i])) << i;
    ASSERT_EQ(test::float_bits(root[i]), test::float_bits(std::sqrt(std::fabs(a[i])))) << i;
    ASSERT_EQ(test::float_bits(half[i]), test::float_bits(a[i] * 0x1p-130f)) << i;
  }
}

}  // namespace
}  // namespace detnn
