#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/canonical_sum.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::float_bits;
using test::random_floats;

BatchNormParams params(int64_t n, int64_t c, int64_t h, int64_t w, int64_t chunk, float eps = 1e-5f) {
  BatchNormParams p;
  p.batch = n, p.channels = c, p.height = h, p.width = w, p.chunk_size = chunk, p.eps = eps;
  return p;
}

// Index of element i (in (n, h, w) order) of segment (k, c).
int64_t segment_index(const BatchNormParams& p, int64_t k, int64_t c, int64_t i) {
  const int64_t hw = p.hw();
  return ((k * p.chunk_size + i / hw) * p.channels + c) * hw + i % hw;
}

// ---- the kernels, run on host vectors --------------------------------------------------------

struct Forward {
  std::vector<float> y, mean, var, invstd;
};

Forward forward(const BatchNormParams& p, const std::vector<float>& x, const std::vector<float>& gamma,
                const std::vector<float>& beta) {
  const size_t segs = static_cast<size_t>(p.chunks() * p.channels);
  Forward f{std::vector<float>(x.size()), std::vector<float>(segs), std::vector<float>(segs),
            std::vector<float>(segs)};
  batchnorm_forward_training_cpu(p, x.data(), gamma.data(), beta.data(), f.y.data(), f.mean.data(),
                                 f.var.data(), f.invstd.data());
  return f;
}

struct Backward {
  std::vector<float> dx, dgamma_partials, dbeta_partials, dgamma, dbeta;
};

Backward backward(const BatchNormParams& p, const std::vector<float>& x, const std::vector<float>& dy,
                  const std::vector<float>& gamma, const Forward& f) {
  const size_t segs = static_cast<size_t>(p.chunks() * p.channels);
  Backward b{std::vector<float>(x.size()), std::vector<float>(segs), std::vector<float>(segs),
             std::vector<float>(p.channels), std::vector<float>(p.channels)};
  batchnorm_backward_cpu(p, x.data(), dy.data(), gamma.data(), f.mean.data(), f.invstd.data(), b.dx.data(),
                         b.dgamma_partials.data(), b.dbeta_partials.data());
  combine_chunk_partials_cpu(b.dgamma_partials.data(), p.chunks(), p.channels, b.dgamma.data());
  combine_chunk_partials_cpu(b.dbeta_partials.data(), p.chunks(), p.channels, b.dbeta.data());
  return b;
}

// ---- float64 reference: ghost batch norm per chunk -----------------------------------------------

struct Ref {
  std::vector<double> y, mean, var, dx, dgamma, dbeta;
};

Ref reference(const BatchNormParams& p, const std::vector<double>& x, const std::vector<double>& gamma,
              const std::vector<double>& beta, const std::vector<double>& dy) {
  const int64_t K = p.chunks(), C = p.channels, n = p.count();
  Ref r{std::vector<double>(x.size()), std::vector<double>(K * C), std::vector<double>(K * C),
        std::vector<double>(x.size()), std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c) {
      double s = 0, ss = 0, db = 0, dg = 0;
      for (int64_t i = 0; i < n; ++i) s += x[segment_index(p, k, c, i)];
      const double mean = s / n;
      for (int64_t i = 0; i < n; ++i) ss += std::pow(x[segment_index(p, k, c, i)] - mean, 2);
      const double var = ss / n, invstd = 1.0 / std::sqrt(var + p.eps);
      r.mean[k * C + c] = mean, r.var[k * C + c] = var;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = segment_index(p, k, c, i);
        const double xhat = (x[j] - mean) * invstd;
        r.y[j] = xhat * gamma[c] + beta[c];
        if (!dy.empty()) db += dy[j], dg += dy[j] * xhat;
      }
      r.dbeta[c] += db, r.dgamma[c] += dg;
      for (int64_t i = 0; !dy.empty() && i < n; ++i) {
        const int64_t j = segment_index(p, k, c, i);
        const double xhat = (x[j] - mean) * invstd;
        r.dx[j] = gamma[c] * invstd / n * (n * dy[j] - db - xhat * dg);
      }
    }
  return r;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// ---- PyTorch reference -------------------------------------------------------------------------

