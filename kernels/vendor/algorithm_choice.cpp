#include "kernels/vendor/algorithm_choice.h"

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace detnn {

size_t pick_algorithm(const std::vector<AlgoCandidate>& candidates, ComputeMode mode, size_t workspace_limit,
                      const std::string& call) {
  DETNN_CHECK(mode.vendor(), internal, call, ": the strict mode runs detnn's own kernels, not a vendor algorithm");
  const bool fast = mode.determinism == Determinism::fast;
  std::string refused;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const AlgoCandidate& c = candidates[i];
    const char* why = nullptr;
    if (!c.supported)
      why = "not supported";
    else if (fast && !c.deterministic)
      why = "nondeterministic";
    else if (c.tensor_cores && !mode.tf32)
      why = "TF32 tensor cores (precision is fp32)";
    else if (c.workspace_bytes > workspace_limit)
      why = "workspace above the limit";
    if (why == nullptr) return i;
    refused += (refused.empty() ? "" : ", ") + (c.name.empty() ? std::to_string(c.algo) : c.name) + ": " + why;
  }
  DETNN_THROW(unsupported, call, ": no ", fast ? "deterministic " : "", "algorithm for determinism \"",
              determinism_name(mode.determinism), "\" with precision ", mode.tf32 ? "tf32" : "fp32", " and a ",
              workspace_limit >> 20, " MiB workspace limit (",
              refused.empty() ? std::string("the library offered none") : "offered: " + refused, ")");
}

std::string kernel_choices_json(const std::vector<KernelChoice>& choices) {
  nlohmann::json out = nlohmann::json::array();
  for (const KernelChoice& c : choices)
    out.push_back({{"layer", c.layer},
                   {"op", c.op},
                   {"shape", c.shape},
                   {"library", c.library},
                   {"algorithm", c.algorithm.name},
                   {"algo_id", c.algorithm.algo},
                   {"deterministic", c.algorithm.deterministic},
                   {"tensor_cores", c.algorithm.tensor_cores},
                   {"workspace_bytes", c.algorithm.workspace_bytes}});
  return out.dump();
}

}  // namespace detnn
