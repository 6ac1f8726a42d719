// flatten: {"type": "flatten"} -> [n, C*H*W, 1, 1] (the same bytes, no copy);
// dropout: {"type": "dropout", "p": 0.5} (identity in evaluation; the mask is Philox keyed by
// step, layer name, the sample's position in the global batch and the element, DESIGN §4).
#include "kernels/dropout.h"
#include "layers/device_dispatch.h"
#include "layers/registry.h"
#include "runtime/philox.h"

namespace detnn::layers {

namespace {

class FlattenLayer : public Layer {
 public:
  explicit FlattenLayer(const BuildContext& ctx) : Layer("flatten", ctx.name, ctx.input) {
    output_ = {ctx.input.size(), 1, 1};
  }
  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    return x.reshaped(Shape{ctx.samples, output_.c, 1, 1});
  }
  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    if (!need_dx) return Tensor();
    return dy.reshaped(Shape{ctx.samples, input_.c, input_.h, input_.w});
  }
};

class DropoutLayer : public Layer {
 public:
  DropoutLayer(const BuildContext& ctx, float p) : Layer("dropout", ctx.name, ctx.input), p_(p) {}

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    if (!ctx.training || p_ == 0.0f) return x;
    Tensor y = new_activation(ctx, ctx.samples, output_);
    const kernels::DropoutParams p = params(ctx);
    DETNN_DISPATCH(ctx, kernels::dropout_forward_cpu(x.data<float>(), y.data<float>(), p),
                   kernels::dropout_forward_cuda(x.data<float>(), y.data<float>(), p, cuda_stream(ctx)));
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    if (!need_dx) return Tensor();
    if (p_ == 0.0f) return dy;
    Tensor dx = new_activation(ctx, ctx.samples, input_);
    const kernels::DropoutParams p = params(ctx);
    DETNN_DISPATCH(ctx, kernels::dropout_backward_cpu(dy.data<float>(), dx.data<float>(), p),
                   kernels::dropout_backward_cuda(dy.data<float>(), dx.data<float>(), p, cuda_stream(ctx)));
    return dx;
  }

 private:
  kernels::DropoutParams params(const ExecContext& ctx) const {
    kernels::DropoutParams p;
    p.p = p_;
    p.seed = ctx.seed;
    p.step = static_cast<uint64_t>(ctx.step);
    p.step_on_device = ctx.step_on_device;
    p.layer_hash = stable_name_hash(name_.c_str());
    p.sample_size = input_.size();
    p.first_sample = ctx.first_sample;
    p.samples = ctx.samples;
    return p;
  }
  float p_;
};

}  // namespace

std::unique_ptr<Layer> make_flatten(JsonObject& spec, const BuildContext& ctx) {
  (void)spec;
  return std::make_unique<FlattenLayer>(ctx);
}

std::unique_ptr<Layer> make_dropout(JsonObject& spec, const BuildContext& ctx) {
  const double p = spec.number_or("p", 0.5, 0.0, 1.0);
  if (p >= 1.0) throw_json_type_error(spec.child_path("p"), "a probability in [0, 1)", spec.raw()["p"]);
  return std::make_unique<DropoutLayer>(ctx, static_cast<float>(p));
}

}  // namespace detnn::layers
