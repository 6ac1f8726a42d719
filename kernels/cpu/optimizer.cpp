// CPU optimizer updates and the global gradient norm. Updates: the per-element functions of
// kernels/optimizer.h in loops split by element over cpu_thread_pool(). Norm: threads split the
// leaves (each leaf partial is its own output), then the pairwise tree over the leaf partials.
#include "kernels/optimizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/isa_versions.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

namespace {

constexpr int64_t kGrain = 1 << 14;

bool finite(float x) { return std::isfinite(x); }

}  // namespace

void SgdParams::validate() const {
  DETNN_CHECK(finite(lr) && lr >= 0.0f, invalid_argument, "sgd: lr must be finite and >= 0, got ", lr);
  DETNN_CHECK(finite(momentum) && momentum >= 0.0f, invalid_argument,
              "sgd: momentum must be finite and >= 0, got ", momentum);
  DETNN_CHECK(dampening >= 0.0f && dampening <= 1.0f, invalid_argument,
              "sgd: dampening must be in [0, 1], got ", dampening);
  DETNN_CHECK(finite(weight_decay) && weight_decay >= 0.0f, invalid_argument,
              "sgd: weight_decay must be finite and >= 0, got ", weight_decay);
  DETNN_CHECK(!nesterov || (momentum > 0.0f && dampening == 0.0f), invalid_argument,
              "sgd: nesterov needs momentum > 0 and dampening == 0, got momentum ", momentum,
              " and dampening ", dampening);
}

SgdStep sgd_step_scalars(const SgdParams& p, int64_t step) {
  p.validate();
  DETNN_CHECK(step >= 1, invalid_argument, "sgd: step must be >= 1, got ", step);
  return SgdStep{p.lr, p.momentum, 1.0f - p.dampening, p.weight_decay, p.nesterov, step == 1};
}

void AdamParams::validate() const {
  const char* name = decoupled ? "adamw" : "adam";
  DETNN_CHECK(finite(lr) && lr >= 0.0f, invalid_argument, name, ": lr must be finite and >= 0, got ", lr);
  DETNN_CHECK(beta1 >= 0.0f && beta1 < 1.0f, invalid_argument, name, ": beta1 must be in [0, 1), got ", beta1);
  DETNN_CHECK(beta2 >= 0.0f && beta2 < 1.0f, invalid_argument, name, ": beta2 must be in [0, 1), got ", beta2);
  DETNN_CHECK(finite(eps) && eps >= 0.0f, invalid_argument, name, ": eps must be finite and >= 0, got ", eps);
  DETNN_CHECK(finite(weight_decay) && weight_decay >= 0.0f, invalid_argument, name,
              ": weight_decay must be finite and >= 0, got ", weight_decay);
}

AdamStep adam_step_scalars(const AdamParams& p, int64_t step) {
  p.validate();
  DETNN_CHECK(step >= 1, invalid_argument, p.decoupled ? "adamw" : "adam", ": step must be >= 1, got ", step);
  const float t = static_cast<float>(step);
  const float bc1 = 1.0f - dmath::pow(p.beta1, t);
  const float bc2 = 1.0f - dmath::pow(p.beta2, t);
  AdamStep s;
  s.beta1 = p.beta1;
  s.one_minus_beta1 = 1.0f - p.beta1;
  s.beta2 = p.beta2;
  s.one_minus_beta2 = 1.0f - p.beta2;
  s.eps = p.eps;
  s.step_size = p.lr / bc1;
  s.sqrt_bc2 = dmath::sqrt(bc2);
  s.weight_decay = p.weight_decay;
  s.decay = 1.0f - p.lr * p.weight_decay;
  s.decoupled = p.decoupled;
  return s;
}

namespace {

// The per-range loops, one version per CPU path (kernels/cpu/isa_versions.h): each element is a
// few fmaf.
inline void sgd_range_body(float* params, const float* grads, float* momentum_buf, const SgdStep& s, float grad_scale,
                           int64_t b, int64_t e) {
  if (s.momentum != 0.0f) {
    for (int64_t i = b; i < e; ++i) optim::sgd_element(params[i], grads[i], &momentum_buf[i], s, grad_scale);
  } else {
    float unused = 0.0f;
    for (int64_t i = b; i < e; ++i) optim::sgd_element(params[i], grads[i], &unused, s, grad_scale);
  }
}

inline void adam_range_body(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, const AdamStep& s,
                            float grad_scale, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) optim::adam_element(params[i], grads[i], exp_avg[i], exp_avg_sq[i], s, grad_scale);
}

DETNN_CPU_VERSIONS(sgd_range,
                   (float* params, const float* grads, float* momentum_buf, const SgdStep& s, float grad_scale,
                    int64_t b, int64_t e),
                   (params, grads, momentum_buf, s, grad_scale, b, e))
DETNN_CPU_VERSIONS(adam_range,
                   (float* params, const float* grads, float* exp_avg, float* exp_avg_sq, const AdamStep& s,
                    float grad_scale, int64_t b, int64_t e),
                   (params, grads, exp_avg, exp_avg_sq, s, grad_scale, b, e))

}  // namespace

void sgd_update_cpu(float* params, const float* grads, float* momentum_buf, int64_t n,
                    const SgdStep& s, float grad_scale) {
  DETNN_CHECK(n >= 0, invalid_argument, "sgd: n must be >= 0, got ", n);
  DETNN_CHECK(s.momentum == 0.0f || momentum_buf != nullptr || n == 0, invalid_argument,
              "sgd: momentum ", s.momentum, " needs a momentum buffer");
  cpu_thread_pool().parallel_for(
      n,
      [&](int64_t b, int64_t e) { sgd_range(params, grads, momentum_buf, s, grad_scale, b, e); },
      kGrain);
}

void adam_update_cpu(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                     const AdamStep& s, float grad_scale) {
  DETNN_CHECK(n >= 0, invalid_argument, s.decoupled ? "adamw" : "adam", ": n must be >= 0, got ", n);
  cpu_thread_pool().parallel_for(
      n,
      [&](int64_t b, int64_t e) { adam_range(params, grads, exp_avg, exp_avg_sq, s, grad_scale, b, e); },
      kGrain);
}

float global_grad_norm_cpu(const float* grads, int64_t n) {
  DETNN_CHECK(n >= 0, invalid_argument, "global_grad_norm: n must be >= 0, got ", n);
  const int64_t leaves = (n + kReductionLeaf - 1) / kReductionLeaf;
  if (leaves == 0) return 0.0f;
  std::vector<float> partial(static_cast<size_t>(leaves));
  cpu_thread_pool().parallel_for(
      leaves,
      [&](int64_t b, int64_t e) {
        for (int64_t leaf = b; leaf < e; ++leaf) {
          const int64_t first = leaf * kReductionLeaf, last = std::min(first + kReductionLeaf, n);
          float acc = 0.0f;
          for (int64_t i = first; i < last; ++i) {
            const float sq = grads[i] * grads[i];
            acc = acc + sq;
          }
          partial[leaf] = acc;
        }
      },
      16);
  return dmath::sqrt(pairwise_combine_in_place(partial.data(), leaves));
}

float clip_factor_cpu(float norm, float max_norm) {
  DETNN_CHECK(max_norm > 0.0f && std::isfinite(max_norm), invalid_argument,
              "clip: max_norm must be finite and > 0, got ", max_norm);
  return optim::clip_factor(norm, max_norm);
}

}  // namespace detnn::kernels
