// Strict CUDA dropout: one thread per Philox draw block (four consecutive global element
// indices), grid-stride. When the call starts on a draw boundary and both pointers are 16-byte
// aligned, a full block is one float4 load and store; otherwise the shared per-element code
// (dropout_detail::apply_block, the CPU's) runs. The mask is the CPU's for any launch shape.
#include "kernels/cuda/elementwise.cuh"
#include "kernels/dropout.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn::kernels {

namespace {

__global__ void dropout_kernel(const float* in, float* out, PhiloxKey key, uint64_t first_block,
                               uint64_t blocks, uint32_t step_value, const int64_t* step_on_device,
                               uint32_t layer_hash, uint64_t base, uint64_t n, float p, float scale, bool vector) {
  const uint32_t step = step_on_device != nullptr ? static_cast<uint32_t>(*step_on_device) : step_value;
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t k = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; k < blocks; k += stride) {
    const uint64_t block = first_block + k;
    const uint64_t i0 = 4 * block - base;  // vector: base % 4 == 0, so no wrap
    if (vector && i0 + 4 <= n) {
      const PhiloxBlock d = philox_draw(key, block, step, layer_hash);
      const float4 v = reinterpret_cast<const float4*>(in)[i0 / 4];
      float4 r;
      r.x = uint_to_unit_float(d.w[0]) >= p ? v.x * scale : 0.0f;
      r.y = uint_to_unit_float(d.w[1]) >= p ? v.y * scale : 0.0f;
      r.z = uint_to_unit_float(d.w[2]) >= p ? v.z * scale : 0.0f;
      r.w = uint_to_unit_float(d.w[3]) >= p ? v.w * scale : 0.0f;
      reinterpret_cast<float4*>(out)[i0 / 4] = r;
    } else {
      dropout_detail::apply_block(key, block, step, layer_hash, base, n, p, scale, in, out);
    }
  }
}

void dropout_apply_cuda(const char* name, const float* in, float* out, const DropoutParams& prm,
                        cudaStream_t stream, const ReduceLaunch& launch) {
  prm.validate();
  elementwise::check_launch(launch, name);
  const int64_t n = prm.elements();
  if (n == 0) return;
  const uint64_t base = static_cast<uint64_t>(prm.first_sample) * prm.sample_size;
  const uint64_t first_block = base / 4, blocks = (base + n - 1) / 4 - first_block + 1;
  const bool vector = base % 4 == 0 && reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const unsigned grid = elementwise::grid_blocks(static_cast<int64_t>(blocks), launch);
  dropout_kernel<<<grid, launch.block_size, 0, stream>>>(
      in, out, philox_stream_key(prm.seed, RandomPurpose::dropout), first_block, blocks,
      static_cast<uint32_t>(prm.step), prm.step_on_device, prm.layer_hash, base, static_cast<uint64_t>(n), prm.p,
      prm.scale(), vector);
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void dropout_forward_cuda(const float* x, float* y, const DropoutParams& params, cudaStream_t stream,
                          const ReduceLaunch& launch) {
  dropout_apply_cuda("dropout_forward", x, y, params, stream, launch);
}

void dropout_backward_cuda(const float* dy, float* dx, const DropoutParams& params,
                           cudaStream_t stream, const ReduceLaunch& launch) {
  dropout_apply_cuda("dropout_backward", dy, dx, params, stream, launch);
}

}  // namespace detnn::kernels
