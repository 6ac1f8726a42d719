// The Optimizer: per step the scheduled lr and the host scalars (kernels/optimizer.h), then the
// norm, clip factor and fused update on the CPU here or on CUDA (optimizer_cuda.cpp).
#include "optim/optimizer.h"

#include <limits>

#include "runtime/error.h"

namespace detnn::optim {

namespace {
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
}  // namespace

Optimizer::Optimizer(const OptimizerSpec& spec, int64_t param_count, const Device& device)
    : spec_(spec), n_(param_count), device_(device), last_lr_(kNan), last_norm_(kNan) {
  DETNN_CHECK(spec.type == "sgd" || spec.type == "adam" || spec.type == "adamw", invalid_argument,
              "optimizer: type must be sgd | adam | adamw, got \"", spec.type, "\"");
  DETNN_CHECK(param_count >= 1, invalid_argument, "optimizer: param_count must be >= 1, got ", param_count);
  DETNN_CHECK(spec.clip_grad_norm >= 0.0 && spec.clip_grad_norm < 3.4e38, invalid_argument,
              "optimizer: clip_grad_norm must be finite and >= 0, got ", spec.clip_grad_norm);
  is_sgd_ = spec.type == "sgd";
  // The kernels run in float: hyper-parameters are rounded to float once, here.
  const auto f = [](double v) { return static_cast<float>(v); };
  sgd_ = {f(spec.lr), f(spec.momentum), f(spec.dampening), f(spec.weight_decay), spec.nesterov};
  adam_ = {f(spec.lr), f(spec.beta1), f(spec.beta2), f(spec.eps), f(spec.weight_decay), spec.type == "adamw"};
  if (is_sgd_)
    sgd_.validate();
  else
    adam_.validate();

  const Shape shape{param_count};
  if (is_sgd_ ? sgd_.momentum != 0.0f : true) state1_ = Tensor::zeros(shape, DType::f32, device);
  if (!is_sgd_) state2_ = Tensor::zeros(shape, DType::f32, device);
  if (device.is_cuda()) {
    norm_and_factor_ = Tensor::zeros(Shape{2}, DType::f32, device);
    // The zero fills ran on the default stream; steps may come on a non-blocking stream.
    finish_init_cuda();
  }
}

void Optimizer::step(float* params, const float* grads, int64_t updates_done, int64_t steps_per_epoch,
                     int64_t total_steps, void* cuda_stream, bool norm_ready) {
  DETNN_CHECK(updates_done >= 0, invalid_argument, "optimizer: updates_done must be >= 0, got ", updates_done);
  const float lr = scheduled_lr(spec_.schedule, spec_.lr, updates_done, steps_per_epoch, total_steps);
  // t counts this update: t == 1 initializes the SGD momentum buffer, and Adam's bias
  // corrections use it, so both follow from updates_done alone (resume-safe).
  const int64_t t = updates_done + 1;
  UpdateScalars s{};
  if (is_sgd_) {
    kernels::SgdParams p = sgd_;
    p.lr = lr;
    s.sgd = kernels::sgd_step_scalars(p, t);
  } else {
    kernels::AdamParams p = adam_;
    p.lr = lr;
    s.adam = kernels::adam_step_scalars(p, t);
  }
  if (device_.is_cuda()) {
    step_cuda(params, grads, s, cuda_stream, norm_ready);
    last_stream_ = cuda_stream;
    norm_pending_ = true;
  } else {
    step_cpu(params, grads, s, norm_ready);
  }
  last_lr_ = lr;
}

void Optimizer::compute_norm(const float* grads, float* norm_out, void* cuda_stream) {
  if (device_.is_cuda()) {
    norm_cuda(grads, cuda_stream);
    copy_norm_cuda(norm_out, cuda_stream);
    last_stream_ = cuda_stream;
    norm_pending_ = true;
  } else {
    last_norm_ = kernels::global_grad_norm_cpu(grads, n_);
    *norm_out = last_norm_;
  }
}

void Optimizer::step_cpu(float* params, const float* grads, const UpdateScalars& s, bool norm_ready) {
  if (!norm_ready) last_norm_ = kernels::global_grad_norm_cpu(grads, n_);
  const float max_norm = static_cast<float>(spec_.clip_grad_norm);
  const float scale = max_norm > 0.0f ? kernels::clip_factor_cpu(last_norm_, max_norm) : 1.0f;
  float* m = state1_.defined() ? state1_.data<float>() : nullptr;
  if (is_sgd_)
    kernels::sgd_update_cpu(params, grads, m, n_, s.sgd, scale);
  else
    kernels::adam_update_cpu(params, grads, m, state2_.data<float>(), n_, s.adam, scale);
}

float Optimizer::last_grad_norm() {
  if (norm_pending_) {
    last_norm_ = read_norm_cuda();
    norm_pending_ = false;
  }
  return last_norm_;
}

std::vector<std::pair<std::string, Tensor*>> Optimizer::state_tensors() {
  if (is_sgd_) {
    if (!state1_.defined()) return {};
    return {{"optimizer.momentum_buffer", &state1_}};
  }
  return {{"optimizer.exp_avg", &state1_}, {"optimizer.exp_avg_sq", &state2_}};
}

#ifndef DETNN_HAVE_CUDA
void Optimizer::finish_init_cuda() { DETNN_THROW(unsupported, "optimizer: this build has no CUDA"); }
void Optimizer::norm_cuda(const float*, void*) { DETNN_THROW(unsupported, "optimizer: this build has no CUDA"); }
void Optimizer::copy_norm_cuda(float*, void*) { DETNN_THROW(unsupported, "optimizer: this build has no CUDA"); }
void Optimizer::step_cuda(float*, const float*, const UpdateScalars&, void*, bool) {
  DETNN_THROW(unsupported, "optimizer: this build has no CUDA");
}
float Optimizer::read_norm_cuda() { DETNN_THROW(unsupported, "optimizer: this build has no CUDA"); }
#endif

}  // namespace detnn::optim
