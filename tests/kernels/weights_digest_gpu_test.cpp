// The weights digest on the device equals the CPU's for sizes around the block and grid edges
// (the integer sum does not depend on how the launch splits it).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/weights_digest.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

TEST(WeightsDigestGpu, EqualsTheCpuDigest) {
  DETNN_REQUIRE_GPU();
  for (int64_t n : {0, 1, 255, 256, 257, 262144, 262145, 3000001}) {
    const auto x = test::random_floats(n, uint32_t(n + 11));
    test::DeviceBuffer<float> dx(x);
    test::DeviceBuffer<uint64_t> digest(1);
    weights_digest_cuda(dx.get(), n, digest.get(), nullptr);
    EXPECT_EQ(digest.download().at(0), weights_digest_cpu(x.data(), n)) << "n=" << n;
    EXPECT_TRUE(dx.guards_intact() && digest.guards_intact()) << "n=" << n;
  }
}

}  // namespace
}  // namespace detnn::kernels
