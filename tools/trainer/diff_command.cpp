// trainer diff RUN_A RUN_B: how two runs of one model differ — resolved configs and environments
// by JSON path, the first step whose weights digest or loss differs, and the tensors of the
// checkpoints both have at the same step (docs/reproducibility.md). --json for tools.
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.h"
#include "errors.h"
#include "run_compare.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json to_json(const std::vector<JsonDifference>& diffs) {
  json out = json::array();
  for (const JsonDifference& d : diffs) out.push_back({{"path", d.path}, {"a", d.a}, {"b", d.b}});
  return out;
}

// Checkpoints of the same name and step in both runs, compared tensor by tensor.
json compare_checkpoints(const RunOnDisk& a, const RunOnDisk& b) {
  json out = json::array();
  for (const char* name : {"last.safetensors", "best.safetensors"}) {
    const fs::path pa = a.dir / "checkpoints" / name, pb = b.dir / "checkpoints" / name;
    if (!fs::exists(pa) || !fs::exists(pb)) continue;
    const auto step_a = api::CheckpointFile(pa.string()).metadata("step");
    const auto step_b = api::CheckpointFile(pb.string()).metadata("step");
    if (!step_a || step_a != step_b) continue;
    json tensors = json::array();
    for (const TensorDifference& t : checkpoint_differences(pa, pb))
      tensors.push_back({{"name", t.name}, {"elements", t.elements}, {"differing", t.differing},
                         {"max_abs", t.max_abs}, {"max_ulps", t.max_ulps}, {"note", t.note}, {"text", describe(t)}});
    out.push_back({{"checkpoint", name}, {"step", std::stoll(*step_a)}, {"differing_tensors", tensors}});
  }
  return out;
}

}  // namespace

int run_diff(const DiffOptions& o) {
  const RunOnDisk a = read_run(o.a), b = read_run(o.b);
  const auto model = json_differences(json{{"input", a.config.value("input", json())}, {"layers", a.config.value("layers", json())}},
                                      json{{"input", b.config.value("input", json())}, {"layers", b.config.value("layers", json())}});
  if (!model.empty())
    throw TrainerError("runs of different models: " + describe(model.front()) + " (" + o.a + " vs " + o.b + ")");

  const auto config = json_differences(a.config, b.config);
  const auto environment = json_differences(a.manifest.value("environment", json::object()),
                                            b.manifest.value("environment", json::object()), "environment");
  const Divergence d = first_divergence(a.digests, b.digests);
  const json checkpoints = compare_checkpoints(a, b);
  bool tensors_differ = false;
  for (const json& c : checkpoints) tensors_differ = tensors_differ || !c.at("differing_tensors").empty();
  const bool identical = d.first_step < 0 && !tensors_differ && d.common_steps > 0;

  if (o.json) {
    json out = {{"a", o.a}, {"b", o.b}, {"config", to_json(config)}, {"environment", to_json(environment)},
                {"common_steps", d.common_steps}, {"checkpoints", checkpoints}, {"identical", identical}};
    out["first_divergent_step"] = d.first_step >= 0 ? json(d.first_step) : json(nullptr);
    if (d.first_step >= 0)
      out["at_divergence"] = {{"a", {{"loss", d.a.loss}, {"weights_digest", d.a.weights_digest}}},
                              {"b", {{"loss", d.b.loss}, {"weights_digest", d.b.weights_digest}}}};
    std::printf("%s\n", out.dump(2).c_str());
    return identical ? 0 : 2;
  }
  std::printf("A: %s\nB: %s\n", o.a.c_str(), o.b.c_str());
  std::printf("config: %s\n", config.empty() ? "the same" : (std::to_string(config.size()) + " difference(s)").c_str());
  for (const JsonDifference& c : config) std::printf("  %s\n", describe(c).c_str());
  std::printf("environment: %s\n",
              environment.empty() ? "the same" : (std::to_string(environment.size()) + " difference(s)").c_str());
  for (const JsonDifference& e : environment) std::printf("  %s\n", describe(e).c_str());
  if (d.common_steps == 0)
    std::printf("steps: no step digests in common\n");
  else if (d.first_step < 0)
    std::printf("steps: %lld in common, every weights digest and loss identical\n", static_cast<long long>(d.common_steps));
  else
    std::printf("steps: first difference at step %lld (weights digest %s vs %s, loss %.9g vs %.9g)\n",
                static_cast<long long>(d.first_step), d.a.weights_digest.c_str(), d.b.weights_digest.c_str(), d.a.loss,
                d.b.loss);
  for (const json& c : checkpoints) {
    std::printf("checkpoints/%s (step %lld): %s\n", c.at("checkpoint").get<std::string>().c_str(),
                c.at("step").get<long long>(),
                c.at("differing_tensors").empty()
                    ? "every tensor identical"
                    : (std::to_string(c.at("differing_tensors").size()) + " tensor(s) differ").c_str());
    for (const json& t : c.at("differing_tensors")) std::printf("  %s\n", t.at("text").get<std::string>().c_str());
  }
  std::printf("%s\n", identical ? "identical" : "different");
  return identical ? 0 : 2;
}

}  // namespace trainer
