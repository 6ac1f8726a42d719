// relu: {"type": "relu"}; gelu: {"type": "gelu", "approximate": "none" | "tanh"} (PyTorch's
// nn.GELU; "none", the erf form, is the default).
#include "kernels/activation.h"
#include "layers/activation_layers.h"
#include "layers/device_dispatch.h"
#include "layers/registry.h"

namespace detnn::layers {

void activation_forward(const ExecContext& ctx, kernels::Activation a, const Tensor& x, Tensor& y) {
  DETNN_DISPATCH(ctx, kernels::activation_forward_cpu(a, x.data<float>(), y.data<float>(), x.numel()),
                 kernels::activation_forward_cuda(a, x.data<float>(), y.data<float>(), x.numel(),
                                                  cuda_stream(ctx)));
}

void activation_backward(const ExecContext& ctx, kernels::Activation a, const Tensor& x, const Tensor& dy,
                         Tensor& dx) {
  DETNN_DISPATCH(ctx,
                 kernels::activation_backward_cpu(a, x.data<float>(), dy.data<float>(), dx.data<float>(),
                                                  x.numel()),
                 kernels::activation_backward_cuda(a, x.data<float>(), dy.data<float>(), dx.data<float>(),
                                                   x.numel(), cuda_stream(ctx)));
}

namespace {

class ActivationLayer : public Layer {
 public:
  ActivationLayer(const BuildContext& ctx, kernels::Activation a) : Layer(type_name(a), ctx.name, ctx.input), a_(a) {}

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    Tensor y = new_activation(ctx, ctx.samples, output_);
    activation_forward(ctx, a_, x, y);
    if (ctx.training) x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    Tensor dx;
    if (need_dx) {
      dx = new_activation(ctx, ctx.samples, input_);
      activation_backward(ctx, a_, x_, dy, dx);
    }
    x_ = Tensor();
    return dx;
  }

  void release() override { x_ = Tensor(); }

 private:
  static std::string type_name(kernels::Activation a) { return a == kernels::Activation::relu ? "relu" : "gelu"; }
  kernels::Activation a_;
  Tensor x_;
};

}  // namespace

std::unique_ptr<Layer> make_relu(JsonObject& spec, const BuildContext& ctx) {
  (void)spec;
  return std::make_unique<ActivationLayer>(ctx, kernels::Activation::relu);
}

std::unique_ptr<Layer> make_gelu(JsonObject& spec, const BuildContext& ctx) {
  const std::string approx = spec.choice_or("approximate", {"none", "tanh"}, "none");
  return std::make_unique<ActivationLayer>(
      ctx, approx == "tanh" ? kernels::Activation::gelu_tanh : kernels::Activation::gelu_erf);
}

}  // namespace detnn::layers
