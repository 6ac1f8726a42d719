// linear: {"type": "linear", "out_features", "in_features" (optional check), "bias", "init",
// "bias_init"}. y = x W^T + b on a flat input [n, F] (PyTorch's nn.Linear), computed by the
// layer's engine (layers/engines.h).
#include "layers/engines.h"
#include "layers/registry.h"

namespace detnn::layers {

namespace {

class LinearLayer : public Layer {
 public:
  LinearLayer(const BuildContext& ctx, int64_t out, bool bias, InitKind w_init, InitKind b_init)
      : Layer("linear", ctx.name, ctx.input),
        in_(ctx.input.c),
        out_(out),
        has_bias_(bias),
        engine_(make_linear_engine(ctx.engine, ctx.name, ctx.input.c, out, bias)) {
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
    engine_->forward(ctx, x.data<float>(), weight_.data, bias(), y.data<float>());
    if (ctx.training) x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    Tensor dx = need_dx ? new_activation(ctx, ctx.samples, input_) : Tensor();
    engine_->backward(ctx, x_.data<float>(), dy.data<float>(), weight_.data, weight_.grad_partials,
                      has_bias_ ? bias_.grad_partials : nullptr, need_dx ? dx.data<float>() : nullptr);
    x_ = Tensor();
    return dx;
  }

  void release() override { x_ = Tensor(); }
  void prepare(const ExecContext& ctx) override { engine_->prepare(ctx, weight_.data, bias()); }
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override { engine_->collect_choices(out); }

 private:
  const float* bias() const { return has_bias_ ? bias_.data : nullptr; }
  int64_t in_, out_;
  bool has_bias_;
  std::unique_ptr<LinearEngine> engine_;  // chosen once, when the model is built
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
