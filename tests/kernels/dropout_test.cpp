#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/dropout.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "runtime/thread_pool.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;

DropoutParams params(float p, int64_t sample_size, int64_t first, int64_t samples) {
  DropoutParams d;
  d.p = p;
  d.seed = 0x1234abcdULL;
  d.step = 17;
  d.layer_hash = stable_name_hash("blocks.2.dropout");
  d.sample_size = sample_size;
  d.first_sample = first;
  d.samples = samples;
  return d;
}

// DESIGN §4 written out: keep iff the dropout-purpose uniform of (step, layer, global element
// index) is >= p.
bool contract_keep(const DropoutParams& d, int64_t sample_in_call, int64_t e) {
  const auto key = philox_stream_key(d.seed, RandomPurpose::dropout);
  const uint64_t index = static_cast<uint64_t>(d.first_sample + sample_in_call) * d.sample_size + e;
  return random_uniform(key, index, static_cast<uint32_t>(d.step), d.layer_hash) >= d.p;
}

TEST(Dropout, FollowsTheKeyingContract) {
  for (int64_t size : {1, 7, 33, 257}) {
    const auto d = params(0.3f, size, 5, 9);
    const int64_t n = d.elements();
    const auto x = random_floats(n, 10 + size, 0.5f, 2.0f);  // never 0: a 0 output means dropped
    std::vector<float> y(n);
    dropout_forward_cpu(x.data(), y.data(), d);
    const float scale = d.scale();
    for (int64_t s = 0; s < d.samples; ++s)
      for (int64_t e = 0; e < size; ++e) {
        const int64_t i = s * size + e;
        const float want = contract_keep(d, s, e) ? x[i] * scale : 0.0f;
        ASSERT_EQ(test::float_bits(y[i]), test::float_bits(want)) << "size=" << size << " i=" << i;
      }
  }
}

// The keep fraction is 1 - p within 6 binomial standard deviations over 2^20 elements; dropped
// outputs are +0 and kept ones x / (1 - p) (scale = one IEEE division on the host).
TEST(Dropout, KeepFractionIsOneMinusP) {
  const int64_t size = 1024, samples = 1024, n = size * samples;
  std::vector<float> x(n, 1.0f), y(n);
  for (float p : {0.0f, 0.1f, 0.5f, 0.9f}) {
    const auto d = params(p, size, 0, samples);
    dropout_forward_cpu(x.data(), y.data(), d);
    int64_t kept = 0;
    for (float v : y) {
      if (v != 0.0f) {
        ++kept;
        ASSERT_EQ(v, 1.0f / (1.0f - p));
      } else {
        ASSERT_EQ(test::float_bits(v), 0u);
      }
    }
    const double frac = static_cast<double>(kept) / n;
    const double sigma = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(frac, 1.0 - p, 6 * sigma + 1e-12) << "p=" << p;
    // Each draw word is used: the four lanes of a Philox block keep at about the same rate.
    if (p == 0.5f) {
      for (int lane = 0; lane < 4; ++lane) {
        int64_t lane_kept = 0;
        for (int64_t i = lane; i < n; i += 4) lane_kept += y[i] != 0.0f;
        EXPECT_NEAR(static_cast<double>(lane_kept) / (n / 4), 0.5, 6 * std::sqrt(0.25 / (n / 4)));
      }
    }
  }
}

TEST(Dropout, DeterministicAndKeyedBySeedStepAndLayer) {
  const int64_t size = 100, samples = 64, n = size * samples;
  std::vector<float> x(n, 1.0f), a(n), b(n), c(n);
  auto d = params(0.5f, size, 0, samples);
  dropout_forward_cpu(x.data(), a.data(), d);
  dropout_forward_cpu(x.data(), b.data(), d);
  EXPECT_EQ(first_bit_difference(a.data(), b.data(), n), -1);
  auto differ = [&](DropoutParams other) {
    dropout_forward_cpu(x.data(), c.data(), other);
    int64_t diff = 0;
    for (int64_t i = 0; i < n; ++i) diff += a[i] != c[i];
    return diff > n / 4;  // independent masks differ in about half the places
  };
  auto other = d;
  other.seed += 1;
  EXPECT_TRUE(differ(other));
  other = d;
  other.step += 1;
  EXPECT_TRUE(differ(other));
  other = d;
  other.layer_hash = stable_name_hash("blocks.3.dropout");
  EXPECT_TRUE(differ(other));
}

