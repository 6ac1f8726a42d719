// Synthetic data for tests, benchmarks and smoke runs: no files, yet deterministic and
// learnable. Integer arithmetic only, so the bytes are the same on every host.
//
// Random fields (RandomPurpose::synthetic_data, key from the spec's seed):
//   label of sample i      = (random_bits(key, i, a=0, b=0) >> 8) % classes
//   template of class k    = bit 31 of random_bits(key, cell, a=1, b=k), one bit per 4x4 cell
//                            of each channel (cell = (c * cells_y + y / 4) * cells_x + x / 4)
//   noise of element e     = (random_bits(key, i * C*H*W + e, a=2, b=0) >> 8) % 160
//   pixel                  = noise + (template bit ? 95 : 0), in [0, 255)
// Blocky templates survive pooling, so a small CNN separates the classes within an epoch.
#include "data/readers.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/io/sha256.h"
#include "runtime/philox.h"

namespace detnn::data {
namespace {
constexpr int64_t kCell = 4;
constexpr uint32_t kNoiseLevels = 160, kPatternLevel = 95;
}  // namespace

Dataset make_synthetic(const SyntheticSpec& s) {
  if (s.count <= 0 || s.classes <= 0 || s.channels <= 0 || s.height <= 0 || s.width <= 0)
    DETNN_THROW(invalid_argument, "synthetic data: count, classes, channels, height and width must be positive, got ",
                s.count, ", ", s.classes, ", ", s.channels, ", ", s.height, ", ", s.width);
  const PhiloxKey key = philox_stream_key(s.seed, RandomPurpose::synthetic_data);
  Dataset d;
  d.description = "synthetic: " + std::to_string(s.count) + " samples, seed " + std::to_string(s.seed);
  d.count = s.count;
  d.classes = s.classes;
  d.channels = s.channels;
  d.height = s.height;
  d.width = s.width;
  const int64_t cells_y = (s.height + kCell - 1) / kCell, cells_x = (s.width + kCell - 1) / kCell;
  const int64_t sample = d.sample_size();
  check_fits_device_memory(static_cast<double>(s.count + s.classes) * static_cast<double>(s.channels) *
                               static_cast<double>(s.height) * static_cast<double>(s.width),
                           Device::cpu(),
                           "synthetic data of " + std::to_string(s.count) + " samples of " + std::to_string(s.channels) +
                               "x" + std::to_string(s.height) + "x" + std::to_string(s.width));

  std::vector<uint8_t> templates(static_cast<size_t>(s.classes * sample));
  for (int32_t k = 0; k < s.classes; ++k)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t y = 0; y < s.height; ++y)
        for (int64_t x = 0; x < s.width; ++x) {
          const int64_t cell = (c * cells_y + y / kCell) * cells_x + x / kCell;
          const uint32_t bit = random_bits(key, static_cast<uint64_t>(cell), 1, static_cast<uint32_t>(k)) >> 31;
          templates[static_cast<size_t>((k * s.channels + c) * s.height * s.width + y * s.width + x)] =
              static_cast<uint8_t>(bit * kPatternLevel);
        }

  d.labels.resize(static_cast<size_t>(s.count));
  d.pixels_u8.resize(static_cast<size_t>(s.count * sample));
  for (int64_t i = 0; i < s.count; ++i) {
    const int32_t label = static_cast<int32_t>((random_bits(key, static_cast<uint64_t>(i), 0, 0) >> 8) %
                                               static_cast<uint32_t>(s.classes));
    d.labels[static_cast<size_t>(i)] = label;
    const uint8_t* t = templates.data() + label * sample;
    uint8_t* out = d.pixels_u8.data() + i * sample;
    for (int64_t e = 0; e < sample; ++e) {
      const uint32_t noise = (random_bits(key, static_cast<uint64_t>(i * sample + e), 2, 0) >> 8) % kNoiseLevels;
      out[e] = static_cast<uint8_t>(noise + t[e]);
    }
  }

  Sha256 sha;
  sha.update(d.pixels_u8.data(), d.pixels_u8.size());
  for (int32_t label : d.labels) {
    const uint8_t le[4] = {static_cast<uint8_t>(label), static_cast<uint8_t>(label >> 8),
                           static_cast<uint8_t>(label >> 16), static_cast<uint8_t>(label >> 24)};
    sha.update(le, 4);
  }
  d.fingerprint = sha.finish_hex();
  return d;
}

}  // namespace detnn::data
