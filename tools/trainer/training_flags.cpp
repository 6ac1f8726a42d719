#include "training_flags.h"

namespace trainer {

namespace {

struct TrainingFlag {
  const char* flag;                   // "--cuda-graph"
  const char* name;                   // its key under "training": "cuda_graph"
  std::string TrainingFlags::*value;  // its text on the command line ("": not given)
  // For a resume of a run recorded before the key existed: the value that run used. nullptr: every
  // run's config.json has the key.
  const char* recorded_default;
};

// Every training override, once. Runs recorded before training.precision existed computed in
// FP32; runs recorded before training.cuda_graph existed ran eagerly.
constexpr TrainingFlag kTrainingFlags[] = {
    {"--epochs", "epochs", &TrainingFlags::epochs, nullptr},
    {"--seed", "seed", &TrainingFlags::seed, nullptr},
    {"--determinism", "determinism", &TrainingFlags::determinism, nullptr},
    {"--precision", "precision", &TrainingFlags::precision, "fp32"},
    {"--cuda-graph", "cuda_graph", &TrainingFlags::cuda_graph, "off"},
    {"--device", "device", &TrainingFlags::device, nullptr},
    {"--threads", "threads", &TrainingFlags::threads, nullptr},
};

std::string key_of(const TrainingFlag& f) { return std::string("training.") + f.name; }

// config.json's value as the text a flag would give: strings as they are, numbers as written.
std::string as_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

void apply_flags(api::Model& model, const TrainingFlags& flags) {
  for (const TrainingFlag& f : kTrainingFlags) {
    const std::string& value = flags.*f.value;
    if (!value.empty()) with_context(f.flag, [&] { model.set_option(key_of(f), value); });
  }
}

void apply_recorded(api::Model& model, const nlohmann::json& config, const std::string& config_path,
                    const TrainingFlags& flags) {
  const nlohmann::json& training = config.at("training");
  for (const TrainingFlag& f : kTrainingFlags) {
    if (!(flags.*f.value).empty()) continue;  // the command line's value wins
    const std::string value = f.recorded_default != nullptr && !training.contains(f.name)
                                  ? std::string(f.recorded_default)
                                  : as_text(training.at(f.name));
    with_context(config_path, [&] { model.set_option(key_of(f), value); });
  }
}

}  // namespace trainer
