// Comparing two step traces (detnn_session_trace_step files): the first layer whose forward
// output differs, else the first parameter whose gradient differs (trainer bisect).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "run_compare.h"

namespace trainer {

struct TraceVerdict {
  bool identical = true;
  std::string layer, type;  // the layer named (its type: forward differences only)
  std::string pass;         // "forward" or "backward"
  TensorDifference values;  // the differing output or gradient
  int64_t outputs = 0, gradients = 0;  // how many were compared
  std::string text;         // one line saying all of it
};

// Throws TrainerError naming the file when it is not a step trace or the two traces are of
// different models.
TraceVerdict compare_traces(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace trainer
