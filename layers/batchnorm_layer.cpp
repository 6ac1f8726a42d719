// batchnorm2d: {"type": "batchnorm2d", "eps": 1e-5, "momentum": 0.1, "num_features" (optional
// check)}. Training normalizes each reduction chunk with its own statistics (ghost batch norm,
// DESIGN §6); the running statistics take the pairwise mean of the chunk statistics of the whole
// step at its end. Parameters weight (ones) and bias (zeros); buffers running_mean (zeros) and
// running_var (ones), as PyTorch's BatchNorm2d.
#include "kernels/batchnorm.h"
#include "layers/device_dispatch.h"
#include "layers/registry.h"
#include "runtime/scratch.h"

namespace detnn::layers {

namespace {

class BatchNormLayer : public Layer {
 public:
  BatchNormLayer(const BuildContext& ctx, float eps, float momentum)
      : Layer("batchnorm2d", ctx.name, ctx.input), eps_(eps), momentum_(momentum) {
    const int64_t c = ctx.input.c;
    gamma_ = {name_ + ".weight", {c}, InitKind::ones, {c, c}};
    beta_ = {name_ + ".bias", {c}, InitKind::zeros, {c, c}};
    running_mean_ = {name_ + ".running_mean", {c}, 0.0f};
    running_var_ = {name_ + ".running_var", {c}, 1.0f};
  }

  void collect_params(std::vector<ParamSlot*>& out) override {
    out.push_back(&gamma_);
    out.push_back(&beta_);
  }
  void collect_buffers(std::vector<BufferSlot*>& out) override {
    out.push_back(&running_mean_);
    out.push_back(&running_var_);
  }

  // The step's chunk statistics are kept for this rank's chunks only, from its first chunk on.
  // The buffers are allocated once and kept between steps: a step captured in a CUDA Graph
  // writes them on every replay without running this host code, and finish_step must then read
  // the same buffers (session/step_graph.h).
  void begin_step(const ExecContext& ctx, int64_t local_chunks) override {
    first_chunk_ = ctx.first_chunk;
    const Shape shape{local_chunks, input_.c};
    if (chunk_mean_.defined() && chunk_mean_.shape() == shape && chunk_mean_.device() == ctx.device) return;
    chunk_mean_ = new_tensor(ctx, shape);
    chunk_var_ = new_tensor(ctx, shape);
    chunk_invstd_ = new_tensor(ctx, shape);
  }

  Tensor forward(const ExecContext& ctx, const Tensor& x) override {
    check_input(*this, ctx, x, input_);
    Tensor y = new_activation(ctx, ctx.samples, output_);
    kernels::BatchNormParams p = params(ctx);
    const float* xs = x.data<float>();
    float* ys = y.data<float>();
    if (!ctx.training) {
      p.validate_inference();
      DETNN_DISPATCH(ctx,
                     kernels::batchnorm_forward_inference_cpu(p, xs, gamma_.data, beta_.data, running_mean_.data,
                                                              running_var_.data, ys),
                     kernels::batchnorm_forward_inference_cuda(p, xs, gamma_.data, beta_.data,
                                                               running_mean_.data, running_var_.data, ys,
                                                               cuda_stream(ctx)));
      return y;
    }
    const int64_t off = chunk_offset(ctx);
    float* mean = chunk_mean_.data<float>() + off;
    float* var = chunk_var_.data<float>() + off;
    float* invstd = chunk_invstd_.data<float>() + off;
    DETNN_DISPATCH(ctx,
                   kernels::batchnorm_forward_training_cpu(p, xs, gamma_.data, beta_.data, ys, mean, var, invstd),
                   {
                     CudaScratch ws(kernels::batchnorm_cuda_workspace_bytes(p), cuda_stream(ctx));
                     kernels::batchnorm_forward_training_cuda(p, xs, gamma_.data, beta_.data, ys, mean, var,
                                                              invstd, ws.get(), cuda_stream(ctx));
                   });
    x_ = x;
    return y;
  }

