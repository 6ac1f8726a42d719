#include "layers/model.h"

#include <set>
#include <string>
#include <vector>

#include "layers/registry.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace detnn::layers {

namespace {

// The most values a model may hold: 2^36 floats (256 GiB), beyond any machine it could train on.
constexpr int64_t kMaxModelValues = int64_t{1} << 36;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t checked_size(const std::string& name, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape)
    DETNN_CHECK(d >= 0 && !__builtin_mul_overflow(n, d, &n) && n <= kMaxModelValues, format, name,
                ": a tensor of shape ", shape_text(shape), " is larger than a model may be (2^36 values)");
  return n;
}

int64_t checked_total(int64_t total, int64_t add, const char* what) {
  DETNN_CHECK(total + add <= kMaxModelValues, format, "the model has more than 2^36 ", what);
  return total + add;
}

// Parameters, their gradients and two optimizer states at least: refused before any allocation
// when the device cannot hold them.
void check_fits_in_memory(int64_t params, Device device) {
  check_fits_device_memory(4.0 * 4.0 * static_cast<double>(params), device,
                           "the model has " + std::to_string(params) +
                               " parameters: training them (parameters, gradients, optimizer state)");
}

}  // namespace

Model::Model(FeatureShape input, const nlohmann::json& layers, uint64_t seed, Device device, ComputeMode mode,
             uintptr_t stream)
    : device_(device) {
  net_ = build_sequence(layers, "layers", "layers", input, engine_for(device, mode));
  net_->collect_params(param_slots_);
  net_->collect_buffers(buffer_slots_);

  std::set<std::string> names;
  int64_t offset = 0;
  for (ParamSlot* s : param_slots_) {
    DETNN_CHECK(names.insert(s->name).second, internal, "two parameters are named ", s->name);
    const int64_t size = checked_size(s->name, s->shape);
    params_.push_back({s->name, s->shape, offset, size});
    offset = checked_total(offset, size, "parameters");
  }
  param_count_ = offset;
  int64_t buffer_floats = 0;
  for (BufferSlot* s : buffer_slots_) {
    DETNN_CHECK(names.insert(s->name).second, internal, "two tensors are named ", s->name);
    const int64_t size = checked_size(s->name, s->shape);
    buffers_.push_back({s->name, s->shape, buffer_floats, size});
    buffer_floats = checked_total(buffer_floats, size, "buffer values");
  }
  check_fits_in_memory(param_count_, device);

  // Initial values on the host, then one upload.
  Tensor host_params = Tensor::empty(Shape{param_count_}, DType::f32, Device::cpu());
  for (size_t i = 0; i < param_slots_.size(); ++i) {
    const ParamSlot& s = *param_slots_[i];
    init_parameter(s.init, s.name, s.shape, s.fan, seed, host_params.data<float>() + params_[i].offset);
  }
  Tensor host_buffers = Tensor::empty(Shape{buffer_floats}, DType::f32, Device::cpu());
  for (size_t i = 0; i < buffer_slots_.size(); ++i)
    std::fill_n(host_buffers.data<float>() + buffers_[i].offset, buffers_[i].size, buffer_slots_[i]->fill);
  if (device.is_cuda()) {
    flat_params_ = Tensor::empty(host_params.shape(), DType::f32, device, stream);
    flat_params_.copy_from(host_params);
    flat_buffers_ = Tensor::empty(host_buffers.shape(), DType::f32, device, stream);
    flat_buffers_.copy_from(host_buffers);
  } else {
    flat_params_ = host_params;
    flat_buffers_ = host_buffers;
  }
  for (size_t i = 0; i < param_slots_.size(); ++i)
    param_slots_[i]->data = flat_params_.data<float>() + params_[i].offset;
  for (size_t i = 0; i < buffer_slots_.size(); ++i)
    buffer_slots_[i]->data = flat_buffers_.data<float>() + buffers_[i].offset;
}

void Model::bind_grad_partials(float* partials, int64_t chunks) {
  for (size_t i = 0; i < param_slots_.size(); ++i)
    param_slots_[i]->grad_partials = partials + chunks * params_[i].offset;
}

}  // namespace detnn::layers
