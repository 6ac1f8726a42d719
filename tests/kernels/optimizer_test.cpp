#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/optimizer.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;
using test::TorchReference;

float json_float(const nlohmann::json& j, const char* key, float fallback) {
  return j.contains(key) ? j.at(key).get<float>() : fallback;
}

SgdParams sgd_from_json(const nlohmann::json& j) {
  SgdParams p;
  p.lr = j.at("lr").get<float>();
  p.momentum = json_float(j, "momentum", 0.0f);
  p.dampening = json_float(j, "dampening", 0.0f);
  p.weight_decay = json_float(j, "weight_decay", 0.0f);
  p.nesterov = j.contains("nesterov") && j.at("nesterov").get<bool>();
  return p;
}

AdamParams adam_from_json(const nlohmann::json& j) {
  AdamParams p;
  p.lr = j.at("lr").get<float>();
  p.beta1 = j.at("betas").at(0).get<float>();
  p.beta2 = j.at("betas").at(1).get<float>();
  p.eps = j.at("eps").get<float>();
  p.weight_decay = json_float(j, "weight_decay", 0.0f);
  p.decoupled = j.at("op").get<std::string>() == "adamw";
  return p;
}

// Four steps of PyTorch's trajectories (float64), every hyper-parameter from the json. Bound
// 1e-5 of max |p|: the hyper-parameters become floats (0.999f differs from 0.999 by 1.3e-9,
// so 1 - beta2 by 1.3e-5 relatively; lr, eps, weight decay by up to 2^-24), which moves each
// step by up to ~1e-5 of its size (|step| <= lr * |d| ~ 0.1 * 2, or lr for Adam), plus a few
// roundings of p per step (2^-24 |p| each): over 4 steps ~3e-6 of max |p| ~ 2.3 at worst.
TEST(OptimizerTorch, TrajectoriesMatchPyTorch) {
  const auto& ref = TorchReference::get();
  for (const char* c : {"sgd", "sgd_momentum_wd", "sgd_nesterov_wd", "adam_l2", "adamw"}) {
    const auto& j = ref.params(c);
    const bool is_sgd = j.at("op").get<std::string>() == "sgd";
    auto p = ref.floats(c, "p0");
    const int64_t n = static_cast<int64_t>(p.size());
    std::vector<float> s1(n, 0.0f), s2(n, 0.0f);
    for (int t = 1; t <= 4; ++t) {
      const auto g = ref.floats(c, "g" + std::to_string(t));
      if (is_sgd)
        sgd_update_cpu(p.data(), g.data(), s1.data(), n, sgd_step_scalars(sgd_from_json(j), t));
      else
        adam_update_cpu(p.data(), g.data(), s1.data(), s2.data(), n, adam_step_scalars(adam_from_json(j), t));
      EXPECT_LE(test::max_relative_error(p, ref.values(c, "p" + std::to_string(t))), 1e-5) << c << " step " << t;
    }
  }
}

// float64 versions of the documented updates, for random inputs over many steps.
struct RefState {
  std::vector<double> p, m, v;
};

