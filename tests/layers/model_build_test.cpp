// layers::Model built from a "layers" array on its own, without a Session (DESIGN §7,
// docs/model-format.md). Proven for every registered layer type: the output shape of each
// layer (and of a forward call), the parameter and buffer names, shapes and offsets in the flat
// buffers in declaration order (PyTorch's shapes: conv [out, in/groups, kh, kw], linear
// [out, in], batch norm [C]), and the total parameter count.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "layers/model.h"
#include "layers/registry.h"
#include "support/session_test_util.h"

namespace detnn::layers {
namespace {

struct Expected {
  std::string name;
  std::vector<int64_t> shape;
};

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Checks the entries against `want`, in order, packed one after another from offset 0.
void expect_entries(const std::vector<TensorEntry>& got, const std::vector<Expected>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int64_t offset = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name) << what << " " << i;
    EXPECT_EQ(got[i].shape, want[i].shape) << what << " " << want[i].name;
    EXPECT_EQ(got[i].size, numel(want[i].shape)) << what << " " << want[i].name;
    EXPECT_EQ(got[i].offset, offset) << what << " " << want[i].name;
    offset += numel(want[i].shape);
  }
}

TEST(LayersModel, EveryLayerTypeHasItsShapesAndParameters) {
  // The session tests' model with every layer type, input 2 x 12 x 12.
  const nlohmann::json spec = nlohmann::json::parse(testing::every_layer_model_json());
  Model model({2, 12, 12}, spec.at("layers"), 7, Device::cpu(), ComputeMode{});
  const auto& layers = model.net().layers();
  // Every registered type appears, and each layer's output shape is the documented one.
  struct LayerWant {
    std::string type;
    FeatureShape out;
  };
  const std::vector<LayerWant> want = {
      {"conv2d", {8, 12, 12}},     {"batchnorm2d", {8, 12, 12}}, {"gelu", {8, 12, 12}},
      {"conv2d", {8, 12, 12}},     {"relu", {8, 12, 12}},        {"maxpool2d", {8, 6, 6}},
      {"residual", {12, 3, 3}},    {"residual", {12, 3, 3}},     {"avgpool2d", {12, 2, 2}},
      {"dropout", {12, 2, 2}},     {"global_avgpool", {12, 1, 1}}, {"flatten", {12, 1, 1}},
      {"linear", {16, 1, 1}},      {"gelu", {16, 1, 1}},         {"linear", {5, 1, 1}}};
  ASSERT_EQ(layers.size(), want.size());
  std::vector<std::string> types;
  FeatureShape in{2, 12, 12};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(layers[i]->type(), want[i].type) << i;
    EXPECT_EQ(layers[i]->name(), "layers." + std::to_string(i));
    EXPECT_EQ(layers[i]->input_shape(), in) << i;
    EXPECT_EQ(layers[i]->output_shape(), want[i].out) << i << " " << want[i].type << ": "
                                                      << layers[i]->output_shape().to_string();
    in = want[i].out;
    types.push_back(want[i].type);
  }
  for (const std::string& t : layer_types())
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << "layer type " << t << " is not covered";
  EXPECT_EQ(model.classes(), 5);

  expect_entries(model.params(),
                 {{"layers.0.weight", {8, 2, 3, 3}},
                  {"layers.0.bias", {8}},
                  {"layers.1.weight", {8}},
                  {"layers.1.bias", {8}},
                  {"layers.3.weight", {8, 4, 3, 3}},  // groups 2, no bias
                  {"layers.6.body.0.weight", {12, 8, 3, 3}},
                  {"layers.6.body.1.weight", {12}},
                  {"layers.6.body.1.bias", {12}},
                  {"layers.6.body.3.weight", {12, 12, 3, 3}},
                  {"layers.6.body.4.weight", {12}},
                  {"layers.6.body.4.bias", {12}},
                  {"layers.6.shortcut.0.weight", {12, 8, 1, 1}},  // the projection: 1x1 conv, no bias
                  {"layers.6.shortcut.1.weight", {12}},
                  {"layers.6.shortcut.1.bias", {12}},
                  {"layers.7.body.0.weight", {12, 12, 3, 3}},
                  {"layers.7.body.0.bias", {12}},
                  {"layers.12.weight", {16, 12}},
                  {"layers.12.bias", {16}},
                  {"layers.14.weight", {5, 16}},
                  {"layers.14.bias", {5}}},
                 "parameters");
  EXPECT_EQ(model.param_count(), 144 + 8 + 8 + 8 + 288 + 864 + 12 + 12 + 1296 + 12 + 12 + 96 + 12 + 12 + 1296 + 12 +
                                     192 + 16 + 80 + 5);
  EXPECT_EQ(model.flat_params().numel(), model.param_count());
  expect_entries(model.buffers(),
                 {{"layers.1.running_mean", {8}},
                  {"layers.1.running_var", {8}},
                  {"layers.6.body.1.running_mean", {12}},
                  {"layers.6.body.1.running_var", {12}},
                  {"layers.6.body.4.running_mean", {12}},
                  {"layers.6.body.4.running_var", {12}},
                  {"layers.6.shortcut.1.running_mean", {12}},
                  {"layers.6.shortcut.1.running_var", {12}}},
                 "buffers");
  // Running statistics start at mean 0, variance 1.
  const float* buffers = model.flat_buffers().data<float>();
  for (const TensorEntry& e : model.buffers())
    for (int64_t i = 0; i < e.size; ++i)
      ASSERT_EQ(buffers[e.offset + i], e.name.ends_with("running_var") ? 1.0f : 0.0f) << e.name;

  // A forward call of 3 samples gives [3, 5, 1, 1].
  const auto data = testing::synthetic_batches(3, 5, 2, 12, 12);
  const Tensor x = Tensor::from_host(Shape{3, 2, 12, 12}, DType::f32, data.images.data(), data.images.size() * 4);
  ExecContext ctx;
  ctx.device = Device::cpu();
  ctx.samples = 3;
  const Tensor y = model.net().forward(ctx, x);
  EXPECT_EQ(y.shape(), (Shape{3, 5, 1, 1})) << y.shape().to_string();
}

