// The ONNX export (include/detnn/detnn_onnx.h, docs/interop.md), checked by ONNX Runtime: the three
// example models (mnist_cnn on real digits after a few training steps, the others on synthetic
// inputs) and a model with every layer type (grouped and dilated convolution, batch norm with
// trained running statistics, both GELUs, max/avg/global pooling, dropout, residual blocks with
// identity and projection shortcuts) give ONNX Runtime's logits within 1e-5 of detnn's, with a
// dynamic batch and with batch 1; the input normalization in the graph; the refusals.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "detnn/detnn.hpp"
#include "detnn/detnn_onnx.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;
namespace api = detnn::api;

constexpr const char* kEveryLayer = R"({"name": "every_layer", "input": [3, 12, 12],
  "layers": [
    {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 2, "dilation": 2},
    {"type": "batchnorm2d"}, {"type": "gelu", "approximate": "tanh"},
    {"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "groups": 4, "bias": false},
    {"type": "residual", "body": [{"type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}, {"type": "batchnorm2d"},
                                  {"type": "relu"}], "activation": "gelu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "residual", "body": [{"type": "conv2d", "out_channels": 16, "kernel": 3, "stride": 2, "padding": 1},
                                  {"type": "batchnorm2d"}], "shortcut": {"type": "projection", "stride": 2}, "activation": "relu"},
    {"type": "avgpool2d", "kernel": 2, "stride": 1, "padding": 1, "count_include_pad": false},
    {"type": "gelu"}, {"type": "dropout", "p": 0.2},
    {"type": "global_avgpool"}, {"type": "flatten"}, {"type": "linear", "out_features": 5}],
  "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
  "data": {"format": "synthetic", "train": {"count": 64, "shape": [3, 12, 12]}, "classes": 5,
           "normalize": {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}},
  "training": {"batch_size": 16, "chunk_size": 4, "seed": 3, "device": "cpu"}})";

// Deterministic stand-in inputs in [-2, 2).
std::vector<float> synthetic(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) * 0x1p-24f * 4.0f - 2.0f;
  }
  return v;
}

void write_floats(const fs::path& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()),
                                              static_cast<std::streamsize>(v.size() * sizeof(float)));
}

int run_check(const fs::path& onnx, const fs::path& inputs, const fs::path& logits, int64_t n, const api::Model& m) {
  int64_t c = 0, h = 0, w = 0;
  detnn_model_input_shape(m.get(), &c, &h, &w);
  const std::string cmd = std::string(DETNN_SOURCE_DIR) + "/.venv/bin/python " + DETNN_SOURCE_DIR +
                          "/tests/export/onnx_runtime_check.py " + onnx.string() + " " + inputs.string() + " " +
                          logits.string() + " " + std::to_string(n) + " " + std::to_string(c) + " " + std::to_string(h) +
                          " " + std::to_string(w) + " " + std::to_string(m.classes());
  return std::system(cmd.c_str());
}

// Trains `steps` steps (real data when `real_data`), checkpoints, and compares detnn's logits on
// eight inputs with ONNX Runtime's for a dynamic batch and for batch 1.
void check_export(api::Model& model, const fs::path& work, int steps, bool real_data) {
  model.set_option("training.device", "cpu");
  const api::Context ctx;
  api::Session session(ctx, model);
  const int64_t b = model.batch_size(), size = model.sample_size(), n = 8;
  std::vector<float> images = synthetic(static_cast<size_t>(b * size), 7);
  std::vector<int32_t> labels(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) labels[i] = static_cast<int32_t>(i % model.classes());
  std::vector<float> x = synthetic(static_cast<size_t>(n * size), 11);
  if (real_data) {
    const api::Data data(model);
    api::Loader loader(data, 0, 0, 1);
    std::vector<int32_t> unused(static_cast<size_t>(n));
    data.validation_batch(0, n, x.data(), unused.data());
    for (int s = 0; s < steps; ++s) {
      ASSERT_TRUE(loader.next(images.data(), labels.data()));
      session.train_step(images.data(), labels.data(), b);
    }
  } else {
    for (int s = 0; s < steps; ++s) session.train_step(images.data(), labels.data(), b);
  }
  const fs::path checkpoint = work / "checkpoint.safetensors";
  session.save_checkpoint(checkpoint.string(), 0, steps);
  const std::vector<float> logits = session.predict(x.data(), n, model.classes());
  write_floats(work / "inputs.f32", x);
  write_floats(work / "logits.f32", logits);
  for (const int64_t batch : {int64_t{0}, int64_t{1}}) {
    const fs::path onnx = work / (batch == 0 ? "dynamic.onnx" : "batch1.onnx");
    const detnn_onnx_options options{17, batch, 0};
    ASSERT_EQ(detnn_export_onnx(model.get(), checkpoint.c_str(), &options, onnx.c_str()), DETNN_OK)
        << detnn_onnx_last_error();
    EXPECT_EQ(run_check(onnx, work / "inputs.f32", work / "logits.f32", n, model), 0) << onnx;
  }
}

