// The gradient buckets of a data-parallel step (DESIGN §6): the flat gradient cut into ranges of
// whole parameters, each all-reduced as soon as backward has finished the top-level layers that
// own them, so that the communication of the last layers overlaps the backward of the first.
// Backward runs from the last layer to the first and the parameters lie in the flat buffer in
// layer order, so each bucket is one contiguous range. Bucketing never changes a bit: the
// all-reduce is elementwise.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/model.h"
#include "layers/sequential.h"

namespace detnn {

struct GradientBucket {
  size_t first_layer = 0;                   // all-reduced once backward has finished this layer
  size_t entry_begin = 0, entry_end = 0;    // the parameters it holds (indices into the model's)
  int64_t offset = 0, count = 0;            // their range in the flat gradient
};

// The default: 1 Mi floats (4 MiB) a bucket, the size at which NCCL runs near its bandwidth.
inline constexpr int64_t kGradientBucketFloats = int64_t{1} << 20;

// Buckets of at least `target_count` floats (the one ending at layer 0 may be smaller), from the
// last layer's to the first's; layers without parameters join the next bucket. Every parameter
// is in exactly one bucket. `net` is the model's trunk, `entries` its parameters.
std::vector<GradientBucket> plan_gradient_buckets(layers::Sequential& net,
                                                  const std::vector<layers::TensorEntry>& entries,
                                                  int64_t target_count);

}  // namespace detnn
