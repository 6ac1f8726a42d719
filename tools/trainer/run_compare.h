// Reading run directories and comparing them: what trainer verify and trainer diff report
// (docs/reproducibility.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainer {

// One step's fingerprint from metrics.jsonl ({"type": "digest", ...}).
struct StepDigest {
  double loss = 0;
  std::string weights_digest;
};

// What a run directory holds, read back; throws TrainerError naming the directory and what is
// missing when it is not a run directory.
struct RunOnDisk {
  std::filesystem::path dir;
  nlohmann::json config, manifest;
  std::map<int64_t, StepDigest> digests;      // by step
  std::map<int64_t, std::string> epoch_states;  // epoch-end step -> state_sha256
};
RunOnDisk read_run(const std::filesystem::path& dir);

// The values that differ between two JSON documents, by JSON path ("optimizer.lr",
// "layers[3].kernel"); a key on one side only is a difference with null on the other.
struct JsonDifference {
  std::string path;
  nlohmann::json a, b;
};
std::vector<JsonDifference> json_differences(const nlohmann::json& a, const nlohmann::json& b,
                                             const std::string& path = "");

// The first step, among those both runs have, whose digest or loss differs.
struct Divergence {
  int64_t common_steps = 0;  // steps both runs logged, compared in order
  int64_t first_step = -1;   // -1: none differs
  StepDigest a, b;
};
Divergence first_divergence(const std::map<int64_t, StepDigest>& a, const std::map<int64_t, StepDigest>& b);

// Checkpoint tensors that differ: max |a - b|, max ulps, how many elements.
struct TensorDifference {
  std::string name;
  int64_t elements = 0, differing = 0;
  double max_abs = 0;
  uint64_t max_ulps = 0;
  std::string note;  // "only in A", "shapes differ"
};
std::vector<TensorDifference> checkpoint_differences(const std::filesystem::path& a, const std::filesystem::path& b);
// One tensor's values compared element by element (differing == 0: the same bits).
TensorDifference compare_values(const std::string& name, const float* a, const float* b, int64_t count);
// The checkpoint of `run` written at `step`, if it has one.
std::optional<std::filesystem::path> checkpoint_at_step(const std::filesystem::path& run, int64_t step);

std::string describe(const JsonDifference& d);
std::string describe(const TensorDifference& d);

}  // namespace trainer