// Error bounds against float64 results. Every statistic is a canonical sum of <= a few thousand
// float terms: worst case (256 + log2(leaves)) * 2^-24 ~ 2e-5 relative to the sum of magnitudes,
// typically ~1e-7. y and the parameter gradients inherit that (xhat's error is the mean's and
// invstd's); dx adds the cancellation in n*dy - dbeta - xhat*dgamma. The bounds below are the
// worst cases with a margin; measured errors are 10-100x smaller.
constexpr double kStatBound = 2e-5;
constexpr double kGradBound = 1e-4;

TEST(BatchNorm, TrainingMatchesTorchReference) {
  const auto& ref = test::TorchReference::get();
  const auto& j = ref.params("batchnorm_train");
  const auto s = ref.shape("batchnorm_train", "x");
  // The file's statistics are over the whole batch: one chunk of all the samples.
  BatchNormParams p = params(s[0], s[1], s[2], s[3], s[0], j["eps"].get<float>());
  p.momentum = j["momentum"].get<float>();
  const auto x = ref.floats("batchnorm_train", "x"), gamma = ref.floats("batchnorm_train", "gamma"),
             beta = ref.floats("batchnorm_train", "beta"), gy = ref.floats("batchnorm_train", "gy");
  const Forward f = forward(p, x, gamma, beta);
  EXPECT_LE(test::max_relative_error(f.y, ref.values("batchnorm_train", "y")), kStatBound);
  const Backward b = backward(p, x, gy, gamma, f);
  EXPECT_LE(test::max_relative_error(b.dx, ref.values("batchnorm_train", "gx")), kGradBound);
  EXPECT_LE(test::max_relative_error(b.dgamma, ref.values("batchnorm_train", "ggamma")), kStatBound);
  EXPECT_LE(test::max_relative_error(b.dbeta, ref.values("batchnorm_train", "gbeta")), kStatBound);

  // Running statistics from PyTorch's initial values (mean 0, variance 1).
  std::vector<float> running_mean(p.channels, 0.0f), running_var(p.channels, 1.0f), sums(2 * p.channels);
  batchnorm_running_stat_sums_cpu(f.mean.data(), f.var.data(), p.chunks(), p.channels, p.count(), sums.data());
  batchnorm_update_running_stats_cpu(sums.data(), p.chunks(), p.channels, p.momentum, running_mean.data(),
                                     running_var.data());
  EXPECT_LE(test::max_relative_error(running_mean, ref.values("batchnorm_train", "running_mean_after")), kStatBound);
  EXPECT_LE(test::max_relative_error(running_var, ref.values("batchnorm_train", "running_var_after")), kStatBound);
}

TEST(BatchNorm, InferenceMatchesTorchReference) {
  const auto& ref = test::TorchReference::get();
  const auto s = ref.shape("batchnorm_eval", "x");
  const BatchNormParams p = params(s[0], s[1], s[2], s[3], 0, ref.params("batchnorm_eval")["eps"].get<float>());
  const auto x = ref.floats("batchnorm_eval", "x");
  std::vector<float> y(x.size());
  batchnorm_forward_inference_cpu(p, x.data(), ref.floats("batchnorm_eval", "gamma").data(),
                                  ref.floats("batchnorm_eval", "beta").data(),
                                  ref.floats("batchnorm_eval", "running_mean").data(),
                                  ref.floats("batchnorm_eval", "running_var").data(), y.data());
  // A handful of rounded operations per element.
  EXPECT_LE(test::max_relative_error(y, ref.values("batchnorm_eval", "y")), 1e-6);
}

// ---- float64 reference on random shapes -------------------------------------------------------

