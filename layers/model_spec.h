// The model file (docs/model-format.md): network, loss, optimizer, data and training settings in
// one JSON document (comments allowed). Parsing validates everything that can be checked without
// running anything — types, ranges, unknown keys, layer shapes — and names the JSON path of each
// problem; relative paths resolve against the model file's folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "data/data_spec.h"
#include "layers/layer.h"
#include "optim/optimizer.h"

namespace detnn::layers {

struct LossSpec {
  std::string type = "softmax_cross_entropy";
  double label_smoothing = 0.0;  // in [0, 1]
};

struct TrainingSpec {
  int64_t epochs = 1;
  int64_t batch_size = 32;      // the global batch B
  int64_t chunk_size = 32;      // reduction chunk C (DESIGN §3); B % C == 0
  uint64_t seed = 0;
  std::string determinism = "strict";  // strict | fast | off
  std::string precision = "fp32";      // fp32 | tf32 (TF32 tensor cores; fast and off only)
  std::string cuda_graph = "off";      // off | auto: capture the step's gradient pass (docs/cuda-graphs.md)
  std::string device = "cpu";          // cpu | cuda | cuda:N
  int64_t threads = 0;                 // CPU threads; 0: DETNN_NUM_THREADS or all cores
  int64_t chunks_per_pass = 0;         // gradient accumulation: chunks per forward/backward pass; 0: all
  int64_t eval_batch_size = 0;         // 0: the training batch size
  int64_t log_every = 10;              // steps between metrics lines (trainer)
};

struct ModelSpec {
  std::string name;
  std::string description;
  std::filesystem::path source;      // the model file ("" when parsed from a string)
  std::string source_sha256;         // SHA-256 (hex) of the model file's bytes
  FeatureShape input;
  nlohmann::json layers;             // as written; built by layers/model.h
  FeatureShape output;               // the network's output shape (classes x 1 x 1)
  int64_t parameter_count = 0;
  LossSpec loss;
  optim::OptimizerSpec optimizer;
  std::optional<data::DataSpec> data;
  TrainingSpec training;
  std::filesystem::path init_weights;  // empty: initialize from the seed
};

// Reads and parses a model file. Error(io) when it cannot be read; Error(format) naming the file
// and the byte offset (line, column) for invalid JSON, or the JSON path for invalid content.
ModelSpec parse_model_file(const std::filesystem::path& file);
// Parses a document; `source_name` prefixes messages, `base_dir` resolves relative paths.
ModelSpec parse_model_text(const std::string& text, const std::string& source_name,
                           const std::filesystem::path& base_dir);
ModelSpec parse_model_json(const nlohmann::json& doc, const std::filesystem::path& base_dir);

// The fully resolved configuration (every default written out), as recorded in run directories.
nlohmann::json resolved_config(const ModelSpec& spec);

}  // namespace detnn::layers
