// Training-time augmentation and normalization of one sample (DESIGN §4): every random choice
// is keyed by (seed, epoch, the sample's index in the dataset), so a sample looks the same in
// a given epoch whichever batch, thread or rank produces it.
//
// Random draws, key = philox_stream_key(seed, RandomPurpose::augmentation), index = dataset
// index, a = epoch:
//   b = 0: dy = (bits >> 8) % (2 * pad + 1)   (24 bits mod at most 2^17 levels: the bias is
//   b = 1: dx = (bits >> 8) % (2 * pad + 1)    below 2^-7 relative, and the same everywhere)
//   b = 2: flip when bit 31 is set            (probability exactly 1/2)
// Crop: out(c, y, x) = in(c, y + dy - pad, x + dx - pad), 0 outside the image (0 in [0, 1]
// pixel space, before normalization, as torchvision's RandomCrop on the image). Then the flip,
// out(c, y, x) <- out(c, y, W - 1 - x). Then (x - mean[c]) / std[c] as two IEEE float ops.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace detnn::data {

struct AugmentSpec {
  int64_t crop_padding = 0;
  bool horizontal_flip = false;
  std::vector<float> mean, std;  // empty: no normalization; else one value per channel
};

// Error(invalid_argument) naming the field unless the padding is in [0, 65535] and mean/std
// are both empty or both have `channels` finite values with std > 0.
void validate_augment(const AugmentSpec& spec, int64_t channels);

// Writes the dataset.sample_size() floats of sample `index` as training sees it in `epoch`.
void augmented_sample(const Dataset& dataset, int64_t index, const AugmentSpec& spec, uint64_t seed, int64_t epoch,
                      float* out);

// Evaluation: the sample normalized, never augmented.
void normalized_sample(const Dataset& dataset, int64_t index, const AugmentSpec& spec, float* out);

}  // namespace detnn::data