// Odd sizes, one and several chunks, segments of one leaf and of several, leaves that straddle
// planes (H*W not a multiple of 256) and H*W == 1. 2x33x1x1 in chunks of 2 is the degenerate
// count == 2: xhat = +-1 up to eps, so dx is pure cancellation (~1e-5 of n*dy) and has the largest
// relative error (measured 1e-5, inside kGradBound).
std::vector<BatchNormParams> shapes() {
  return {params(6, 7, 1, 1, 3),  params(4, 1, 7, 7, 2),   params(2, 3, 33, 9, 1),  params(8, 5, 16, 16, 4),
          params(3, 2, 1, 7, 3),  params(2, 33, 1, 1, 2),  params(600, 3, 1, 1, 300), params(6, 2, 7, 13, 3)};
}

TEST(BatchNorm, MatchesFloat64GhostBatchNorm) {
  uint32_t seed = 1;
  for (const BatchNormParams& p : shapes()) {
    const auto x = random_floats(p.size(), seed++, -2.0f, 3.0f);
    const auto dy = random_floats(p.size(), seed++);
    const auto gamma = random_floats(p.channels, seed++, 0.5f, 1.5f);
    const auto beta = random_floats(p.channels, seed++);
    const Forward f = forward(p, x, gamma, beta);
    const Backward b = backward(p, x, dy, gamma, f);
    const Ref r = reference(p, to_double(x), to_double(gamma), to_double(beta), to_double(dy));
    const std::string shape = std::to_string(p.batch) + "x" + std::to_string(p.channels) + "x" +
                              std::to_string(p.height) + "x" + std::to_string(p.width) + " chunk " +
                              std::to_string(p.chunk_size);
    EXPECT_LE(test::max_relative_error(f.mean, r.mean), kStatBound) << shape;
    EXPECT_LE(test::max_relative_error(f.var, r.var), kStatBound) << shape;
    EXPECT_LE(test::max_relative_error(f.y, r.y), kStatBound) << shape;
    EXPECT_LE(test::max_relative_error(b.dx, r.dx), kGradBound) << shape;
    EXPECT_LE(test::max_relative_error(b.dgamma, r.dgamma), kStatBound) << shape;
    EXPECT_LE(test::max_relative_error(b.dbeta, r.dbeta), kStatBound) << shape;
  }
}

// The sums are DESIGN §3's canonical sums of the documented element order, and the elementwise
// formulas are the documented operation orders, bit for bit.
TEST(BatchNorm, StatisticsAndGradientsFollowTheContractBitForBit) {
  uint32_t seed = 50;
  for (const BatchNormParams& p : shapes()) {
    const auto x = random_floats(p.size(), seed++, -2.0f, 3.0f), dy = random_floats(p.size(), seed++);
    const auto gamma = random_floats(p.channels, seed++, 0.5f, 1.5f), beta = random_floats(p.channels, seed++);
    const Forward f = forward(p, x, gamma, beta);
    const Backward b = backward(p, x, dy, gamma, f);
    const int64_t n = p.count(), C = p.channels;
    const float nf = static_cast<float>(n);
    for (int64_t k = 0; k < p.chunks(); ++k) {
      std::vector<float> chunk_sums(C);
      canonical_sum_cpu(&x[k * p.chunk_size * C * p.hw()], chunk_sums.data(), SumLayout::channels(p.chunk_size, C, p.hw()));
      for (int64_t c = 0; c < C; ++c) {
        const int64_t s = k * C + c;
        std::vector<float> xs(n), sq(n), g(n), gx(n);
        for (int64_t i = 0; i < n; ++i) xs[i] = x[segment_index(p, k, c, i)];
        const float mean = test::contract_sum(xs.data(), n) / nf;
        ASSERT_EQ(float_bits(chunk_sums[c] / nf), float_bits(mean));
        for (int64_t i = 0; i < n; ++i) sq[i] = (xs[i] - mean) * (xs[i] - mean);
        const float var = test::contract_sum(sq.data(), n) / nf;
        const float invstd = 1.0f / std::sqrt(var + p.eps);
        EXPECT_EQ(float_bits(f.mean[s]), float_bits(mean));
        EXPECT_EQ(float_bits(f.var[s]), float_bits(var));
        EXPECT_EQ(float_bits(f.invstd[s]), float_bits(invstd));
        for (int64_t i = 0; i < n; ++i) {
          const int64_t j = segment_index(p, k, c, i);
          const float xhat = (xs[i] - mean) * invstd;
          ASSERT_EQ(float_bits(f.y[j]), float_bits(std::fma(xhat, gamma[c], beta[c])));
          g[i] = dy[j];
          gx[i] = dy[j] * xhat;
        }
        const float dbeta = test::contract_sum(g.data(), n), dgamma = test::contract_sum(gx.data(), n);
        EXPECT_EQ(float_bits(b.dbeta_partials[s]), float_bits(dbeta));
        EXPECT_EQ(float_bits(b.dgamma_partials[s]), float_bits(dgamma));
        const float a = (gamma[c] * invstd) / nf;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t j = segment_index(p, k, c, i);
          const float xhat = (xs[i] - mean) * invstd;
          ASSERT_EQ(float_bits(b.dx[j]), float_bits(a * ((nf * dy[j] - dbeta) - xhat * dgamma)));
        }
      }
    }
  }
}

