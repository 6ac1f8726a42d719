// The command-line flags that override the model file's "training" section (--epochs, --seed,
// --determinism, --precision, --cuda-graph, --device, --threads), each paired with its key in one
// table (training_flags.cpp) that `trainer`, `trainer --resume` and `trainer eval` all use. The
// values travel as text: the library parses and checks each key (detnn_model_set_option).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"

namespace trainer {

// Sets each training.* value the command line gives; a refused value is reported with its flag.
void apply_flags(api::Model& model, const TrainingFlags& flags);

// A resumed run keeps its recorded settings: each training.* key the command line does not give is
// set from the run's config.json (`config`, read from `config_path`). The seed and the epochs
// define the run; the device and the thread count never change strict bits.
void apply_recorded(api::Model& model, const nlohmann::json& config, const std::string& config_path,
                    const TrainingFlags& flags);

}  // namespace trainer
