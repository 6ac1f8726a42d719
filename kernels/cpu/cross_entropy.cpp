// CPU softmax cross-entropy: threads split the samples (each sample's loss and gradient row
// are its own outputs); inside a sample the class sums follow the canonical leaf/pairwise
// shape of kernels/cross_entropy.h, exactly as the CUDA kernels do.
#include "kernels/cross_entropy.h"

#include <algorithm>
#include <vector>

#include "kernels/canonical_sum.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

void CrossEntropyParams::validate() const {
  constexpr int64_t kMaxExact = int64_t{1} << 24;  // exact as a float
  DETNN_CHECK(samples >= 0, invalid_argument, "cross_entropy: samples must be >= 0, got ", samples);
  DETNN_CHECK(classes >= 1 && classes <= kMaxExact, invalid_argument,
              "cross_entropy: classes (K) must be in [1, 2^24], got ", classes);
  DETNN_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f, invalid_argument,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  DETNN_CHECK(global_batch >= 1 && global_batch <= kMaxExact, invalid_argument,
              "cross_entropy: global_batch must be in [1, 2^24], got ", global_batch);
}

CrossEntropyScalars cross_entropy_scalars(const CrossEntropyParams& p) {
  p.validate();
  CrossEntropyScalars c;
  c.eps = p.label_smoothing;
  c.one_minus_eps = 1.0f - c.eps;
  c.classes = static_cast<float>(p.classes);
  c.batch = static_cast<float>(p.global_batch);
  c.off = c.eps / c.classes;
  c.on = c.one_minus_eps + c.off;
  return c;
}

void cross_entropy_validate_labels(const int32_t* labels, int64_t n, int64_t classes) {
  for (int64_t i = 0; i < n; ++i)
    DETNN_CHECK(labels[i] >= 0 && labels[i] < classes, invalid_argument, "cross_entropy: label of sample ",
                i, " is ", labels[i], ", outside [0, ", classes, ")");
}

namespace {

struct RowStats {
  float m, s, d;
};

// The max and the two canonical class sums of one row.
RowStats row_stats(const float* z, int64_t K, bool need_d) {
  float m = z[0];
  for (int64_t k = 1; k < K; ++k) m = z[k] > m ? z[k] : m;
  m = m + 0.0f;
  PairwiseStack s_stack, d_stack;
  for (int64_t first = 0; first < K; first += kReductionLeaf) {
    const int64_t last = std::min(first + kReductionLeaf, K);
    float s = 0.0f, d = 0.0f;
    for (int64_t k = first; k < last; ++k) s = s + dmath::exp(z[k] - m);
    s_stack.push(s);
    if (need_d) {
      for (int64_t k = first; k < last; ++k) d = d + (z[k] - m);
      d_stack.push(d);
    }
  }
  return {m, s_stack.result(), need_d ? d_stack.result() : 0.0f};
}

template <class Body>
void for_samples(int64_t samples, int64_t K, Body&& body) {
  cpu_thread_pool().parallel_for(
      samples, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; ++i) body(i); },
      std::max<int64_t>(1, 4096 / K));
}

}  // namespace

void cross_entropy_forward_cpu(const float* logits, const int32_t* labels, float* losses,
                               const CrossEntropyParams& p) {
  const CrossEntropyScalars c = cross_entropy_scalars(p);
  cross_entropy_validate_labels(labels, p.samples, p.classes);
  const int64_t K = p.classes;
  for_samples(p.samples, K, [&](int64_t i) {
    const float* z = logits + i * K;
    const RowStats r = row_stats(z, K, c.eps > 0.0f);
    losses[i] = xent::sample_loss(r.s, z[labels[i]] - r.m, r.d, c);
  });
}

void cross_entropy_backward_cpu(const float* logits, const int32_t* labels, float* dlogits,
                                const CrossEntropyParams& p) {
  const CrossEntropyScalars c = cross_entropy_scalars(p);
  cross_entropy_validate_labels(labels, p.samples, p.classes);
  const int64_t K = p.classes;
  for_samples(p.samples, K, [&](int64_t i) {
    const float* z = logits + i * K;
    float* g = dlogits + i * K;
    const RowStats r = row_stats(z, K, false);
    const int64_t y = labels[i];
    for (int64_t k = 0; k < K; ++k) g[k] = xent::grad(dmath::exp(z[k] - r.m), r.s, k == y, c);
  });
}

float cross_entropy_batch_loss_cpu(const float* losses, int64_t n, int64_t global_batch) {
  DETNN_CHECK(n >= 0, invalid_argument, "cross_entropy batch loss: n must be >= 0, got ", n);
  DETNN_CHECK(global_batch >= 1 && global_batch <= (int64_t{1} << 24), invalid_argument,
              "cross_entropy batch loss: global_batch must be in [1, 2^24], got ", global_batch);
  return canonical_sum_cpu(losses, n) / static_cast<float>(global_batch);
}

}  // namespace detnn::kernels
