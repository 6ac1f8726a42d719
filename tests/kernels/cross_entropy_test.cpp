#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cross_entropy.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;

CrossEntropyParams make_params(int64_t samples, int64_t K, float eps, int64_t batch) {
  CrossEntropyParams p;
  p.samples = samples;
  p.classes = K;
  p.label_smoothing = eps;
  p.global_batch = batch;
  return p;
}

std::vector<int32_t> random_labels(int64_t n, int64_t K, uint32_t seed) {
  std::vector<int32_t> labels(n);
  const auto u = random_floats(n, seed, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) labels[i] = std::min<int32_t>(static_cast<int32_t>(u[i] * K), K - 1);
  return labels;
}

// float64 reference of one sample, with the magnitudes the error bound needs.
struct RefSample {
  double loss, m, s, ls, zy, mean_abs;
};
RefSample ref_sample(const float* z, int64_t K, int32_t y, double eps) {
  RefSample r{};
  r.m = *std::max_element(z, z + K);
  double d = 0;
  for (int64_t k = 0; k < K; ++k) {
    r.s += std::exp(z[k] - r.m);
    d += z[k] - r.m;
    r.mean_abs += std::fabs(z[k] - r.m) / K;
  }
  r.ls = std::log(r.s);
  r.zy = z[y] - r.m;
  r.loss = (1 - eps) * (r.ls - r.zy) + eps * (r.ls - d / K);
  return r;
}
double ref_batch_loss(const std::vector<float>& z, const std::vector<int32_t>& labels, int64_t K,
                      double eps, int64_t batch) {
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) sum += ref_sample(&z[i * K], K, labels[i], eps).loss;
  return sum / batch;
}

// Error bounds (per sample, absolute). The class sum s of positive terms is within
// (min(K, 256) + log2(leaves) + 1) * 2^-24 relatively of exact, each exp within 0.51 ulp plus
// |z_k - m| * 2^-24 from its rounded argument; log turns a relative error of s into an absolute
// error of ls. The remaining subtractions, the division by K and the fma each round once at the
// scale of |ls| + |z_y - m| (or of the mean |z_k - m| for the smoothing term).
double loss_bound(const RefSample& r, int64_t K) {
  const double leaf = static_cast<double>(std::min<int64_t>(K, 256)) + 24;
  return std::ldexp(leaf * (1 + r.mean_abs) + 4 * (std::fabs(r.ls) + std::fabs(r.zy)), -24);
}
// g = (p - q) / B: p = e / s carries the relative error of s and of e, then two roundings.
double grad_bound(double p, double zk_minus_m, double g, int64_t K, int64_t B) {
  const double leaf = static_cast<double>(std::min<int64_t>(K, 256)) + 24;
  return std::ldexp(p * (leaf + std::fabs(zk_minus_m)) / B + 4 * std::fabs(g), -24) + 1e-45;
}

TEST(CrossEntropyTorch, LossAndGradientMatchPyTorch) {
  const auto& ref = test::TorchReference::get();
  for (const char* c : {"xent", "xent_ls0.1", "xent_ls0.2"}) {
    const auto& prm = ref.params(c);
    ASSERT_EQ(prm.at("reduction").get<std::string>(), "mean");
    const float eps = prm.at("label_smoothing").get<float>();
    const auto shape = ref.shape(c, "logits");
    const int64_t N = shape[0], K = shape[1];
    const auto logits = ref.floats(c, "logits");
    std::vector<int32_t> labels;
    for (double v : ref.values(c, "labels")) labels.push_back(static_cast<int32_t>(v));
    const auto p = make_params(N, K, eps, N);
    std::vector<float> losses(N), grad(N * K);
    cross_entropy_forward_cpu(logits.data(), labels.data(), losses.data(), p);
    cross_entropy_backward_cpu(logits.data(), labels.data(), grad.data(), p);
    const float loss = cross_entropy_batch_loss_cpu(losses.data(), N, N);
    // K = 10, |logits| < 10: loss_bound ~ (34 * 4 + 4 * 12) * 2^-24 ~ 1.1e-5 absolute at worst
    // per sample, ~2e-6 relative to a loss of ~6; the measured error is far below. 1e-6 of the
    // loss and of max |grad| (grad_bound ~ (34 + 10) * 2^-24 / B relative to p/B) hold with margin
    // for typical rounding; the hard per-element bounds are checked on random inputs below.
    EXPECT_LE(test::max_relative_error({loss}, ref.values(c, "loss")), 1e-6) << c;
    EXPECT_LE(test::max_relative_error(grad, ref.values(c, "glogits")), 1e-6) << c;
  }
}

