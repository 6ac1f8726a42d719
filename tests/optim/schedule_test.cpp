#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "optim/schedule.h"
#include "runtime/error.h"
#include "support/torch_reference.h"

namespace detnn::optim {
namespace {

using test::TorchReference;

const char* const kCases[] = {"sched_step", "sched_multistep", "sched_cosine", "sched_warmup", "sched_onecycle"};

// The reference case's parameters in our JSON form: "op" is the type, base_lr is the optimizer's.
ScheduleSpec spec_from_reference(const std::string& c, const char* unit) {
  nlohmann::json j = TorchReference::get().params(c);
  j["type"] = j.at("op");
  j.erase("op");
  j.erase("base_lr");
  j["unit"] = unit;
  return parse_schedule_spec(j, "schedule");
}

std::string format_error(const nlohmann::json& j) {
  try {
    parse_schedule_spec(j, "optimizer.schedule");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for " << j.dump();
  return "";
}

// PyTorch computes in float64; ours is double arithmetic plus float sinpi (cosine shapes, ~1e-7
// relative, kept relative to the nearer end by the sin^2 forms) and one rounding to float
// (2^-24 relative): 1e-6 relative per value (measured worst: 2.2e-7, onecycle).
TEST(ScheduleTorch, EveryScheduleMatchesPyTorch) {
  const auto& ref = TorchReference::get();
  for (const char* c : kCases) {
    const ScheduleSpec s = spec_from_reference(c, "step");
    const double base = ref.params(c).value("base_lr", 0.0);  // onecycle has none: max_lr rules
    const auto want = ref.values(c, "lr");
    const int64_t total = static_cast<int64_t>(want.size());
    double worst = 0.0;
    int64_t worst_at = 0;
    for (int64_t i = 0; i < total; ++i) {
      const double got = scheduled_lr(s, base, i, 1, total);
      const double err = std::fabs(got - want[i]) / std::fabs(want[i]);
      if (err > worst) worst = err, worst_at = i;
    }
    EXPECT_LE(worst, 1e-6) << c << " index " << worst_at;
  }
}

// An epoch-unit schedule holds each value for a whole epoch: the bits of the step-unit value
// at the epoch index.
TEST(Schedule, EpochUnitHoldsTheLrForAnEpoch) {
  const auto& ref = TorchReference::get();
  const int64_t per_epoch = 7;
  for (const char* c : kCases) {
    const ScheduleSpec by_step = spec_from_reference(c, "step"), by_epoch = spec_from_reference(c, "epoch");
    const double base = ref.params(c).value("base_lr", 0.0);  // onecycle has none: max_lr rules
    const int64_t epochs = static_cast<int64_t>(ref.values(c, "lr").size());
    for (int64_t s = 0; s < epochs * per_epoch; s += 3)
      EXPECT_EQ(scheduled_lr(by_epoch, base, s, per_epoch, epochs * per_epoch),
                scheduled_lr(by_step, base, s / per_epoch, 1, epochs))
          << c << " step " << s;
  }
}

TEST(Schedule, UnitDefaultsFollowPyTorchUsage) {
  const auto unit = [](const char* type, nlohmann::json extra) {
    extra["type"] = type;
    return parse_schedule_spec(extra, "s").unit;
  };
  EXPECT_EQ(unit("step", {{"step_size", 3}}), ScheduleUnit::epoch);
  EXPECT_EQ(unit("multistep", {{"milestones", {3}}}), ScheduleUnit::epoch);
  EXPECT_EQ(unit("cosine", nlohmann::json::object()), ScheduleUnit::epoch);
  EXPECT_EQ(unit("onecycle", nlohmann::json::object()), ScheduleUnit::step);
  EXPECT_EQ(unit("linear_warmup", nlohmann::json::object()), ScheduleUnit::step);
  EXPECT_EQ(unit("constant", nlohmann::json::object()), ScheduleUnit::step);
  EXPECT_EQ(unit("cosine", {{"unit", "step"}}), ScheduleUnit::step);
}

// total_steps / T_max 0 mean the whole run: the same bits as naming the run's length.
TEST(Schedule, WholeRunDefaults) {
  for (const char* c : {"sched_cosine", "sched_onecycle"}) {
    ScheduleSpec named = spec_from_reference(c, "step"), whole = named;
    whole.T_max = 0;
    whole.total_steps = 0;
    const int64_t total = static_cast<int64_t>(TorchReference::get().values(c, "lr").size());
    for (int64_t i = 0; i < total; ++i)
      EXPECT_EQ(scheduled_lr(whole, 0.1, i, 1, total), scheduled_lr(named, 0.1, i, 1, total)) << c << " " << i;
  }
}

// onecycle's max_lr 0 takes the optimizer's lr as max_lr.
TEST(Schedule, OnecycleMaxLrDefaultsToTheOptimizerLr) {
  ScheduleSpec named = spec_from_reference("sched_onecycle", "step"), from_base = named;
  from_base.max_lr = 0.0;
  for (int64_t i = 0; i < 100; i += 9)
    EXPECT_EQ(scheduled_lr(from_base, named.max_lr, i, 1, 100), scheduled_lr(named, 123.0, i, 1, 100));
}

TEST(Schedule, OnecyclePastItsEndIsAnError) {
  const ScheduleSpec s = spec_from_reference("sched_onecycle", "step");
  EXPECT_THROW(scheduled_lr(s, 0.1, s.total_steps, 1, 1000), Error);
}

// PyTorch's CosineAnnealingLR keeps following cos past T_max: symmetric about T_max.
TEST(Schedule, CosineIsPeriodicPastTMax) {
  const ScheduleSpec s = spec_from_reference("sched_cosine", "step");
  for (int64_t k = 1; k < s.T_max; k += 7)
    EXPECT_EQ(scheduled_lr(s, 0.1, s.T_max + k, 1, 1000), scheduled_lr(s, 0.1, s.T_max - k, 1, 1000)) << k;
  EXPECT_EQ(scheduled_lr(s, 0.1, 2 * s.T_max, 1, 1000), scheduled_lr(s, 0.1, 0, 1, 1000));
}

// warmup_steps N multiplies update s < N by (s + 1) / N and leaves the schedule unshifted.
TEST(Schedule, WarmupMultipliesTheFirstUpdates) {
  ScheduleSpec s = spec_from_reference("sched_step", "step");
  ScheduleSpec warm = s;
  warm.warmup_steps = 8;
  const double base = 0.1;
  for (int64_t i = 0; i < 100; ++i) {
    const double plain = scheduled_lr(s, base, i, 1, 100);
    const float got = scheduled_lr(warm, base, i, 1, 100);
    if (i < 8)
      EXPECT_NEAR(got, plain * static_cast<double>(i + 1) / 8.0, 2.5e-7 * plain) << i;  // two float roundings
    else
      EXPECT_EQ(got, static_cast<float>(plain)) << i;
  }
  // Counted in updates even for an epoch-unit schedule.
  warm.unit = ScheduleUnit::epoch;
  EXPECT_NEAR(scheduled_lr(warm, base, 3, 10, 1000), base * 4.0 / 8.0, 1e-8);
}

TEST(Schedule, JsonRoundTrip) {
  for (const char* c : kCases) {
    ScheduleSpec s = spec_from_reference(c, "epoch");
    s.warmup_steps = 5;
    const nlohmann::json j = to_json(s);
    EXPECT_EQ(to_json(parse_schedule_spec(j, "s")), j) << c;
  }
  EXPECT_EQ(to_json(parse_schedule_spec({{"type", "constant"}}, "s")),
            (nlohmann::json{{"type", "constant"}, {"unit", "step"}, {"warmup_steps", 0}}));
}

TEST(Schedule, ParseErrorsNameTheJsonPath) {
  EXPECT_NE(format_error({{"type", "exponential"}}).find("optimizer.schedule.type: expected one of constant"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "cosine"}, {"gamma", 0.5}}).find("optimizer.schedule.gamma: unknown key"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "step"}}).find("optimizer.schedule.step_size: required"), std::string::npos);
  EXPECT_NE(format_error({{"type", "step"}, {"step_size", 0}}).find("optimizer.schedule.step_size: expected"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "multistep"}, {"milestones", {3, -1}}}).find("optimizer.schedule.milestones[1]"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "onecycle"}, {"anneal", "cosine"}}).find("optimizer.schedule.anneal"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "cosine"}, {"unit", "batch"}}).find("optimizer.schedule.unit"), std::string::npos);
  EXPECT_NE(format_error({{"type", "linear_warmup"}, {"start_factor", 0}}).find("optimizer.schedule.start_factor"),
            std::string::npos);
  EXPECT_NE(format_error({{"type", "cosine"}, {"warmup_steps", -2}}).find("optimizer.schedule.warmup_steps"),
            std::string::npos);
  EXPECT_NE(format_error("cosine").find("optimizer.schedule: expected an object"), std::string::npos);
}

}  // namespace
}  // namespace detnn::optim
