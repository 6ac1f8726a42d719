// Sweep parameter names are paths into the model file ("optimizer.lr", "training.batch_size",
// "layers[0].out_channels", "data.augment.horizontal_flip"): setting one value in a model file's
// JSON, and making the file's relative paths absolute so a trial's copy of it, written elsewhere,
// still names the same data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainer::sweep {

struct PathStep {
  std::string key;     // an object key, or "" for an array index
  int64_t index = -1;  // an array index, or -1 for a key
};

// The steps of a path; std::invalid_argument saying what is wrong with its syntax.
std::vector<PathStep> parse_model_path(const std::string& path);

// Sets the value at `path`, creating missing object keys on the way; std::invalid_argument when
// the path crosses a value that is not an object or array, or an index past an array's end
// ("layers[7]: the model file's \"layers\" has 5 entries").
void set_model_value(nlohmann::json& model, const std::string& path, const nlohmann::json& value);

// Rewrites the relative file paths of a model file (init_weights; the train and validation
// sources' images, labels, files, dir) against `base_dir`, where the model file was.
void make_paths_absolute(nlohmann::json& model, const std::filesystem::path& base_dir);

}  // namespace trainer::sweep
