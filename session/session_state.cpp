// The session's named state: what checkpoints and init_weights files hold.
#include <cstring>
#include <map>
#include <set>

#include "runtime/io/sha256.h"
#include "session/session.h"
#include "session/session_device.h"

namespace detnn {

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Copies the named entries of `tensors` into `flat` (host floats), checking that each entry is
// present exactly once with its shape. Names in `tensors` not in `entries` are left to the caller.
void fill_from(const std::vector<layers::TensorEntry>& entries, const std::map<std::string, const NamedTensor*>& by_name,
               std::vector<float>& flat, const std::string& source) {
  for (const layers::TensorEntry& e : entries) {
    auto it = by_name.find(e.name);
    DETNN_CHECK(it != by_name.end(), format, source, ": tensor ", e.name, " ", shape_string(e.shape),
                " is missing");
    DETNN_CHECK(it->second->shape == e.shape, format, source, ": tensor ", e.name, " has shape ",
                shape_string(it->second->shape), " but the model needs ", shape_string(e.shape));
    DETNN_CHECK(static_cast<int64_t>(it->second->values.size()) == e.size, format, source, ": tensor ", e.name,
                " holds ", it->second->values.size(), " values, expected ", e.size);
    std::memcpy(flat.data() + e.offset, it->second->values.data(), e.size * sizeof(float));
  }
}

std::map<std::string, const NamedTensor*> index_by_name(const std::vector<NamedTensor>& tensors,
                                                        const std::string& source) {
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : tensors)
    DETNN_CHECK(by_name.emplace(t.name, &t).second, format, source, ": tensor ", cut_for_message(t.name, 100),
                " appears twice");
  return by_name;
}

void upload_into(Tensor& dst, const std::vector<float>& values) {
  if (values.empty()) return;
  const Tensor h = Tensor::from_host(dst.shape(), DType::f32, values.data(), values.size() * sizeof(float));
  dst.copy_from(h);
}

}  // namespace

std::string Session::state_sha256() {
  // Each tensor as: name, NUL, rank and dims (int64), then its floats; then the step (int64).
  // Names and shapes are in, so that state moved between tensors changes the digest too.
  std::vector<uint8_t> bytes;
  auto append = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  };
  for (const NamedTensor& t : state_tensors()) {
    append(t.name.c_str(), t.name.size() + 1);
    const int64_t rank = static_cast<int64_t>(t.shape.size());
    append(&rank, sizeof rank);
    append(t.shape.data(), t.shape.size() * sizeof(int64_t));
    append(t.values.data(), t.values.size() * sizeof(float));
  }
  append(&steps_, sizeof steps_);
  return sha256_hex(bytes);
}

std::vector<NamedTensor> Session::state_tensors() {
  session_device::select(device_);
  std::vector<NamedTensor> out;
  const std::vector<float> params = session_device::download(model_->flat_params());
  for (const auto& e : model_->params())
    out.push_back({e.name, e.shape, std::vector<float>(params.begin() + e.offset, params.begin() + e.offset + e.size)});
  const std::vector<float> buffers = session_device::download(model_->flat_buffers());
  for (const auto& e : model_->buffers())
    out.push_back({e.name, e.shape, std::vector<float>(buffers.begin() + e.offset, buffers.begin() + e.offset + e.size)});
  for (auto& [name, tensor] : optimizer_->state_tensors())
    out.push_back({name, {tensor->numel()}, session_device::download(*tensor)});
  return out;
}

void Session::load_state_tensors(const std::vector<NamedTensor>& tensors, const std::string& source) {
  session_device::select(device_);
  const auto by_name = index_by_name(tensors, source);
  std::set<std::string> known;
  std::vector<float> params(static_cast<size_t>(model_->param_count()));
  fill_from(model_->params(), by_name, params, source);
  std::vector<float> buffers(static_cast<size_t>(model_->flat_buffers().numel()));
  fill_from(model_->buffers(), by_name, buffers, source);
  for (const auto& e : model_->params()) known.insert(e.name);
  for (const auto& e : model_->buffers()) known.insert(e.name);
  std::vector<std::pair<Tensor*, const NamedTensor*>> optimizer_state;
  for (auto& [name, tensor] : optimizer_->state_tensors()) {
    auto it = by_name.find(name);
    DETNN_CHECK(it != by_name.end(), format, source, ": optimizer state ", name, " is missing (was it saved with "
                "another optimizer? this model uses ", optimizer_->spec().type, ")");
    DETNN_CHECK(it->second->shape == std::vector<int64_t>{tensor->numel()}, format, source, ": optimizer state ",
                name, " has shape ", shape_string(it->second->shape), ", expected [", tensor->numel(), "]");
    optimizer_state.emplace_back(tensor, it->second);
    known.insert(name);
  }
  for (const auto& [name, t] : by_name)
    DETNN_CHECK(known.count(name) == 1, format, source, ": tensor ", cut_for_message(name, 100), " ",
                shape_string(t->shape), " does not belong to this model (was the checkpoint written for another model file?)");
  // Everything checked: only now replace the state, so a bad file leaves the session unchanged.
  upload_into(model_->flat_params(), params);
  upload_into(model_->flat_buffers(), buffers);
  for (auto& [tensor, named] : optimizer_state) upload_into(*tensor, named->values);
}

void Session::load_parameters(const std::vector<NamedTensor>& tensors, const std::string& source) {
  session_device::select(device_);
  const auto by_name = index_by_name(tensors, source);
  std::vector<float> params(static_cast<size_t>(model_->param_count()));
  fill_from(model_->params(), by_name, params, source);
  std::set<std::string> known;
  for (const auto& e : model_->params()) known.insert(e.name);
  for (const auto& [name, t] : by_name)
    DETNN_CHECK(known.count(name) == 1, format, source, ": tensor ", cut_for_message(name, 100), " ",
                shape_string(t->shape), " is not a parameter of this model");
  upload_into(model_->flat_params(), params);
}

namespace {
const layers::TensorEntry& find_param(const std::vector<layers::TensorEntry>& params, const std::string& name) {
  for (const auto& e : params)
    if (e.name == name) return e;
  std::string known;
  for (const auto& e : params) known += (known.empty() ? "" : ", ") + e.name;
  DETNN_THROW(invalid_argument, "no parameter named \"", name, "\" (the model has: ", known, ")");
}
}  // namespace

void Session::read_parameter(const std::string& name, float* out, int64_t count) {
  const layers::TensorEntry& e = find_param(model_->params(), name);
  DETNN_CHECK(count == e.size && out != nullptr, invalid_argument, "read_parameter ", name, ": it has ", e.size,
              " values, the buffer holds ", count);
  session_device::select(device_);
  const std::vector<float> all = session_device::download(model_->flat_params());
  std::memcpy(out, all.data() + e.offset, e.size * sizeof(float));
}

void Session::write_parameter(const std::string& name, const float* values, int64_t count) {
  const layers::TensorEntry& e = find_param(model_->params(), name);
  DETNN_CHECK(count == e.size && values != nullptr, invalid_argument, "write_parameter ", name, ": it has ", e.size,
              " values, got ", count);
  session_device::select(device_);
  std::vector<float> all = session_device::download(model_->flat_params());
  std::memcpy(all.data() + e.offset, values, e.size * sizeof(float));
  upload_into(model_->flat_params(), all);
}

}  // namespace detnn
