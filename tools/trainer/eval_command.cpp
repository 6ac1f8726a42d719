// `trainer eval --model FILE --checkpoint FILE`: the checkpoint's loss and accuracy on the model
// file's validation data, as one JSON line.
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "c_api_util.h"
#include "commands.h"

namespace trainer {

int run_eval(const EvalOptions& o) {
  detnn_model* raw_model = nullptr;
  check(detnn_model_load_file(o.model.c_str(), &raw_model), "model");
  Model model(raw_model);
  if (!o.device.empty()) check(detnn_model_set_option(model.get(), "training.device", o.device.c_str()), "--device");
  if (!o.determinism.empty())
    check(detnn_model_set_option(model.get(), "training.determinism", o.determinism.c_str()), "--determinism");
  if (!o.precision.empty())
    check(detnn_model_set_option(model.get(), "training.precision", o.precision.c_str()), "--precision");
  if (o.threads >= 0)
    check(detnn_model_set_option(model.get(), "training.threads", std::to_string(o.threads).c_str()), "--threads");
  detnn_data* raw_data = nullptr;
  check(detnn_data_load(model.get(), &raw_data), "data");
  Data data(raw_data);
  detnn_data_info info{};
  check(detnn_data_get_info(data.get(), &info), "data info");
  if (info.validation_samples == 0) throw DetnnError(o.model + ": the data section has no validation set to evaluate on");
  Session session = make_session(model.get());
  // Evaluation needs the weights, not the run: the seed and an edited model file (say, another
  // data path) do not matter; the tensors' names and shapes are still checked.
  check(detnn_session_load_checkpoint_unchecked(session.get(), o.checkpoint.c_str()), "checkpoint");
  std::vector<float> images(static_cast<size_t>(info.validation_samples * info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(info.validation_samples));
  check(detnn_data_validation_batch(data.get(), 0, info.validation_samples, images.data(), labels.data()), "validation data");
  detnn_eval_metrics ev{};
  check(detnn_session_evaluate(session.get(), images.data(), labels.data(), info.validation_samples, &ev), "evaluate");
  char sha[65];
  check(detnn_session_weights_sha256(session.get(), sha), "sha256");
  int64_t step = 0, epoch = 0, batch = 0;
  check(detnn_session_checkpoint_position(session.get(), &step, &epoch, &batch), "checkpoint");
  const nlohmann::json out = {{"checkpoint", o.checkpoint}, {"step", step}, {"epoch", epoch},
                              {"samples", ev.samples}, {"loss", ev.loss},
                              {"accuracy", static_cast<double>(ev.correct) / ev.samples}, {"weights_sha256", sha}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace trainer
