// TEMPORARY exploration (to be deleted): per-tensor gradient magnitudes of the modes test models.
#include <gtest/gtest.h>
#include <cmath>
#include "session/session.h"
#include "support/session_test_util.h"
namespace detnn { namespace {
void dump(const std::string& json) {
  const ModelSpec spec = testing::parse_test_model(json);
  Session s(spec);
  const int64_t b = spec.training.batch_size;
  const auto data = testing::synthetic_batches(b, static_cast<int32_t>(s.classes()), spec.input.c, spec.input.h, spec.input.w, 9);
  s.forward_backward(data.images.data(), data.labels.data(), b);
  const auto g = s.gradient();
  double gmax = 0; for (float v : g) gmax = std::max(gmax, (double)std::fabs(v));
  std::printf("global max %.3e\n", gmax);
  for (const auto& e : s.parameters()) {
    double m = 0; for (int64_t i = 0; i < e.size; ++i) m = std::max(m, (double)std::fabs(g[e.offset + i]));
    std::printf("%-32s %6lld max %.3e  ratio %.2e\n", e.name.c_str(), (long long)e.size, m, m / gmax);
  }
}
TEST(ZzTmpExplore, Dump) {
  dump(testing::every_layer_model_json(16, 16));
  dump(R"({"name": "odd_places", "input": [1, 5, 5],
    "layers": [{"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1}, {"type": "relu"},
               {"type": "conv2d", "out_channels": 2, "kernel": 3, "padding": 1}, {"type": "flatten"},
               {"type": "linear", "out_features": 6}, {"type": "relu"}, {"type": "linear", "out_features": 3}],
    "optimizer": {"type": "sgd", "lr": 0.1}, "training": {"batch_size": 16, "chunk_size": 16, "seed": 3}})");
}
}}
