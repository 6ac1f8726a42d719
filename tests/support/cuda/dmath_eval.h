// Device-side evaluation of runtime/dmath.h for the gpu tests (host pointers in and out).
#pragma once

#include <cstddef>

namespace detnn::test {

enum class DmathFn : int { exp, exp2, expm1, log, log1p, tanh, erf, sin, cos, sinpi, cospi, sqrt, pow };

// out[i] = fn(x[i]) (pow: fn(x[i], y[i]); y is ignored otherwise and may be null), computed
// by one kernel on the current device. Throws detnn::Error on a CUDA error.
void dmath_eval_cuda(DmathFn fn, const float* x, const float* y, float* out, size_t n);

}  // namespace detnn::test
