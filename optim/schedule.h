// Learning-rate schedules with PyTorch's meaning (torch.optim.lr_scheduler), as closed forms of
// the update index, so a resumed run needs no scheduler state: the lr of update `step` is a pure
// function of (spec, base lr, step, steps per epoch, run length). docs/optimizers.md has the
// JSON fields and the formulas.
//
// Host arithmetic only (DESIGN §2.5): IEEE double + - * / and dmath::sinpi (float), never libm,
// so the lr bits do not change with the C library. The result is rounded to float once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace detnn::optim {

enum class ScheduleType { constant, step, multistep, cosine, linear_warmup, onecycle };
// by_type: "epoch" for step, multistep and cosine (a PyTorch user calls scheduler.step() once
// per epoch), "step" for constant, linear_warmup and onecycle (stepped once per update).
enum class ScheduleUnit { by_type, epoch, step };
enum class AnnealStrategy { cos, linear };

struct ScheduleSpec {
  ScheduleType type = ScheduleType::constant;
  ScheduleUnit unit = ScheduleUnit::by_type;
  // Linear warm-up in front of the schedule, in optimizer updates (never epochs): update s < N
  // gets the schedule's lr times (s + 1) / N. 0: off.
  int64_t warmup_steps = 0;

  // step (StepLR) and multistep (MultiStepLR).
  int64_t step_size = 0;            // step: required, >= 1
  std::vector<int64_t> milestones;  // multistep: required, each >= 0 (sorted when parsed)
  double gamma = 0.1;
  // cosine (CosineAnnealingLR, closed form; periodic past T_max as PyTorch's).
  int64_t T_max = 0;  // 0: the whole run, in the schedule's unit
  double eta_min = 0.0;
  // linear_warmup (LinearLR with end_factor 1).
  double start_factor = 1.0 / 3.0;
  int64_t total_iters = 5;
  // onecycle (OneCycleLR, three_phase false). The optimizer's lr is not used, as in PyTorch.
  double max_lr = 0.0;  // 0: the optimizer's lr
  double pct_start = 0.3;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  AnnealStrategy anneal = AnnealStrategy::cos;
  int64_t total_steps = 0;  // 0: the whole run, in the schedule's unit
};

const char* schedule_type_name(ScheduleType type);
// The unit after resolving by_type.
ScheduleUnit resolved_unit(const ScheduleSpec& spec);

// Reads a schedule object ("type" required; the keys of other types are unknown keys). Errors
// are Error(format) naming the JSON path, e.g. "optimizer.schedule.step_size: required but missing".
ScheduleSpec parse_schedule_spec(const nlohmann::json& j, const std::string& path);
// Every field of the type, the unit resolved; parse_schedule_spec(to_json(s)) == s.
nlohmann::json to_json(const ScheduleSpec& spec);

// The learning rate of the update with 0-based index `step` (PyTorch: the lr in force for that
// update). steps_per_epoch >= 1 and total_steps >= 1 (the run's updates) are needed by epoch
// units and by the "whole run" defaults. Throws Error(invalid_argument) for a step past a
// onecycle schedule's end, as PyTorch does.
// Evaluates the schedule at the first and the last update of a run of total_steps updates, so a
// setting that cannot work for this run (onecycle's pct_start too small for it, total_steps
// shorter than it) is refused before the run starts: Error(invalid_argument) naming
// optimizer.schedule.
void check_schedule_for_run(const ScheduleSpec& spec, double base_lr, int64_t steps_per_epoch, int64_t total_steps);

float scheduled_lr(const ScheduleSpec& spec, double base_lr, int64_t step, int64_t steps_per_epoch,
                   int64_t total_steps);

}  // namespace detnn::optim
