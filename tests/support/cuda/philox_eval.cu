#include "runtime/cuda_check.h"
#include "support/cuda/philox_eval.h"
#include "support/device_buffer.h"

namespace detnn::test {

namespace {
__global__ void blocks_kernel(const PhiloxBlock* c, const PhiloxKey* k, PhiloxBlock* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = philox4x32_10(c[i], k[i]);
}
template <bool kNormal>
__global__ void draw_kernel(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = kNormal ? random_normal(key, first + i, a, b) : random_uniform(key, first + i, a, b);
}
template <bool kNormal>
void draw(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out, int block, int grid) {
  DeviceBuffer<float> d(n);
  draw_kernel<kNormal><<<grid, block>>>(key, first, n, a, b, d.get());
  DETNN_CUDA_CHECK_LAUNCH();
  auto host = d.download();
  DETNN_CHECK(d.guards_intact(), internal, "random draw kernel wrote outside its output");
  std::copy(host.begin(), host.end(), out);
}
}  // namespace

void philox_blocks_cuda(const PhiloxBlock* counters, const PhiloxKey* keys, PhiloxBlock* out, int n) {
  DeviceBuffer<PhiloxBlock> c(std::vector<PhiloxBlock>(counters, counters + n)), o(n);
  DeviceBuffer<PhiloxKey> k(std::vector<PhiloxKey>(keys, keys + n));
  blocks_kernel<<<(n + 127) / 128, 128>>>(c.get(), k.get(), o.get(), n);
  DETNN_CUDA_CHECK_LAUNCH();
  auto host = o.download();
  std::copy(host.begin(), host.end(), out);
}

void random_uniform_cuda(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out,
                         int block, int grid) {
  draw<false>(key, first, n, a, b, out, block, grid);
}
void random_normal_cuda(PhiloxKey key, uint64_t first, int64_t n, uint32_t a, uint32_t b, float* out,
                        int block, int grid) {
  draw<true>(key, first, n, a, b, out, block, grid);
}

}  // namespace detnn::test