// Each layer type alone: the shapes its fields give (kernel, stride, padding, dilation as
// [h, w] pairs; pooling windows; flatten; linear with and without bias).
TEST(LayersModel, FieldsGiveTheDocumentedShapes) {
  struct Case {
    const char* layer;
    FeatureShape in, out;
    std::vector<Expected> params;
  };
  const std::vector<Case> cases = {
      {R"({"type": "conv2d", "out_channels": 6, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2], "dilation": [1, 2]})",
       {3, 9, 11}, {6, 5, 7}, {{"layers.0.weight", {6, 3, 3, 5}}, {"layers.0.bias", {6}}}},
      {R"({"type": "conv2d", "out_channels": 4, "kernel": 1, "groups": 4, "bias": false})",
       {4, 5, 5}, {4, 5, 5}, {{"layers.0.weight", {4, 1, 1, 1}}}},
      {R"({"type": "linear", "out_features": 3, "in_features": 20})", {20, 1, 1}, {3, 1, 1},
       {{"layers.0.weight", {3, 20}}, {"layers.0.bias", {3}}}},
      {R"({"type": "linear", "out_features": 2, "bias": false})", {7, 1, 1}, {2, 1, 1}, {{"layers.0.weight", {2, 7}}}},
      {R"({"type": "batchnorm2d", "num_features": 5})", {5, 4, 3}, {5, 4, 3},
       {{"layers.0.weight", {5}}, {"layers.0.bias", {5}}}},
      {R"({"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1})", {2, 9, 10}, {2, 5, 5}, {}},
      {R"({"type": "avgpool2d", "kernel": [2, 3]})", {2, 8, 9}, {2, 4, 3}, {}},
      {R"({"type": "global_avgpool"})", {6, 5, 4}, {6, 1, 1}, {}},
      {R"({"type": "flatten"})", {3, 4, 5}, {60, 1, 1}, {}},
      {R"({"type": "relu"})", {3, 4, 5}, {3, 4, 5}, {}},
      {R"({"type": "gelu", "approximate": "tanh"})", {3, 4, 5}, {3, 4, 5}, {}},
      {R"({"type": "dropout", "p": 0})", {3, 4, 5}, {3, 4, 5}, {}},
      {R"({"type": "residual", "body": [{"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1}],
           "activation": "gelu"})",
       {3, 6, 6}, {3, 6, 6}, {{"layers.0.body.0.weight", {3, 3, 3, 3}}, {"layers.0.body.0.bias", {3}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.layer);
    Model model(c.in, nlohmann::json::array({nlohmann::json::parse(c.layer)}), 1, Device::cpu(), ComputeMode{});
    EXPECT_EQ(model.input_shape(), c.in);
    EXPECT_EQ(model.net().output_shape(), c.out) << model.net().output_shape().to_string();
    expect_entries(model.params(), c.params, "parameters");
  }
}

}  // namespace
}  // namespace detnn::layers
