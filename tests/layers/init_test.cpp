#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layers/init.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::layers {
namespace {

using test::first_bit_difference;
using test::TorchReference;

constexpr uint64_t kSeed = 1234;

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> init(InitKind kind, const std::string& name, const std::vector<int64_t>& shape, FanInOut fan,
                        uint64_t seed = kSeed) {
  std::vector<float> out(numel(shape), -7.0f);
  init_parameter(kind, name, shape, fan, seed, out.data());
  return out;
}

// The bounds of PyTorch's default Linear/Conv initialization (_init_bounds, float64), as floats:
// every weight and bias inside [-b, b), and for large tensors the extremes within 0.1% of the
// bound (for n uniform draws the gap is ~2b/n; missing 0.1% has probability (1 - 5e-4)^n).
TEST(InitTorch, DefaultBoundsMatchPyTorch) {
  const nlohmann::json& cases = TorchReference::get().params("_init_bounds");
  for (const auto& [name, c] : cases.items()) {
    const auto shape = c.at("shape").get<std::vector<int64_t>>();
    const FanInOut fan = fans(shape);
    EXPECT_EQ(fan.fan_in, c.at("fan_in").get<int64_t>()) << name;
    const float wb = init_scale(InitKind::torch_default_weight, fan);
    const float bb = init_scale(InitKind::torch_default_bias, fan);
    EXPECT_EQ(wb, static_cast<float>(c.at("weight_bound").get<double>())) << name;
    EXPECT_EQ(bb, static_cast<float>(c.at("bias_bound").get<double>())) << name;

    const auto w = init(InitKind::torch_default_weight, name + ".weight", shape, fan);
    const auto b = init(InitKind::torch_default_bias, name + ".bias", {shape[0]}, fan);
    for (float v : w) ASSERT_TRUE(v >= -wb && v < wb) << name << " " << v;
    for (float v : b) ASSERT_TRUE(v >= -bb && v < bb) << name << " " << v;
    if (w.size() >= 10000) {
      EXPECT_GT(*std::max_element(w.begin(), w.end()), wb * 0.999f) << name;
      EXPECT_LT(*std::min_element(w.begin(), w.end()), -wb * 0.999f) << name;
    }
  }
}

// The documented Philox keys and map: fmaf(2b, u, -b), u from (parameter_init, hash(name), 0, i).
TEST(Init, UniformUsesTheDocumentedPhiloxKeys) {
  const std::vector<int64_t> shape{16, 8, 3, 3};
  const FanInOut fan = fans(shape);
  const auto w = init(InitKind::kaiming_uniform, "layers.3.weight", shape, fan);
  const float b = init_scale(InitKind::kaiming_uniform, fan);
  EXPECT_EQ(b, static_cast<float>(std::sqrt(6.0 / 72.0)));
  const PhiloxKey key = philox_stream_key(kSeed, RandomPurpose::parameter_init);
  const uint32_t a = stable_name_hash("layers.3.weight");
  for (uint64_t i : {0ull, 1ull, 5ull, 1151ull})
    EXPECT_EQ(w[i], fmaf(2.0f * b, random_uniform(key, i, a, 0), -b)) << i;
  const auto nrm = init(InitKind::kaiming_normal, "layers.3.weight", shape, fan);
  const float std = init_scale(InitKind::kaiming_normal, fan);
  for (uint64_t i : {0ull, 1ull, 5ull, 1151ull}) EXPECT_EQ(nrm[i], std * random_normal(key, i, a, 0)) << i;
}

TEST(Init, ReproducibleAndKeyedByNameAndSeed) {
  const std::vector<int64_t> shape{64, 32};
  const FanInOut fan = fans(shape);
  for (InitKind k : {InitKind::torch_default_weight, InitKind::kaiming_normal, InitKind::xavier_uniform}) {
    const auto a = init(k, "layers.0.weight", shape, fan), again = init(k, "layers.0.weight", shape, fan);
    EXPECT_EQ(first_bit_difference(a.data(), again.data(), a.size()), -1) << init_kind_name(k);
    const auto other = init(k, "layers.1.weight", shape, fan);
    const auto reseeded = init(k, "layers.0.weight", shape, fan, kSeed + 1);
    int64_t same_name = 0, same_seed = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      same_name += a[i] == other[i];
      same_seed += a[i] == reseeded[i];
    }
    EXPECT_LT(same_name, 4) << init_kind_name(k);
    EXPECT_LT(same_seed, 4) << init_kind_name(k);
  }
}

