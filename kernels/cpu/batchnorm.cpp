// CPU batch normalization: the reference for kernels/cuda/batchnorm.cu. Formulas and operation
// order: kernels/batchnorm.h. Segment sums follow DESIGN §3 with runtime/reduction_rules.h: every leaf
// of 256 consecutive segment elements is its own output of the thread pool (summed
// sequentially), then each segment's leaf partials are combined by the pairwise rule; the
// elementwise passes split planes (n, c). So the bits never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/canonical_sum.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

namespace rules = batchnorm_rules;

namespace {

void validate_shape(const char* what, const BatchNormParams& p) {
  DETNN_CHECK(p.batch >= 1, invalid_argument, what, ": batch must be >= 1, got ", p.batch);
  DETNN_CHECK(p.channels >= 1, invalid_argument, what, ": channels must be >= 1, got ", p.channels);
  DETNN_CHECK(p.height >= 1, invalid_argument, what, ": height must be >= 1, got ", p.height);
  DETNN_CHECK(p.width >= 1, invalid_argument, what, ": width must be >= 1, got ", p.width);
  DETNN_CHECK(std::isfinite(p.eps) && p.eps >= 0.0f, invalid_argument, what,
              ": eps must be finite and >= 0, got ", p.eps);
}

}  // namespace

void BatchNormParams::validate() const {
  validate_shape("batchnorm", *this);
  DETNN_CHECK(chunk_size >= 1, invalid_argument, "batchnorm: chunk_size must be >= 1, got ", chunk_size);
  DETNN_CHECK(batch % chunk_size == 0, invalid_argument, "batchnorm: batch (", batch,
              ") must be a multiple of chunk_size (", chunk_size, ")");
  DETNN_CHECK(count() >= 2, invalid_argument,
              "batchnorm: training needs more than one value per channel and chunk, got chunk_size * "
              "height * width = ", count());
  DETNN_CHECK(count() < (int64_t{1} << 30), invalid_argument,
              "batchnorm: chunk_size * height * width must be < 2^30, got ", count());
  DETNN_CHECK(momentum >= 0.0f && momentum <= 1.0f, invalid_argument,
              "batchnorm: momentum must be in [0, 1], got ", momentum);
}

void BatchNormParams::validate_inference() const { validate_shape("batchnorm (inference)", *this); }

namespace {

// out[v][seg] = canonical sum of value v over segment seg = k * C + c, v < NV. run_sum(seg,
// offset, len, acc) adds the values of the `len` contiguous elements x[offset ..) of segment
// seg to acc[0..NV) in order; a leaf is split into such runs at plane boundaries.
template <int NV, typename RunSum>
void segment_sums(const BatchNormParams& p, const RunSum& run_sum, float* const (&out)[NV]) {
  const int64_t C = p.channels, hw = p.hw(), S = p.chunk_size, length = p.count();
  const int64_t segs = p.chunks() * C;
  const int64_t leaves = (length + kReductionLeaf - 1) / kReductionLeaf;
  std::vector<float> partial(static_cast<size_t>(NV * segs * leaves));
  cpu_thread_pool().parallel_for(
      segs * leaves,
      [&](int64_t begin, int64_t end) {
        for (int64_t q = begin; q < end; ++q) {
          const int64_t seg = q / leaves, leaf = q % leaves;
          const int64_t k = seg / C, c = seg % C;
          const int64_t first = leaf * kReductionLeaf, last = std::min(first + kReductionLeaf, length);
          float acc[NV] = {};
          int64_t sample = first / hw, pix = first % hw;
          for (int64_t i = first; i < last;) {
            const int64_t len = std::min(hw - pix, last - i);
            run_sum(seg, ((k * S + sample) * C + c) * hw + pix, len, acc);
            i += len;
            pix = 0;
            ++sample;
          }
          for (int v = 0; v < NV; ++v) partial[(v * segs + seg) * leaves + leaf] = acc[v];
        }
      },
      16);
  cpu_thread_pool().parallel_for(NV * segs, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      out[r / segs][r % segs] = pairwise_combine_in_place(&partial[r * leaves], leaves);
  });
}

// Runs body(plane, seg) for every plane (n, c) of the batch, seg = (n / chunk_size) * C + c.
template <typename Body>
void for_each_plane(const BatchNormParams& p, const Body& body) {
  const int64_t C = p.channels, S = p.chunk_size > 0 ? p.chunk_size : 1;
  const int64_t grain = std::max<int64_t>(1, 16384 / p.hw());
  cpu_thread_pool().parallel_for(
      p.batch * C,
      [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane) body(plane, (plane / C / S) * C + plane % C);
      },
      grain);
}

}  // namespace