TEST(Optimizer, CloseToFloat64ReferenceOverManySteps) {
  const int64_t n = 1031, steps = 50;
  for (int variant = 0; variant < 5; ++variant) {
    SgdParams sp;
    AdamParams ap;
    const bool is_sgd = variant < 3;
    if (variant == 0) sp = {0.05f, 0.0f, 0.0f, 0.0f, false};
    if (variant == 1) sp = {0.05f, 0.9f, 0.1f, 1e-3f, false};
    if (variant == 2) sp = {0.05f, 0.9f, 0.0f, 1e-3f, true};
    if (variant == 3) ap = {3e-3f, 0.9f, 0.999f, 1e-8f, 0.05f, false};
    if (variant == 4) ap = {3e-3f, 0.8f, 0.99f, 1e-6f, 0.05f, true};
    auto p = random_floats(n, 60 + variant, -2.0f, 2.0f);
    std::vector<float> m(n, 0.0f), v(n, 0.0f);
    RefState r{std::vector<double>(p.begin(), p.end()), std::vector<double>(n, 0), std::vector<double>(n, 0)};
    for (int64_t t = 1; t <= steps; ++t) {
      const auto g = random_floats(n, 1000 * variant + t, -1.0f, 1.0f);
      if (is_sgd) {
        sgd_update_cpu(p.data(), g.data(), m.data(), n, sgd_step_scalars(sp, t));
        for (int64_t i = 0; i < n; ++i) {
          double d = g[i] + static_cast<double>(sp.weight_decay) * r.p[i];
          if (sp.momentum != 0) {
            r.m[i] = t == 1 ? d : sp.momentum * r.m[i] + (1 - static_cast<double>(sp.dampening)) * d;
            d = sp.nesterov ? d + sp.momentum * r.m[i] : r.m[i];
          }
          r.p[i] -= sp.lr * d;
        }
      } else {
        adam_update_cpu(p.data(), g.data(), m.data(), v.data(), n, adam_step_scalars(ap, t));
        const double b1 = ap.beta1, b2 = ap.beta2;
        for (int64_t i = 0; i < n; ++i) {
          double gi = g[i];
          if (ap.decoupled) r.p[i] *= 1 - static_cast<double>(ap.lr) * ap.weight_decay;
          else gi += ap.weight_decay * r.p[i];
          r.m[i] = b1 * r.m[i] + (1 - b1) * gi;
          r.v[i] = b2 * r.v[i] + (1 - b2) * gi * gi;
          const double denom = std::sqrt(r.v[i]) / std::sqrt(1 - std::pow(b2, t)) + ap.eps;
          r.p[i] -= ap.lr / (1 - std::pow(b1, t)) * r.m[i] / denom;
        }
      }
    }
    // 50 steps, each moving p by <= ~0.05 with a relative error of a few 2^-24 (float
    // hyper-parameters, roundings); plus a few roundings of |p| <= ~4 per step.
    double err = 0;
    for (int64_t i = 0; i < n; ++i) err = std::max(err, std::fabs(p[i] - r.p[i]));
    EXPECT_LE(err, 50 * (8 * 4 + 8 * 0.05) * std::ldexp(1.0, -24) * 4) << "variant " << variant;
  }
}

// Every element is its own output: any thread count gives the bits of the per-element function.
TEST(Optimizer, SameBitsForEveryThreadCountAndSize) {
  ThreadCountGuard guard;
  const SgdStep sgd = sgd_step_scalars({0.1f, 0.9f, 0.0f, 1e-2f, true}, 3);
  const AdamStep adamw = adam_step_scalars({1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, true}, 7);
  for (int64_t n : {1, 7, 33, 257, 100003}) {
    const auto p0 = random_floats(n, 70 + n), g = random_floats(n, 71 + n);
    const auto m0 = random_floats(n, 72 + n), v0 = random_floats(n, 73 + n, 0.0f, 1.0f);
    std::vector<float> want_p = p0, want_buf = m0, want_ap = p0, want_m = m0, want_v = v0;
    for (int64_t i = 0; i < n; ++i) {
      optim::sgd_element(want_p[i], g[i], &want_buf[i], sgd, 0.5f);
      optim::adam_element(want_ap[i], g[i], want_m[i], want_v[i], adamw, 0.5f);
    }
    for (int threads : {1, 2, 7}) {
      set_num_threads(threads);
      auto p = p0, buf = m0, ap = p0, m = m0, v = v0;
      sgd_update_cpu(p.data(), g.data(), buf.data(), n, sgd, 0.5f);
      adam_update_cpu(ap.data(), g.data(), m.data(), v.data(), n, adamw, 0.5f);
      EXPECT_EQ(first_bit_difference(p.data(), want_p.data(), n), -1) << n << " " << threads;
      EXPECT_EQ(first_bit_difference(buf.data(), want_buf.data(), n), -1);
      EXPECT_EQ(first_bit_difference(ap.data(), want_ap.data(), n), -1);
      EXPECT_EQ(first_bit_difference(m.data(), want_m.data(), n), -1);
      EXPECT_EQ(first_bit_difference(v.data(), want_v.data(), n), -1);
    }
  }
}

// A gradient scale of 1 changes nothing; a clip scale equals pre-scaling the gradients.
TEST(Optimizer, GradScaleIsTheClipFactor) {
  const int64_t n = 513;
  const auto p0 = random_floats(n, 80), g = random_floats(n, 81);
  const AdamStep s = adam_step_scalars({1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false}, 1);
  auto a = p0, b = p0;
  std::vector<float> ma(n, 0), va(n, 0), mb(n, 0), vb(n, 0), scaled(n);
  for (int64_t i = 0; i < n; ++i) scaled[i] = g[i] * 0.25f;
  adam_update_cpu(a.data(), g.data(), ma.data(), va.data(), n, s, 0.25f);
  adam_update_cpu(b.data(), scaled.data(), mb.data(), vb.data(), n, s);
  EXPECT_EQ(first_bit_difference(a.data(), b.data(), n), -1);
  EXPECT_EQ(first_bit_difference(va.data(), vb.data(), n), -1);
}

