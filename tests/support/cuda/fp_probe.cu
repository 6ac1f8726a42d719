#include <vector>

#include "runtime/cuda_check.h"
#include "support/cuda/fp_probe.h"
#include "support/device_buffer.h"

namespace detnn::test {

namespace {
__global__ void fp_ops_kernel(const float* a, const float* b, const float* c, int64_t n, float* mul_add,
                              float* fused, float* quotient, float* root, float* half) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    mul_add[i] = a[i] * b[i] + c[i];
    fused[i] = fmaf(a[i], b[i], c[i]);
    quotient[i] = a[i] / b[i];
    root[i] = sqrtf(fabsf(a[i]));
    half[i] = a[i] * 0x1p-130f;
  }
}
}  // namespace

void fp_ops_cuda(const float* a, const float* b, const float* c, int64_t n, float* mul_add,
                 float* fused, float* quotient, float* root, float* half) {
  DeviceBuffer<float> da(std::vector<float>(a, a + n)), db(std::vector<float>(b, b + n)),
      dc(std::vector<float>(c, c + n)), o1(n), o2(n), o3(n), o4(n), o5(n);
  fp_ops_kernel<<<256, 256>>>(da.get(), db.get(), dc.get(), n, o1.get(), o2.get(), o3.get(), o4.get(), o5.get());
  DETNN_CUDA_CHECK_LAUNCH();
  float* outs[] = {mul_add, fused, quotient, root, half};
  DeviceBuffer<float>* bufs[] = {&o1, &o2, &o3, &o4, &o5};
  for (int k = 0; k < 5; ++k) {
    auto h = bufs[k]->download();
    std::copy(h.begin(), h.end(), outs[k]);
  }
}

}  // namespace detnn::test
