// linear: {"type": "linear", "out_features", "in_features" (optional check), "bias", "init",
// "bias_init"}. y = x W^T + b on a flat input [n, F] (PyTorch's nn.Linear).
//  - forward:  GEMM NT, one fmaf chain over the input features, then + bias;
//  - backward: dx = dy W (GEMM NN); per chunk, dW_c = dy_c^T x_c (batched GEMM TN: the chain runs
//    over the chunk's samples in order) and db_c = the canonical sum of dy_c over its samples.
#include "kernels/gemm.h"
#include "kernels/reduce.h"
#include "layers/cuda_stream.h"
#include "layers/registry.h"
#include "layers/vendor_plans.h"
#include "runtime/scratch.h"

namespace detnn::layers {

namespace {

using kernels::Trans;

class LinearLayer : public Layer {
 public:
  LinearLayer(const BuildContext& ctx, int64_t out, bool bias, InitKind w_init, InitKind b_init)
      : Layer("linear", ctx.name, ctx.input), in_(ctx.input.c), out_(out), has_bias_(bias) {
    output_ = {out, 1, 1};
    declare_weight_and_bias(name_, {out_, in_}, w_init, b_init, weight_, bias_);
  }

  void collect_params(std::vector<ParamSlot*>& out) override {
    out.push_back(&weight_);
    if (has_bias_) out.push_back(&bias_);
  }

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    Tensor y = new_activation(ctx, ctx.samples, output_);
    const float* b = has_bias_ ? bias_.data : nullptr;
    const int64_t n = ctx.samples;
    DETNN_DISPATCH_MODES(ctx,
                         kernels::gemm_cpu(Trans::N, Trans::T, n, out_, in_, x.data<float>(), in_, weight_.data, in_,
                                           y.data<float>(), out_, b),
                         kernels::gemm_cuda(Trans::N, Trans::T, n, out_, in_, x.data<float>(), in_, weight_.data,
                                            in_, y.data<float>(), out_, b, cuda_stream(ctx)),
                         vendor().forward(ctx, x.data<float>(), weight_.data, b, y.data<float>()));
    if (ctx.training) x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    const int64_t n = ctx.samples, c = ctx.chunk_size, chunks = ctx.chunks();
    const float* g = dy.data<float>();
    const float* x = x_.data<float>();
    Tensor dx = need_dx ? new_activation(ctx, n, input_) : Tensor();
    float* dx_data = need_dx ? dx.data<float>() : nullptr;
    DETNN_DISPATCH_MODES(ctx,
                         kernels::gemm_batched_cpu(Trans::T, Trans::N, out_, in_, c, g, out_, c * out_, x, in_,
                                                   c * in_, weight_.grad_partials, in_, out_ * in_, chunks),
                         kernels::gemm_batched_cuda(Trans::T, Trans::N, out_, in_, c, g, out_, c * out_, x, in_,
                                                    c * in_, weight_.grad_partials, in_, out_ * in_, chunks, nullptr,
                                                    cuda_stream(ctx)),
                         vendor().backward(ctx, x, g, weight_.data, weight_.grad_partials, dx_data));
    if (need_dx && !ctx.uses_vendor())  // the vendor call wrote dx itself
      DETNN_DISPATCH(ctx, kernels::gemm_cpu(Trans::N, Trans::N, n, in_, out_, g, out_, weight_.data, in_, dx_data, in_),
                     kernels::gemm_cuda(Trans::N, Trans::N, n, in_, out_, g, out_, weight_.data, in_, dx_data, in_,
                                        nullptr, cuda_stream(ctx)));
    if (has_bias_) {
      // Every mode: output o of chunk k sums dy[k*c + i, o] over i (outer stride out_, output
      // stride 1) by the canonical rule.
      const kernels::SumLayout layout{out_, c, 1, out_, 1};
      for (int64_t k = 0; k < chunks; ++k) {
        const float* src = g + k * c * out_;
        float* dst = bias_.grad_partials + k * out_;
        DETNN_DISPATCH(ctx, kernels::canonical_sum_cpu(src, dst, layout),
                       canonical_sum_on_stream(src, dst, layout, cuda_stream(ctx)));
      }
    }
    x_ = Tensor();
    return dx;
  }

  void release() override { x_ = Tensor(); }

#ifdef DETNN_HAVE_CUDA
  void prepare(const ExecContext& ctx) override {
    if (ctx.uses_vendor()) vendor().prepare(ctx, weight_.data, has_bias_ ? bias_.data : nullptr);
  }
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override {
    if (vendor_) vendor_->collect_choices(out);
  }
#endif

 private:
#ifdef DETNN_HAVE_CUDA
  LinearVendor& vendor() {
    if (!vendor_) vendor_ = std::make_unique<LinearVendor>(name_, in_, out_, has_bias_);
    return *vendor_;
  }
  std::unique_ptr<LinearVendor> vendor_;  // fast / off: the cuBLASLt plans
#endif
  int64_t in_, out_;
  bool has_bias_;
  ParamSlot weight_, bias_;
  Tensor x_;
};

}  // namespace

std::unique_ptr<Layer> make_linear(JsonObject& spec, const BuildContext& ctx) {
  if (ctx.input.h != 1 || ctx.input.w != 1)
    throw_shape_error(ctx, "linear needs a flat input, got " + ctx.input.to_string() +
                               " (put a flatten or global_avgpool layer before it)");
  const int64_t in = spec.integer_or("in_features", ctx.input.c, 1);
  if (in != ctx.input.c)
    throw_shape_error(ctx, "in_features is " + std::to_string(in) + " but the input has " +
                               std::to_string(ctx.input.c) + " features");
  const int64_t out = spec.integer("out_features", 1);
  const bool bias = spec.boolean_or("bias", true);
  const InitKind w_init = init_kind_or(spec, "init", InitKind::torch_default_weight);
  const InitKind b_init = init_kind_or(spec, "bias_init", InitKind::torch_default_bias);
  return std::make_unique<LinearLayer>(ctx, out, bias, w_init, b_init);
}

}  // namespace detnn::layers
