// The CPU GEMM microkernels (internal to kernels/cpu/gemm*.cpp). A microkernel computes one
// kMR x kNR tile of C from packed panels: ap is [kc][kMR], bp is [kc][kNR]. For every output,
// acc = accumulate ? c : 0.0f, then acc = fmaf(ap[p][r], bp[p][j], acc) for p = 0..kc-1 in
// order, then c = bias ? acc + bias[j] : acc. All variants give the same bits.
#pragma once

#include <cstdint>

namespace detnn::kernels::gemm_detail {

inline constexpr int kMR = 6;
inline constexpr int kNR = 16;

using MicroKernel = void (*)(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                             bool accumulate, const float* bias);

// Plain C++ (std::fma per element): any x86-64 or other CPU.
void microkernel_portable(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                          bool accumulate, const float* bias);
// The fastest variant this CPU runs (AVX2+FMA when present, else the portable one).
MicroKernel best_microkernel();

}  // namespace detnn::kernels::gemm_detail