// ---- finite differences in float64 -----------------------------------------------------------

TEST(BatchNorm, GradientsMatchFiniteDifferences) {
  // Central differences of L = sum(y * g) on the float64 reference, against the float kernel's
  // backward; two chunks so the per-chunk statistics are exercised.
  const BatchNormParams p = params(4, 2, 3, 3, 2);
  const auto x = random_floats(p.size(), 300, -2.0f, 2.0f), g = random_floats(p.size(), 301);
  const auto gamma = random_floats(p.channels, 302, 0.5f, 1.5f), beta = random_floats(p.channels, 303);
  const Backward b = backward(p, x, g, gamma, forward(p, x, gamma, beta));

  std::vector<double> xd = to_double(x), gd = to_double(gamma), bd = to_double(beta);
  auto loss = [&] {
    const Ref r = reference(p, xd, gd, bd, {});
    double l = 0;
    for (size_t i = 0; i < r.y.size(); ++i) l += r.y[i] * g[i];
    return l;
  };
  auto fd = [&](std::vector<double>& v) {
    std::vector<double> grad(v.size());
    const double h = 1e-6;
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i];
      v[i] = keep + h;
      const double up = loss();
      v[i] = keep - h;
      const double down = loss();
      v[i] = keep;
      grad[i] = (up - down) / (2 * h);
    }
    return grad;
  };
  EXPECT_LE(test::max_relative_error(b.dx, fd(xd)), kGradBound);
  EXPECT_LE(test::max_relative_error(b.dgamma, fd(gd)), kGradBound);
  EXPECT_LE(test::max_relative_error(b.dbeta, fd(bd)), kGradBound);
}

// ---- invariances ----------------------------------------------------------------------------------

TEST(BatchNorm, ChunkAloneEqualsChunkAmong64) {
  const BatchNormParams all = params(128, 3, 5, 5, 2);  // 64 chunks of 2 samples
  BatchNormParams one = all;
  one.batch = 2;
  const auto x = random_floats(all.size(), 400, -1.0f, 4.0f), dy = random_floats(all.size(), 401);
  const auto gamma = random_floats(3, 402), beta = random_floats(3, 403);
  const int64_t k = 37, span = one.size(), C = 3;
  const std::vector<float> xs(x.begin() + k * span, x.begin() + (k + 1) * span);
  const std::vector<float> dys(dy.begin() + k * span, dy.begin() + (k + 1) * span);

  const Forward fa = forward(all, x, gamma, beta), fo = forward(one, xs, gamma, beta);
  EXPECT_EQ(first_bit_difference(&fa.y[k * span], fo.y.data(), span), -1);
  EXPECT_EQ(first_bit_difference(&fa.mean[k * C], fo.mean.data(), C), -1);
  EXPECT_EQ(first_bit_difference(&fa.var[k * C], fo.var.data(), C), -1);
  EXPECT_EQ(first_bit_difference(&fa.invstd[k * C], fo.invstd.data(), C), -1);
  const Backward ba = backward(all, x, dy, gamma, fa), bo = backward(one, xs, dys, gamma, fo);
  EXPECT_EQ(first_bit_difference(&ba.dx[k * span], bo.dx.data(), span), -1);
  EXPECT_EQ(first_bit_difference(&ba.dgamma_partials[k * C], bo.dgamma_partials.data(), C), -1);
  EXPECT_EQ(first_bit_difference(&ba.dbeta_partials[k * C], bo.dbeta_partials.data(), C), -1);
}

