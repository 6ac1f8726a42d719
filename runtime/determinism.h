// The determinism modes (DESIGN §1) and the precision option, as the kernels see them.
//  - strict: detnn's own kernels, FP32 on CUDA cores; bits equal on CPU, any GPU, any rank count.
//  - fast:   cuDNN / cuBLASLt with algorithms pinned to deterministic ones (chosen once per call
//            shape), every call on one reduction chunk, fixed workspaces; bits equal across runs
//            and rank counts on one GPU model with the same library versions.
//  - off:    whatever is fastest, nondeterministic included (cudnnFind, atomics, ncclAllReduce):
//            the baseline the benchmark compares against.
// precision "tf32" lets fast and off use TF32 tensor cores; strict refuses it. The rules that
// tie the two to each other and to the device live in resolve_compute_mode, and only there.
#pragma once

#include <string>

#include "runtime/device.h"

namespace detnn {

enum class Determinism : unsigned char { strict, fast, off };
enum class Precision : unsigned char { fp32, tf32 };

// "strict" | "fast" | "off"; anything else throws Error(invalid_argument) naming the value.
Determinism parse_determinism(const std::string& name);
const char* determinism_name(Determinism d);
// "fp32" | "tf32"; anything else throws Error(invalid_argument) naming the value.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);

// How the vendor libraries may compute: the mode and whether TF32 tensor cores are allowed.
struct ComputeMode {
  Determinism determinism = Determinism::strict;
  bool tf32 = false;
  bool vendor() const { return determinism != Determinism::strict; }
};

// Throws Error(invalid_argument) for tf32 with strict: strict is FP32 on CUDA cores only.
void check_precision_allowed(Determinism determinism, Precision precision);

// The mode a run computes in. Throws Error(invalid_argument) for tf32 with strict (strict is FP32
// on CUDA cores only) and Error(unsupported) for fast or off on the CPU (they pick cuDNN and
// cuBLASLt algorithms).
ComputeMode resolve_compute_mode(Determinism determinism, Precision precision, Device device);

}  // namespace detnn