TEST(Optimizer, StepScalarsUseDmath) {
  const AdamStep s = adam_step_scalars({0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, true}, 3);
  EXPECT_EQ(test::float_bits(s.step_size), test::float_bits(0.01f / (1.0f - dmath::pow(0.9f, 3.0f))));
  EXPECT_EQ(test::float_bits(s.sqrt_bc2), test::float_bits(dmath::sqrt(1.0f - dmath::pow(0.999f, 3.0f))));
  EXPECT_EQ(s.decay, 1.0f - 0.01f * 0.01f);
  EXPECT_TRUE(sgd_step_scalars({0.1f}, 1).first_step);
  EXPECT_FALSE(sgd_step_scalars({0.1f}, 2).first_step);
}

TEST(GradNorm, EqualsSqrtOfTheContractSumOfSquares) {
  ThreadCountGuard guard;
  for (int64_t n : {0, 1, 7, 33, 256, 257, 65537, 1000003}) {
    const auto g = random_floats(n, 90 + n, -3.0f, 3.0f);
    std::vector<float> sq(n);
    double exact = 0;
    for (int64_t i = 0; i < n; ++i) sq[i] = g[i] * g[i], exact += static_cast<double>(g[i]) * g[i];
    const float want = dmath::sqrt(test::contract_sum(sq.data(), n));
    for (int threads : {1, 2, 7}) {
      set_num_threads(threads);
      EXPECT_EQ(test::float_bits(global_grad_norm_cpu(g.data(), n)), test::float_bits(want)) << n << " " << threads;
    }
    // Sum of n positive squares: relative error <= (256 + log2(leaves) + 1) 2^-24; sqrt halves it.
    EXPECT_LE(std::fabs(want - std::sqrt(exact)), (280 * std::ldexp(1.0, -24)) * std::sqrt(exact) + 1e-30);
  }
}

TEST(GradNorm, ClipFactorFollowsPyTorch) {
  EXPECT_EQ(clip_factor_cpu(0.5f, 1.0f), 1.0f);
  EXPECT_EQ(clip_factor_cpu(4.0f, 1.0f), 1.0f / (4.0f + 1e-6f));
  EXPECT_EQ(clip_factor_cpu(INFINITY, 1.0f), 0.0f);
  EXPECT_TRUE(std::isnan(clip_factor_cpu(NAN, 1.0f)));
  EXPECT_THROW(clip_factor_cpu(1.0f, 0.0f), Error);
  EXPECT_THROW(clip_factor_cpu(1.0f, -1.0f), Error);
}

TEST(Optimizer, BadParametersAreNamedErrors) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { sgd_step_scalars({-0.1f}, 1); }).find("sgd: lr must be finite and >= 0, got -0.1"), std::string::npos);
  EXPECT_NE(message([] { sgd_step_scalars({0.1f, -0.5f}, 1); }).find("momentum must be finite and >= 0, got -0.5"), std::string::npos);
  EXPECT_NE(message([] { sgd_step_scalars({0.1f, 0.0f, 0.0f, 0.0f, true}, 1); }).find("nesterov needs momentum > 0"), std::string::npos);
  EXPECT_NE(message([] { sgd_step_scalars({0.1f, 0.9f, 0.5f, 0.0f, true}, 1); }).find("dampening 0.5"), std::string::npos);
  EXPECT_NE(message([] { sgd_step_scalars({0.1f, 0.0f, 0.0f, -1.0f}, 1); }).find("weight_decay must be finite and >= 0, got -1"), std::string::npos);
  EXPECT_NE(message([] { sgd_step_scalars({0.1f}, 0); }).find("step must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({-1e-3f}, 1); }).find("adam: lr must be finite and >= 0, got -0.001"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({1e-3f, 1.0f}, 1); }).find("beta1 must be in [0, 1), got 1"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({1e-3f, 0.9f, -0.1f}, 1); }).find("beta2 must be in [0, 1), got -0.1"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({1e-3f, 0.9f, 0.999f, -1e-8f}, 1); }).find("eps must be finite and >= 0"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, true}, 0); }).find("adamw: step must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(message([] { adam_step_scalars({NAN}, 1); }).find("lr must be finite"), std::string::npos);
  float v = 0;
  EXPECT_NE(message([&] { sgd_update_cpu(&v, &v, nullptr, 1, sgd_step_scalars({0.1f, 0.9f}, 1)); }).find("needs a momentum buffer"), std::string::npos);
  EXPECT_NE(message([&] { global_grad_norm_cpu(&v, -1); }).find("n must be >= 0, got -1"), std::string::npos);
}

}  // namespace
}  // namespace detnn::kernels
