// detnn — a small C++ RAII layer over the C API (include/detnn/detnn.h): handles owned by
// std::unique_ptr with their destroy function, and every failed status thrown as
// detnn::CApiError carrying the status and detnn_last_error(), except where a method says
// otherwise (Group::abort never throws; Session::checkpoint_metadata gives nullopt for a missing
// key). Header-only; uses only the C API. The handle classes (Context, Model, Session, Data,
// Loader, Group) live in detnn::api (detnn::api::Session), apart from the library's own C++ classes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "detnn/detnn.h"

namespace detnn {

// what() is "<status string>: <message>"; message() is detnn_last_error() alone, for callers that
// put their own context around it.
class CApiError : public std::runtime_error {
 public:
  CApiError(detnn_status status, const std::string& message, const std::string& location = {})
      : std::runtime_error(std::string(detnn_status_string(status)) + ": " + message),
        status_(status),
        message_(message),
        location_(location) {}
  detnn_status status() const { return status_; }
  const std::string& message() const { return message_; }
  // detnn_last_error_location(): where in detnn's source the call was refused ("" if unknown).
  const std::string& location() const { return location_; }

 private:
  detnn_status status_;
  std::string message_;
  std::string location_;
};

namespace api {

// Throws CApiError for anything but DETNN_OK.
inline void check(detnn_status status) {
  if (status != DETNN_OK) throw CApiError(status, detnn_last_error(), detnn_last_error_location());
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
struct CheckpointDeleter {
  void operator()(detnn_checkpoint* p) const { detnn_checkpoint_destroy(p); }
};
struct DataDeleter {
  void operator()(detnn_data* p) const { detnn_data_destroy(p); }
};
struct LoaderDeleter {
  void operator()(detnn_loader* p) const { detnn_loader_destroy(p); }
};
struct GroupDeleter {
  void operator()(detnn_group* p) const { detnn_group_destroy(p); }
};
}  // namespace handle_detail

inline std::string version() { return detnn_version(); }
inline int numerics_contract_version() { return detnn_numerics_contract_version(); }

// The environment fingerprint (detnn_environment_json) as a JSON document.
inline std::string environment_json() {
  const char* json = nullptr;
  check(detnn_environment_json(&json));
  return json;
}

inline int cuda_device_count() {
  int count = 0;
  check(detnn_cuda_device_count(&count));
  return count;
}

// The launcher's variables (torchrun-style or mpirun); world_size is 0 for a plain process.
struct LaunchEnvironment {
  int rank = 0, world_size = 0, local_rank = 0;
  std::string launcher;  // "torchrun", "mpirun", "srun"; "" when not launched
};
inline LaunchEnvironment launch_environment() {
  LaunchEnvironment env;
  check(detnn_launch_environment(&env.rank, &env.world_size, &env.local_rank));
  const char* launcher = "";
  check(detnn_launcher(&launcher));
  env.launcher = launcher;
  return env;
}

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
  // One "training.*" value as text, as a command-line flag would set it (detnn_model_set_option).
  void set_option(const std::string& key, const std::string& value) {
    check(detnn_model_set_option(get(), key.c_str(), value.c_str()));
  }
  // The resolved configuration, every default written out, as a JSON document.
  std::string config_json() const {
    const char* json = nullptr;
    check(detnn_model_config_json(get(), &json));
    return json;
  }
  // The top-level layers: type, output shape, parameter count (detnn_model_layers_json).
  std::string layers_json() const {
    const char* json = nullptr;
    check(detnn_model_layers_json(get(), &json));
    return json;
  }
  // Throws unless the global batch can be shared by `ranks` data-parallel ranks.
  void check_ranks(int ranks) const { check(detnn_model_check_ranks(get(), ranks)); }
  // Throws unless the learning-rate schedule works for a run of total_steps updates.
  void check_schedule(int64_t steps_per_epoch, int64_t total_steps) const {
    check(detnn_model_check_schedule(get(), steps_per_epoch, total_steps));
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

// The model file's data section, read and split with the model's seed and batch size as they are
// when it is loaded (set the overrides first).
class Data {
 public:
  explicit Data(const Model& model) {
    detnn_data* p = nullptr;
    check(detnn_data_load(model.get(), &p));
    handle_.reset(p);
  }
  detnn_data* get() const { return handle_.get(); }

  detnn_data_info info() const {
    detnn_data_info out{};
    check(detnn_data_get_info(get(), &out));
    return out;
  }
  std::string fingerprint() const {
    char out[65];
    check(detnn_data_fingerprint(get(), out));
    return out;
  }
  std::string description() const {
    const char* text = nullptr;
    check(detnn_data_description(get(), &text));
    return text;
  }
  // Validation samples [first, first + n) into images [n, C, H, W] and labels [n].
  void validation_batch(int64_t first, int64_t n, float* images, int32_t* labels) const {
    check(detnn_data_validation_batch(get(), first, n, images, labels));
  }

 private:
  std::unique_ptr<detnn_data, handle_detail::DataDeleter> handle_;
};

// Training batches from (start_epoch, start_batch) to the end of epoch end_epoch - 1. Destroy it
// before its Data.
class Loader {
 public:
  Loader(const Data& data, int64_t start_epoch, int64_t start_batch, int64_t end_epoch) {
    detnn_loader* p = nullptr;
    check(detnn_loader_create(data.get(), start_epoch, start_batch, end_epoch, &p));
    handle_.reset(p);
  }
  detnn_loader* get() const { return handle_.get(); }

  // The next batch into images [batch_size, C, H, W] and labels [batch_size], with its epoch and
  // batch index (either may be null); false, with nothing written, after the last.
  bool next(float* images, int32_t* labels, int64_t* epoch = nullptr, int64_t* batch_index = nullptr) {
    int done = 0;
    check(detnn_loader_next(get(), images, labels, epoch, batch_index, &done));
    return done == 0;
  }

 private:
  std::unique_ptr<detnn_loader, handle_detail::LoaderDeleter> handle_;
};

// The data-parallel ranks of a run, or the share of them this process drives. Its methods may be
// called from any thread.
class Group {
 public:
  // `ranks` ranks as threads of this process.
  static Group local(int ranks, double timeout_seconds) {
    detnn_group* p = nullptr;
    check(detnn_local_group_create(ranks, timeout_seconds, &p));
    return Group(p);
  }
  // One rank per listed CUDA device of this process: rank r trains on devices[r].
  static Group gpu(const std::vector<int>& devices, double timeout_seconds) {
    detnn_group* p = nullptr;
    check(detnn_gpu_group_create(devices.data(), static_cast<int>(devices.size()), timeout_seconds, &p));
    return Group(p);
  }
  // This process as one rank of a launched run; waits for every rank.
  static Group launched(bool cuda, double timeout_seconds) {
    detnn_group* p = nullptr;
    check(detnn_launched_group_create(cuda ? 1 : 0, timeout_seconds, &p));
    return Group(p);
  }
  detnn_group* get() const { return handle_.get(); }

  struct Info {
    int size = 0, first_local_rank = 0, local_ranks = 0;
  };
  Info info() const {
    Info out;
    check(detnn_group_info(get(), &out.size, &out.first_local_rank, &out.local_ranks));
    return out;
  }
  struct Placement {
    std::string host, device;  // device "" where the model's device is used
  };
  Placement rank_placement(int rank) const {
    const char* host = nullptr;
    const char* device = nullptr;
    check(detnn_group_rank_placement(get(), rank, &host, &device));
    return {host, device};
  }
  // Marks the group failed by `rank`: every rank's pending and later step fails with the message.
  // Never throws: it is called while handling another error, which is the one to report.
  void abort(int rank, const std::string& message) const noexcept {
    (void)detnn_group_abort(get(), rank, message.c_str());
  }
  // The group's first failure ("rank 1 failed: ..."), or "" while it is healthy.
  std::string failure() const {
    const char* message = nullptr;
    check(detnn_group_failure(get(), &message));
    return message;
  }

 private:
  explicit Group(detnn_group* p) : handle_(p) {}
  std::unique_ptr<detnn_group, handle_detail::GroupDeleter> handle_;
};

// Where the next step is in the data after a checkpoint load (all 0 before any load).
struct CheckpointPosition {
  int64_t step = 0, epoch = 0, batch_in_epoch = 0;
};

class Session {
 public:
  Session(const Context& context, const Model& model) {
    detnn_session* p = nullptr;
    check(detnn_session_create(context.get(), model.get(), &p));
    handle_.reset(p);
  }
  // Rank `rank` of the group (one this process drives), on the rank's device where the group has one.
  Session(const Context& context, const Model& model, const Group& group, int rank) {
    detnn_session* p = nullptr;
    check(detnn_session_create_rank(context.get(), model.get(), group.get(), rank, &p));
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
  // One observed gradient pass written to `path` (detnn_session_trace_step).
  void trace_step(const float* images, const int32_t* labels, int64_t batch, const std::string& path) {
    check(detnn_session_trace_step(get(), images, labels, batch, path.c_str()));
  }
  // The parameters' 64-bit digest (detnn_session_weights_digest), as 16 hex digits.
  std::string weights_digest() {
    uint64_t d = 0;
    check(detnn_session_weights_digest(get(), &d));
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(d));
    return out;
  }
  // The whole training state's digest (detnn_session_state_sha256): what bit-equality compares.
  std::string state_sha256() {
    char out[65];
    check(detnn_session_state_sha256(get(), out));
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
  // Without the model-file and seed checks (names and shapes are still checked).
  void load_checkpoint_unchecked(const std::string& path) {
    check(detnn_session_load_checkpoint_unchecked(get(), path.c_str()));
  }
  CheckpointPosition checkpoint_position() const {
    CheckpointPosition p;
    check(detnn_session_checkpoint_position(get(), &p.step, &p.epoch, &p.batch_in_epoch));
    return p;
  }
  // A metadata value of the last checkpoint loaded; nullopt when it has no such key.
  std::optional<std::string> checkpoint_metadata(const std::string& key) const {
    const char* value = nullptr;
    if (detnn_session_checkpoint_metadata(get(), key.c_str(), &value) != DETNN_OK) return std::nullopt;
    return std::string(value);
  }
  // Recorded in every checkpoint this session saves from now on.
  void set_checkpoint_metadata(const std::string& key, const std::string& value) {
    check(detnn_session_set_checkpoint_metadata(get(), key.c_str(), value.c_str()));
  }
  // The parameters only, in the layout the model file's "init_weights" reads.
  void save_parameters(const std::string& path) { check(detnn_session_save_parameters(get(), path.c_str())); }
  // A collective of the rank sessions: throws (DETNN_ERROR_COMM) on every rank unless all of them
  // hold rank 0's weights and step.
  void check_ranks_agree() { check(detnn_session_check_ranks_agree(get())); }

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

// A checkpoint file, read only (detnn_checkpoint_*).
class CheckpointFile {
 public:
  struct Tensor {
    std::string name;
    const float* values;
    int64_t count;
  };
  explicit CheckpointFile(const std::string& path) {
    detnn_checkpoint* p = nullptr;
    check(detnn_checkpoint_open(path.c_str(), &p));
    handle_.reset(p);
  }
  std::vector<Tensor> tensors() const {
    int64_t n = 0;
    check(detnn_checkpoint_tensor_count(handle_.get(), &n));
    std::vector<Tensor> out;
    for (int64_t i = 0; i < n; ++i) {
      const char* name = nullptr;
      const float* values = nullptr;
      int64_t count = 0;
      check(detnn_checkpoint_tensor(handle_.get(), i, &name, &values, &count));
      out.push_back({name, values, count});
    }
    return out;
  }
  std::optional<std::string> metadata(const std::string& key) const {
    const char* value = nullptr;
    if (detnn_checkpoint_metadata(handle_.get(), key.c_str(), &value) != DETNN_OK) return std::nullopt;
    return std::string(value);
  }

 private:
  std::unique_ptr<detnn_checkpoint, handle_detail::CheckpointDeleter> handle_;
};

}  // namespace api
}  // namespace detnn
