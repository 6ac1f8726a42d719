#include "support/cuda/dmath_eval.h"

#include <algorithm>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/dmath.h"
#include "support/device_buffer.h"

namespace detnn::test {

namespace {
__global__ void dmath_kernel(DmathFn fn, const float* x, const float* y, float* out, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  float r;
  switch (fn) {
    case DmathFn::exp: r = dmath::exp(v); break;
    case DmathFn::exp2: r = dmath::exp2(v); break;
    case DmathFn::expm1: r = dmath::expm1(v); break;
    case DmathFn::log: r = dmath::log(v); break;
    case DmathFn::log1p: r = dmath::log1p(v); break;
    case DmathFn::tanh: r = dmath::tanh(v); break;
    case DmathFn::erf: r = dmath::erf(v); break;
    case DmathFn::sin: r = dmath::sin(v); break;
    case DmathFn::cos: r = dmath::cos(v); break;
    case DmathFn::sinpi: r = dmath::sinpi(v); break;
    case DmathFn::cospi: r = dmath::cospi(v); break;
    case DmathFn::sqrt: r = dmath::sqrt(v); break;
    case DmathFn::pow: r = dmath::pow(v, y[i]); break;
    default: r = 0.0f; break;
  }
  out[i] = r;
}
}  // namespace

void dmath_eval_cuda(DmathFn fn, const float* x, const float* y, float* out, size_t n) {
  if (n == 0) return;
  DeviceBuffer<float> dx(std::vector<float>(x, x + n)), dout(n);
  DeviceBuffer<float> dy(fn == DmathFn::pow ? std::vector<float>(y, y + n) : std::vector<float>(1, 0.0f));
  const int block = 256;
  const size_t grid = (n + block - 1) / block;
  dmath_kernel<<<static_cast<unsigned>(grid), block>>>(fn, dx.get(), dy.get(), dout.get(), n);
  DETNN_CUDA_CHECK_LAUNCH();
  std::vector<float> host = dout.download();
  DETNN_CHECK(dout.guards_intact(), internal, "dmath kernel wrote outside its output");
  std::copy(host.begin(), host.end(), out);
}

}  // namespace detnn::test