TEST(CrossEntropy, CloseToFloat64Reference) {
  const int64_t N = 37, B = 64;  // B: the global batch, larger than this call
  for (int64_t K : {1, 2, 7, 256, 257, 1000, 3000}) {
    for (float eps : {0.0f, 0.1f, 1.0f}) {
      const auto z = random_floats(N * K, 7 + K, -8.0f, 8.0f);
      const auto labels = random_labels(N, K, 8 + K);
      const auto p = make_params(N, K, eps, B);
      std::vector<float> losses(N), grad(N * K);
      cross_entropy_forward_cpu(z.data(), labels.data(), losses.data(), p);
      cross_entropy_backward_cpu(z.data(), labels.data(), grad.data(), p);
      const double off = static_cast<double>(eps) / K, on = 1 - static_cast<double>(eps) + off;
      for (int64_t i = 0; i < N; ++i) {
        const RefSample r = ref_sample(&z[i * K], K, labels[i], eps);
        ASSERT_LE(std::fabs(losses[i] - r.loss), loss_bound(r, K)) << "K=" << K << " eps=" << eps << " i=" << i;
        for (int64_t k = 0; k < K; ++k) {
          const double pk = std::exp(z[i * K + k] - r.m) / r.s;
          const double want = (pk - (k == labels[i] ? on : off)) / B;
          ASSERT_LE(std::fabs(grad[i * K + k] - want), grad_bound(pk, z[i * K + k] - r.m, want, K, B))
              << "K=" << K << " eps=" << eps << " i=" << i << " k=" << k;
        }
      }
    }
  }
}

// The gradient against central differences of the float64 batch loss (h = 1e-6 on inputs of
// size <= 4: truncation ~1e-12, rounding ~1e-10 of the loss difference).
TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  const int64_t N = 5, K = 7, B = 5;
  for (float eps : {0.0f, 0.2f}) {
    const auto z = random_floats(N * K, 99, -4.0f, 4.0f);
    const auto labels = random_labels(N, K, 98);
    std::vector<float> grad(N * K);
    cross_entropy_backward_cpu(z.data(), labels.data(), grad.data(), make_params(N, K, eps, B));
    for (int64_t j = 0; j < N * K; ++j) {
      const double h = 1e-6;
      auto loss_at = [&](double delta) {
        double sum = 0;
        for (int64_t i = 0; i < N; ++i) {
          std::vector<double> row(z.begin() + i * K, z.begin() + (i + 1) * K);
          if (j / K == i) row[j % K] += delta;
          const double m = *std::max_element(row.begin(), row.end());
          double s = 0, d = 0;
          for (double v : row) s += std::exp(v - m), d += v - m;
          const double ls = std::log(s);
          sum += (1 - eps) * (ls - (row[labels[i]] - m)) + eps * (ls - d / K);
        }
        return sum / B;
      };
      const double fd = (loss_at(h) - loss_at(-h)) / (2 * h);
      EXPECT_NEAR(grad[j], fd, 1e-7 + 1e-6 * std::fabs(fd)) << "eps=" << eps << " j=" << j;
    }
  }
}

TEST(CrossEntropy, LargeLogitsAreStable) {
  const int64_t N = 9, K = 300;
  const auto z = random_floats(N * K, 5, -3e4f, 3e4f);
  const auto labels = random_labels(N, K, 6);
  std::vector<float> losses(N), grad(N * K);
  const auto p = make_params(N, K, 0.1f, N);
  cross_entropy_forward_cpu(z.data(), labels.data(), losses.data(), p);
  cross_entropy_backward_cpu(z.data(), labels.data(), grad.data(), p);
  for (int64_t i = 0; i < N; ++i) {
    const RefSample r = ref_sample(&z[i * K], K, labels[i], 0.1);
    EXPECT_NEAR(losses[i], r.loss, loss_bound(r, K)) << i;
  }
  for (float g : grad) EXPECT_TRUE(std::isfinite(g));
}

