#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/optimizer.h"
#include "optim/optimizer.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::optim {
namespace {

using test::first_bit_difference;
using test::random_floats;
using test::TorchReference;

// The reference case's hyper-parameters as a model file's "optimizer" object.
OptimizerSpec spec_from_reference(const std::string& c) {
  nlohmann::json j = TorchReference::get().params(c);
  j["type"] = j.at("op");
  j.erase("op");
  return parse_optimizer_spec(j, "optimizer");
}

OptimizerSpec spec_from(const nlohmann::json& j) { return parse_optimizer_spec(j, "optimizer"); }

// Four updates of PyTorch's float64 trajectories through the Optimizer (CPU), bound 1e-5 of
// max |p|, as tests/kernels/optimizer_test.cpp argues for the same kernels: the
// hyper-parameters rounded to float move each step by up to ~1e-5 of its size (1 - beta2 most),
// and each step rounds p a few times (2^-24 |p| each); over 4 steps that stays below ~3e-6 of
// max |p|. The constant schedule gives the exact float lr, the clip is off (factor 1, exact).
TEST(OptimizerClassTorch, TrajectoriesMatchPyTorch) {
  const auto& ref = TorchReference::get();
  for (const char* c : {"sgd", "sgd_momentum_wd", "sgd_nesterov_wd", "adam_l2", "adamw"}) {
    auto p = ref.floats(c, "p0");
    const int64_t n = static_cast<int64_t>(p.size());
    Optimizer opt(spec_from_reference(c), n, Device::cpu());
    for (int t = 1; t <= 4; ++t) {
      const auto g = ref.floats(c, "g" + std::to_string(t));
      opt.step(p.data(), g.data(), t - 1, 1, 4);
      EXPECT_EQ(opt.last_lr(), static_cast<float>(ref.params(c).at("lr").get<double>())) << c;
      EXPECT_LE(test::max_relative_error(p, ref.values(c, "p" + std::to_string(t))), 1e-5) << c << " step " << t;
    }
  }
}

const nlohmann::json kVariants[] = {
    {{"type", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"dampening", 0.1}, {"weight_decay", 1e-3}},
    {{"type", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"nesterov", true}, {"clip_grad_norm", 2.0}},
    {{"type", "adam"}, {"lr", 3e-3}, {"weight_decay", 0.05}, {"clip_grad_norm", 5.0}},
    {{"type", "adamw"}, {"lr", 3e-3}, {"betas", {0.8, 0.99}}, {"eps", 1e-6}},
};

// A run interrupted after 3 updates and restored from state_tensors() continues with the bits
// of the uninterrupted run: the momentum buffer's first-step rule, Adam's bias corrections and
// the (cosine) lr all follow from updates_done.
TEST(OptimizerClass, ResumeFromStateGivesTheSameBits) {
  const int64_t n = 1031, steps = 6, resume_at = 3;
  for (nlohmann::json j : kVariants) {
    j["schedule"] = {{"type", "cosine"}, {"unit", "step"}};
    const OptimizerSpec spec = spec_from(j);
    std::vector<std::vector<float>> grads;
    for (int64_t t = 0; t < steps; ++t) grads.push_back(random_floats(n, 500 + t, -1.0f, 1.0f));
    const auto p0 = random_floats(n, 499, -2.0f, 2.0f);

    auto straight = p0;
    Optimizer a(spec, n, Device::cpu());
    for (int64_t t = 0; t < steps; ++t) a.step(straight.data(), grads[t].data(), t, 1, steps);

    auto resumed = p0;
    Optimizer first(spec, n, Device::cpu());
    for (int64_t t = 0; t < resume_at; ++t) first.step(resumed.data(), grads[t].data(), t, 1, steps);
    Optimizer second(spec, n, Device::cpu());
    auto from = first.state_tensors(), to = second.state_tensors();
    ASSERT_EQ(from.size(), to.size());
    for (size_t k = 0; k < from.size(); ++k) to[k].second->copy_from(*from[k].second);
    for (int64_t t = resume_at; t < steps; ++t) second.step(resumed.data(), grads[t].data(), t, 1, steps);

    EXPECT_EQ(first_bit_difference(straight.data(), resumed.data(), n), -1) << j.dump();
  }
}

// The class adds nothing to the kernels' arithmetic: the bits of calling them directly.
TEST(OptimizerClass, SameBitsAsTheKernels) {
  const int64_t n = 777;
  const auto g = random_floats(n, 40, -1.0f, 1.0f);
  auto p = random_floats(n, 41), want = p;
  std::vector<float> buf(n, 0.0f);
  Optimizer opt(spec_from(kVariants[0]), n, Device::cpu());
  kernels::SgdParams sp{0.05f, 0.9f, 0.1f, 1e-3f, false};
  for (int64_t t = 0; t < 3; ++t) {
    opt.step(p.data(), g.data(), t, 1, 3);
    kernels::sgd_update_cpu(want.data(), g.data(), buf.data(), n, kernels::sgd_step_scalars(sp, t + 1));
  }
  EXPECT_EQ(first_bit_difference(p.data(), want.data(), n), -1);
}

// The rates are written out, not asked of scheduled_lr (which the optimizer itself calls): 3
// updates per epoch and a decay by 0.5 every 2 epochs give 0.1 for updates 0-5 and 0.05 for 6-11
// (0.1 * 0.5 is exact). The parameters follow plain SGD with those rates, p = fmaf(-lr, g, p).
TEST(OptimizerClass, UsesTheScheduledLr) {
  OptimizerSpec spec = spec_from({{"lr", 0.1}, {"schedule", {{"type", "step"}, {"step_size", 2}, {"gamma", 0.5}}}});
  const int64_t n = 5;
  std::vector<float> p(n, 1.0f), g(n, 1.0f);
  Optimizer opt(spec, n, Device::cpu());
  EXPECT_TRUE(std::isnan(opt.last_lr()));
  float want = 1.0f;
  for (int64_t t = 0; t < 12; ++t) {
    opt.step(p.data(), g.data(), t, 3, 12);
    const float lr = static_cast<float>(t < 6 ? 0.1 : 0.1 * 0.5);
    EXPECT_EQ(opt.last_lr(), lr) << t;
    want = std::fmaf(-lr, 1.0f, want);
    EXPECT_EQ(p[0], want) << t;
  }
}

// The norm is the canonical sum's sqrt, within (256 + log2(leaves) + 2) * 2^-24 ~ 1.6e-5 of the
// float64 norm (each of the <= 256 sequential leaf additions, the pairwise levels and the sqrt
// round once, relative to the sum of squares, all terms >= 0); the clip factor scales every
// gradient inside the update, bit for bit fmaf(-lr, g * factor, p).
TEST(OptimizerClass, ClippingUsesTheGlobalNormAndAppliesTheFactor) {
  const int64_t n = 5000;
  const auto g = random_floats(n, 60, -1.0f, 1.0f);
  const auto p0 = random_floats(n, 61);
  double sum = 0.0;
  for (float x : g) sum += static_cast<double>(x) * x;
  const double norm64 = std::sqrt(sum);
  for (double max_norm : {0.5 * norm64, 2.0 * norm64}) {
    Optimizer opt(spec_from({{"lr", 0.1}, {"clip_grad_norm", max_norm}}), n, Device::cpu());
    EXPECT_TRUE(std::isnan(opt.last_grad_norm()));
    auto p = p0;
    opt.step(p.data(), g.data(), 0, 1, 1);
    const float norm = opt.last_grad_norm();
    EXPECT_LE(std::fabs(norm - norm64), 1.6e-5 * norm64);
    EXPECT_EQ(norm, kernels::global_grad_norm_cpu(g.data(), n));
    const float factor = kernels::clip_factor_cpu(norm, static_cast<float>(max_norm));
    EXPECT_EQ(factor == 1.0f, max_norm > norm64);
    double moved = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(p[i], fmaf(-0.1f, g[i] * factor, p0[i])) << i;
      moved += (static_cast<double>(p[i]) - p0[i]) * (static_cast<double>(p[i]) - p0[i]);
    }
    // The update's length is lr * min(norm, max_norm).
    EXPECT_NEAR(std::sqrt(moved) / 0.1, std::min(max_norm, norm64), 1e-4 * norm64);
  }
}

