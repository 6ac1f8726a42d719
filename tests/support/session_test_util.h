// Small models and synthetic batches for the session tests (CPU and GPU).
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/readers.h"
#include "session/model_file.h"

namespace detnn::testing {

// The every-layer model (tests/data/models/every_layer.json: conv with bias, stride and groups,
// batch norm, relu, gelu in both forms, max and average pooling, residual blocks with a
// projection and an identity shortcut, dropout, global average pooling, flatten, linear) with
// the given batch, chunk, pass size and optimizer.
inline std::string every_layer_model_json(int64_t batch = 16, int64_t chunk = 4, int64_t chunks_per_pass = 0,
                                          const std::string& optimizer = R"({"type": "sgd", "lr": 0.05, "momentum": 0.9})") {
  const std::string path = std::string(DETNN_TEST_DATA_DIR) + "/models/every_layer.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  nlohmann::json model = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  model["optimizer"] = nlohmann::json::parse(optimizer);
  model["training"]["batch_size"] = batch;
  model["training"]["chunk_size"] = chunk;
  model["training"]["chunks_per_pass"] = chunks_per_pass;
  return model.dump();
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