TEST(Init, FansFollowPyTorch) {
  const std::vector<int64_t> conv{64, 32, 3, 5}, linear{10, 300}, conv3d{4, 2, 3, 3, 3};
  EXPECT_EQ(fans(conv).fan_in, 32 * 15);
  EXPECT_EQ(fans(conv).fan_out, 64 * 15);
  EXPECT_EQ(fans(linear).fan_in, 300);
  EXPECT_EQ(fans(linear).fan_out, 10);
  EXPECT_EQ(fans(conv3d).fan_in, 54);
  const std::vector<int64_t> vec{5};
  EXPECT_THROW(fans(vec), Error);
}

TEST(Init, XavierUsesBothFans) {
  const std::vector<int64_t> shape{200, 300};
  const float b = init_scale(InitKind::xavier_uniform, fans(shape));
  EXPECT_EQ(b, static_cast<float>(std::sqrt(6.0 / 500.0)));
  const auto w = init(InitKind::xavier_uniform, "fc.weight", shape, fans(shape));
  for (float v : w) ASSERT_TRUE(v >= -b && v < b);
  EXPECT_GT(*std::max_element(w.begin(), w.end()), b * 0.999f);
}

// 401408 normal draws: the sample std's relative standard error is ~1/sqrt(2n) = 0.1%, so 2%
// is a wide margin; the mean's standard error is std/sqrt(n) = 0.16% of std.
TEST(Init, KaimingNormalHasTheTargetStd) {
  const std::vector<int64_t> shape{128, 3136};
  const FanInOut fan = fans(shape);
  const auto w = init(InitKind::kaiming_normal, "fc1.weight", shape, fan);
  double sum = 0.0, sq = 0.0;
  for (float v : w) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(w.size()), mean = sum / n;
  const double sample_std = std::sqrt(sq / n - mean * mean), target = std::sqrt(2.0 / 3136.0);
  EXPECT_NEAR(sample_std, target, 0.02 * target);
  EXPECT_NEAR(mean, 0.0, 0.01 * target);
}

TEST(Init, ZerosOnesDiracAreExact) {
  const std::vector<int64_t> shape{4, 3, 3, 5};
  const FanInOut fan = fans(shape);
  for (float v : init(InitKind::zeros, "w", shape, fan)) ASSERT_EQ(test::float_bits(v), 0u);
  for (float v : init(InitKind::ones, "w", shape, fan)) ASSERT_EQ(v, 1.0f);
  const auto d = init(InitKind::dirac, "w", shape, fan);
  // PyTorch's dirac_: w[o, i, 1, 2] = 1 for o == i < min(4, 3), every other element 0.
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w = 0; w < 5; ++w) {
          const float want = (o == i && h == 1 && w == 2) ? 1.0f : 0.0f;
          ASSERT_EQ(test::float_bits(d[((o * 3 + i) * 3 + h) * 5 + w]), test::float_bits(want)) << o << i << h << w;
        }
  const std::vector<int64_t> linear{3, 3};
  std::vector<float> out(9);
  EXPECT_THROW(init_parameter(InitKind::dirac, "w", linear, fans(linear), kSeed, out.data()), Error);
}

TEST(Init, KindNamesRoundTripAndErrorsListChoices) {
  for (InitKind k : {InitKind::torch_default_weight, InitKind::torch_default_bias, InitKind::kaiming_uniform,
                     InitKind::kaiming_normal, InitKind::xavier_uniform, InitKind::zeros, InitKind::ones,
                     InitKind::dirac})
    EXPECT_EQ(parse_init_kind(init_kind_name(k), "init"), k);
  try {
    parse_init_kind("he_normal", "layers[2].init");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_NE(std::string(e.what()).find("layers[2].init: expected one of torch_default_weight | "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("dirac"), std::string::npos);
  }
}

TEST(Init, FanInZeroIsRejectedWhereItDividesAndBiasBoundIsZero) {
  EXPECT_THROW(init_scale(InitKind::kaiming_uniform, FanInOut{0, 4}), Error);
  EXPECT_EQ(init_scale(InitKind::torch_default_bias, FanInOut{0, 4}), 0.0f);
}

}  // namespace
}  // namespace detnn::layers