// A sample's loss and gradient do not depend on the other samples of the call, nor on the
// thread count; the batch loss is the contract's canonical sum over samples / B.
TEST(CrossEntropy, BatchAndThreadInvariant) {
  ThreadCountGuard guard;
  for (int64_t K : {1, 7, 33, 257, 1000}) {
    const int64_t N = 64;
    const auto z = random_floats(N * K, 50 + K, -5.0f, 5.0f);
    const auto labels = random_labels(N, K, 51 + K);
    const auto p = make_params(N, K, 0.1f, 256);
    set_num_threads(1);
    std::vector<float> losses(N), grad(N * K);
    cross_entropy_forward_cpu(z.data(), labels.data(), losses.data(), p);
    cross_entropy_backward_cpu(z.data(), labels.data(), grad.data(), p);
    for (int threads : {2, 7}) {
      set_num_threads(threads);
      std::vector<float> l2(N), g2(N * K);
      cross_entropy_forward_cpu(z.data(), labels.data(), l2.data(), p);
      cross_entropy_backward_cpu(z.data(), labels.data(), g2.data(), p);
      EXPECT_EQ(first_bit_difference(l2.data(), losses.data(), N), -1) << "K=" << K << " t=" << threads;
      EXPECT_EQ(first_bit_difference(g2.data(), grad.data(), N * K), -1) << "K=" << K << " t=" << threads;
    }
    for (int64_t i : {0, 13, 63}) {  // sample i alone
      float loss;
      std::vector<float> g(K);
      auto one = p;
      one.samples = 1;
      cross_entropy_forward_cpu(&z[i * K], &labels[i], &loss, one);
      cross_entropy_backward_cpu(&z[i * K], &labels[i], g.data(), one);
      EXPECT_EQ(test::float_bits(loss), test::float_bits(losses[i])) << "K=" << K << " i=" << i;
      EXPECT_EQ(first_bit_difference(g.data(), &grad[i * K], K), -1) << "K=" << K << " i=" << i;
    }
    EXPECT_EQ(test::float_bits(cross_entropy_batch_loss_cpu(losses.data(), N, 256)),
              test::float_bits(test::contract_sum(losses.data(), N) / 256.0f));
  }
  // Batch loss over many samples: leaves of 256 then pairwise, divided by the global B.
  const auto many = random_floats(1000, 3, 0.0f, 5.0f);
  EXPECT_EQ(test::float_bits(cross_entropy_batch_loss_cpu(many.data(), 1000, 4096)),
            test::float_bits(test::contract_sum(many.data(), 1000) / 4096.0f));
}

// One class: p = 1, loss 0, gradient (1 - 1) / B = 0 for eps = 0.
TEST(CrossEntropy, SingleClass) {
  const float z[3] = {-3.0f, 0.0f, 100.0f};
  const int32_t labels[3] = {0, 0, 0};
  float losses[3], grad[3];
  cross_entropy_forward_cpu(z, labels, losses, make_params(3, 1, 0.0f, 3));
  cross_entropy_backward_cpu(z, labels, grad, make_params(3, 1, 0.0f, 3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(losses[i], 0.0f);
    EXPECT_EQ(grad[i], 0.0f);
  }
}

TEST(CrossEntropy, BadParametersAreNamedErrors) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const float z[6] = {0, 1, 2, 3, 4, 5};
  const int32_t good[2] = {0, 2}, bad_high[2] = {1, 3}, bad_neg[2] = {-1, 0};
  float out[6];
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, bad_high, out, make_params(2, 3, 0, 2)); })
                .find("label of sample 1 is 3, outside [0, 3)"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_backward_cpu(z, bad_neg, out, make_params(2, 3, 0, 2)); })
                .find("label of sample 0 is -1, outside [0, 3)"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, good, out, make_params(2, 0, 0, 2)); })
                .find("classes (K) must be in [1, 2^24], got 0"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, good, out, make_params(2, 3, 1.5f, 2)); })
                .find("label_smoothing must be in [0, 1], got 1.5"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, good, out, make_params(2, 3, -0.1f, 2)); })
                .find("label_smoothing must be in [0, 1], got -0.1"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, good, out, make_params(2, 3, 0, 0)); })
                .find("global_batch must be in [1, 2^24], got 0"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_forward_cpu(z, good, out, make_params(-1, 3, 0, 2)); })
                .find("samples must be >= 0, got -1"), std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_batch_loss_cpu(out, 2, 0); }).find("global_batch must be in [1, 2^24], got 0"),
            std::string::npos);
  EXPECT_NE(message([&] { cross_entropy_validate_labels(bad_high, 2, 3); }).find("label of sample 1 is 3"),
            std::string::npos);
}

}  // namespace
}  // namespace detnn::kernels
