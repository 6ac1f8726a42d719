#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/count_correct.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

// The device count equals the CPU's on rows with ties (scores rounded to a coarse grid) and NaNs,
// for sizes around the warp and block edges, and it adds to what the counter held.
TEST(CountCorrectGpu, MatchesTheCpuCount) {
  DETNN_REQUIRE_GPU();
  for (int64_t n : {1, 31, 32, 33, 255, 257, 1000, 5000}) {
    for (int64_t k : {1, 2, 10, 100}) {
      std::vector<float> z = test::random_floats(n * k, 7 + n + k, 0.0f, 4.0f);
      for (size_t i = 0; i < z.size(); ++i) {
        z[i] = std::floor(z[i]);  // many ties
        if (i % 37 == 5) z[i] = std::numeric_limits<float>::quiet_NaN();
      }
      const std::vector<float> u = test::random_floats(n, 11 + n, 0.0f, 1.0f);
      std::vector<int32_t> labels(n);
      for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(std::min<int64_t>(u[i] * k, k - 1));
      // Every third sample is labelled with its first maximum (NaN never wins), so that every
      // case has correct samples: random labels alone leave none for n=1 (k=10, 100) and n=32,
      // 33 (k=100).
      for (int64_t i = 0; i < n; i += 3) {
        int64_t best = 0;
        for (int64_t c = 1; c < k; ++c)
          if (z[i * k + c] > z[i * k + best]) best = c;
        labels[i] = static_cast<int32_t>(best);
      }
      int64_t want = 3;
      count_correct_cpu(z.data(), labels.data(), n, k, &want);
      DeviceBuffer<float> dz(z);
      DeviceBuffer<int32_t> dl(labels);
      DeviceBuffer<int64_t> count(std::vector<int64_t>{3});
      count_correct_cuda(dz.get(), dl.get(), n, k, count.get(), nullptr);
      EXPECT_EQ(count.download()[0], want) << "n=" << n << " k=" << k;
      EXPECT_GT(want, 3) << "n=" << n << " k=" << k;  // the case is not vacuous
    }
  }
}

}  // namespace
}  // namespace detnn::kernels
