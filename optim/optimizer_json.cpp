// The optimizer's JSON form (docs/optimizers.md). Only the keys of the chosen type are read, so
// finish() reports another type's key ("momentum" on adam) as unknown rather than ignoring it.
#include "optim/optimizer.h"
#include "runtime/error.h"
#include "runtime/io/json_fields.h"

namespace detnn::optim {

namespace {

// A number in [0, 1) (Adam's betas).
double unit_interval_number(const nlohmann::json& v, const std::string& path) {
  const double d = json_number(v, path, 0.0, 1.0);
  if (!(d < 1.0)) throw_json_type_error(path, "a number in [0, 1)", v);
  return d;
}

void read_sgd_fields(JsonObject& o, OptimizerSpec& s) {
  s.momentum = o.number_or("momentum", s.momentum, 0.0);
  s.dampening = o.number_or("dampening", s.dampening, 0.0, 1.0);
  s.nesterov = o.boolean_or("nesterov", s.nesterov);
  // PyTorch's rule: Nesterov momentum needs a momentum and zero dampening.
  if (s.nesterov && !(s.momentum > 0.0 && s.dampening == 0.0))
    DETNN_THROW(format, o.child_path("nesterov"), ": nesterov needs momentum > 0 and dampening 0, got momentum ",
                s.momentum, " and dampening ", s.dampening);
}

void read_adam_fields(JsonObject& o, OptimizerSpec& s) {
  if (const nlohmann::json* betas = o.optional("betas")) {
    const std::string path = o.child_path("betas");
    if (!betas->is_array() || betas->size() != 2) throw_json_type_error(path, "an array [beta1, beta2]", *betas);
    s.beta1 = unit_interval_number((*betas)[0], json_index_path(path, 0));
    s.beta2 = unit_interval_number((*betas)[1], json_index_path(path, 1));
  }
  s.eps = o.number_or("eps", s.eps, 0.0);
}

}  // namespace

OptimizerSpec parse_optimizer_spec(const nlohmann::json& j, const std::string& path) {
  JsonObject o(j, path);
  OptimizerSpec s;
  s.type = o.choice_or("type", {"sgd", "adam", "adamw"}, "sgd");
  s.lr = o.number_or("lr", s.lr, 0.0);
  // AdamW's PyTorch default decays; SGD's and Adam's do not.
  s.weight_decay = o.number_or("weight_decay", s.type == "adamw" ? 0.01 : 0.0, 0.0);
  s.clip_grad_norm = o.number_or("clip_grad_norm", s.clip_grad_norm, 0.0);
  if (s.type == "sgd")
    read_sgd_fields(o, s);
  else
    read_adam_fields(o, s);
  if (const nlohmann::json* schedule = o.optional("schedule"))
    s.schedule = parse_schedule_spec(*schedule, o.child_path("schedule"));
  o.finish();
  return s;
}

nlohmann::json to_json(const OptimizerSpec& s) {
  nlohmann::json j;
  j["type"] = s.type;
  j["lr"] = s.lr;
  j["weight_decay"] = s.weight_decay;
  j["clip_grad_norm"] = s.clip_grad_norm;
  if (s.type == "sgd") {
    j["momentum"] = s.momentum;
    j["dampening"] = s.dampening;
    j["nesterov"] = s.nesterov;
  } else {
    j["betas"] = {s.beta1, s.beta2};
    j["eps"] = s.eps;
  }
  j["schedule"] = to_json(s.schedule);
  return j;
}

}  // namespace detnn::optim
