// layers::Model's refusals on their own, without a Session or a model file (DESIGN §7): unknown
// keys, wrong types, impossible values and shape mismatches are Error(format) whose message
// starts with the JSON path of the fault — at the top level (`layers[3].kernel`) and inside
// residual bodies and shortcuts (`layers[1].body[0].kernel`) — and says what was wrong.
#include <gtest/gtest.h>

#include <string>

#include "layers/model.h"
#include "support/test_util.h"

namespace detnn::layers {
namespace {

void build(FeatureShape input, const std::string& layers) {
  Model model(input, nlohmann::json::parse(layers), 1, Device::cpu(), ComputeMode{});
}

// Three harmless layers first, so that the fault is at index 3.
std::string at_index_3(const std::string& layer) {
  return R"([{"type": "relu"}, {"type": "gelu"}, {"type": "relu"}, )" + layer + "]";
}

TEST(LayersModelErrors, FieldErrorsNameTheJsonPath) {
  struct Case {
    std::string layers, expected;
  };
  const FeatureShape image{4, 8, 8};
  const std::vector<Case> cases = {
      {at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": 3, "kernal": 3})"),
       "layers[3].kernal: unknown key (this object takes: type, in_channels, out_channels, kernel, stride, padding, "
       "dilation, groups, bias, init, bias_init)"},
      {at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": "three"})"),
       "layers[3].kernel: expected a positive integer, got a string \"three\""},
      {at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": [3, 0]})"),
       "layers[3].kernel[1]: expected a positive integer, got 0"},
      {at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": [3, 3, 3]})"),
       "layers[3].kernel: expected an integer or a pair [height, width], got an array [3,3,3]"},
      {at_index_3(R"({"type": "conv2d", "out_channels": 4})"), "layers[3].kernel: required but missing"},
      {at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": 3, "init": "glorot"})"), "layers[3].init:"},
      {at_index_3(R"({"type": "maxpool2d"})"), "layers[3].kernel: required but missing"},
      {at_index_3(R"({"type": "linear"})"), "layers[3]: linear needs a flat input, got 4x8x8"},
      {at_index_3(R"({"type": "dropout", "p": 1})"), "layers[3].p: expected a probability in [0, 1), got 1"},
      {at_index_3(R"({"type": "gelu", "approximate": "sigmoid"})"),
       "layers[3].approximate: expected one of none | tanh, got a string \"sigmoid\""},
      {at_index_3(R"({"type": "convolution"})"), "layers[3].type: expected one of avgpool2d | batchnorm2d | conv2d"},
      {at_index_3(R"({"out_channels": 4})"), "layers[3].type: required but missing"},
      {at_index_3(R"(["conv2d"])"), "layers[3]: expected an object, got an array"},
      {R"({"type": "relu"})", "layers: expected an array"},
      {"[]", "layers: expected at least one layer, got []"},
      // Inside a residual block: the body's and the shortcut's own paths.
      {R"([{"type": "relu"}, {"type": "residual", "body": [{"type": "conv2d", "out_channels": 4, "kernel": 0}]}])",
       "layers[1].body[0].kernel: expected a positive integer, got 0"},
      {R"([{"type": "residual", "body": [{"type": "relu"}], "shortcut": {"type": "projection", "stide": 2}}])",
       "layers[0].shortcut.stide: unknown key"},
      {R"([{"type": "residual", "body": [{"type": "relu"}], "shortcut": "none"}])",
       "layers[0].shortcut: expected \"identity\" or {\"type\": \"projection\", \"stride\": s}, got a string \"none\""},
      {R"([{"type": "residual", "body": [{"type": "relu"}], "activation": "tanh"}])",
       "layers[0].activation: expected one of none | relu | gelu"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.layers);
    test::expect_error([&] { build(image, c.layers); }, ErrorCode::format, c.expected);
  }
}

TEST(LayersModelErrors, ShapeMismatchesNameTheLayerAndBothShapes) {
  struct Case {
    FeatureShape input;
    std::string layers, expected;
  };
  const std::vector<Case> cases = {
      {{4, 8, 8}, R"([{"type": "relu"}, {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 3, "in_features": 100}])",
       "layers[3]: in_features is 100 but the input has 256 features"},
      {{4, 8, 8}, at_index_3(R"({"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel": 3})"),
       "layers[3]: in_channels is 3 but the input is 4x8x8 (4 channels)"},
      {{4, 8, 8}, at_index_3(R"({"type": "conv2d", "out_channels": 6, "kernel": 3, "groups": 4})"),
       "layers[3]: groups = 4 must divide both the input channels (4) and out_channels (6)"},
      {{4, 8, 8}, at_index_3(R"({"type": "conv2d", "out_channels": 4, "kernel": 9})"),
       "layers[3]: the kernel (9x9, dilation 1) does not fit the padded input 4x8x8"},
      {{4, 8, 8}, at_index_3(R"({"type": "batchnorm2d", "num_features": 3})"),
       "layers[3]: num_features is 3 but the input is"},
      {{4, 8, 8}, at_index_3(R"({"type": "maxpool2d", "kernel": 2, "padding": 2})"), "layers[3]: maxpool2d on input 4x8x8: "},
      {{4, 8, 8}, R"([{"type": "residual", "body": [{"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1}]}])",
       "layers[0]: the body maps 4x8x8 to 6x8x8, so an identity shortcut cannot be added"},
      {{4, 8, 8}, R"([{"type": "residual", "body": [{"type": "conv2d", "out_channels": 6, "kernel": 3, "stride": 2, "padding": 1}],
                      "shortcut": {"type": "projection", "stride": 1}}])",
       "layers[0]: the projection shortcut (stride 1) gives 6x8x8 but the body gives 6x4x4"},
      // The shapes flow down the chain: 28 - 5 + 1 = 24, pooled to 12, so 8 * 12 * 12 = 1152.
      {{1, 28, 28}, R"([{"type": "conv2d", "out_channels": 8, "kernel": 5}, {"type": "maxpool2d", "kernel": 2},
                        {"type": "flatten"}, {"type": "linear", "out_features": 10, "in_features": 1000}])",
       "layers[3]: in_features is 1000 but the input has 1152 features"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.layers);
    test::expect_error([&] { build(c.input, c.layers); }, ErrorCode::format, c.expected);
  }
}

}  // namespace
}  // namespace detnn::layers
