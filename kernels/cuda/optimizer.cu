// Strict CUDA optimizer updates (one fused elementwise pass each, through the shared launcher:
// 16-byte vector loads where the buffers share their alignment) and the global gradient norm
// (squares into the workspace, then canonical_sum_cuda: the CPU's leaf/pairwise shape).
#include "kernels/canonical_sum.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/optimizer.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

namespace {

struct SgdMomentumOp {  // in: p, g, buf; out: p, buf
  SgdStep s;
  __device__ void operator()(const float (&in)[3], float (&out)[2], float scale) const {
    float p = in[0], buf = in[2];
    optim::sgd_element(p, in[1], &buf, s, scale);
    out[0] = p;
    out[1] = buf;
  }
};

struct SgdPlainOp {  // in: p, g; out: p
  SgdStep s;
  __device__ void operator()(const float (&in)[2], float (&out)[1], float scale) const {
    float p = in[0], unused = 0.0f;
    optim::sgd_element(p, in[1], &unused, s, scale);
    out[0] = p;
  }
};

template <bool kDecoupled>
struct AdamOp {  // in: p, g, m, v; out: p, m, v
  AdamStep s;
  __device__ void operator()(const float (&in)[4], float (&out)[3], float scale) const {
    float p = in[0], m = in[2], v = in[3];
    AdamStep st = s;
    st.decoupled = kDecoupled;  // a compile-time branch
    optim::adam_element(p, in[1], m, v, st, scale);
    out[0] = p;
    out[1] = m;
    out[2] = v;
  }
};

struct SquareOp {
  __device__ void operator()(const float (&in)[1], float (&out)[1], float) const { out[0] = in[0] * in[0]; }
};

__global__ void sqrt_kernel(float* x) { *x = dmath::sqrt(*x); }

__global__ void clip_factor_kernel(const float* norm, float max_norm, float* factor) {
  *factor = optim::clip_factor(*norm, max_norm);
}

}  // namespace

void sgd_update_cuda(float* params, const float* grads, float* momentum_buf, int64_t n, const SgdStep& s,
                     const float* grad_scale, cudaStream_t stream, const ReduceLaunch& launch) {
  if (s.momentum != 0.0f) {
    DETNN_CHECK(momentum_buf != nullptr || n == 0, invalid_argument, "sgd: momentum ", s.momentum,
                " needs a momentum buffer");
    elementwise::launch("sgd", elementwise::Operands<3, 2>{{params, grads, momentum_buf}, {params, momentum_buf}},
                        n, SgdMomentumOp{s}, grad_scale, stream, launch);
  } else {
    elementwise::launch("sgd", elementwise::Operands<2, 1>{{params, grads}, {params}}, n, SgdPlainOp{s},
                        grad_scale, stream, launch);
  }
}

void adam_update_cuda(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                      const AdamStep& s, const float* grad_scale, cudaStream_t stream, const ReduceLaunch& launch) {
  const elementwise::Operands<4, 3> o{{params, grads, exp_avg, exp_avg_sq}, {params, exp_avg, exp_avg_sq}};
  if (s.decoupled)
    elementwise::launch("adamw", o, n, AdamOp<true>{s}, grad_scale, stream, launch);
  else
    elementwise::launch("adam", o, n, AdamOp<false>{s}, grad_scale, stream, launch);
}

size_t global_grad_norm_cuda_workspace_bytes(int64_t n) {
  DETNN_CHECK(n >= 0, invalid_argument, "global_grad_norm: n must be >= 0, got ", n);
  // The squares, padded to 16 bytes so the sum's workspace that follows stays aligned.
  const size_t squares = static_cast<size_t>((n + 3) / 4 * 4) * sizeof(float);
  return squares + canonical_sum_cuda_workspace_bytes(SumLayout::vector(n));
}

void global_grad_norm_cuda(const float* grads, int64_t n, float* norm, void* workspace, cudaStream_t stream) {
  const size_t bytes = global_grad_norm_cuda_workspace_bytes(n);
  CudaScratch scratch(workspace ? 0 : bytes, stream);
  float* squares = static_cast<float*>(workspace ? workspace : scratch.get());
  if (n > 0)
    elementwise::launch("global_grad_norm", elementwise::Operands<1, 1>{{grads}, {squares}}, n, SquareOp{},
                        nullptr, stream, ReduceLaunch{});
  canonical_sum_cuda(squares, norm, SumLayout::vector(n), squares + (n + 3) / 4 * 4, stream);
  sqrt_kernel<<<1, 1, 0, stream>>>(norm);
  DETNN_CUDA_CHECK_LAUNCH();
}

void clip_factor_cuda(const float* norm, float max_norm, float* factor, cudaStream_t stream) {
  DETNN_CHECK(max_norm > 0.0f && max_norm < 3.4e38f, invalid_argument,
              "clip: max_norm must be finite and > 0, got ", max_norm);
  clip_factor_kernel<<<1, 1, 0, stream>>>(norm, max_norm, factor);
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
