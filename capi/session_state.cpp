// The C API: a session's checkpoints and parameters.
#include <set>

#include "capi/handles.h"

using detnn::c_api_detail::CpuComputeScope;
using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

namespace {

const detnn::layers::TensorEntry& parameter_at(const detnn_session* session, int64_t index, const char* function) {
  const auto& params = session->session->parameters();
  DETNN_CHECK(index >= 0 && index < static_cast<int64_t>(params.size()), invalid_argument, function, ": index ",
              index, " is out of range, the model has ", params.size(), " parameter tensors");
  return params[static_cast<size_t>(index)];
}

}  // namespace

extern "C" {

detnn_status detnn_session_save_checkpoint(detnn_session* session, const char* path, int64_t epoch,
                                           int64_t batch_in_epoch) {
  return guarded([&] {
    require(session, "detnn_session_save_checkpoint", "session");
    require(path, "detnn_session_save_checkpoint", "path");
    detnn::CheckpointInfo info;
    info.epoch = epoch;
    info.batch_in_epoch = batch_in_epoch;
    info.metadata = session->extra_metadata;
    CpuComputeScope scope(*session->session);
    detnn::save_checkpoint(*session->session, path, info);
  });
}

detnn_status detnn_session_load_checkpoint(detnn_session* session, const char* path) {
  return guarded([&] {
    require(session, "detnn_session_load_checkpoint", "session");
    require(path, "detnn_session_load_checkpoint", "path");
    CpuComputeScope scope(*session->session);
    session->loaded = detnn::load_checkpoint(*session->session, path, /*check_model=*/true);
  });
}

detnn_status detnn_session_load_checkpoint_unchecked(detnn_session* session, const char* path) {
  return guarded([&] {
    require(session, "detnn_session_load_checkpoint_unchecked", "session");
    require(path, "detnn_session_load_checkpoint_unchecked", "path");
    CpuComputeScope scope(*session->session);
    session->loaded = detnn::load_checkpoint(*session->session, path, /*check_model=*/false);
  });
}

detnn_status detnn_session_checkpoint_position(const detnn_session* session, int64_t* step, int64_t* epoch,
                                               int64_t* batch_in_epoch) {
  return guarded([&] {
    require(session, "detnn_session_checkpoint_position", "session");
    require(step, "detnn_session_checkpoint_position", "step");
    require(epoch, "detnn_session_checkpoint_position", "epoch");
    require(batch_in_epoch, "detnn_session_checkpoint_position", "batch_in_epoch");
    *step = session->loaded.step;
    *epoch = session->loaded.epoch;
    *batch_in_epoch = session->loaded.batch_in_epoch;
  });
}

detnn_status detnn_session_checkpoint_metadata(const detnn_session* session, const char* key, const char** value) {
  return guarded([&] {
    require(session, "detnn_session_checkpoint_metadata", "session");
    require(key, "detnn_session_checkpoint_metadata", "key");
    require(value, "detnn_session_checkpoint_metadata", "value");
    auto it = session->loaded.metadata.find(key);
    DETNN_CHECK(it != session->loaded.metadata.end(), invalid_argument, "detnn_session_checkpoint_metadata: ",
                session->loaded.metadata.empty() ? "no checkpoint was loaded into this session"
                                                 : std::string("the loaded checkpoint has no key \"") + key + "\"");
    *value = it->second.c_str();
  });
}

detnn_status detnn_session_set_checkpoint_metadata(detnn_session* session, const char* key, const char* value) {
  return guarded([&] {
    require(session, "detnn_session_set_checkpoint_metadata", "session");
    require(key, "detnn_session_set_checkpoint_metadata", "key");
    require(value, "detnn_session_set_checkpoint_metadata", "value");
    static const std::set<std::string> reserved = {"format", "step", "epoch", "batch_in_epoch", "seed",
                                                   "determinism", "precision", "kernel_choices",
                                                   "model_sha256", "detnn_version", "detnn_commit",
                                                   "numerics_contract", "tensor_sha256"};
    DETNN_CHECK(reserved.count(key) == 0, invalid_argument, "detnn_session_set_checkpoint_metadata: \"", key,
                "\" is written by detnn itself");
    session->extra_metadata[key] = value;
  });
}

detnn_status detnn_session_parameter_tensor_count(const detnn_session* session, int64_t* out) {
  return guarded([&] {
    require(session, "detnn_session_parameter_tensor_count", "session");
    require(out, "detnn_session_parameter_tensor_count", "out");
    *out = static_cast<int64_t>(session->session->parameters().size());
  });
}

detnn_status detnn_session_parameter_name(const detnn_session* session, int64_t index, const char** out) {
  return guarded([&] {
    require(session, "detnn_session_parameter_name", "session");
    require(out, "detnn_session_parameter_name", "out");
    *out = parameter_at(session, index, "detnn_session_parameter_name").name.c_str();
  });
}

detnn_status detnn_session_parameter_size(const detnn_session* session, int64_t index, int64_t* out) {
  return guarded([&] {
    require(session, "detnn_session_parameter_size", "session");
    require(out, "detnn_session_parameter_size", "out");
    *out = parameter_at(session, index, "detnn_session_parameter_size").size;
  });
}

detnn_status detnn_session_parameter_shape(const detnn_session* session, int64_t index, int64_t* dims, int max_dims,
                                           int* ndims) {
  return guarded([&] {
    require(session, "detnn_session_parameter_shape", "session");
    require(dims, "detnn_session_parameter_shape", "dims");
    require(ndims, "detnn_session_parameter_shape", "ndims");
    const auto& e = parameter_at(session, index, "detnn_session_parameter_shape");
    const int rank = static_cast<int>(e.shape.size());
    DETNN_CHECK(rank <= max_dims, invalid_argument, "detnn_session_parameter_shape: ", e.name, " has ", rank,
                " dimensions, max_dims is ", max_dims);
    for (int i = 0; i < rank; ++i) dims[i] = e.shape[static_cast<size_t>(i)];
    *ndims = rank;
  });
}

detnn_status detnn_session_get_parameter(detnn_session* session, const char* name, float* out, int64_t count) {
  return guarded([&] {
    require(session, "detnn_session_get_parameter", "session");
    require(name, "detnn_session_get_parameter", "name");
    require(out, "detnn_session_get_parameter", "out");
    CpuComputeScope scope(*session->session);
    session->session->read_parameter(name, out, count);
  });
}

detnn_status detnn_session_set_parameter(detnn_session* session, const char* name, const float* values,
                                         int64_t count) {
  return guarded([&] {
    require(session, "detnn_session_set_parameter", "session");
    require(name, "detnn_session_set_parameter", "name");
    require(values, "detnn_session_set_parameter", "values");
    CpuComputeScope scope(*session->session);
    session->session->write_parameter(name, values, count);
  });
}

}  // extern "C"
