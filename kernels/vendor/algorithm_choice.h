// Which vendor algorithm a layer's call runs in the fast and off modes (DESIGN §1), and how it is
// picked. Plain C++ (no CUDA), so the picking rule is tested on the CPU with made-up candidate
// lists; kernels/vendor/ feeds it what cuDNN and cuBLASLt report.
//
//  - fast: the library's heuristic list (its order depends only on the call shape, the GPU model
//    and the library version, never on a timing), the first candidate that is supported, is
//    deterministic, fits the workspace limit and, unless TF32 is allowed, uses FP32 FMA math.
//    Picking from a timed list (cudnnFind) could pick differently on the next run. Taking the
//    algorithms that transform their operands per call (FFT, non-fused Winograd) last, since
//    fast pays a transform once per chunk, made every example slower when measured
//    (docs/benchmarks.md, "Measurements behind code choices"): the heuristic's order stands.
//  - off: the timed list (fastest first), the first supported candidate within the limit,
//    deterministic or not; TF32 only when allowed, as in fast.
// No candidate is an error that names the call; there is no silent fallback (DESIGN §1).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/determinism.h"

namespace detnn {

struct AlgoCandidate {
  int algo = 0;                  // the library's algorithm id
  std::string name;              // e.g. "IMPLICIT_PRECOMP_GEMM"
  bool supported = true;         // the library can run it for this call
  bool deterministic = true;     // the library promises the same bits on every run
  bool tensor_cores = false;     // uses TF32 tensor cores (FP32 inputs)
  size_t workspace_bytes = 0;
  float ms = -1.0f;              // measured time (off), -1 when not measured
};

// The index into `candidates` of the algorithm to run (rules above). `call` names the call in
// the error, e.g. "layers.3 conv2d backward-filter [32,64,16,16] -> [32,64,16,16]".
size_t pick_algorithm(const std::vector<AlgoCandidate>& candidates, ComputeMode mode, size_t workspace_limit,
                      const std::string& call);

// One pinned choice, as the manifest records it.
struct KernelChoice {
  std::string layer;      // "layers.3"
  std::string op;         // "conv2d forward", "linear backward-filter", ...
  std::string shape;      // the call shape, e.g. "N=32 Ci=3 H=32 W=32 Co=32 k=3x3 s=1 p=1"
  std::string library;    // "cuDNN 9.19.0", "cuBLASLt 13.0.0"
  AlgoCandidate algorithm;
};

// [{"layer", "op", "shape", "library", "algorithm", "algo_id", "deterministic", "tensor_cores",
//   "workspace_bytes"}...] as compact JSON text.
std::string kernel_choices_json(const std::vector<KernelChoice>& choices);

}  // namespace detnn
