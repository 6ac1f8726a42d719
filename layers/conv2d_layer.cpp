// conv2d: {"type": "conv2d", "out_channels", "kernel", "stride", "padding", "dilation", "groups",
// "bias", "in_channels" (optional check), "init", "bias_init"} with PyTorch's meaning and defaults.
#include "kernels/conv2d.h"
#include "layers/engines.h"
#include "layers/registry.h"

namespace detnn::layers {

namespace {

class Conv2dLayer : public Layer {
 public:
  Conv2dLayer(const BuildContext& ctx, kernels::Conv2dParams p, bool bias, InitKind w_init, InitKind b_init)
      : Layer("conv2d", ctx.name, ctx.input), p_(p), has_bias_(bias), engine_(make_conv2d_engine(ctx.engine, ctx.name, p)) {
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
    Tensor y = new_activation(ctx, ctx.samples, output_);
    engine_->forward(ctx, params(ctx), x.data<float>(), weight_.data, has_bias_ ? bias_.data : nullptr,
                     y.data<float>());
    if (ctx.training) x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    Tensor dx = need_dx ? new_activation(ctx, ctx.samples, input_) : Tensor();
    engine_->backward(ctx, params(ctx), x_.data<float>(), dy.data<float>(), weight_.data, weight_.grad_partials,
                      has_bias_ ? bias_.grad_partials : nullptr, need_dx ? dx.data<float>() : nullptr);
    x_ = Tensor();
    return dx;
  }

  void release() override { x_ = Tensor(); }
  void prepare(const ExecContext& ctx) override { engine_->prepare(ctx); }
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override { engine_->collect_choices(out); }

 private:
  kernels::Conv2dParams params(const ExecContext& ctx) const {
    kernels::Conv2dParams p = p_;
    p.batch = ctx.samples;
    return p;
  }

  kernels::Conv2dParams p_;
  bool has_bias_;
  std::unique_ptr<Conv2dEngine> engine_;  // chosen once, when the model is built
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
  try {
    p.validate_extents();
  } catch (const Error& e) {
    throw_shape_error(ctx, e.what());
  }
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