TEST(BatchNorm, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  for (const BatchNormParams& p : {params(8, 5, 16, 16, 4), params(6, 7, 7, 7, 3), params(600, 3, 1, 1, 300)}) {
    const auto x = random_floats(p.size(), 500), dy = random_floats(p.size(), 501);
    const auto gamma = random_floats(p.channels, 502), beta = random_floats(p.channels, 503);
    set_num_threads(1);
    const Forward f1 = forward(p, x, gamma, beta);
    const Backward b1 = backward(p, x, dy, gamma, f1);
    for (int threads : {2, 7}) {
      set_num_threads(threads);
      const Forward f = forward(p, x, gamma, beta);
      const Backward b = backward(p, x, dy, gamma, f);
      EXPECT_EQ(first_bit_difference(f.y.data(), f1.y.data(), f1.y.size()), -1) << threads;
      EXPECT_EQ(first_bit_difference(f.var.data(), f1.var.data(), f1.var.size()), -1) << threads;
      EXPECT_EQ(first_bit_difference(b.dx.data(), b1.dx.data(), b1.dx.size()), -1) << threads;
      EXPECT_EQ(first_bit_difference(b.dgamma_partials.data(), b1.dgamma_partials.data(), b1.dgamma_partials.size()), -1);
      EXPECT_EQ(first_bit_difference(b.dbeta_partials.data(), b1.dbeta_partials.data(), b1.dbeta_partials.size()), -1);
    }
  }
}

// ---- running statistics ----------------------------------------------------------------------------

TEST(BatchNorm, RunningStatisticsArePairwiseMeansOfChunkStatistics) {
  const int64_t chunks = 6, C = 5, count = 50;
  const auto mean = random_floats(chunks * C, 600), var = random_floats(chunks * C, 601, 0.1f, 2.0f);
  std::vector<float> sums(2 * C), rm(C, 0.5f), rv(C, 2.0f);
  batchnorm_running_stat_sums_cpu(mean.data(), var.data(), chunks, C, count, sums.data());
  batchnorm_update_running_stats_cpu(sums.data(), chunks, C, 0.1f, rm.data(), rv.data());
  const float n = static_cast<float>(count);
  for (int64_t c = 0; c < C; ++c) {
    std::vector<float> m(chunks), u(chunks);
    for (int64_t k = 0; k < chunks; ++k) m[k] = mean[k * C + c], u[k] = (var[k * C + c] * n) / (n - 1.0f);
    const float ms = test::contract_pairwise(m.data(), chunks), us = test::contract_pairwise(u.data(), chunks);
    EXPECT_EQ(float_bits(sums[c]), float_bits(ms));
    EXPECT_EQ(float_bits(sums[C + c]), float_bits(us));
    EXPECT_EQ(float_bits(rm[c]), float_bits((1.0f - 0.1f) * 0.5f + 0.1f * (ms / 6.0f)));
    EXPECT_EQ(float_bits(rv[c]), float_bits((1.0f - 0.1f) * 2.0f + 0.1f * (us / 6.0f)));
  }
}