// The same global positions give the same mask however the batch is cut into calls (chunks,
// ranks), including calls that start inside a Philox draw block.
TEST(Dropout, IndependentOfHowTheBatchIsSplit) {
  for (int64_t size : {1, 7, 33, 257}) {
    const int64_t samples = 64, n = size * samples;
    const auto x = random_floats(n, 20 + size);
    std::vector<float> whole(n), parts(n);
    dropout_forward_cpu(x.data(), whole.data(), params(0.4f, size, 0, samples));
    const int64_t cuts[] = {0, 1, 5, 32, 37, 63, 64};
    for (size_t c = 0; c + 1 < std::size(cuts); ++c) {
      const int64_t first = cuts[c], count = cuts[c + 1] - cuts[c];
      dropout_forward_cpu(x.data() + first * size, parts.data() + first * size, params(0.4f, size, first, count));
    }
    EXPECT_EQ(first_bit_difference(whole.data(), parts.data(), n), -1) << "size=" << size;
  }
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  const int64_t size = 33, samples = 9, n = size * samples;
  const auto d = params(0.25f, size, 3, samples);
  const auto x = random_floats(n, 30, 0.5f, 2.0f);
  const auto dy = random_floats(n, 31);
  std::vector<float> y(n), dx(n);
  dropout_forward_cpu(x.data(), y.data(), d);
  dropout_backward_cpu(dy.data(), dx.data(), d);
  for (int64_t i = 0; i < n; ++i) {
    const float want = y[i] != 0.0f ? dy[i] * d.scale() : 0.0f;
    ASSERT_EQ(test::float_bits(dx[i]), test::float_bits(want)) << i;
  }
  std::vector<float> inplace = dy;  // dx may alias dy
  dropout_backward_cpu(inplace.data(), inplace.data(), d);
  EXPECT_EQ(first_bit_difference(inplace.data(), dx.data(), n), -1);
}

TEST(Dropout, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  for (int64_t size : {1, 7, 33, 257, 4099}) {
    const int64_t samples = 37, n = size * samples;
    const auto x = random_floats(n, 40 + size);
    const auto d = params(0.5f, size, 11, samples);
    set_num_threads(1);
    std::vector<float> one(n);
    dropout_forward_cpu(x.data(), one.data(), d);
    for (int threads : {2, 7}) {
      set_num_threads(threads);
      std::vector<float> y(n);
      dropout_forward_cpu(x.data(), y.data(), d);
      EXPECT_EQ(first_bit_difference(y.data(), one.data(), n), -1) << "size=" << size << " t=" << threads;
    }
  }
}

TEST(Dropout, PZeroIsIdentity) {
  const auto x = random_floats(257, 50);
  std::vector<float> y(257);
  dropout_forward_cpu(x.data(), y.data(), params(0.0f, 257, 4, 1));
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), 257), -1);
}

TEST(Dropout, BadParametersAreNamedErrors) {
  auto message = [](const DropoutParams& d) {
    float v = 0;
    try {
      dropout_forward_cpu(&v, &v, d);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(params(-0.1f, 1, 0, 1)).find("p must be in [0, 1), got -0.1"), std::string::npos);
  EXPECT_NE(message(params(1.0f, 1, 0, 1)).find("p must be in [0, 1), got 1"), std::string::npos);
  EXPECT_NE(message(params(std::nanf(""), 1, 0, 1)).find("p must be in [0, 1)"), std::string::npos);
  auto d = params(0.5f, 1, 0, 1);
  d.step = uint64_t{1} << 32;
  EXPECT_NE(message(d).find("step must fit in 32 bits"), std::string::npos);
  EXPECT_NE(message(params(0.5f, -1, 0, 1)).find("sample_size must be >= 0, got -1"), std::string::npos);
  EXPECT_NE(message(params(0.5f, 1, -2, 1)).find("first_sample must be >= 0, got -2"), std::string::npos);
  EXPECT_NE(message(params(0.5f, 1, 0, -3)).find("samples must be >= 0, got -3"), std::string::npos);
  EXPECT_NE(message(params(0.5f, int64_t{1} << 40, int64_t{1} << 30, 1)).find("2^62"), std::string::npos);
  EXPECT_EQ(message(params(0.5f, 0, 0, 5)), "no error");  // empty samples are fine
}

}  // namespace
}  // namespace detnn::kernels
