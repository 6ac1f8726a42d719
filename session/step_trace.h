// A step trace file (docs/reproducibility.md, trainer bisect): Session::trace_step's forward
// outputs and gradients as a safetensors file ("forward/<layer>", "gradient/<parameter>", F32)
// whose metadata "order" lists them in forward / parameter order with their 64-bit digests
// (kernels/weights_digest.h), plus the model's SHA-256, the step, the device and the numerics
// contract version.
#pragma once

#include <cstdint>
#include <string>

#include "session/session.h"

namespace detnn {

inline constexpr const char* kStepTraceFormat = "detnn-step-trace-v1";

// Runs session.trace_step on the batch and writes the trace to `path` (atomically).
void write_step_trace(Session& session, const float* images, const int32_t* labels, int64_t batch,
                      const std::string& path);

}  // namespace detnn
