#include "data/augment.h"

#include <cmath>
#include <vector>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace detnn::data {
namespace {

void normalize(const Dataset& d, const AugmentSpec& spec, float* out) {
  if (spec.mean.empty()) return;
  const int64_t plane = d.height * d.width;
  for (int64_t c = 0; c < d.channels; ++c) {
    const float m = spec.mean[static_cast<size_t>(c)], s = spec.std[static_cast<size_t>(c)];
    for (int64_t p = 0; p < plane; ++p) {
      const float centered = out[c * plane + p] - m;  // a separate rounding: never fused
      out[c * plane + p] = centered / s;
    }
  }
}

}  // namespace

void validate_augment(const AugmentSpec& spec, int64_t channels) {
  if (spec.crop_padding < 0 || spec.crop_padding > 65535)
    DETNN_THROW(invalid_argument, "augmentation: crop padding must be in [0, 65535], got ", spec.crop_padding);
  if (spec.mean.size() != spec.std.size())
    DETNN_THROW(invalid_argument, "normalization: ", spec.mean.size(), " mean values but ", spec.std.size(), " std values");
  if (!spec.mean.empty() && static_cast<int64_t>(spec.mean.size()) != channels)
    DETNN_THROW(invalid_argument, "normalization: ", spec.mean.size(), " mean/std values for data with ", channels,
                " channels (one per channel)");
  for (size_t c = 0; c < spec.mean.size(); ++c) {
    if (!std::isfinite(spec.mean[c]))
      DETNN_THROW(invalid_argument, "normalization: mean[", c, "] must be finite, got ", spec.mean[c]);
    if (!(spec.std[c] > 0.0f) || !std::isfinite(spec.std[c]))
      DETNN_THROW(invalid_argument, "normalization: std[", c, "] must be a positive number, got ", spec.std[c]);
  }
}

void normalized_sample(const Dataset& d, int64_t index, const AugmentSpec& spec, float* out) {
  d.sample_to_float(index, out);
  normalize(d, spec, out);
}

void augmented_sample(const Dataset& d, int64_t index, const AugmentSpec& spec, uint64_t seed, int64_t epoch,
                      float* out) {
  if (epoch < 0 || epoch > static_cast<int64_t>(UINT32_MAX))
    DETNN_THROW(invalid_argument, "augmentation: epoch ", epoch, " is outside [0, 2^32)");
  if (spec.crop_padding == 0 && !spec.horizontal_flip) return normalized_sample(d, index, spec, out);
  const PhiloxKey key = philox_stream_key(seed, RandomPurpose::augmentation);
  const uint64_t i = static_cast<uint64_t>(index);
  const uint32_t a = static_cast<uint32_t>(epoch);
  const int64_t pad = spec.crop_padding;
  const uint32_t levels = static_cast<uint32_t>(2 * pad + 1);
  const int64_t dy = pad > 0 ? ((random_bits(key, i, a, 0) >> 8) % levels) - pad : 0;
  const int64_t dx = pad > 0 ? ((random_bits(key, i, a, 1) >> 8) % levels) - pad : 0;
  const bool flip = spec.horizontal_flip && (random_bits(key, i, a, 2) >> 31) != 0;

  std::vector<float> src(static_cast<size_t>(d.sample_size()));
  d.sample_to_float(index, src.data());
  const int64_t h = d.height, w = d.width;
  for (int64_t c = 0; c < d.channels; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        out[(c * h + y) * w + x] = inside ? src[static_cast<size_t>((c * h + sy) * w + sx)] : 0.0f;
      }
  normalize(d, spec, out);
}

}  // namespace detnn::data
