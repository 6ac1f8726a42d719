#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "runtime/philox.h"

namespace detnn {
namespace {

struct Kat {
  PhiloxBlock counter;
  PhiloxKey key;
  PhiloxBlock expected;
};

// Random123 kat_vectors, the three "philox4x32 10" lines.
const Kat kKats[] = {
    {{{0, 0, 0, 0}}, {0, 0}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
    {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, {0xffffffff, 0xffffffff},
     {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
    {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {0xa4093822, 0x299f31d0},
     {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
};

TEST(Philox, Random123KnownAnswers) {
  for (const Kat& k : kKats) {
    const PhiloxBlock got = philox4x32_10(k.counter, k.key);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got.w[i], k.expected.w[i]) << "word " << i;
  }
}

TEST(Philox, StreamsDifferByPurposeAndSeed) {
  std::set<std::pair<uint32_t, uint32_t>> keys;
  for (uint64_t seed : {0ull, 1ull, 0x100000000ull, 20261127ull})
    for (auto p : {RandomPurpose::parameter_init, RandomPurpose::data_split, RandomPurpose::epoch_shuffle,
                   RandomPurpose::augmentation, RandomPurpose::dropout, RandomPurpose::synthetic_data}) {
      const PhiloxKey k = philox_stream_key(seed, p);
      keys.insert({k.k0, k.k1});
    }
  EXPECT_EQ(keys.size(), 24u);  // the high seed word matters too
}

TEST(Philox, DrawsArePureFunctionsOfTheirKeys) {
  const PhiloxKey key = philox_stream_key(42, RandomPurpose::test);
  EXPECT_EQ(random_bits(key, 12345, 7, 9), random_bits(key, 12345, 7, 9));
  EXPECT_NE(random_bits(key, 12345, 7, 9), random_bits(key, 12346, 7, 9));
  EXPECT_NE(random_bits(key, 12345, 7, 9), random_bits(key, 12345, 8, 9));
  EXPECT_NE(random_bits(key, 12345, 7, 9), random_bits(key, 12345, 7, 10));
  // Element index i takes word i % 4 of the block at i / 4.
  const PhiloxBlock b = philox_draw(key, 3, 7, 9);
  for (int w = 0; w < 4; ++w) EXPECT_EQ(random_bits(key, 12 + w, 7, 9), b.w[w]);
}

TEST(Philox, UnitFloatConversionIsExactAndBelowOne) {
  EXPECT_EQ(uint_to_unit_float(0), 0.0f);
  EXPECT_EQ(uint_to_unit_float(0xffffffffu), 1.0f - 0x1p-24f);
  EXPECT_EQ(uint_to_unit_float(0x80000000u), 0.5f);
}

TEST(Philox, UniformAndNormalHaveTheirMoments) {
  const PhiloxKey key = philox_stream_key(7, RandomPurpose::test);
  const int n = 1 << 20;
  double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;
  float umin = 1, umax = 0;
  for (int i = 0; i < n; ++i) {
    const double u = random_uniform(key, i, 0, 0);
    su += u, su2 += u * u;
    umin = std::min<float>(umin, u), umax = std::max<float>(umax, u);
    const double z = random_normal(key, i, 0, 0);
    ASSERT_TRUE(std::isfinite(z)) << i;
    sn += z, sn2 += z * z, sn4 += z * z * z * z;
  }
  // Standard errors at n = 2^20: mean 0.00028 (uniform), 0.001 (normal); margins ~5 sigma.
  EXPECT_NEAR(su / n, 0.5, 0.0015);
  EXPECT_NEAR(su2 / n - 0.25, 1.0 / 12, 0.0015);
  EXPECT_GE(umin, 0.0f);
  EXPECT_LT(umax, 1.0f);
  EXPECT_NEAR(sn / n, 0.0, 0.005);
  EXPECT_NEAR(sn2 / n, 1.0, 0.007);
  EXPECT_NEAR(sn4 / n, 3.0, 0.05);  // kurtosis of a normal
}

TEST(Philox, StableNameHashIsFnv1a) {
  EXPECT_EQ(stable_name_hash(""), 2166136261u);
  EXPECT_EQ(stable_name_hash("a"), 0xe40c292cu);
  EXPECT_NE(stable_name_hash("layers.0.weight"), stable_name_hash("layers.0.bias"));
}

}  // namespace
}  // namespace detnn
