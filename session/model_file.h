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
#include "session/training_settings.h"

namespace detnn {

struct LossSpec {
  std::string type = "softmax_cross_entropy";
  double label_smoothing = 0.0;  // in [0, 1]
};

struct ModelSpec {
  std::string name;
  std::string description;
  std::filesystem::path source;      // the model file ("" when parsed from a string)
  std::string source_sha256;         // SHA-256 (hex) of the model file's bytes
  layers::FeatureShape input;
  nlohmann::json layers;             // as written; built by layers/model.h
  nlohmann::json resolved_layers;    // the same with every default written out (config.json)
  layers::FeatureShape output;               // the network's output shape (classes x 1 x 1)
  int64_t parameter_count = 0;
  // The input and every top-level layer's output, per sample: what one sample of a training pass
  // keeps for the backward pass, at least (the session's memory check before it allocates).
  int64_t activation_values_per_sample = 0;
  // One entry per top-level layer: {"index", "type", "output": [c, h, w], "parameters"} (reports).
  nlohmann::json layer_summary = nlohmann::json::array();
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

}  // namespace detnn
