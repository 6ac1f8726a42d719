#include "kernels/vendor/kernel_plan.h"

#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/io/json_fields.h"

namespace detnn {
namespace {

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> names = {"vendor_whole_batch", "vendor_per_chunk", "strict"};
  return names;
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {"conv2d forward", "conv2d backward-data", "conv2d backward-filter",
                                                 "linear forward", "linear backward-data", "linear backward-filter"};
  return names;
}

bool is_backward_filter(const std::string& op) {
  const std::string suffix = "backward-filter";
  return op.size() >= suffix.size() && op.compare(op.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Why `c` may not run `op`, or "" when it may.
std::string refusal(const PlanCandidate& c, const std::string& op) {
  if (c.kind != PlanCandidateKind::vendor_whole_batch) return "";
  // DESIGN §3: a weight gradient is a sum of per-chunk partials combined pairwise.
  if (is_backward_filter(op)) return "a whole-batch call cannot compute the per-chunk partials of " + op;
  if (!c.batch_invariant) return "a whole-batch call not found batch-invariant on the device";
  return "";
}

nlohmann::json candidate_json(const PlanCandidate& c) {
  return {{"kind", plan_candidate_kind_name(c.kind)}, {"algo", c.algo}, {"name", c.name}, {"ms", c.ms},
          {"batch_invariant", c.batch_invariant}};
}

PlanCandidate parse_candidate(const nlohmann::json& j, const std::string& path) {
  JsonObject o(j, path);
  PlanCandidate c;
  const std::string kind = o.choice("kind", kind_names());
  c.kind = static_cast<PlanCandidateKind>(std::find(kind_names().begin(), kind_names().end(), kind) - kind_names().begin());
  c.algo = static_cast<int>(o.integer("algo", -1));
  c.name = o.string("name");
  c.ms = o.number("ms", -1.0);
  c.batch_invariant = o.boolean_or("batch_invariant", false);
  o.finish();
  if ((c.kind == PlanCandidateKind::strict) != (c.algo == -1))
    DETNN_THROW(format, json_child_path(path, "algo"), ": ", c.algo == -1 ? "a vendor candidate needs its algorithm id"
                                                                         : "a strict candidate has no vendor algorithm (-1)");
  if (c.ms != -1.0 && c.ms < 0.0) DETNN_THROW(format, json_child_path(path, "ms"), ": a time is >= 0 (or -1: not measured)");
  return c;
}

}  // namespace

const char* plan_candidate_kind_name(PlanCandidateKind kind) { return kind_names().at(static_cast<size_t>(kind)).c_str(); }

const PlanEntry* KernelPlan::find(const std::string& layer, const std::string& op, const std::string& shape) const {
  for (const PlanEntry& e : entries)
    if (e.layer == layer && e.op == op && e.shape == shape) return &e;
  return nullptr;
}

size_t choose_plan_candidate(const std::vector<PlanCandidate>& candidates, const std::string& op,
                             const std::string& call) {
  size_t best = candidates.size();
  std::string why_not;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const PlanCandidate& c = candidates[i];
    const std::string refused = c.ms < 0.0 ? std::string("not measured") : refusal(c, op);
    if (!refused.empty()) {
      if (why_not.empty())
        why_not = std::string(plan_candidate_kind_name(c.kind)) + " " + cut_for_message(c.name, 60) + ": " + refused;
      continue;
    }
    if (best == candidates.size() || c.ms < candidates[best].ms) best = i;  // strictly faster: ties keep the earlier
  }
  if (best == candidates.size())
    DETNN_THROW(unsupported, call, ": no kernel candidate qualifies for ", op, " (", candidates.size(), " tried",
                why_not.empty() ? std::string() : "; first refused: " + why_not, ")");
  return best;
}

std::string kernel_plan_json(const KernelPlan& plan) {
  nlohmann::json entries = nlohmann::json::array();
  for (const PlanEntry& e : plan.entries) {
    nlohmann::json measured = nlohmann::json::array();
    for (const PlanCandidate& c : e.measured) measured.push_back(candidate_json(c));
    entries.push_back({{"layer", e.layer}, {"op", e.op}, {"shape", e.shape}, {"chosen", candidate_json(e.chosen)},
                       {"measured", measured}});
  }
  const nlohmann::json doc = {
      {"format", kKernelPlanFormat},
      {"environment",
       {{"gpu_model", plan.environment.gpu_model}, {"cuda_runtime", plan.environment.cuda_runtime},
        {"cudnn", plan.environment.cudnn}, {"cublas", plan.environment.cublas}}},
      {"determinism", plan.determinism},
      {"precision", plan.precision},
      {"entries", entries}};
  return doc.dump(2) + "\n";
}

KernelPlan parse_kernel_plan(const std::string& text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, json_depth_limit(source));
  } catch (const nlohmann::json::exception& e) {
    const auto* parse = dynamic_cast<const nlohmann::json::parse_error*>(&e);
    DETNN_THROW(format, source, ": not valid JSON", parse ? " at byte " + std::to_string(parse->byte) : std::string(),
                " (a kernel plan is JSON written by detnn)");
  }
  try {
    JsonObject root(doc, "");
    const std::string format = root.string("format");
    if (format != kKernelPlanFormat)
      DETNN_THROW(format, "format: \"", cut_for_message(format, 60), "\", this build reads \"", kKernelPlanFormat, "\"");
    KernelPlan plan;
    JsonObject env = root.object("environment");
    plan.environment = {env.string("gpu_model"), env.string("cuda_runtime"), env.string("cudnn"), env.string("cublas")};
    env.finish();
    plan.determinism = root.choice("determinism", {"fast"});
    plan.precision = root.choice("precision", {"fp32", "tf32"});
    const nlohmann::json& entries = json_array(root.required("entries"), "entries");
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string path = json_index_path("entries", i);
      JsonObject o(entries[i], path);
      PlanEntry e;
      e.layer = o.string("layer");
      e.op = o.choice("op", op_names());
      e.shape = o.string("shape");
      e.chosen = parse_candidate(o.required("chosen"), json_child_path(path, "chosen"));
      const nlohmann::json& measured = json_array(o.required("measured"), json_child_path(path, "measured"));
      for (size_t k = 0; k < measured.size(); ++k)
        e.measured.push_back(parse_candidate(measured[k], json_index_path(json_child_path(path, "measured"), k)));
      o.finish();
      const std::string refused = refusal(e.chosen, e.op);
      if (!refused.empty()) DETNN_THROW(format, json_child_path(path, "chosen"), ": ", refused);
      if (!seen.emplace(e.layer, e.op, e.shape).second)
        DETNN_THROW(format, path, ": a second entry for ", cut_for_message(e.layer, 60), " ", e.op, " ",
                    cut_for_message(e.shape, 100));
      plan.entries.push_back(std::move(e));
    }
    root.finish();
    return plan;
  } catch (const Error& e) {
    throw Error(e.code(), source + ": " + e.what(), e.location());
  }
}

void check_plan_environment(const KernelPlan& plan, const PlanEnvironment& here, const std::string& source) {
  const std::tuple<const char*, const std::string&, const std::string&> fields[] = {
      {"gpu_model", plan.environment.gpu_model, here.gpu_model},
      {"cuda_runtime", plan.environment.cuda_runtime, here.cuda_runtime},
      {"cudnn", plan.environment.cudnn, here.cudnn},
      {"cublas", plan.environment.cublas, here.cublas}};
  for (const auto& [name, made, now] : fields)
    if (made != now)
      DETNN_THROW(invalid_argument, source, ": made on ", name, " \"", cut_for_message(made, 80), "\", this run is on \"",
                  cut_for_message(now, 80), "\" (a plan's timings and algorithm ids hold only where they were measured; "
                  "run without the plan to make a new one)");
}

}  // namespace detnn
