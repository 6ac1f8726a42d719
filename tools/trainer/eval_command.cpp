// `trainer eval --model FILE --checkpoint FILE`: the checkpoint's loss and accuracy on the model
// file's validation data, as one JSON line.
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "training_flags.h"

namespace trainer {

int run_eval(const EvalOptions& o) {
  api::Model model = with_context("", [&] { return api::Model::from_file(o.model); });
  apply_flags(model, o.training);
  const api::Data data = with_context("data", [&] { return api::Data(model); });
  const detnn_data_info info = data.info();
  if (info.validation_samples == 0)
    throw TrainerError(o.model + ": the data section has no validation set to evaluate on");
  api::Session session = with_context("session", [&] { return api::Session(api::Context(), model); });
  // Evaluation needs the weights, not the run: the seed and an edited model file (say, another
  // data path) do not matter; the tensors' names and shapes are still checked.
  with_context("checkpoint", [&] { session.load_checkpoint_unchecked(o.checkpoint); });
  std::vector<float> images(static_cast<size_t>(info.validation_samples * info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(info.validation_samples));
  with_context("validation data",
               [&] { data.validation_batch(0, info.validation_samples, images.data(), labels.data()); });
  const detnn_eval_metrics ev = with_context(
      "evaluate", [&] { return session.evaluate(images.data(), labels.data(), info.validation_samples); });
  const api::CheckpointPosition at = session.checkpoint_position();
  const nlohmann::json out = {{"checkpoint", o.checkpoint}, {"step", at.step}, {"epoch", at.epoch},
                              {"samples", ev.samples}, {"loss", ev.loss},
                              {"accuracy", static_cast<double>(ev.correct) / ev.samples},
                              {"weights_sha256", session.weights_sha256()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace trainer
