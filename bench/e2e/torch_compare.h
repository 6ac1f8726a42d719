// PyTorch beside detnn: runs bench/torch_reference.py (when python3 can import torch) for the
// same model file, batch size and device, and reads its JSON result.
#pragma once

#include <string>
#include <vector>

namespace detnn::bench {

struct TorchResult {
  std::string mode;  // "default fp32", "deterministic fp32", "default tf32", ...
  double ms_per_step = 0;
  double images_per_s = 0;
  std::string error;  // the mode failed (no times): PyTorch's exception, one line
  // Deterministic modes: the ops PyTorch ran without a deterministic implementation (it warns).
  std::vector<std::string> nondeterministic_ops;
};

// Empty, with `note` saying why (the script's last error line included), when PyTorch is not
// importable or the script fails.
std::vector<TorchResult> run_torch_reference(const std::string& script, const std::string& model_file,
                                             const std::string& device, int steps, int warmup, std::string& note);

}  // namespace detnn::bench
