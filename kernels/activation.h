// Elementwise activations (ReLU, GELU in its erf and tanh forms; forward and backward) and the
// elementwise add and scale of residual connections, on CPU and strict CUDA.
//
// The per-element arithmetic is written once, below, as DETNN_HD functions that the CPU loops
// and the CUDA kernels both call, so the two sides run the same operations in the same order
// (DESIGN §2: fmaf only where written, transcendentals from runtime/dmath.h, IEEE division).
// Bits are identical on CPU and CUDA, for every thread count and launch shape, for finite
// inputs; a NaN produced by arithmetic may carry different payload bits on the two sides.
//
// Forward, with hx = 0.5f * x (exact for normal x):
//   relu       y = x > 0 ? x : +0;  NaN x passes through (y = x)
//   gelu_erf   e = dmath::erf(x * kInvSqrt2)                 // x/sqrt(2), one rounding
//              y = fmaf(hx, e, hx)                           // 0.5x(1+erf), one rounding
//   gelu_tanh  u = x * x
//              w = fmaf(kGeluKappa * u, x, x)                // x + 0.044715 x^3
//              t = dmath::tanh(kSqrt2OverPi * w)
//              y = fmaf(hx, t, hx)                           // 0.5x(1+tanh)
// Backward (dx = dy * y'(x)):
//   relu       dx = x > 0 ? dy : +0. x == 0 takes the 0 branch (PyTorch's subgradient); a NaN x
//              also gives 0 (the forward already produced NaN). y may be passed for x: y > 0
//              exactly when x > 0.
//   gelu_erf   y' = Phi(x) + x phi(x), Phi = 0.5(1 + erf(x/sqrt2)), phi = exp(-x^2/2)/sqrt(2 pi)
//              cdf = fmaf(0.5f, e, 0.5f)
//              pdf = dmath::exp(-0.5f * (x * x)) * kInvSqrt2Pi
//              dx  = dy * fmaf(x, pdf, cdf)
//   gelu_tanh  y' = 0.5(1+t) + 0.5x (1 - t^2) sqrt(2/pi) (1 + 3*0.044715 x^2)
//              left  = fmaf(0.5f, t, 0.5f)
//              sech2 = fmaf(-t, t, 1.0f)                     // 1 - t^2
//              inner = kSqrt2OverPi * fmaf(kGeluKappa3, u, 1.0f)
//              right = sech2 == 0 ? 0 : (hx * sech2) * inner // saturated tanh: no inf * 0
//              dx    = dy * (left + right)
// Residual helpers:
//   add        y = a + b        (y may alias a or b: accumulation is add(a, y, y))
//   scale      y = alpha * x    (y may alias x)
#pragma once

#include <cmath>
#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/canonical_sum.h"  // ReduceLaunch: the launch-shape knobs tests vary
#endif

#include "runtime/dmath.h"
#include "runtime/host_device.h"

namespace detnn::kernels {

enum class Activation : uint8_t { relu, gelu_erf, gelu_tanh };

const char* activation_name(Activation a);

namespace act {

constexpr float kInvSqrt2 = 0x1.6a09e6p-1f;     // float(1/sqrt(2))
constexpr float kInvSqrt2Pi = 0x1.988454p-2f;   // float(1/sqrt(2 pi))
constexpr float kSqrt2OverPi = 0x1.988454p-1f;  // float(sqrt(2/pi))
constexpr float kGeluKappa = 0.044715f;
constexpr float kGeluKappa3 = 0.134145f;        // float(3 * 0.044715)

DETNN_HD float relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }
DETNN_HD float relu_backward(float x, float dy) { return x > 0.0f ? dy : 0.0f; }

DETNN_HD float gelu_erf(float x) {
  const float hx = 0.5f * x;
  const float e = dmath::erf(x * kInvSqrt2);
  return fmaf(hx, e, hx);
}
DETNN_HD float gelu_erf_backward(float x, float dy) {
  const float e = dmath::erf(x * kInvSqrt2);
  const float cdf = fmaf(0.5f, e, 0.5f);
  const float pdf = dmath::exp(-0.5f * (x * x)) * kInvSqrt2Pi;
  return dy * fmaf(x, pdf, cdf);
}

DETNN_HD float gelu_tanh(float x) {
  const float hx = 0.5f * x;
  const float u = x * x;
  const float w = fmaf(kGeluKappa * u, x, x);
  const float t = dmath::tanh(kSqrt2OverPi * w);
  return fmaf(hx, t, hx);
}
DETNN_HD float gelu_tanh_backward(float x, float dy) {
  const float hx = 0.5f * x;
  const float u = x * x;
  const float w = fmaf(kGeluKappa * u, x, x);
  const float t = dmath::tanh(kSqrt2OverPi * w);
  const float left = fmaf(0.5f, t, 0.5f);
  const float sech2 = fmaf(-t, t, 1.0f);
  const float inner = kSqrt2OverPi * fmaf(kGeluKappa3, u, 1.0f);
  const float right = sech2 == 0.0f ? 0.0f : (hx * sech2) * inner;
  return dy * (left + right);
}

}  // namespace act

// y[i] = f(x[i]) for i in [0, n). y may alias x. n >= 0 (else Error naming n).
void activation_forward_cpu(Activation a, const float* x, float* y, int64_t n);
// dx[i] = dy[i] * f'(x[i]). dx may alias dy (or x).
void activation_backward_cpu(Activation a, const float* x, const float* dy, float* dx, int64_t n);
// y[i] = a[i] + b[i].
void add_cpu(const float* a, const float* b, float* y, int64_t n);
// y[i] = alpha * x[i].
void scale_cpu(const float* x, float alpha, float* y, int64_t n);

#ifdef DETNN_HAVE_CUDA
// Device pointers, asynchronous on `stream`. Any 4-byte-aligned pointers: 16-byte vector
// loads where all operands share their alignment, scalar elsewhere; the bits never depend on
// that or on `launch` (block_size: a multiple of 32 in [32, 1024]; max_blocks: 0 = default).
void activation_forward_cuda(Activation a, const float* x, float* y, int64_t n, cudaStream_t stream,
                             const ReduceLaunch& launch = {});
void activation_backward_cuda(Activation a, const float* x, const float* dy, float* dx, int64_t n,
                              cudaStream_t stream, const ReduceLaunch& launch = {});
void add_cuda(const float* a, const float* b, float* y, int64_t n, cudaStream_t stream,
              const ReduceLaunch& launch = {});
void scale_cuda(const float* x, float alpha, float* y, int64_t n, cudaStream_t stream,
                const ReduceLaunch& launch = {});
#endif

}  // namespace detnn::kernels
