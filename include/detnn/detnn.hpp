// detnn — a small C++ RAII layer over the C API (include/detnn/detnn.h): handles owned by
// std::unique_ptr with their destroy function, and every failed status thrown as
// detnn::CApiError carrying the status and detnn_last_error(). Header-only; uses only the C API.
// The handle classes live in detnn::api (detnn::api::Session), apart from the library's own
// C++ classes.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "detnn/detnn.h"

namespace detnn {

class CApiError : public std::runtime_error {
 public:
  CApiError(detnn_status status, const std::string& message)
      : std::runtime_error(std::string(detnn_status_string(status)) + ": " + message), status_(status) {}
  detnn_status status() const { return status_; }

 private:
  detnn_status status_;
};

namespace api {

// Throws CApiError for anything but DETNN_OK.
inline void check(detnn_status status) {
  if (status != DETNN_OK) throw CApiError(status, detnn_last_error());
}

namespace handle_detail {
struct ContextDeleter {
  void operator()(detnn_context* p) const { detnn_context_destroy(p); }
};
struct ModelDeleter {
  void operator()(detnn_model* p) const { detnn_model_destroy(p); }
};
struct SessionDeleter {
  void operator()(detnn_session* p) const { detnn_session_destroy(p); }
};
}  // namespace handle_detail

class Context {
 public:
  // Empty strings and threads < 0 keep the model file's values.
  explicit Context(const std::string& device = "", const std::string& determinism = "", int threads = -1) {
    detnn_context* p = nullptr;
    check(detnn_context_create(device.c_str(), determinism.c_str(), threads, &p));
    handle_.reset(p);
  }
  detnn_context* get() const { return handle_.get(); }

 private:
  std::unique_ptr<detnn_context, handle_detail::ContextDeleter> handle_;
};

class Model {
 public:
  static Model from_file(const std::string& path) {
    detnn_model* p = nullptr;
    check(detnn_model_load_file(path.c_str(), &p));
    return Model(p);
  }
  static Model from_json(const std::string& json) {
    detnn_model* p = nullptr;
    check(detnn_model_load_json(json.c_str(), &p));
    return Model(p);
  }
  detnn_model* get() const { return handle_.get(); }

  std::string name() const {
    const char* s = nullptr;
    check(detnn_model_name(get(), &s));
    return s;
  }
  int64_t classes() const { return get_i64(detnn_model_classes); }
  int64_t parameter_count() const { return get_i64(detnn_model_parameter_count); }
  int64_t batch_size() const { return get_i64(detnn_model_batch_size); }
  // Floats per sample: channels * height * width.
  int64_t sample_size() const {
    int64_t c = 0, h = 0, w = 0;
    check(detnn_model_input_shape(get(), &c, &h, &w));
    return c * h * w;
  }
  std::string sha256() const {
    char out[65];
    check(detnn_model_sha256(get(), out));
    return out;
  }

 private:
  explicit Model(detnn_model* p) : handle_(p) {}
  int64_t get_i64(detnn_status (*f)(const detnn_model*, int64_t*)) const {
    int64_t v = 0;
    check(f(get(), &v));
    return v;
  }
  std::unique_ptr<detnn_model, handle_detail::ModelDeleter> handle_;
};

class Session {
 public:
  Session(const Context& context, const Model& model) {
    detnn_session* p = nullptr;
    check(detnn_session_create(context.get(), model.get(), &p));
    handle_.reset(p);
  }
  detnn_session* get() const { return handle_.get(); }

  void set_schedule(int64_t steps_per_epoch, int64_t total_steps) {
    check(detnn_session_set_schedule(get(), steps_per_epoch, total_steps));
  }
  detnn_step_metrics train_step(const float* images, const int32_t* labels, int64_t batch) {
    detnn_step_metrics m{};
    check(detnn_session_train_step(get(), images, labels, batch, &m));
    return m;
  }
  detnn_eval_metrics evaluate(const float* images, const int32_t* labels, int64_t n) {
    detnn_eval_metrics m{};
    check(detnn_session_evaluate(get(), images, labels, n, &m));
    return m;
  }
  std::vector<float> predict(const float* images, int64_t n, int64_t classes) {
    std::vector<float> logits(static_cast<size_t>(n * classes));
    check(detnn_session_predict(get(), images, n, logits.data(), n * classes));
    return logits;
  }
  std::string weights_sha256() {
    char out[65];
    check(detnn_session_weights_sha256(get(), out));
    return out;
  }
  int64_t steps_done() const {
    int64_t v = 0;
    check(detnn_session_steps_done(get(), &v));
    return v;
  }
  // The pinned cuDNN / cuBLASLt algorithms as JSON ("[]" in strict).
  std::string kernel_choices_json() {
    const char* json = nullptr;
    check(detnn_session_kernel_choices_json(get(), &json));
    return json;
  }
  // What training.cuda_graph came to ("replaying (N kernels per step)", "off: ...", ...).
  std::string cuda_graph_status() {
    const char* text = nullptr;
    check(detnn_session_cuda_graph_status(get(), &text));
    return text;
  }
  void save_checkpoint(const std::string& path, int64_t epoch, int64_t batch_in_epoch) {
    check(detnn_session_save_checkpoint(get(), path.c_str(), epoch, batch_in_epoch));
  }
  void load_checkpoint(const std::string& path) { check(detnn_session_load_checkpoint(get(), path.c_str())); }

  std::vector<std::string> parameter_names() const {
    int64_t n = 0;
    check(detnn_session_parameter_tensor_count(get(), &n));
    std::vector<std::string> names;
    for (int64_t i = 0; i < n; ++i) {
      const char* s = nullptr;
      check(detnn_session_parameter_name(get(), i, &s));
      names.emplace_back(s);
    }
    return names;
  }
  std::vector<float> get_parameter(const std::string& name) {
    const std::vector<std::string> names = parameter_names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != name) continue;
      int64_t size = 0;
      check(detnn_session_parameter_size(get(), static_cast<int64_t>(i), &size));
      std::vector<float> v(static_cast<size_t>(size));
      check(detnn_session_get_parameter(get(), name.c_str(), v.data(), size));
      return v;
    }
    // Let the C API produce its message (it lists the parameter names).
    float dummy = 0.0f;
    check(detnn_session_get_parameter(get(), name.c_str(), &dummy, 0));
    return {};
  }
  void set_parameter(const std::string& name, const std::vector<float>& values) {
    check(detnn_session_set_parameter(get(), name.c_str(), values.data(), static_cast<int64_t>(values.size())));
  }

 private:
  std::unique_ptr<detnn_session, handle_detail::SessionDeleter> handle_;
};

}  // namespace api
}  // namespace detnn