// DESIGN §6: each rank sums its k chunks' statistics, the deterministic all-reduce combines the
// rank sums pairwise in rank order: the bits equal one rank's when k is a power of two.
TEST(BatchNorm, RunningStatisticSumsOverRanksGiveOneRankBits) {
  const int64_t chunks = 8, C = 7, count = 96;
  const auto mean = random_floats(chunks * C, 700), var = random_floats(chunks * C, 701, 0.0f, 3.0f);
  std::vector<float> one(2 * C);
  batchnorm_running_stat_sums_cpu(mean.data(), var.data(), chunks, C, count, one.data());
  for (int64_t ranks : {2, 4, 8}) {
    const int64_t k = chunks / ranks;
    std::vector<float> rank_sums(ranks * 2 * C), all(2 * C);
    for (int64_t r = 0; r < ranks; ++r)
      batchnorm_running_stat_sums_cpu(&mean[r * k * C], &var[r * k * C], k, C, count, &rank_sums[r * 2 * C]);
    combine_chunk_partials_cpu(rank_sums.data(), ranks, 2 * C, all.data());
    EXPECT_EQ(first_bit_difference(all.data(), one.data(), 2 * C), -1) << ranks;
  }
}

// ---- parameters ----------------------------------------------------------------------------------

std::string error_of(const BatchNormParams& p, bool training = true) {
  try {
    training ? p.validate() : p.validate_inference();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "no error";
}

TEST(BatchNorm, BadParametersAreNamedErrors) {
  const BatchNormParams good = params(8, 3, 4, 4, 4);
  EXPECT_EQ(error_of(good), "no error");
  auto with = [&](auto change, bool training = true) {
    BatchNormParams p = good;
    change(p);
    return error_of(p, training);
  };
  auto has = [](const std::string& s, const char* part) { return s.find(part) != std::string::npos; };
  EXPECT_TRUE(has(with([](auto& p) { p.chunk_size = 0; }), "chunk_size must be >= 1, got 0"));
  EXPECT_TRUE(has(with([](auto& p) { p.chunk_size = 3; }), "batch (8) must be a multiple of chunk_size (3)"));
  EXPECT_TRUE(has(with([](auto& p) { p.chunk_size = 1, p.height = p.width = 1; }), "more than one value"));
  EXPECT_TRUE(has(with([](auto& p) { p.channels = 0; }), "channels must be >= 1, got 0"));
  EXPECT_TRUE(has(with([](auto& p) { p.width = 0; }), "width must be >= 1, got 0"));
  EXPECT_TRUE(has(with([](auto& p) { p.eps = -1.0f; }), "eps must be finite and >= 0"));
  EXPECT_TRUE(has(with([](auto& p) { p.eps = NAN; }), "eps must be finite and >= 0"));
  EXPECT_TRUE(has(with([](auto& p) { p.momentum = 1.5f; }), "momentum must be in [0, 1]"));
  EXPECT_TRUE(has(with([](auto& p) { p.height = 1 << 20, p.width = 1 << 10; }), "< 2^30"));
  // Inference ignores chunking but not the shape.
  EXPECT_EQ(with([](auto& p) { p.chunk_size = 0; }, false), "no error");
  EXPECT_TRUE(has(with([](auto& p) { p.batch = 0; }, false), "batch must be >= 1, got 0"));

  std::vector<float> buf(good.size()), s(good.channels * 2);
  BatchNormParams bad = good;
  bad.chunk_size = 3;
  EXPECT_THROW(batchnorm_forward_training_cpu(bad, buf.data(), s.data(), s.data(), buf.data(), s.data(),
                                              s.data(), s.data()),
               Error);
  EXPECT_THROW(batchnorm_running_stat_sums_cpu(s.data(), s.data(), 1, 1, 1, s.data()), Error);
  EXPECT_THROW(batchnorm_update_running_stats_cpu(s.data(), 0, 1, 0.1f, s.data(), s.data()), Error);
}

}  // namespace
}  // namespace detnn::kernels
