// residual: {"type": "residual", "body": [layers...], "shortcut": "identity" |
// {"type": "projection", "stride": s}, "activation": "none" | "relu" | "gelu"}.
// y = act(body(x) + shortcut(x)); the projection is a 1x1 convolution (no bias, stride s) and a
// batch norm, as in ResNet. Children are named "<name>.body.<i>" and "<name>.shortcut.{0,1}".
#include "layers/activation_layers.h"
#include "layers/device_dispatch.h"
#include "layers/registry.h"

namespace detnn::layers {

namespace {

void add_tensors(const ExecContext& ctx, const Tensor& a, const Tensor& b, Tensor& y) {
  DETNN_DISPATCH(ctx, kernels::add_cpu(a.data<float>(), b.data<float>(), y.data<float>(), a.numel()),
                 kernels::add_cuda(a.data<float>(), b.data<float>(), y.data<float>(), a.numel(), cuda_stream(ctx)));
}

class ResidualLayer : public Layer {
 public:
  ResidualLayer(const BuildContext& ctx, std::unique_ptr<Sequential> body, std::unique_ptr<Sequential> shortcut,
                bool has_activation, kernels::Activation activation)
      : Layer("residual", ctx.name, ctx.input),
        body_(std::move(body)),
        shortcut_(std::move(shortcut)),
        has_activation_(has_activation),
        activation_(activation) {
    output_ = body_->output_shape();
  }

  void collect_params(std::vector<ParamSlot*>& out) override {
    body_->collect_params(out);
    if (shortcut_) shortcut_->collect_params(out);
  }
  void collect_buffers(std::vector<BufferSlot*>& out) override {
    body_->collect_buffers(out);
    if (shortcut_) shortcut_->collect_buffers(out);
  }
  void begin_step(const ExecContext& ctx, int64_t local_chunks) override {
    body_->begin_step(ctx, local_chunks);
    if (shortcut_) shortcut_->begin_step(ctx, local_chunks);
  }
  void finish_step(const ExecContext& ctx, int64_t total_chunks) override {
    body_->finish_step(ctx, total_chunks);
    if (shortcut_) shortcut_->finish_step(ctx, total_chunks);
  }
  void prepare(const ExecContext& ctx) override {
    body_->prepare(ctx);
    if (shortcut_) shortcut_->prepare(ctx);
  }
  void collect_kernel_choices(std::vector<KernelChoice>& out) const override {
    body_->collect_kernel_choices(out);
    if (shortcut_) shortcut_->collect_kernel_choices(out);
  }
  void release() override {
    body_->release();
    if (shortcut_) shortcut_->release();
    z_ = Tensor();
  }

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    const Tensor b = body_->forward(ctx, x);
    const Tensor s = shortcut_ ? shortcut_->forward(ctx, x) : x;
    Tensor z = new_activation(ctx, ctx.samples, output_);
    add_tensors(ctx, b, s, z);
    if (!has_activation_) return z;
    Tensor y = new_activation(ctx, ctx.samples, output_);
    activation_forward(ctx, activation_, z, y);
    if (ctx.training) z_ = z;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    Tensor dz = dy;
    if (has_activation_) {
      dz = new_activation(ctx, ctx.samples, output_);
      activation_backward(ctx, activation_, z_, dy, dz);
      z_ = Tensor();
    }
    const Tensor dxb = body_->backward(ctx, dz, true);
    const Tensor dxs = shortcut_ ? shortcut_->backward(ctx, dz, true) : dz;
    if (!need_dx) return Tensor();
    Tensor dx = new_activation(ctx, ctx.samples, input_);
    add_tensors(ctx, dxb, dxs, dx);
    return dx;
  }

 private:
  std::unique_ptr<Sequential> body_, shortcut_;
  bool has_activation_;
  kernels::Activation activation_;
  Tensor z_;
};

}  // namespace

std::unique_ptr<Layer> make_residual(JsonObject& spec, const BuildContext& ctx) {
  nlohmann::json body_resolved;
  std::unique_ptr<Sequential> body = build_sequence(spec.required("body"), spec.child_path("body"), ctx.name + ".body",
                                                    ctx.input, ctx.engine, &body_resolved);
  spec.set_resolved("body", std::move(body_resolved));
  const FeatureShape out = body->output_shape();
  std::unique_ptr<Sequential> shortcut;
  const nlohmann::json* sc = spec.optional("shortcut");
  const std::string sc_path = spec.child_path("shortcut");
  if (sc == nullptr || (sc->is_string() && sc->get<std::string>() == "identity")) {
    spec.set_resolved("shortcut", "identity");
    if (!(out == ctx.input))
      throw_shape_error(ctx, "the body maps " + ctx.input.to_string() + " to " + out.to_string() +
                                 ", so an identity shortcut cannot be added; use \"shortcut\": "
                                 "{\"type\": \"projection\", \"stride\": s}");
  } else if (sc->is_object()) {
    JsonObject proj(*sc, sc_path);
    proj.choice("type", {"projection"});
    const int64_t stride = proj.integer_or("stride", 1, 1);
    proj.finish();
    spec.set_resolved("shortcut", proj.resolved());
    const nlohmann::json layers = nlohmann::json::array(
        {{{"type", "conv2d"}, {"out_channels", out.c}, {"kernel", 1}, {"stride", stride}, {"bias", false}},
         {{"type", "batchnorm2d"}}});
    shortcut = build_sequence(layers, sc_path, ctx.name + ".shortcut", ctx.input, ctx.engine);
    if (!(shortcut->output_shape() == out))
      throw_shape_error(ctx, "the projection shortcut (stride " + std::to_string(stride) + ") gives " +
                                 shortcut->output_shape().to_string() + " but the body gives " + out.to_string());
  } else {
    throw_json_type_error(sc_path, "\"identity\" or {\"type\": \"projection\", \"stride\": s}", *sc);
  }
  const std::string act = spec.choice_or("activation", {"none", "relu", "gelu"}, "none");
  const kernels::Activation a = act == "gelu" ? kernels::Activation::gelu_erf : kernels::Activation::relu;
  return std::make_unique<ResidualLayer>(ctx, std::move(body), std::move(shortcut), act != "none", a);
}

}  // namespace detnn::layers
