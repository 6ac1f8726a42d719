// Helpers of the C API tests: a small model file, handles released by RAII, training on the
// synthetic data of synthetic_data.h. Everything goes through include/detnn/detnn.h.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "detnn/detnn.h"
#include "support/synthetic_data.h"

namespace detnn::capi_test {

inline constexpr uint64_t kDataSeed = 2024;

// A tiny conv net on 1 x 8 x 8 images, 4 classes, with batch norm (buffers in checkpoints) and
// an optimizer with state. Batch 64 in chunks of 8: 8 reduction chunks.
inline std::string model_json(const std::string& training_extra = "",
                              const std::string& optimizer = R"({"type": "sgd", "lr": 0.05, "momentum": 0.9})",
                              int conv_channels = 4) {
  return R"({"name": "capi-test", "input": [1, 8, 8], "layers": [
    {"type": "conv2d", "out_channels": )" +
         std::to_string(conv_channels) + R"(, "kernel": 3, "padding": 1},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
    {"type": "flatten"}, {"type": "linear", "out_features": 4}],
  "optimizer": )" + optimizer +
         R"(,
  "training": {"batch_size": 64, "chunk_size": 8, "seed": 11)" +
         training_extra + "}}\n";
}

struct ContextDeleter {
  void operator()(detnn_context* p) const { detnn_context_destroy(p); }
};
struct ModelDeleter {
  void operator()(detnn_model* p) const { detnn_model_destroy(p); }
};
struct SessionDeleter {
  void operator()(detnn_session* p) const { detnn_session_destroy(p); }
};
using ContextPtr = std::unique_ptr<detnn_context, ContextDeleter>;
using ModelPtr = std::unique_ptr<detnn_model, ModelDeleter>;
using SessionPtr = std::unique_ptr<detnn_session, SessionDeleter>;

// "status: message", for assertion output.
inline std::string describe(detnn_status st) {
  return std::string(detnn_status_string(st)) + ": " + detnn_last_error();
}

inline ContextPtr make_context(const char* device = nullptr, int threads = -1) {
  detnn_context* p = nullptr;
  const detnn_status st = detnn_context_create(device, nullptr, threads, &p);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return ContextPtr(p);
}

inline ModelPtr make_model(const std::string& json) {
  detnn_model* p = nullptr;
  const detnn_status st = detnn_model_load_json(json.c_str(), &p);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return ModelPtr(p);
}

inline SessionPtr make_session(const detnn_context* ctx, const detnn_model* model) {
  detnn_session* p = nullptr;
  const detnn_status st = detnn_session_create(ctx, model, &p);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return SessionPtr(p);
}

// A session of `json` on a default context (the model file's settings) or with `threads`.
inline SessionPtr session_for(const std::string& json, int threads = -1) {
  const ContextPtr ctx = make_context(nullptr, threads);
  const ModelPtr model = make_model(json);
  if (!ctx || !model) return nullptr;
  return make_session(ctx.get(), model.get());  // the session outlives both handles
}

// The whole training state's digest (weights, buffers, optimizer state, step): what bit-equality
// compares.
inline std::string state_sha(detnn_session* s) {
  char out[65] = {0};
  const detnn_status st = detnn_session_state_sha256(s, out);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return out;
}

// Trains steps [first, first + steps) on the synthetic batches; returns the state's SHA-256.
inline std::string train(detnn_session* s, int64_t first, int64_t steps, int64_t batch = 64) {
  std::vector<float> images(static_cast<size_t>(batch * SYNTH_SAMPLE));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int64_t step = first; step < first + steps; ++step) {
    synth_samples(kDataSeed, step * batch, batch, images.data(), labels.data());
    detnn_step_metrics m{};
    const detnn_status st = detnn_session_train_step(s, images.data(), labels.data(), batch, &m);
    EXPECT_EQ(st, DETNN_OK) << describe(st);
    if (st != DETNN_OK) return "";
    EXPECT_EQ(m.samples, batch);
  }
  return state_sha(s);
}

// A fresh folder under the system's temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("detnn-capi-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace detnn::capi_test
