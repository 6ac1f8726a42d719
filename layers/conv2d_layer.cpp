// conv2d: {"type": "conv2d", "out_channels", "kernel", "stride", "padding", "dilation", "groups",
// "bias", "in_channels" (optional check), "init", "bias_init"} with PyTorch's meaning and defaults.
#include "kernels/conv2d.h"
#include "layers/cuda_stream.h"
#include "layers/registry.h"
#include "layers/vendor_plans.h"

namespace detnn::layers {

namespace {

class Conv2dLayer : public Layer {
 public:
  Conv2dLayer(const BuildContext& ctx, kernels::Conv2dParams p, bool bias, InitKind w_init, InitKind b_init)
      : Layer("conv2d", ctx.name, ctx.input), p_(p), has_bias_(bias) {
    output_ = {p.out_channels, p.out_h(), p.out_w()};
    declare_weight_and_bias(name_, {p.out_channels, p.in_channels_per_group(), p.kernel_h, p.kernel_w}, w_init,
                            b_init, weight_, bias_);
  }

  void collect_params(std::vector<ParamSlot*>& out) override {
    out.push_back(&weight_);
    if (has_bias_) out.push_back(&bias_);
  }

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    kernels::Conv2dParams p = params(ctx);
    Tensor y = new_activation(ctx, ctx.samples, output_);
    const float* b = has_bias_ ? bias_.data : nullptr;
    DETNN_DISPATCH_MODES(ctx, kernels::conv2d_forward_cpu(p, x.data<float>(), weight_.data, b, y.data<float>()),
                         kernels::conv2d_forward_cuda(p, x.data<float>(), weight_.data, b, y.data<float>(),
                                                      cuda_stream(ctx)),
                         vendor().forward(ctx, x.data<float>(), weight_.data, b, y.data<float>()));
    if (ctx.training) x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    kernels::Conv2dParams p = params(ctx);
    float* db = has_bias_ ? bias_.grad_partials : nullptr;
    Tensor dx = need_dx ? new_activation(ctx, ctx.samples, input_) : Tensor();
    float* dx_data = need_dx ? dx.data<float>() : nullptr;
    DETNN_DISPATCH_MODES(
        ctx,
        kernels::conv2d_backward_filter_partials_cpu(p, ctx.chunk_size, x_.data<float>(), dy.data<float>(),
                                                     weight_.grad_partials, db),
        kernels::conv2d_backward_filter_partials_cuda(p, ctx.chunk_size, x_.data<float>(), dy.data<float>(),
                                                      weight_.grad_partials, db, cuda_stream(ctx)),
        vendor().backward(ctx, x_.data<float>(), dy.data<float>(), weight_.data, weight_.grad_partials, db, dx_data));
    if (need_dx && !ctx.uses_vendor())  // the vendor call wrote dx itself
      DETNN_DISPATCH(ctx, kernels::conv2d_backward_data_cpu(p, dy.data<float>(), weight_.data, dx_data),
                     kernels::conv2d_backward_data_cuda(p, dy.data<float>(), weight_.data, dx_data, cuda_stream(ctx)));
    x_ = Tensor();
    return dx;
  }

  void release() override { x_ = Tensor(); }

#ifdef DETNN_HAVE_CUDA
  void prepare(const ExecContext& ctx) override {
    if (ctx.uses_vendor()) vendor().prepare(ctx);
  }
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override {
    if (vendor_) vendor_->collect_choices(out);
  }
#endif

 private:
#ifdef DETNN_HAVE_CUDA
  Conv2dVendor& vendor() {
    if (!vendor_) vendor_ = std::make_unique<Conv2dVendor>(name_, p_);
    return *vendor_;
  }
  std::unique_ptr<Conv2dVendor> vendor_;  // fast / off: the cuDNN plans
#endif
  kernels::Conv2dParams params(const ExecContext& ctx) const {
    kernels::Conv2dParams p = p_;
    p.batch = ctx.samples;
    return p;
  }

  kernels::Conv2dParams p_;
  bool has_bias_;
  ParamSlot weight_, bias_;
  Tensor x_;
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(JsonObject& spec, const BuildContext& ctx) {
  kernels::Conv2dParams p;
  p.batch = 1;
  p.in_channels = ctx.input.c;
  p.in_h = ctx.input.h;
  p.in_w = ctx.input.w;
  const int64_t in_channels = spec.integer_or("in_channels", ctx.input.c, 1);
  if (in_channels != ctx.input.c)
    throw_shape_error(ctx, "in_channels is " + std::to_string(in_channels) + " but the input is " +
                               ctx.input.to_string() + " (" + std::to_string(ctx.input.c) + " channels)");
  p.out_channels = spec.integer("out_channels", 1);
  std::tie(p.kernel_h, p.kernel_w) = spec.integer_pair_or("kernel", -1, 1);
  if (p.kernel_h < 0) spec.required("kernel");
  std::tie(p.stride_h, p.stride_w) = spec.integer_pair_or("stride", 1, 1);
  std::tie(p.pad_h, p.pad_w) = spec.integer_pair_or("padding", 0, 0);
  std::tie(p.dilation_h, p.dilation_w) = spec.integer_pair_or("dilation", 1, 1);
  p.groups = spec.integer_or("groups", 1, 1);
  const bool bias = spec.boolean_or("bias", true);
  const InitKind w_init = init_kind_or(spec, "init", InitKind::torch_default_weight);
  const InitKind b_init = init_kind_or(spec, "bias_init", InitKind::torch_default_bias);
  if (p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0)
    throw_shape_error(ctx, "groups = " + std::to_string(p.groups) + " must divide both the input channels (" +
                               std::to_string(p.in_channels) + ") and out_channels (" +
                               std::to_string(p.out_channels) + ")");
  if (p.out_h() < 1 || p.out_w() < 1)
    throw_shape_error(ctx, "the kernel (" + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
                               ", dilation " + std::to_string(p.dilation_h) + ") does not fit the padded input " +
                               ctx.input.to_string());
  try {
    p.validate();
  } catch (const Error& e) {
    throw_shape_error(ctx, e.what());
  }
  return std::make_unique<Conv2dLayer>(ctx, p, bias, w_init, b_init);
}

}  // namespace detnn::layers
