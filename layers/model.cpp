#include "layers/model.h"

#include <set>

#include "layers/registry.h"
#include "runtime/error.h"

namespace detnn::layers {

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
    params_.push_back({s->name, s->shape, offset, s->size()});
    offset += s->size();
  }
  param_count_ = offset;
  int64_t buffer_floats = 0;
  for (BufferSlot* s : buffer_slots_) {
    DETNN_CHECK(names.insert(s->name).second, internal, "two tensors are named ", s->name);
    buffers_.push_back({s->name, s->shape, buffer_floats, s->size()});
    buffer_floats += s->size();
  }

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
