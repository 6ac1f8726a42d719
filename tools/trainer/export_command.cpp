// trainer export --model M --checkpoint C --onnx OUT.onnx [--opset N] [--batch N|dynamic]
// [--normalize]: the model with the checkpoint's weights as an ONNX file (docs/interop.md), through
// detnn_export_onnx. The checkpoint must be one of this model: its tensors are matched by name and
// size; the file appears whole or not at all.
#include <cstdio>

#include "commands.h"
#include "detnn/detnn_onnx.h"
#include "errors.h"

namespace trainer {

int run_export(const ExportOptions& o) {
  const api::Model model = with_context("", [&] { return api::Model::from_file(o.model); });
  detnn_onnx_options options{o.opset, 0, o.normalize ? 1 : 0};
  if (o.batch != "dynamic") {
    char* end = nullptr;
    const long long b = std::strtoll(o.batch.c_str(), &end, 10);
    if (o.batch.empty() || *end != '\0' || b < 1)
      throw TrainerError("--batch " + shown(o.batch) + ": expected a positive integer or \"dynamic\"");
    options.batch = b;
  }
  if (detnn_export_onnx(model.get(), o.checkpoint.c_str(), &options, o.onnx.c_str()) != DETNN_OK)
    throw TrainerError("export: " + std::string(detnn_onnx_last_error()));
  std::printf("exported %s with %s to %s (opset %d, batch %s%s)\n", model.name().c_str(), o.checkpoint.c_str(),
              o.onnx.c_str(), options.opset, o.batch.c_str(), o.normalize ? ", input normalization in the graph" : "");
  return 0;
}

}  // namespace trainer
