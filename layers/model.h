// A model instance on one device: the layer tree built from the model file, every parameter in
// one flat buffer (declaration order) and every buffer (batch-norm running statistics) in
// another, so that the all-reduce and the optimizer update are one call each (DESIGN §5).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/engines.h"
#include "layers/sequential.h"

namespace detnn::layers {

struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;  // in floats, inside the flat buffer
  int64_t size = 0;
};

class Model {
 public:
  // Builds the layers of the model file's "layers" array for `device` and `mode` (each conv2d and
  // linear layer gets its engine now, layers/engines.h) and initializes the parameters from
  // `seed` (computed on the host, DESIGN §4). `stream` is the CUDA stream for the uploads (0 on
  // the CPU).
  Model(FeatureShape input, const nlohmann::json& layers, uint64_t seed, Device device, ComputeMode mode,
        uintptr_t stream = 0);

  Sequential& net() { return *net_; }
  Device device() const { return device_; }
  FeatureShape input_shape() const { return net_->input_shape(); }
  int64_t classes() const { return net_->output_shape().c; }

  const std::vector<TensorEntry>& params() const { return params_; }
  const std::vector<TensorEntry>& buffers() const { return buffers_; }
  int64_t param_count() const { return param_count_; }
  Tensor& flat_params() { return flat_params_; }
  Tensor& flat_buffers() { return flat_buffers_; }

  // Points each parameter's gradient partials at its region of `partials`, laid out parameter by
  // parameter: parameter i takes [chunks, size_i] at chunks * offset_i.
  void bind_grad_partials(float* partials, int64_t chunks);

 private:
  Device device_;
  std::unique_ptr<Sequential> net_;
  std::vector<ParamSlot*> param_slots_;
  std::vector<BufferSlot*> buffer_slots_;
  std::vector<TensorEntry> params_, buffers_;
  int64_t param_count_ = 0;
  Tensor flat_params_, flat_buffers_;
};

}  // namespace detnn::layers
