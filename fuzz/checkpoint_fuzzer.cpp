// Checkpoint loading (session/checkpoint.h) on arbitrary bytes, into a session of a small model
// with a convolution, batch norm and AdamW (parameters, buffers and optimizer state): the
// safetensors layer, the metadata and its digests, the model/seed/contract checks, tensor names,
// shapes, non-finite values and digests. A refused load must leave the session unchanged.
//
// DETNN_FUZZ_WRITE_SEEDS=DIR writes the seed checkpoints of this model to DIR and exits: the
// corpus always matches the model and the build (fuzz/run-fuzzer does this first).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "session/checkpoint.h"
#include "session/model_file.h"

namespace {

constexpr const char* kModel = R"({
  "name": "fuzz_checkpoint", "input": [1, 6, 6],
  "layers": [
    {"type": "conv2d", "out_channels": 2, "kernel": 3},
    {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "flatten"},
    {"type": "linear", "out_features": 3}],
  "optimizer": {"type": "adamw", "lr": 0.01},
  "training": {"batch_size": 4, "chunk_size": 4, "epochs": 1, "seed": 7}
})";

detnn::Session& session() {
  static const std::unique_ptr<detnn::Session> s = [] {
    return std::make_unique<detnn::Session>(detnn::parse_model_text(kModel, "fuzz_checkpoint.json", "."));
  }();
  return *s;
}

void write_seeds(const std::filesystem::path& dir) {
  detnn::Session& s = session();
  detnn::save_checkpoint(s, (dir / "initial.safetensors").string(), {});
  // After two steps the AdamW moments and batch-norm statistics are no longer their initial values.
  std::vector<float> images(4 * 36);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 7) - 3.0f;
  const std::vector<int32_t> labels = {0, 1, 2, 1};
  for (int step = 0; step < 2; ++step) s.train_step(images.data(), labels.data(), 4);
  detnn::CheckpointInfo info;
  info.batch_in_epoch = 0;
  info.epoch = 2;
  info.metadata["data_fingerprint"] = "fuzz";
  detnn::save_checkpoint(s, (dir / "trained.safetensors").string(), info);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  detnn::fuzz::write_seeds_if_asked(write_seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  detnn::Session& s = session();
  const std::string before = s.state_sha256();
  bool loaded = false;
  detnn::fuzz::expect_clean_refusal([&] {
    const detnn::SafetensorsFile file = detnn::parse_safetensors(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    detnn::load_checkpoint_file(s, file, "fuzz.safetensors");
    loaded = true;
  });
  if (!loaded && s.state_sha256() != before) {
    std::fprintf(stderr, "fuzz: a refused checkpoint changed the session's state\n");
    std::abort();
  }
  return 0;
}
