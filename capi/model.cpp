// The C API: detnn_model, a parsed and validated model file.
#include <cstring>
#include <filesystem>

#include "capi/handles.h"

using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

namespace {

void require_model(const detnn_model* model, const char* function, const void* out) {
  require(model, function, "model");
  require(out, function, "out");
}

}  // namespace

extern "C" {

detnn_status detnn_model_load_file(const char* path, detnn_model** out) {
  return guarded([&] {
    require(path, "detnn_model_load_file", "path");
    require(out, "detnn_model_load_file", "out");
    auto model = std::make_unique<detnn_model>();
    model->spec = detnn::parse_model_file(path);
    model->config_json = detnn::resolved_config(model->spec).dump(2);
    model->layers_json = model->spec.layer_summary.dump();
    *out = model.release();
  });
}

detnn_status detnn_model_load_json(const char* json, detnn_model** out) {
  return guarded([&] {
    require(json, "detnn_model_load_json", "json");
    require(out, "detnn_model_load_json", "out");
    auto model = std::make_unique<detnn_model>();
    model->spec = detnn::parse_model_text(json, "model JSON", std::filesystem::current_path());
    model->config_json = detnn::resolved_config(model->spec).dump(2);
    model->layers_json = model->spec.layer_summary.dump();
    *out = model.release();
  });
}

void detnn_model_destroy(detnn_model* model) { delete model; }

detnn_status detnn_model_name(const detnn_model* model, const char** out) {
  return guarded([&] {
    require_model(model, "detnn_model_name", out);
    *out = model->spec.name.c_str();
  });
}

detnn_status detnn_model_input_shape(const detnn_model* model, int64_t* channels, int64_t* height,
                                     int64_t* width) {
  return guarded([&] {
    require(model, "detnn_model_input_shape", "model");
    require(channels, "detnn_model_input_shape", "channels");
    require(height, "detnn_model_input_shape", "height");
    require(width, "detnn_model_input_shape", "width");
    *channels = model->spec.input.c;
    *height = model->spec.input.h;
    *width = model->spec.input.w;
  });
}

detnn_status detnn_model_classes(const detnn_model* model, int64_t* out) {
  return guarded([&] {
    require_model(model, "detnn_model_classes", out);
    *out = model->spec.output.c;
  });
}

detnn_status detnn_model_parameter_count(const detnn_model* model, int64_t* out) {
  return guarded([&] {
    require_model(model, "detnn_model_parameter_count", out);
    *out = model->spec.parameter_count;
  });
}

detnn_status detnn_model_batch_size(const detnn_model* model, int64_t* out) {
  return guarded([&] {
    require_model(model, "detnn_model_batch_size", out);
    *out = model->spec.training.batch_size;
  });
}

detnn_status detnn_model_sha256(const detnn_model* model, char out[65]) {
  return guarded([&] {
    require_model(model, "detnn_model_sha256", out);
    const std::string& h = model->spec.source_sha256;
    DETNN_CHECK(h.size() == 64, internal, "model hash has ", h.size(), " characters");
    std::memcpy(out, h.c_str(), 65);
  });
}

detnn_status detnn_model_config_json(const detnn_model* model, const char** out) {
  return guarded([&] {
    require_model(model, "detnn_model_config_json", out);
    *out = model->config_json.c_str();
  });
}

detnn_status detnn_model_layers_json(const detnn_model* model, const char** out) {
  return guarded([&] {
    require_model(model, "detnn_model_layers_json", out);
    *out = model->layers_json.c_str();
  });
}

detnn_status detnn_model_set_option(detnn_model* model, const char* key, const char* value) {
  return guarded([&] {
    require(model, "detnn_model_set_option", "model");
    require(key, "detnn_model_set_option", "key");
    require(value, "detnn_model_set_option", "value");
    detnn::TrainingOverrides change;
    try {
      change.set(key, value);
    } catch (const detnn::Error& e) {
      throw detnn::Error(e.code(), std::string("detnn_model_set_option: ") + e.what(), e.location());
    }
    change.apply_to(model->spec.training);
    model->config_json = detnn::resolved_config(model->spec).dump();
  });
}

}  // extern "C"
