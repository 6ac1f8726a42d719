// Small models and synthetic batches for the session tests (CPU and GPU).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/readers.h"
#include "session/model_file.h"

namespace detnn::testing {

// A model file with every layer type: conv (bias, stride, groups), batch norm, relu, gelu (both
// forms), max and average pooling, a residual block with a projection shortcut and one with an
// identity shortcut, dropout, global average pooling, flatten, linear.
inline std::string every_layer_model_json(int64_t batch = 16, int64_t chunk = 4, int64_t chunks_per_pass = 0,
                                          const std::string& optimizer = R"({"type": "sgd", "lr": 0.05, "momentum": 0.9})") {
  return R"({
    "name": "every_layer",
    "input": [2, 12, 12],
    "layers": [
      {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1},
      {"type": "batchnorm2d"},
      {"type": "gelu"},
      {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "groups": 2, "bias": false},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel": 2},
      {"type": "residual", "body": [
          {"type": "conv2d", "out_channels": 12, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
          {"type": "batchnorm2d"},
          {"type": "gelu", "approximate": "tanh"},
          {"type": "conv2d", "out_channels": 12, "kernel": 3, "padding": 1, "bias": false},
          {"type": "batchnorm2d"}],
       "shortcut": {"type": "projection", "stride": 2}, "activation": "relu"},
      {"type": "residual", "body": [
          {"type": "conv2d", "out_channels": 12, "kernel": 3, "padding": 1},
          {"type": "gelu"}]},
      {"type": "avgpool2d", "kernel": 2, "stride": 1},
      {"type": "dropout", "p": 0.25},
      {"type": "global_avgpool"},
      {"type": "flatten"},
      {"type": "linear", "out_features": 16},
      {"type": "gelu"},
      {"type": "linear", "out_features": 5}
    ],
    "loss": {"type": "softmax_cross_entropy", "label_smoothing": 0.1},
    "optimizer": )" + optimizer + R"(,
    "training": {"batch_size": )" + std::to_string(batch) + R"(, "chunk_size": )" + std::to_string(chunk) +
         R"(, "chunks_per_pass": )" + std::to_string(chunks_per_pass) + R"(, "seed": 7}
  })";
}

inline ModelSpec parse_test_model(const std::string& json) {
  return parse_model_text(json, "test-model", ".");
}

struct SyntheticBatches {
  std::vector<float> images;
  std::vector<int32_t> labels;
  int64_t count = 0;
};

// `count` learnable samples of shape c x h x w with `classes` classes (data/synthetic.cpp).
inline SyntheticBatches synthetic_batches(int64_t count, int32_t classes, int64_t c, int64_t h, int64_t w,
                                          uint64_t seed = 3) {
  data::SyntheticSpec spec;
  spec.count = count;
  spec.classes = classes;
  spec.channels = c;
  spec.height = h;
  spec.width = w;
  spec.seed = seed;
  const data::Dataset d = data::make_synthetic(spec);
  SyntheticBatches out;
  out.count = count;
  out.images.resize(static_cast<size_t>(count * d.sample_size()));
  for (int64_t i = 0; i < count; ++i) d.sample_to_float(i, out.images.data() + i * d.sample_size());
  // Centre the pixels so the tiny nets train quickly.
  for (float& v : out.images) v = v - 0.5f;
  out.labels = d.labels;
  return out;
}

}  // namespace detnn::testing
