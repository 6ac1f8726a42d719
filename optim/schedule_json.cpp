// The schedule's JSON form (docs/optimizers.md). Only the keys of the chosen type are read, so
// JsonObject::finish() reports a key of another type ("gamma" on a cosine schedule) as unknown.
#include <algorithm>

#include "optim/schedule.h"
#include "runtime/error.h"
#include "runtime/io/json_fields.h"

namespace detnn::optim {

namespace {

const std::vector<std::string> kTypes = {"constant", "step", "multistep", "cosine", "linear_warmup", "onecycle"};

ScheduleType type_from_name(const std::string& name) {
  for (size_t i = 0; i < kTypes.size(); ++i)
    if (kTypes[i] == name) return static_cast<ScheduleType>(i);
  DETNN_THROW(internal, "schedule type ", name);
}

// A strictly positive number: JsonObject::number bounds are inclusive, so 0 is checked here.
double positive_number_or(JsonObject& o, const char* key, double fallback) {
  const double v = o.number_or(key, fallback, 0.0);
  if (!(v > 0.0)) throw_json_type_error(o.child_path(key), "a number > 0", o.raw().at(key));
  return v;
}

void read_type_fields(JsonObject& o, ScheduleSpec& s) {
  switch (s.type) {
    case ScheduleType::constant:
      break;
    case ScheduleType::step:
      s.step_size = o.integer("step_size", 1);
      s.gamma = o.number_or("gamma", s.gamma, 0.0);
      break;
    case ScheduleType::multistep: {
      const std::string path = o.child_path("milestones");
      const nlohmann::json& m = json_array(o.required("milestones"), path);
      s.milestones.clear();
      for (size_t i = 0; i < m.size(); ++i) s.milestones.push_back(json_integer(m[i], json_index_path(path, i), 0));
      std::sort(s.milestones.begin(), s.milestones.end());
      s.gamma = o.number_or("gamma", s.gamma, 0.0);
      break;
    }
    case ScheduleType::cosine:
      s.T_max = o.integer_or("T_max", s.T_max, 0);
      s.eta_min = o.number_or("eta_min", s.eta_min, 0.0);
      break;
    case ScheduleType::linear_warmup:
      s.start_factor = positive_number_or(o, "start_factor", s.start_factor);
      if (s.start_factor > 1.0)
        throw_json_type_error(o.child_path("start_factor"), "a number in (0, 1]", o.raw().at("start_factor"));
      s.total_iters = o.integer_or("total_iters", s.total_iters, 1);
      break;
    case ScheduleType::onecycle: {
      s.max_lr = o.number_or("max_lr", s.max_lr, 0.0);
      s.pct_start = o.number_or("pct_start", s.pct_start, 0.0, 1.0);
      s.div_factor = positive_number_or(o, "div_factor", s.div_factor);
      s.final_div_factor = positive_number_or(o, "final_div_factor", s.final_div_factor);
      const std::string a = o.choice_or("anneal", {"cos", "linear"}, "cos");
      s.anneal = a == "cos" ? AnnealStrategy::cos : AnnealStrategy::linear;
      s.total_steps = o.integer_or("total_steps", s.total_steps, 0);
      break;
    }
  }
}

}  // namespace

const char* schedule_type_name(ScheduleType type) { return kTypes.at(static_cast<size_t>(type)).c_str(); }

ScheduleSpec parse_schedule_spec(const nlohmann::json& j, const std::string& path) {
  JsonObject o(j, path);
  ScheduleSpec s;
  s.type = type_from_name(o.choice("type", kTypes));
  if (o.has("unit")) s.unit = o.choice("unit", {"epoch", "step"}) == "epoch" ? ScheduleUnit::epoch : ScheduleUnit::step;
  s.unit = resolved_unit(s);
  s.warmup_steps = o.integer_or("warmup_steps", 0, 0);
  read_type_fields(o, s);
  o.finish();
  return s;
}

nlohmann::json to_json(const ScheduleSpec& s) {
  nlohmann::json j;
  j["type"] = schedule_type_name(s.type);
  j["unit"] = resolved_unit(s) == ScheduleUnit::epoch ? "epoch" : "step";
  j["warmup_steps"] = s.warmup_steps;
  switch (s.type) {
    case ScheduleType::constant:
      break;
    case ScheduleType::step:
      j["step_size"] = s.step_size;
      j["gamma"] = s.gamma;
      break;
    case ScheduleType::multistep:
      j["milestones"] = s.milestones;
      j["gamma"] = s.gamma;
      break;
    case ScheduleType::cosine:
      j["T_max"] = s.T_max;
      j["eta_min"] = s.eta_min;
      break;
    case ScheduleType::linear_warmup:
      j["start_factor"] = s.start_factor;
      j["total_iters"] = s.total_iters;
      break;
    case ScheduleType::onecycle:
      j["max_lr"] = s.max_lr;
      j["pct_start"] = s.pct_start;
      j["div_factor"] = s.div_factor;
      j["final_div_factor"] = s.final_div_factor;
      j["anneal"] = s.anneal == AnnealStrategy::cos ? "cos" : "linear";
      j["total_steps"] = s.total_steps;
      break;
  }
  return j;
}

}  // namespace detnn::optim