void batchnorm_forward_training_cpu(const BatchNormParams& p, const float* x, const float* gamma,
                                    const float* beta, float* y, float* chunk_mean, float* chunk_var,
                                    float* chunk_invstd) {
  p.validate();
  const int64_t segs = p.chunks() * p.channels, hw = p.hw(), C = p.channels;
  const float n = static_cast<float>(p.count());

  segment_sums<1>(
      p,
      [&](int64_t, int64_t off, int64_t len, float* acc) {
        float a = acc[0];
        for (int64_t i = 0; i < len; ++i) a = a + x[off + i];
        acc[0] = a;
      },
      {chunk_mean});
  for (int64_t s = 0; s < segs; ++s) chunk_mean[s] = chunk_mean[s] / n;

  segment_sums<1>(
      p,
      [&](int64_t seg, int64_t off, int64_t len, float* acc) {
        const float m = chunk_mean[seg];
        float a = acc[0];
        for (int64_t i = 0; i < len; ++i) {
          const float d = x[off + i] - m;
          a = a + d * d;
        }
        acc[0] = a;
      },
      {chunk_var});
  for (int64_t s = 0; s < segs; ++s) {
    chunk_var[s] = chunk_var[s] / n;
    chunk_invstd[s] = rules::invstd(chunk_var[s], p.eps);
  }

  for_each_plane(p, [&](int64_t plane, int64_t seg) {
    const float m = chunk_mean[seg], is = chunk_invstd[seg], g = gamma[plane % C], b = beta[plane % C];
    const float* xp = x + plane * hw;
    float* yp = y + plane * hw;
    for (int64_t i = 0; i < hw; ++i) yp[i] = rules::normalize(xp[i], m, is, g, b);
  });
}

void batchnorm_backward_cpu(const BatchNormParams& p, const float* x, const float* dy, const float* gamma,
                            const float* chunk_mean, const float* chunk_invstd, float* dx,
                            float* dgamma_partials, float* dbeta_partials) {
  p.validate();
  const int64_t hw = p.hw(), C = p.channels;
  const float n = static_cast<float>(p.count());

  // Both sums in one read of x and dy.
  segment_sums<2>(
      p,
      [&](int64_t seg, int64_t off, int64_t len, float* acc) {
        const float m = chunk_mean[seg], is = chunk_invstd[seg];
        float db = acc[0], dg = acc[1];
        for (int64_t i = 0; i < len; ++i) {
          const float g = dy[off + i];
          db = db + g;
          dg = dg + g * rules::xhat(x[off + i], m, is);
        }
        acc[0] = db;
        acc[1] = dg;
      },
      {dbeta_partials, dgamma_partials});

  for_each_plane(p, [&](int64_t plane, int64_t seg) {
    const float m = chunk_mean[seg], is = chunk_invstd[seg];
    const float db = dbeta_partials[seg], dg = dgamma_partials[seg];
    const float a = rules::grad_scale(gamma[plane % C], is, n);
    const float* xp = x + plane * hw;
    const float* gp = dy + plane * hw;
    float* dp = dx + plane * hw;
    for (int64_t i = 0; i < hw; ++i) dp[i] = rules::input_grad(gp[i], rules::xhat(xp[i], m, is), a, n, db, dg);
  });
}

void batchnorm_forward_inference_cpu(const BatchNormParams& p, const float* x, const float* gamma,
                                     const float* beta, const float* running_mean,
                                     const float* running_var, float* y) {
  p.validate_inference();
  const int64_t hw = p.hw(), C = p.channels;
  BatchNormParams planes = p;
  planes.chunk_size = 1;
  for_each_plane(planes, [&](int64_t plane, int64_t) {
    const int64_t c = plane % C;
    const float m = running_mean[c], is = rules::invstd(running_var[c], p.eps), g = gamma[c], b = beta[c];
    const float* xp = x + plane * hw;
    float* yp = y + plane * hw;
    for (int64_t i = 0; i < hw; ++i) yp[i] = rules::normalize(xp[i], m, is, g, b);
  });
}

void batchnorm_running_stat_sums_cpu(const float* chunk_mean, const float* chunk_var, int64_t chunks,
                                     int64_t channels, int64_t count, float* sums) {
  DETNN_CHECK(chunks >= 1, invalid_argument, "batchnorm running stats: chunks must be >= 1, got ", chunks);
  DETNN_CHECK(channels >= 1, invalid_argument, "batchnorm running stats: channels must be >= 1, got ", channels);
  DETNN_CHECK(count >= 2, invalid_argument,
              "batchnorm running stats: count (values per chunk and channel) must be >= 2, got ", count);
  const float n = static_cast<float>(count);
  std::vector<float> unbiased(static_cast<size_t>(chunks * channels));
  for (size_t i = 0; i < unbiased.size(); ++i) unbiased[i] = rules::unbiased_var(chunk_var[i], n);
  combine_chunk_partials_cpu(chunk_mean, chunks, channels, sums);
  combine_chunk_partials_cpu(unbiased.data(), chunks, channels, sums + channels);
}

void batchnorm_update_running_stats_cpu(const float* sums, int64_t total_chunks, int64_t channels,
                                        float momentum, float* running_mean, float* running_var) {
  DETNN_CHECK(total_chunks >= 1, invalid_argument,
              "batchnorm running stats: total_chunks must be >= 1, got ", total_chunks);
  DETNN_CHECK(channels >= 1, invalid_argument, "batchnorm running stats: channels must be >= 1, got ", channels);
  DETNN_CHECK(momentum >= 0.0f && momentum <= 1.0f, invalid_argument,
              "batchnorm running stats: momentum must be in [0, 1], got ", momentum);
  const float k = static_cast<float>(total_chunks);
  for (int64_t c = 0; c < channels; ++c) {
    running_mean[c] = rules::running_update(running_mean[c], sums[c] / k, momentum);
    running_var[c] = rules::running_update(running_var[c], sums[channels + c] / k, momentum);
  }
}

}  // namespace detnn::kernels