TEST(OptimizerClass, NormIsComputedWithoutClipping) {
  const int64_t n = 300;
  const auto g = random_floats(n, 62);
  auto p = random_floats(n, 63);
  Optimizer opt(spec_from({{"type", "adam"}}), n, Device::cpu());
  opt.step(p.data(), g.data(), 0, 1, 1);
  EXPECT_EQ(opt.last_grad_norm(), kernels::global_grad_norm_cpu(g.data(), n));
}

TEST(OptimizerClass, StateTensorNames) {
  const auto names = [](const nlohmann::json& j) {
    Optimizer opt(spec_from(j), 13, Device::cpu());
    std::vector<std::string> out;
    for (auto& [name, t] : opt.state_tensors()) {
      out.push_back(name);
      EXPECT_EQ(t->shape(), Shape{13});
      EXPECT_EQ(t->dtype(), DType::f32);
      for (int i = 0; i < 13; ++i) EXPECT_EQ(t->data<float>()[i], 0.0f);
    }
    return out;
  };
  EXPECT_EQ(names({{"type", "sgd"}}), std::vector<std::string>{});
  EXPECT_EQ(names({{"type", "sgd"}, {"momentum", 0.9}}), std::vector<std::string>{"optimizer.momentum_buffer"});
  const std::vector<std::string> adam{"optimizer.exp_avg", "optimizer.exp_avg_sq"};
  EXPECT_EQ(names({{"type", "adam"}}), adam);
  EXPECT_EQ(names({{"type", "adamw"}}), adam);
}

TEST(OptimizerClass, BadConstructionIsRejected) {
  OptimizerSpec spec;
  EXPECT_THROW(Optimizer(spec, 0, Device::cpu()), Error);
  spec.type = "rmsprop";
  EXPECT_THROW(Optimizer(spec, 4, Device::cpu()), Error);
  spec = OptimizerSpec{};
  spec.lr = -1.0;
  EXPECT_THROW(Optimizer(spec, 4, Device::cpu()), Error);
}

}  // namespace
}  // namespace detnn::optim
