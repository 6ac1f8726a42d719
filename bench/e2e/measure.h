// One mode of the end-to-end benchmark: train N steps of a model file on synthetic data of its
// input shape and report time per step, throughput, whether two fresh runs gave the same bits,
// and the peak memory.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "session/model_file.h"

namespace detnn::bench {

struct ModeResult {
  std::string mode;           // strict | fast | off
  bool available = false;     // false: `reason` says why (not built, not on this device)
  std::string reason;
  double ms_per_step = 0;     // median of the timed steps
  double images_per_s = 0;
  bool identical_reruns = false;
  std::string weights_sha256; // after warm-up + timed steps
  uint64_t peak_bytes = 0;    // CUDA: the caching allocator's peak reserved; CPU: peak RSS of the process
  std::string cuda_graph;     // the setting: off | auto
  std::string graph_status;   // what it came to (Session::cuda_graph_status)
  std::string kernel_choices;  // fast/off: the pinned cuDNN/cuBLASLt algorithms (JSON array, as in the manifest)
};

struct MeasureOptions {
  std::string device = "cpu";
  int64_t steps = 20;
  int64_t warmup = 3;
  int64_t threads = 0;
  std::string cuda_graph = "auto";  // training.cuda_graph for every mode
};

ModeResult measure_mode(const ModelSpec& spec, const std::string& mode, const MeasureOptions& options);

// Where an eager step of `mode` spends its time (runtime/step_profiler.h): device time per part
// (each top-level layer's forward and backward, the loss, the combine, the optimizer, ...),
// milliseconds per step averaged over options.steps steps after options.warmup.
struct PartTimes {
  std::string mode;
  std::string reason;  // not empty: the mode does not run here
  std::vector<std::pair<std::string, double>> ms_per_step;  // in the step's order
};
PartTimes profile_mode(const ModelSpec& spec, const std::string& mode, const MeasureOptions& options);

}  // namespace detnn::bench