api::Model example(const char* name) {
  return api::Model::from_file(std::string(DETNN_SOURCE_DIR) + "/examples/" + name);
}

TEST(OnnxExport, MnistCnnOnRealDigitsAfterTraining) {
  api::Model m = example("mnist_cnn.json");
  check_export(m, fresh_temp_dir("onnx-mnist"), 3, true);
}

TEST(OnnxExport, CifarConvnet) {
  api::Model m = example("cifar_convnet.json");
  check_export(m, fresh_temp_dir("onnx-cifar"), 0, false);
}

TEST(OnnxExport, Resnet18Cifar) {
  api::Model m = example("resnet18_cifar.json");
  check_export(m, fresh_temp_dir("onnx-resnet18"), 0, false);
}

TEST(OnnxExport, EveryLayerTypeWithTrainedBatchNorm) {
  api::Model m = api::Model::from_json(kEveryLayer);
  check_export(m, fresh_temp_dir("onnx-every-layer"), 3, false);
}

TEST(OnnxExport, NormalizationInTheGraphTakesRawInputs) {
  const fs::path work = fresh_temp_dir("onnx-normalize");
  api::Model m = api::Model::from_json(kEveryLayer);
  const api::Context ctx;
  api::Session session(ctx, m);
  const int64_t n = 4, size = m.sample_size(), plane = size / 3;
  const std::vector<float> raw = [&] {
    std::vector<float> v = synthetic(static_cast<size_t>(n * size), 5);
    for (float& x : v) x = (x + 2.0f) / 4.0f;  // pixels in [0, 1)
    return v;
  }();
  const float mean[] = {0.5f, 0.4f, 0.3f}, sd[] = {0.2f, 0.25f, 0.3f};
  std::vector<float> normalized(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const size_t ch = (i / static_cast<size_t>(plane)) % 3;
    normalized[i] = (raw[i] - mean[ch]) / sd[ch];
  }
  const fs::path checkpoint = work / "c.safetensors";
  session.save_checkpoint(checkpoint.string(), 0, 0);
  write_floats(work / "raw.f32", raw);
  write_floats(work / "logits.f32", session.predict(normalized.data(), n, m.classes()));
  const detnn_onnx_options options{17, 0, 1};
  ASSERT_EQ(detnn_export_onnx(m.get(), checkpoint.c_str(), &options, (work / "n.onnx").c_str()), DETNN_OK)
      << detnn_onnx_last_error();
  EXPECT_EQ(run_check(work / "n.onnx", work / "raw.f32", work / "logits.f32", n, m), 0);
}

TEST(OnnxExport, RefusalsNameWhatAndLeaveNoFile) {
  const fs::path work = fresh_temp_dir("onnx-refusals");
  api::Model m = api::Model::from_json(kEveryLayer);
  const api::Context ctx;
  api::Session session(ctx, m);
  const fs::path checkpoint = work / "c.safetensors";
  session.save_checkpoint(checkpoint.string(), 0, 0);
  // A checkpoint of another model.
  api::Model mnist = example("mnist_cnn.json");
  const fs::path out = work / "x.onnx";
  EXPECT_EQ(detnn_export_onnx(mnist.get(), checkpoint.c_str(), nullptr, out.c_str()), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(detnn_onnx_last_error()),
            checkpoint.string() + ": tensor \"layers.0.weight\" holds 216 values, the model's needs 288 (a checkpoint of "
                                  "another model?)")
      << detnn_onnx_last_error();
  // An opset out of range, an unwritable path.
  const detnn_onnx_options old{11, 0, 0};
  EXPECT_EQ(detnn_export_onnx(m.get(), checkpoint.c_str(), &old, out.c_str()), DETNN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(detnn_onnx_last_error()).find("opset 11"), std::string::npos);
  EXPECT_EQ(detnn_export_onnx(m.get(), checkpoint.c_str(), nullptr, (work / "no" / "x.onnx").c_str()), DETNN_ERROR_IO);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(work)) EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);
  // The trainer's command says the same in one line, exit 1.
  const CommandResult r = run_trainer("export --model " + std::string(DETNN_SOURCE_DIR) + "/examples/mnist_cnn.json" +
                                      " --checkpoint " + checkpoint.string() + " --onnx " + out.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace detnn::testing
