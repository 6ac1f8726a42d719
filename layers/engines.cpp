// The CPU engines of conv2d and linear, and the choice of an engine (layers/engines.h).
#include "layers/engines.h"

#include "kernels/canonical_sum.h"
#include "kernels/gemm.h"
#include "runtime/error.h"

namespace detnn::layers {

namespace {

using kernels::Trans;

class CpuConv2d : public Conv2dEngine {
 public:
  void forward(const ExecContext&, const kernels::Conv2dParams& p, const float* x, const float* w, const float* b,
               float* y) override {
    kernels::conv2d_forward_cpu(p, x, w, b, y);
  }
  void backward(const ExecContext& ctx, const kernels::Conv2dParams& p, const float* x, const float* dy,
                const float* w, float* dw_partials, float* db_partials, float* dx) override {
    kernels::conv2d_backward_filter_partials_cpu(p, ctx.chunk_size, x, dy, dw_partials, db_partials);
    if (dx != nullptr) kernels::conv2d_backward_data_cpu(p, dy, w, dx);
  }
};

// forward: GEMM NT, one fmaf chain over the input features, then + bias. backward: dx = dy W
// (GEMM NN); per chunk dW_c = dy_c^T x_c (batched GEMM TN: the chain runs over the chunk's samples
// in order) and db_c = the canonical sum of dy_c over its samples.
class CpuLinear : public LinearEngine {
 public:
  CpuLinear(int64_t in, int64_t out) : in_(in), out_(out) {}
  void forward(const ExecContext& ctx, const float* x, const float* w, const float* b, float* y) override {
    kernels::gemm_cpu(Trans::N, Trans::T, ctx.samples, out_, in_, x, in_, w, in_, y, out_, b);
  }
  void backward(const ExecContext& ctx, const float* x, const float* dy, const float* w, float* dw_partials,
                float* db_partials, float* dx) override {
    const int64_t c = ctx.chunk_size;
    kernels::gemm_batched_cpu(Trans::T, Trans::N, out_, in_, c, dy, out_, c * out_, x, in_, c * in_, dw_partials, in_,
                              out_ * in_, ctx.chunks());
    if (dx != nullptr) kernels::gemm_cpu(Trans::N, Trans::N, ctx.samples, in_, out_, dy, out_, w, in_, dx, in_);
    if (db_partials == nullptr) return;
    // Output o of chunk k sums dy[k*c + i, o] over i (outer stride out, output stride 1).
    const kernels::SumLayout layout{out_, c, 1, out_, 1};
    for (int64_t k = 0; k < ctx.chunks(); ++k)
      kernels::canonical_sum_cpu(dy + k * c * out_, db_partials + k * out_, layout);
  }

 private:
  int64_t in_, out_;
};

}  // namespace

Engine engine_for(Device device, ComputeMode mode) {
  if (!device.is_cuda()) {
    DETNN_CHECK(!mode.vendor(), internal, "determinism ", determinism_name(mode.determinism), " on the CPU");
    return Engine::cpu;
  }
  return mode.vendor() ? Engine::vendor : Engine::strict_cuda;
}

const char* engine_name(Engine engine) {
  switch (engine) {
    case Engine::cpu: return "cpu";
    case Engine::strict_cuda: return "strict_cuda";
    case Engine::vendor: return "vendor";
  }
  return "?";
}

std::unique_ptr<Conv2dEngine> make_conv2d_engine(Engine engine, const std::string& layer,
                                                 const kernels::Conv2dParams& p) {
  if (engine == Engine::cpu) return std::make_unique<CpuConv2d>();
  return make_conv2d_cuda_engine(engine, layer, p);
}

std::unique_ptr<LinearEngine> make_linear_engine(Engine engine, const std::string& layer, int64_t in, int64_t out,
                                                 bool bias) {
  if (engine == Engine::cpu) return std::make_unique<CpuLinear>(in, out);
  return make_linear_cuda_engine(engine, layer, in, out, bias);
}

#ifndef DETNN_HAVE_CUDA
std::unique_ptr<Conv2dEngine> make_conv2d_cuda_engine(Engine, const std::string&, const kernels::Conv2dParams&) {
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support");
}
std::unique_ptr<LinearEngine> make_linear_cuda_engine(Engine, const std::string&, int64_t, int64_t, bool) {
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support");
}
#endif

}  // namespace detnn::layers
