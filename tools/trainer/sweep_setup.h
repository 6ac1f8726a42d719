// What `trainer sweep` runs: a new sweep read from its files and checked against the model file
// before any trial starts, or a resumed one read back from its sweep.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "sweep/proposer.h"
#include "sweep/sweep_config.h"

namespace trainer {

inline constexpr const char* kSweepFormat = "detnn-sweep-v1";
inline constexpr int64_t kDefaultRunCap = 10;  // random and bayes without run_cap or --run-cap

struct SweepPlan {
  std::filesystem::path dir;
  sweep::SweepConfig config;
  nlohmann::json base_model;  // the model file, its relative paths made absolute
  int64_t trial_count = 0;
  int parallel = 1;
  std::vector<std::string> slot_devices;  // the --device of each parallel slot ("": the model's)
  int threads_per_trial = 0;              // 0: the model's
  int64_t checkpoint_every = 0;
  bool resumed = false;
};

// Reads and checks the sweep and model files, creates the sweep directory and its sweep.json.
// Every error is one line naming the file, key path and line, before anything is written.
SweepPlan plan_new_sweep(const SweepOptions& o);
// Reads DIR/sweep.json; --parallel, --gpus and --threads may change (they never change results).
SweepPlan plan_resumed_sweep(const SweepOptions& o);

// A trial's model file: the base model with the trial's parameter values set.
nlohmann::json trial_model(const SweepPlan& plan, const sweep::TrialParameters& params);

}  // namespace trainer
