// maxpool2d / avgpool2d: {"type", "kernel", "stride" (default: kernel), "padding" (0),
// "count_include_pad" (avgpool only, true)} with PyTorch's meaning (floor mode); global_avgpool:
// {"type": "global_avgpool"} -> [n, C, 1, 1].
#include "kernels/pool2d.h"
#include "layers/device_dispatch.h"
#include "layers/registry.h"

namespace detnn::layers {

namespace {

enum class PoolKind { max, avg, global_avg };

class PoolLayer : public Layer {
 public:
  PoolLayer(const BuildContext& ctx, std::string type, PoolKind kind, kernels::PoolParams p)
      : Layer(std::move(type), ctx.name, ctx.input), kind_(kind), p_(p) {
    output_ = kind == PoolKind::global_avg ? FeatureShape{ctx.input.c, 1, 1}
                                           : FeatureShape{ctx.input.c, p.out_h(), p.out_w()};
  }

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    const kernels::PoolParams p = params(ctx);
    Tensor y = new_activation(ctx, ctx.samples, output_);
    const float* xs = x.data<float>();
    float* ys = y.data<float>();
    switch (kind_) {
      case PoolKind::max: {
        Tensor argmax = new_tensor(ctx, y.shape(), DType::i32);
        int32_t* am = argmax.data<int32_t>();
        DETNN_DISPATCH(ctx, kernels::maxpool2d_forward_cpu(p, xs, ys, am),
                       kernels::maxpool2d_forward_cuda(p, xs, ys, am, cuda_stream(ctx)));
        if (ctx.training) argmax_ = argmax;
        break;
      }
      case PoolKind::avg:
        DETNN_DISPATCH(ctx, kernels::avgpool2d_forward_cpu(p, xs, ys),
                       kernels::avgpool2d_forward_cuda(p, xs, ys, cuda_stream(ctx)));
        break;
      case PoolKind::global_avg:
        DETNN_DISPATCH(ctx, kernels::global_avgpool2d_forward_cpu(p, xs, ys),
                       kernels::global_avgpool2d_forward_cuda(p, xs, ys, cuda_stream(ctx)));
        break;
    }
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    Tensor dx;
    if (need_dx) {
      const kernels::PoolParams p = params(ctx);
      dx = new_activation(ctx, ctx.samples, input_);
      const float* g = dy.data<float>();
      float* d = dx.data<float>();
      switch (kind_) {
        case PoolKind::max: {
          const int32_t* am = argmax_.data<int32_t>();
          DETNN_DISPATCH(ctx, kernels::maxpool2d_backward_cpu(p, g, am, d),
                         kernels::maxpool2d_backward_cuda(p, g, am, d, cuda_stream(ctx)));
          break;
        }
        case PoolKind::avg:
          DETNN_DISPATCH(ctx, kernels::avgpool2d_backward_cpu(p, g, d),
                         kernels::avgpool2d_backward_cuda(p, g, d, cuda_stream(ctx)));
          break;
        case PoolKind::global_avg:
          DETNN_DISPATCH(ctx, kernels::global_avgpool2d_backward_cpu(p, g, d),
                         kernels::global_avgpool2d_backward_cuda(p, g, d, cuda_stream(ctx)));
          break;
      }
    }
    argmax_ = Tensor();
    return dx;
  }

  void release() override { argmax_ = Tensor(); }

 private:
  kernels::PoolParams params(const ExecContext& ctx) const {
    kernels::PoolParams p = p_;
    p.batch = ctx.samples;
    return p;
  }
  PoolKind kind_;
  kernels::PoolParams p_;
  Tensor argmax_;
};

std::unique_ptr<Layer> make_window_pool(JsonObject& spec, const BuildContext& ctx, const char* type, PoolKind kind) {
  kernels::PoolParams p;
  p.batch = 1;
  p.channels = ctx.input.c;
  p.height = ctx.input.h;
  p.width = ctx.input.w;
  std::tie(p.kernel_h, p.kernel_w) = spec.integer_pair_or("kernel", -1, 1);
  if (p.kernel_h < 0) spec.required("kernel");
  std::tie(p.stride_h, p.stride_w) = spec.integer_pair_or("stride", 0, 1);
  if (p.stride_h == 0) {
    p.stride_h = p.kernel_h, p.stride_w = p.kernel_w;
    spec.set_resolved("stride", spec.resolved().at("kernel"));  // the default, written out
  }
  std::tie(p.pad_h, p.pad_w) = spec.integer_pair_or("padding", 0, 0);
  if (kind == PoolKind::avg) p.count_include_pad = spec.boolean_or("count_include_pad", true);
  try {
    p.validate();
  } catch (const Error& e) {
    throw_shape_error(ctx, std::string(type) + " on input " + ctx.input.to_string() + ": " + e.what());
  }
  return std::make_unique<PoolLayer>(ctx, type, kind, p);
}

}  // namespace

std::unique_ptr<Layer> make_maxpool2d(JsonObject& spec, const BuildContext& ctx) {
  return make_window_pool(spec, ctx, "maxpool2d", PoolKind::max);
}

std::unique_ptr<Layer> make_avgpool2d(JsonObject& spec, const BuildContext& ctx) {
  return make_window_pool(spec, ctx, "avgpool2d", PoolKind::avg);
}

std::unique_ptr<Layer> make_global_avgpool(JsonObject& spec, const BuildContext& ctx) {
  (void)spec;
  kernels::PoolParams p;
  p.batch = 1;
  p.channels = ctx.input.c;
  p.height = ctx.input.h;
  p.width = ctx.input.w;
  p.kernel_h = ctx.input.h;
  p.kernel_w = ctx.input.w;
  return std::make_unique<PoolLayer>(ctx, "global_avgpool", PoolKind::global_avg, p);
}

}  // namespace detnn::layers
