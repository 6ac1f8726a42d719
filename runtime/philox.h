// Counter-based Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), identical on host and device, checked against the Random123 known-answer vectors.
//
// DESIGN §4: every random value is a pure function of (seed, purpose, a, b, index), never of a
// thread id, a launch shape or a call order. The mapping, fixed here once:
//   key     = first two words of philox4x32_10({purpose, 'detn', 0, 0}, {lo(seed), hi(seed)})
//             -- one stream key per (seed, purpose), so purposes never share random numbers;
//   counter = {lo(index / 4), hi(index / 4), a, b}; element `index` takes word index % 4.
// A normal value for element `index` uses the draw at counter index / 2: words 0,1 for even
// indices (the cosine branch of Box–Muller), words 2,3 for odd ones (the sine branch).
#pragma once

#include <cstdint>

#include "runtime/dmath.h"
#include "runtime/host_device.h"

namespace detnn {

struct PhiloxKey {
  uint32_t k0, k1;
};
struct PhiloxBlock {
  uint32_t w[4];
};

// What a random stream is for (DESIGN §4 table). The values are part of the reproducibility
// contract: never renumber them.
enum class RandomPurpose : uint32_t {
  parameter_init = 1,  // a = hash of the parameter's stable name; index = element index
  data_split = 2,      // index = sample index
  epoch_shuffle = 3,   // a = epoch; index = sample index
  augmentation = 4,    // a = epoch; b = which random parameter; index = sample index in dataset
  dropout = 5,         // a = step; b = hash of layer path; index = position in batch * size + element
  synthetic_data = 6,  // a = which random field (labels, templates, noise); b = class; index = element
  sweep = 7,           // a = trial index; b = which draw (trainer sweep, docs/sweeps.md); index = draw number
  test = 0xffff,       // tests and benchmarks only
};

namespace philox_detail {
constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

DETNN_HD void round(uint32_t c[4], uint32_t k0, uint32_t k1) {
  const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
  const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
  const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
  const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
  const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
  c[0] = n0;
  c[1] = lo1;
  c[2] = n2;
  c[3] = lo0;
}
}  // namespace philox_detail

// The raw bijection: 10 rounds, the key bumped by the Weyl constants between rounds.
DETNN_HD PhiloxBlock philox4x32_10(PhiloxBlock counter, PhiloxKey key) {
  uint32_t c[4] = {counter.w[0], counter.w[1], counter.w[2], counter.w[3]};
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += philox_detail::kWeyl0;
      k1 += philox_detail::kWeyl1;
    }
    philox_detail::round(c, k0, k1);
  }
  return PhiloxBlock{{c[0], c[1], c[2], c[3]}};
}

DETNN_HD PhiloxKey philox_stream_key(uint64_t seed, RandomPurpose purpose) {
  const PhiloxBlock b = philox4x32_10(
      PhiloxBlock{{static_cast<uint32_t>(purpose), 0x6465746eu /* "detn" */, 0u, 0u}},
      PhiloxKey{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  return PhiloxKey{b.w[0], b.w[1]};
}

DETNN_HD PhiloxBlock philox_draw(PhiloxKey key, uint64_t block_index, uint32_t a, uint32_t b) {
  return philox4x32_10(PhiloxBlock{{static_cast<uint32_t>(block_index),
                                    static_cast<uint32_t>(block_index >> 32), a, b}},
                       key);
}

// DESIGN §4: uint32 -> float in [0, 1) with 24 random bits; exact, so the same everywhere.
DETNN_HD float uint_to_unit_float(uint32_t u) { return static_cast<float>(u >> 8) * 0x1p-24f; }

DETNN_HD uint32_t random_bits(PhiloxKey key, uint64_t index, uint32_t a, uint32_t b) {
  return philox_draw(key, index >> 2, a, b).w[index & 3];
}

// Uniform in [0, 1).
DETNN_HD float random_uniform(PhiloxKey key, uint64_t index, uint32_t a, uint32_t b) {
  return uint_to_unit_float(random_bits(key, index, a, b));
}

// Standard normal by Box–Muller from dmath: r = sqrt(-2 log u1) with u1 in (0, 1] so the log
// is finite; angle 2*pi*u2 evaluated as cospi/sinpi(2*u2), whose argument is exact.
DETNN_HD float random_normal(PhiloxKey key, uint64_t index, uint32_t a, uint32_t b) {
  const PhiloxBlock d = philox_draw(key, index >> 1, a, b);
  const int pair = static_cast<int>(index & 1) * 2;
  const float u1 = 1.0f - uint_to_unit_float(d.w[pair]);  // (0, 1]
  const float u2 = uint_to_unit_float(d.w[pair + 1]);      // [0, 1)
  const float r = dmath::sqrt(-2.0f * dmath::log(u1));
  const float t = 2.0f * u2;
  return (index & 1) ? r * dmath::sinpi(t) : r * dmath::cospi(t);
}

// FNV-1a 32-bit of a stable name (layer paths, parameter names): the `a`/`b` key words.
constexpr uint32_t stable_name_hash(const char* s) {
  uint32_t h = 2166136261u;
  for (; *s; ++s) {
    h ^= static_cast<unsigned char>(*s);
    h *= 16777619u;
  }
  return h;
}

}  // namespace detnn
