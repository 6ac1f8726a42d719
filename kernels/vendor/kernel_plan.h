// Kernel plans of the fast mode (issue 21, DESIGN §1's fast row): for every layer call of a run,
// which candidate computes it — a vendor call over the whole local batch (forward and
// backward-data only, and only where the device found a sample's bits independent of the call's
// batch), per-chunk vendor calls, or detnn's strict kernels — chosen once by timing, then an
// input of the run: reruns, resumes and `trainer verify` read the same plan, so timing noise never
// changes a bit. Plain C++ (no CUDA): the file format, its checks and the choice rule are tested
// on the CPU with made-up timings; the CUDA side measures and runs the candidates.
//
// The file (JSON): {"format": "detnn-kernel-plan-v1", "environment": {"gpu_model", "cuda_runtime",
// "cudnn", "cublas"}, "determinism": "fast", "precision": "fp32" | "tf32", "entries": [{"layer",
// "op", "shape", "chosen": CANDIDATE, "measured": [CANDIDATE...]}]}, CANDIDATE = {"kind":
// "vendor_whole_batch" | "vendor_per_chunk" | "strict", "algo", "name", "ms", "batch_invariant"}.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace detnn {

inline constexpr const char* kKernelPlanFormat = "detnn-kernel-plan-v1";

enum class PlanCandidateKind { vendor_whole_batch, vendor_per_chunk, strict };
const char* plan_candidate_kind_name(PlanCandidateKind kind);

struct PlanCandidate {
  PlanCandidateKind kind = PlanCandidateKind::strict;
  int algo = -1;                 // the vendor's algorithm id; -1 for strict
  std::string name;              // "IMPLICIT_PRECOMP_GEMM", "strict"
  double ms = -1.0;              // measured time for the whole local batch; -1: not measured
  bool batch_invariant = false;  // whole batch: the device found per-chunk and whole-batch bits equal
};

struct PlanEntry {
  std::string layer;  // "layers.3"
  std::string op;     // "conv2d forward", "conv2d backward-data", "conv2d backward-filter", "linear …"
  std::string shape;  // the call shape, as the manifest's kernel_choices write it
  PlanCandidate chosen;
  std::vector<PlanCandidate> measured;  // every candidate timed, in the order they were tried
};

// What a plan's timings and algorithm ids hold for: another GPU model or library version may
// number, support or time its algorithms differently.
struct PlanEnvironment {
  std::string gpu_model, cuda_runtime, cudnn, cublas;
};

struct KernelPlan {
  PlanEnvironment environment;
  std::string determinism = "fast";
  std::string precision = "fp32";
  std::vector<PlanEntry> entries;

  // The entry of one call, nullptr when the plan has none.
  const PlanEntry* find(const std::string& layer, const std::string& op, const std::string& shape) const;
};

// The index into `candidates` of the one to run for `op`: the fastest measured candidate that
// may run it (a whole-batch vendor call only for forward and backward-data, and only when found
// batch-invariant); a tie goes to the earlier candidate, so the choice is a function of the
// timings alone. Error(unsupported) naming `call` when none qualifies.
size_t choose_plan_candidate(const std::vector<PlanCandidate>& candidates, const std::string& op,
                             const std::string& call);

// The file's text (indented JSON, entries in the order given) and back. Parsing checks the format
// key, every field's type, unknown keys, the candidate kinds and ops, that every chosen candidate
// may run its op, and that no call has two entries: Error(format) "<source>: <json path>: <what>".
std::string kernel_plan_json(const KernelPlan& plan);
KernelPlan parse_kernel_plan(const std::string& text, const std::string& source);

// Error(invalid_argument) naming the first field of the environment that differs, e.g.
// "plan.json: made on gpu_model \"NVIDIA H100 80GB HBM3\", this run is on \"NVIDIA H200\" …".
void check_plan_environment(const KernelPlan& plan, const PlanEnvironment& here, const std::string& source);

}  // namespace detnn
