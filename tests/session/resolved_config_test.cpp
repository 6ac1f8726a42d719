// The resolved configuration a run records in config.json: the model file with every default
// written out (docs/trainer.md), layers included (issue 20, item 15: the layers were recorded as
// written).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "session/model_file.h"

namespace detnn {
namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ResolvedConfig, EveryLayerDefaultIsWrittenOut) {
  const ModelSpec spec = parse_model_file(std::string(DETNN_SOURCE_DIR) + "/examples/mnist_cnn.json");
  const nlohmann::json config = resolved_config(spec);
  const nlohmann::json& conv = config.at("layers").at(0);
  // Written in the file: type, out_channels, kernel, padding. The rest are PyTorch's defaults.
  EXPECT_EQ(conv.at("out_channels"), 32);
  EXPECT_EQ(conv.at("in_channels"), 1);  // from the input shape
  EXPECT_EQ(conv.at("stride"), 1);
  EXPECT_EQ(conv.at("dilation"), 1);
  EXPECT_EQ(conv.at("groups"), 1);
  EXPECT_EQ(conv.at("bias"), true);
  EXPECT_EQ(conv.at("init"), "torch_default_weight");
  EXPECT_EQ(conv.at("bias_init"), "torch_default_bias");
  for (const nlohmann::json& layer : config.at("layers")) {
    if (layer.at("type") == "dropout") EXPECT_TRUE(layer.contains("p")) << layer.dump();
    if (layer.at("type") == "maxpool2d") EXPECT_TRUE(layer.contains("stride")) << layer.dump();
  }
}

// Residual blocks resolve their body and their shortcut, and the resolved configuration is a
// model file of its own: parsed again it gives the same network and the same resolved text.
TEST(ResolvedConfig, IsAModelFileThatResolvesToItself) {
  for (const char* name : {"examples/mnist_cnn.json", "examples/resnet18_cifar.json", "tests/data/models/every_layer.json"}) {
    SCOPED_TRACE(name);
    const std::string path = std::string(DETNN_SOURCE_DIR) + "/" + name;
    const ModelSpec spec = parse_model_text(file_text(path), path, std::string(DETNN_SOURCE_DIR) + "/examples");
    const nlohmann::json config = resolved_config(spec);
    nlohmann::json as_model = config;
    as_model.erase("data");  // its paths are resolved against the examples folder already
    const ModelSpec again = parse_model_text(as_model.dump(), "resolved.json", ".");
    EXPECT_EQ(again.parameter_count, spec.parameter_count);
    EXPECT_EQ(resolved_config(again).at("layers"), config.at("layers"));
  }
  const ModelSpec resnet =
      parse_model_file(std::string(DETNN_SOURCE_DIR) + "/examples/resnet18_cifar.json");
  bool saw_identity = false, saw_projection = false;
  const nlohmann::json resnet_config = resolved_config(resnet);
  for (const nlohmann::json& layer : resnet_config.at("layers")) {
    if (layer.at("type") != "residual") continue;
    EXPECT_TRUE(layer.at("body").at(0).contains("stride")) << layer.dump();
    const nlohmann::json& shortcut = layer.at("shortcut");
    if (shortcut == "identity") saw_identity = true;
    if (shortcut.is_object() && shortcut.at("type") == "projection" && shortcut.contains("stride")) saw_projection = true;
  }
  EXPECT_TRUE(saw_identity);
  EXPECT_TRUE(saw_projection);
}

}  // namespace
}  // namespace detnn
