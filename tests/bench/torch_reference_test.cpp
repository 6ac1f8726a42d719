// bench/torch_reference.py times PyTorch on "the same model" as detnn: this checks that it is,
// without PyTorch (CI has none). tests/bench/torch_model_parameters.py builds the script's model
// for each example against a recording stand-in of torch.nn and prints its parameter names and
// shapes; they must equal the detnn session's, tensor by tensor and in order, and the model must
// end in [classes, 1, 1]. A layer the script maps wrongly (a missing projection, a wrong flatten
// size, a bias too many) changes a name, a shape or the count.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "detnn/detnn.h"

namespace {

struct NamedShape {
  std::string name;
  std::vector<int64_t> shape;
  bool operator==(const NamedShape&) const = default;
};

std::string model_path(const std::string& name) {
  return std::string(DETNN_SOURCE_DIR) + "/examples/" + name + ".json";
}

// The script's model, through the stand-in: {"parameters": [[name, shape]...], "output": [c, h, w]}.
nlohmann::json torch_side(const std::string& model) {
  const std::string cmd = "python3 '" DETNN_SOURCE_DIR "/tests/bench/torch_model_parameters.py' '" DETNN_SOURCE_DIR
                          "' '" +
                          model + "' 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return nullptr;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << text;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j.is_discarded() ? nlohmann::json() : j;
}

// The detnn session's parameter tensors, in declaration order.
std::vector<NamedShape> detnn_side(const std::string& model_file, int64_t& classes) {
  detnn_context* context = nullptr;
  detnn_model* model = nullptr;
  detnn_session* session = nullptr;
  std::vector<NamedShape> out;
  EXPECT_EQ(detnn_context_create("cpu", "strict", 1, &context), DETNN_OK);
  EXPECT_EQ(detnn_model_load_file(model_file.c_str(), &model), DETNN_OK) << detnn_last_error();
  if (model != nullptr) {
    EXPECT_EQ(detnn_model_classes(model, &classes), DETNN_OK);
    EXPECT_EQ(detnn_session_create(context, model, &session), DETNN_OK) << detnn_last_error();
  }
  int64_t count = 0;
  if (session != nullptr) EXPECT_EQ(detnn_session_parameter_tensor_count(session, &count), DETNN_OK);
  for (int64_t i = 0; i < count; ++i) {
    const char* name = nullptr;
    int64_t dims[8] = {};
    int ndims = 0;
    EXPECT_EQ(detnn_session_parameter_name(session, i, &name), DETNN_OK);
    EXPECT_EQ(detnn_session_parameter_shape(session, i, dims, 8, &ndims), DETNN_OK);
    out.push_back({name != nullptr ? name : "", std::vector<int64_t>(dims, dims + ndims)});
  }
  detnn_session_destroy(session);
  detnn_model_destroy(model);
  detnn_context_destroy(context);
  return out;
}

class TorchReferenceModel : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchReferenceModel, HasDetnnsParametersAndOutput) {
  if (std::system("python3 -c 'import json' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  const std::string file = model_path(GetParam());
  int64_t classes = 0;
  const std::vector<NamedShape> expected = detnn_side(file, classes);
  ASSERT_FALSE(expected.empty());
  const nlohmann::json torch = torch_side(file);
  ASSERT_TRUE(torch.contains("parameters"));
  std::vector<NamedShape> got;
  for (const auto& p : torch["parameters"])
    got.push_back({p[0].get<std::string>(), p[1].get<std::vector<int64_t>>()});
  ASSERT_EQ(got.size(), expected.size())
      << "parameter tensors: PyTorch's model has " << got.size() << ", detnn's " << expected.size();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, expected[i].name) << "tensor " << i;
    EXPECT_EQ(got[i].shape, expected[i].shape) << expected[i].name;
  }
  EXPECT_EQ(torch["output"], nlohmann::json({classes, 1, 1}));
}

INSTANTIATE_TEST_SUITE_P(Examples, TorchReferenceModel,
                         ::testing::Values("mnist_cnn", "cifar_convnet", "resnet18_cifar"),
                         [](const auto& info) { return info.param; });

}  // namespace
