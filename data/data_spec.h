// The model file's "data" section (docs/data-format.md, field by field) and loading it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"

namespace detnn::data {

enum class DataFormat { idx, cifar10, npy, image_folder, synthetic };
const char* data_format_name(DataFormat format);

// Where one dataset comes from; which fields count depends on the format.
struct SourceSpec {
  std::filesystem::path images, labels;          // idx, npy (resolved against the model file's folder)
  std::vector<std::filesystem::path> files;      // cifar10
  std::filesystem::path dir;                     // image_folder
  int64_t count = 0;                             // synthetic
  uint64_t seed = 0;                             // synthetic
  int64_t channels = 1, height = 28, width = 28;  // synthetic
};

struct DataSpec {
  std::string json_path = "data";  // where the spec came from, for load-time messages
  DataFormat format = DataFormat::idx;
  SourceSpec train;
  // Validation is either a seeded split of train (validation_count samples, may be 0) or,
  // when separate_validation is set, its own source in the same format.
  int64_t validation_count = 0;
  uint64_t validation_seed = 0;
  bool separate_validation = false;
  SourceSpec validation;
  int32_t classes = 0;  // 0: not given (1 + the largest label; 10 for cifar10 and synthetic)
  AugmentSpec augment;  // crop, flip, and the normalization (mean/std)
  int prefetch_threads = 2;
  int prefetch_depth = 4;
};

// Error(format) for a wrong type or unknown key, Error(invalid_argument) for an impossible
// value; each message starts with the JSON path, e.g.
//   data.normalize.std[0]: expected a positive number, got 0
DataSpec parse_data_spec(const nlohmann::json& j, const std::string& json_path, const std::filesystem::path& base_dir);

// Every field, defaults included, paths as resolved: parse_data_spec of it gives the same spec.
nlohmann::json to_json(const DataSpec& spec);

struct LoadedData {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;  // the same object as train when validation is a split
  std::vector<int64_t> train_indices, validation_indices;  // into *train and *validation
  // SHA-256 (hex) of "detnn-data-v1\ntrain <train fingerprint>\n" followed by
  // "validation <fingerprint>\n" for a separate set or "validation split <count> seed <seed>\n".
  std::string fingerprint;
};

// Reads the sets, splits, and checks the spec against the data (normalization per channel,
// matching shapes and class folders): errors name the spec's JSON path.
LoadedData load_data(const DataSpec& spec);

}  // namespace detnn::data