  Tensor backward(const ExecContext& ctx, const Tensor& dy, bool need_dx) override {
    (void)need_dx;  // the kernel produces dx together with the parameter partials
    const kernels::BatchNormParams p = params(ctx);
    Tensor dx = new_activation(ctx, ctx.samples, input_);
    const int64_t off = chunk_offset(ctx);
    const float* mean = chunk_mean_.data<float>() + off;
    const float* invstd = chunk_invstd_.data<float>() + off;
    DETNN_DISPATCH(ctx,
                   kernels::batchnorm_backward_cpu(p, x_.data<float>(), dy.data<float>(), gamma_.data, mean,
                                                   invstd, dx.data<float>(), gamma_.grad_partials,
                                                   beta_.grad_partials),
                   {
                     CudaScratch ws(kernels::batchnorm_cuda_workspace_bytes(p), cuda_stream(ctx));
                     kernels::batchnorm_backward_cuda(p, x_.data<float>(), dy.data<float>(), gamma_.data, mean,
                                                      invstd, dx.data<float>(), gamma_.grad_partials,
                                                      beta_.grad_partials, ws.get(), cuda_stream(ctx));
                   });
    x_ = Tensor();
    return dx;
  }

  // This rank's chunks give sums over its k chunks (a pairwise node of level log2 k); the
  // all-reduce combines the ranks' nodes pairwise in rank order: the 1-rank sums' bits.
  void finish_step(const ExecContext& ctx, int64_t total_chunks) override {
    const int64_t c = input_.c;
    const int64_t count = ctx.chunk_size * input_.h * input_.w;
    const int64_t local_chunks = chunk_mean_.shape()[0];
    Tensor sums = new_tensor(ctx, Shape{2, c});
    float* s = sums.data<float>();
    DETNN_DISPATCH(ctx,
                   kernels::batchnorm_running_stat_sums_cpu(chunk_mean_.data<float>(), chunk_var_.data<float>(),
                                                            local_chunks, c, count, s),
                   kernels::batchnorm_running_stat_sums_cuda(chunk_mean_.data<float>(), chunk_var_.data<float>(),
                                                             local_chunks, c, count, s, cuda_stream(ctx)));
    if (ctx.all_reduce_stats != nullptr) (*ctx.all_reduce_stats)(s, 2 * c);
    DETNN_DISPATCH(ctx,
                   kernels::batchnorm_update_running_stats_cpu(s, total_chunks, c, momentum_, running_mean_.data,
                                                               running_var_.data),
                   kernels::batchnorm_update_running_stats_cuda(s, total_chunks, c, momentum_, running_mean_.data,
                                                                running_var_.data, cuda_stream(ctx)));
  }

  void release() override { x_ = Tensor(); }

 private:
  // Where the call's chunks start in the step's [local_chunks, C] statistics.
  int64_t chunk_offset(const ExecContext& ctx) const {
    const int64_t first = ctx.first_chunk - first_chunk_;
    DETNN_CHECK(chunk_mean_.defined() && first >= 0 && first + ctx.chunks() <= chunk_mean_.shape()[0], internal,
                name_, ": training call for chunks [", ctx.first_chunk, ", ", ctx.first_chunk + ctx.chunks(),
                ") outside the step's chunks (begin_step)");
    return first * input_.c;
  }

  kernels::BatchNormParams params(const ExecContext& ctx) const {
    kernels::BatchNormParams p;
    p.batch = ctx.samples;
    p.channels = input_.c;
    p.height = input_.h;
    p.width = input_.w;
    p.chunk_size = ctx.chunk_size;
    p.eps = eps_;
    p.momentum = momentum_;
    return p;
  }

  float eps_, momentum_;
  ParamSlot gamma_, beta_;
  BufferSlot running_mean_, running_var_;
  Tensor chunk_mean_, chunk_var_, chunk_invstd_, x_;
  int64_t first_chunk_ = 0;  // the step's first chunk (this rank's)
};

}  // namespace

std::unique_ptr<Layer> make_batchnorm2d(JsonObject& spec, const BuildContext& ctx) {
  const int64_t features = spec.integer_or("num_features", ctx.input.c, 1);
  if (features != ctx.input.c)
    throw_shape_error(ctx, "num_features is " + std::to_string(features) + " but the input is " +
                               ctx.input.to_string() + " (" + std::to_string(ctx.input.c) + " channels)");
  const float eps = static_cast<float>(spec.number_or("eps", 1e-5, 0.0, 1.0));
  const float momentum = static_cast<float>(spec.number_or("momentum", 0.1, 0.0, 1.0));
  return std::make_unique<BatchNormLayer>(ctx, eps, momentum);
}

}  // namespace detnn::layers
