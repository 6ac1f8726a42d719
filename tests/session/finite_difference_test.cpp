// Whole-model gradients against finite differences of the loss, at seeded random entries of every
// parameter tensor — small gradients included, never chosen by what the code under test
// computed. The model is the every-layer model made smooth (relu -> gelu, max pooling -> average
// pooling; the dropout mask is fixed for a step), so central differences converge.
//
// Tolerance per entry, from the two error sources of a central difference D(h) taken from float32
// losses: the loss's rounding noise e (measured: the spread of the loss when the weight moves by
// single ulps, at least one ulp of the loss) gives at most 2e / 2h; the truncation error (h^2
// terms) is estimated by |D(2h) - D(h)|, which is three times it. A gradient wrong by 1% fails
// most of the checks (tried by mutation).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "runtime/philox.h"
#include "session/session.h"
#include "support/session_test_util.h"

namespace detnn::testing {
namespace {

constexpr int kEntriesPerTensor = 3;
constexpr float kStep = 1e-2f;
constexpr int64_t kBatch = 8;

std::string smooth_every_layer_model() {
  nlohmann::json model = nlohmann::json::parse(every_layer_model_json(kBatch, 4, 0, R"({"type": "sgd", "lr": 0.1})"));
  std::function<void(nlohmann::json&)> smooth = [&](nlohmann::json& layers) {
    for (nlohmann::json& layer : layers) {
      if (layer.at("type") == "relu") layer = {{"type", "gelu"}};
      if (layer.at("type") == "maxpool2d") layer["type"] = "avgpool2d";
      if (layer.at("type") == "residual") {
        if (layer.value("activation", "none") == "relu") layer["activation"] = "gelu";
        smooth(layer.at("body"));
      }
    }
  };
  smooth(model.at("layers"));
  return model.dump();
}

class LossProbe {
 public:
  explicit LossProbe(Session& s) : s_(s), data_(synthetic_batches(kBatch, 5, 2, 12, 12, 11)) {}

  // The loss with entry i of tensor `e` set to `value` (restored afterwards).
  double loss_at(const layers::TensorEntry& e, std::vector<float>& values, int64_t i, float value) {
    const float saved = values[i];
    values[i] = value;
    s_.write_parameter(e.name, values.data(), e.size);
    const double loss = s_.forward_backward(data_.images.data(), data_.labels.data(), kBatch).loss;
    values[i] = saved;
    s_.write_parameter(e.name, values.data(), e.size);
    return loss;
  }

  // The central difference with step h, divided by the step as actually represented.
  double central_difference(const layers::TensorEntry& e, std::vector<float>& values, int64_t i, float h) {
    const float up = values[i] + h, down = values[i] - h;
    return (loss_at(e, values, i, up) - loss_at(e, values, i, down)) / (static_cast<double>(up) - down);
  }

  // The loss's rounding noise near entry i: the spread over a few single-ulp moves of it.
  double noise(const layers::TensorEntry& e, std::vector<float>& values, int64_t i) {
    double lo = INFINITY, hi = -INFINITY;
    for (int ulps = 1; ulps <= 3; ++ulps) {
      for (const float direction : {INFINITY, -INFINITY}) {
        float v = values[i];
        for (int j = 0; j < ulps; ++j) v = std::nextafter(v, direction);
        const double loss = loss_at(e, values, i, v);
        lo = std::min(lo, loss);
        hi = std::max(hi, loss);
      }
    }
    const float at = static_cast<float>(hi);
    return std::max(hi - lo, static_cast<double>(std::nextafter(at, INFINITY) - at));
  }

  const SyntheticBatches& data() const { return data_; }

 private:
  Session& s_;
  SyntheticBatches data_;
};

TEST(FiniteDifferences, EveryParameterTensorAtSeededEntries) {
  Session s(parse_test_model(smooth_every_layer_model()));
  LossProbe probe(s);
  s.forward_backward(probe.data().images.data(), probe.data().labels.data(), kBatch);
  const std::vector<float> grad = s.gradient();
  const PhiloxKey key = philox_stream_key(20261207, RandomPurpose::test);

  int checked = 0, small = 0;
  for (const layers::TensorEntry& e : s.parameters()) {
    std::vector<float> values(static_cast<size_t>(e.size));
    s.read_parameter(e.name, values.data(), e.size);
    const uint32_t tensor_hash = stable_name_hash(e.name.c_str());
    for (int k = 0; k < kEntriesPerTensor; ++k) {
      const int64_t i = static_cast<int64_t>(random_bits(key, static_cast<uint64_t>(k), tensor_hash, 0) %
                                             static_cast<uint64_t>(e.size));
      const double g = grad[static_cast<size_t>(e.offset + i)];
      const double d1 = probe.central_difference(e, values, i, kStep);
      const double d2 = probe.central_difference(e, values, i, 2 * kStep);
      const double noise = probe.noise(e, values, i);
      const double tolerance = 4 * (2 * noise / (2 * kStep)) + std::fabs(d2 - d1);
      EXPECT_NEAR(g, d1, tolerance) << e.name << "[" << i << "]: finite difference " << d1 << " (with 2h: " << d2
                                    << "), loss noise " << noise;
      ++checked;
      if (std::fabs(g) < 1e-3) ++small;
    }
  }
  std::printf("%d entries checked, %d of them with |gradient| < 1e-3\n", checked, small);
  EXPECT_EQ(checked, kEntriesPerTensor * static_cast<int>(s.parameters().size()));
}

}  // namespace
}  // namespace detnn::testing
