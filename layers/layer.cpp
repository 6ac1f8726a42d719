#include "layers/layer.h"

namespace detnn::layers {

namespace {
int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}
}  // namespace

std::string FeatureShape::to_string() const {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

int64_t ParamSlot::size() const { return product(shape); }
int64_t BufferSlot::size() const { return product(shape); }

void declare_weight_and_bias(const std::string& layer, std::vector<int64_t> weight_shape, InitKind weight_init,
                             InitKind bias_init, ParamSlot& weight, ParamSlot& bias) {
  weight.name = layer + ".weight";
  weight.shape = std::move(weight_shape);
  weight.init = weight_init;
  weight.fan = fans(weight.shape);
  bias.name = layer + ".bias";
  bias.shape = {weight.shape[0]};
  bias.init = bias_init;
  bias.fan = weight.fan;
}

Tensor new_tensor(const ExecContext& ctx, const Shape& shape, DType dtype) {
  return Tensor::empty(shape, dtype, ctx.device, ctx.stream);
}

Tensor new_activation(const ExecContext& ctx, int64_t n, const FeatureShape& shape) {
  return new_tensor(ctx, Shape{n, shape.c, shape.h, shape.w});
}

void check_input(const Layer& layer, const ExecContext& ctx, const Tensor& x, const FeatureShape& shape) {
  const Shape want{ctx.samples, shape.c, shape.h, shape.w};
  DETNN_CHECK(x.defined() && x.dtype() == DType::f32 && x.shape().numel() == want.numel() &&
                  x.shape()[0] == ctx.samples,
              invalid_argument, layer.name(), " (", layer.type(), "): expected an input of shape ",
              want.to_string(), ", got ", x.defined() ? x.shape().to_string() : std::string("nothing"));
  DETNN_CHECK(x.device() == ctx.device, invalid_argument, layer.name(), ": input on ",
              x.device().to_string(), " but the call runs on ", ctx.device.to_string());
}

}  // namespace detnn::layers
