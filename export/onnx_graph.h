// The ONNX graph of a detnn network (docs/interop.md): its resolved layers (the model's
// config.json) as ONNX nodes, the checkpoint's tensors as initializers under their detnn (PyTorch)
// names. One builder per export; a tensor the checkpoint lacks or holds at another size is an
// error that names it.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detnn/detnn.h"

namespace detnn::onnx_export {

// A refusal: the C API turns it into its status and message.
struct ExportError : std::runtime_error {
  ExportError(detnn_status status, const std::string& message) : std::runtime_error(message), status(status) {}
  detnn_status status;
};

struct TensorView {
  const float* values = nullptr;
  int64_t count = 0;
};

class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto& graph, const std::map<std::string, TensorView>& tensors, std::string checkpoint)
      : graph_(graph), tensors_(tensors), checkpoint_(std::move(checkpoint)) {}

  // The layers of `spec` (a resolved layer list) on `input` (C x H x W per sample); returns the
  // name of the last output. `flat` tells whether the tensor is [N, features] already.
  std::string sequence(const nlohmann::json& layers, const std::string& prefix, std::string input, bool& flat);

  // (x - mean) / std per channel, as the data pipeline normalizes.
  std::string normalization(const std::string& input, const std::vector<float>& mean, const std::vector<float>& std_dev);

  // A float initializer of the given shape (values copied).
  void initializer(const std::string& name, const std::vector<int64_t>& dims, const float* values);

 private:
  std::string layer(const nlohmann::json& spec, const std::string& name, const std::string& input, bool& flat);
  std::string conv(const nlohmann::json& spec, const std::string& name, const std::string& input);
  std::string linear(const nlohmann::json& spec, const std::string& name, const std::string& input, bool& flat);
  std::string batchnorm(const nlohmann::json& spec, const std::string& name, const std::string& input);
  std::string pool(const nlohmann::json& spec, const std::string& name, const std::string& input);
  std::string activation(const std::string& kind, const std::string& name, const std::string& input);
  std::string residual(const nlohmann::json& spec, const std::string& name, const std::string& input);
  // A parameter from the checkpoint by name, checked to hold `count` values.
  const float* parameter(const std::string& name, int64_t count);
  std::string scalar(const std::string& name, float value);
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output);

  onnx::GraphProto& graph_;
  const std::map<std::string, TensorView>& tensors_;
  std::string checkpoint_;
  std::map<std::string, int> used_names_;
};

}  // namespace detnn::onnx_export
