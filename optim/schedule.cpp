// The schedule formulas (closed forms of PyTorch's schedulers). Doubles with IEEE + - * / and
// dmath::sinpi only; the cosine shapes are written as sin^2 of a reduced argument so that the
// float sinpi never meets a cancellation (see cos_anneal).
#include "optim/schedule.h"

#include <algorithm>

#include "runtime/dmath.h"
#include "runtime/error.h"

namespace detnn::optim {

namespace {

// base^k by squaring: IEEE double products only (no libm pow), k >= 0.
double integer_power(double base, int64_t k) {
  double result = 1.0;
  for (; k > 0; k >>= 1) {
    if (k & 1) result *= base;
    base *= base;
  }
  return result;
}

double sinpi_squared(double half_turns) {
  const double s = dmath::sinpi(static_cast<float>(half_turns));
  return s * s;
}

// PyTorch's cosine anneal end + (start - end) * (1 + cos(pi x)) / 2 at x = num / (num + rest),
// num, rest >= 0. (1 + cos(pi x)) / 2 = 1 - sin^2(pi x / 2) = sin^2(pi (1 - x) / 2): the sin^2
// of the smaller argument is taken and added to the nearer end, so the float sinpi's relative
// error (~1e-7) stays relative to the distance from that end, also where the lr is tiny.
// `rest` is passed rather than 1 - x so that 1 - x has no cancellation either.
double cos_anneal(double start, double end, double num, double rest) {
  const double den = num + rest;
  if (num <= rest) return start + (end - start) * sinpi_squared(num / den * 0.5);
  return end + (start - end) * sinpi_squared(rest / den * 0.5);
}

double step_lr(const ScheduleSpec& s, double base, int64_t e) {
  DETNN_CHECK(s.step_size >= 1, invalid_argument, "schedule step: step_size must be >= 1, got ", s.step_size);
  return base * integer_power(s.gamma, e / s.step_size);
}

double multistep_lr(const ScheduleSpec& s, double base, int64_t e) {
  // MultiStepLR counts milestones <= e (a repeated milestone decays twice).
  std::vector<int64_t> m = s.milestones;
  std::sort(m.begin(), m.end());
  const auto passed = std::upper_bound(m.begin(), m.end(), e) - m.begin();
  return base * integer_power(s.gamma, passed);
}

double cosine_lr(const ScheduleSpec& s, double base, int64_t e, int64_t run_length) {
  const int64_t T = s.T_max > 0 ? s.T_max : run_length;
  DETNN_CHECK(T >= 1, invalid_argument, "schedule cosine: T_max must be >= 1, got ", T);
  // cos(pi e / T) has period 2T and is symmetric about T: reduce e exactly in integers.
  int64_t k = e % (2 * T);
  k = std::min(k, 2 * T - k);
  return cos_anneal(base, s.eta_min, static_cast<double>(k), static_cast<double>(T - k));
}

double linear_warmup_lr(const ScheduleSpec& s, double base, int64_t e) {
  DETNN_CHECK(s.total_iters >= 1, invalid_argument, "schedule linear_warmup: total_iters must be >= 1, got ",
              s.total_iters);
  const double done = static_cast<double>(std::min(e, s.total_iters));
  return base * (s.start_factor + (1.0 - s.start_factor) * done / static_cast<double>(s.total_iters));
}

double onecycle_lr(const ScheduleSpec& s, double base, int64_t e, int64_t run_length) {
  const int64_t total = s.total_steps > 0 ? s.total_steps : run_length;
  DETNN_CHECK(e < total, invalid_argument, "schedule onecycle: index ", e, " is past total_steps ", total,
              " (the schedule covers indices 0 .. total_steps - 1)");
  const double max_lr = s.max_lr > 0.0 ? s.max_lr : base;
  const double initial_lr = max_lr / s.div_factor;
  const double min_lr = initial_lr / s.final_div_factor;
  // OneCycleLR's phase ends, as PyTorch computes them (the first may be fractional).
  const double end1 = s.pct_start * static_cast<double>(total) - 1.0;
  const double end2 = static_cast<double>(total) - 1.0;
  DETNN_CHECK(end1 > 0.0 && end1 < end2, invalid_argument, "schedule onecycle: pct_start ", s.pct_start,
              " * total_steps ", total, " - 1 must lie in (0, total_steps - 1)");
  const double x = static_cast<double>(e);
  const bool warm = x <= end1;
  const double start = warm ? initial_lr : max_lr, end = warm ? max_lr : min_lr;
  const double num = warm ? x : x - end1, rest = warm ? end1 - x : end2 - x;
  if (s.anneal == AnnealStrategy::linear) return (end - start) * (num / (num + rest)) + start;
  return cos_anneal(start, end, num, rest);
}

}  // namespace

ScheduleUnit resolved_unit(const ScheduleSpec& spec) {
  if (spec.unit != ScheduleUnit::by_type) return spec.unit;
  switch (spec.type) {
    case ScheduleType::step:
    case ScheduleType::multistep:
    case ScheduleType::cosine:
      return ScheduleUnit::epoch;
    default:
      return ScheduleUnit::step;
  }
}

void check_schedule_for_run(const ScheduleSpec& s, double base_lr, int64_t steps_per_epoch, int64_t total_steps) {
  try {
    scheduled_lr(s, base_lr, 0, steps_per_epoch, total_steps);
    scheduled_lr(s, base_lr, total_steps - 1, steps_per_epoch, total_steps);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("optimizer.schedule: ") + e.what() + " (a run of " + std::to_string(total_steps) +
                              " steps)", e.location());
  }
}

float scheduled_lr(const ScheduleSpec& s, double base_lr, int64_t step, int64_t steps_per_epoch,
                   int64_t total_steps) {
  DETNN_CHECK(step >= 0, invalid_argument, "scheduled_lr: step must be >= 0, got ", step);
  const bool by_epoch = resolved_unit(s) == ScheduleUnit::epoch;
  DETNN_CHECK(!by_epoch || steps_per_epoch >= 1, invalid_argument,
              "scheduled_lr: an epoch-unit schedule needs steps_per_epoch >= 1, got ", steps_per_epoch);
  const int64_t e = by_epoch ? step / steps_per_epoch : step;
  // The whole run in the schedule's unit (a partial last epoch counts).
  const int64_t run_length = by_epoch ? (total_steps + steps_per_epoch - 1) / steps_per_epoch : total_steps;

  double lr = base_lr;
  switch (s.type) {
    case ScheduleType::constant: break;
    case ScheduleType::step: lr = step_lr(s, base_lr, e); break;
    case ScheduleType::multistep: lr = multistep_lr(s, base_lr, e); break;
    case ScheduleType::cosine: lr = cosine_lr(s, base_lr, e, run_length); break;
    case ScheduleType::linear_warmup: lr = linear_warmup_lr(s, base_lr, e); break;
    case ScheduleType::onecycle: lr = onecycle_lr(s, base_lr, e, run_length); break;
  }
  // The warm-up counts updates whatever the unit, and multiplies (the schedule is not shifted,
  // so epoch milestones stay where the user put them).
  if (step < s.warmup_steps)
    lr = lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  return static_cast<float>(lr);
}

}  // namespace detnn::optim
