// The C API's read-only view of a checkpoint file (detnn_checkpoint_*): its tensors and metadata
// without a session, for tools that compare runs (trainer verify and diff).
#include "capi/handles.h"
#include "session/checkpoint.h"

using detnn::c_api_detail::guarded;

namespace {

const detnn::SafetensorsTensor& tensor_at(const detnn_checkpoint* c, int64_t index, const char* function) {
  DETNN_CHECK(c != nullptr, invalid_argument, function, ": checkpoint is NULL");
  const int64_t count = static_cast<int64_t>(c->file.tensors.size());
  DETNN_CHECK(index >= 0 && index < count, invalid_argument, function, ": index ", index, " is not in [0, ", count, ")");
  return c->file.tensors[static_cast<size_t>(index)];
}

}  // namespace

extern "C" {

detnn_status detnn_checkpoint_open(const char* path, detnn_checkpoint** out) {
  return guarded([&] {
    DETNN_CHECK(path != nullptr, invalid_argument, "detnn_checkpoint_open: path is NULL");
    DETNN_CHECK(out != nullptr, invalid_argument, "detnn_checkpoint_open: out is NULL");
    auto c = std::make_unique<detnn_checkpoint>();
    c->file = detnn::read_safetensors(path);
    // A detnn checkpoint (not a --save-init or step-trace file) has its metadata checked too.
    const auto format = c->file.metadata.find("format");
    if (c->file.metadata.count("metadata_sha256") ||
        (format != c->file.metadata.end() && format->second == detnn::kCheckpointFormat))
      detnn::checkpoint_info_of(c->file, path);
    for (const detnn::SafetensorsTensor& t : c->file.tensors)
      DETNN_CHECK(t.dtype == detnn::DType::f32, format, path, ": tensor ", t.name, " is ", detnn::dtype_name(t.dtype),
                  ", checkpoints hold F32");
    *out = c.release();
  });
}

void detnn_checkpoint_destroy(detnn_checkpoint* checkpoint) { delete checkpoint; }

detnn_status detnn_checkpoint_tensor_count(const detnn_checkpoint* checkpoint, int64_t* out) {
  return guarded([&] {
    DETNN_CHECK(checkpoint != nullptr && out != nullptr, invalid_argument,
                "detnn_checkpoint_tensor_count: checkpoint or out is NULL");
    *out = static_cast<int64_t>(checkpoint->file.tensors.size());
  });
}

detnn_status detnn_checkpoint_tensor(const detnn_checkpoint* checkpoint, int64_t index, const char** name,
                                     const float** values, int64_t* count) {
  return guarded([&] {
    const detnn::SafetensorsTensor& t = tensor_at(checkpoint, index, "detnn_checkpoint_tensor");
    DETNN_CHECK(name != nullptr && values != nullptr && count != nullptr, invalid_argument,
                "detnn_checkpoint_tensor: name, values or count is NULL");
    *name = t.name.c_str();
    *values = reinterpret_cast<const float*>(t.bytes.data());
    *count = t.element_count();
  });
}

detnn_status detnn_checkpoint_metadata(const detnn_checkpoint* checkpoint, const char* key, const char** value) {
  return guarded([&] {
    DETNN_CHECK(checkpoint != nullptr && key != nullptr && value != nullptr, invalid_argument,
                "detnn_checkpoint_metadata: checkpoint, key or value is NULL");
    const auto it = checkpoint->file.metadata.find(key);
    DETNN_CHECK(it != checkpoint->file.metadata.end(), invalid_argument, "checkpoint has no metadata key \"", key, "\"");
    *value = it->second.c_str();
  });
}

}  // extern "C"
