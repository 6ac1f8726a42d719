// trainer verify RUN_DIR: re-executes a recorded run from its resolved config (config.json) on
// its data (checked by fingerprint) in a scratch folder, optionally from one of its checkpoints,
// on any thread count, rank count or device, and compares every step's weights digest and loss
// with the run's metrics.jsonl (docs/reproducibility.md).
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.h"
#include "errors.h"
#include "run_compare.h"
#include "run_files.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path make_scratch(const VerifyOptions& o) {
  if (o.scratch.empty()) return make_scratch_dir("detnn-verify");
  const fs::path dir = o.scratch;
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec))
    throw TrainerError(dir.string() + ": the scratch folder exists and is not empty");
  fs::create_directories(dir, ec);
  if (ec) throw TrainerError(dir.string() + ": cannot create the scratch folder: " + ec.message());
  return dir;
}

// The epochs to run so that step `steps` is done (the run's own epochs when not limited).
std::string epochs_for(const RunOnDisk& run, const VerifyOptions& o) {
  if (!o.epochs.empty()) return o.epochs;
  if (o.steps <= 0) return "";
  if (run.epoch_states.empty()) return "";  // the run never finished an epoch: run it as it was
  const int64_t per_epoch = run.epoch_states.begin()->first;  // the first epoch ends at its step count
  return std::to_string((o.steps + per_epoch - 1) / per_epoch);
}

// The digests to compare: those of the scratch run, up to --steps.
std::map<int64_t, StepDigest> verified_steps(const RunOnDisk& scratch, int64_t steps) {
  std::map<int64_t, StepDigest> out;
  for (const auto& [step, d] : scratch.digests)
    if (steps <= 0 || step <= steps) out.emplace(step, d);
  return out;
}

void print_divergence(const RunOnDisk& run, const RunOnDisk& again, const Divergence& d) {
  std::printf("diverged at step %lld: weights digest %s, loss %.9g in %s; %s, loss %.9g now\n",
              static_cast<long long>(d.first_step), d.a.weights_digest.c_str(), d.a.loss, run.dir.c_str(),
              d.b.weights_digest.c_str(), d.b.loss);
  const auto env = json_differences(run.manifest.value("environment", json::object()),
                                    again.manifest.value("environment", json::object()), "environment");
  if (env.empty()) std::printf("the environments are the same (detnn commit, contract, build, devices, variables)\n");
  for (const JsonDifference& e : env) std::printf("  %s\n", describe(e).c_str());
  // The tensors, where both runs have a checkpoint of the same step at or after the divergence.
  for (const auto& [step, state] : again.epoch_states) {
    if (step < d.first_step) continue;
    const auto mine = checkpoint_at_step(run.dir, step), theirs = checkpoint_at_step(again.dir, step);
    if (!mine || !theirs) continue;
    std::printf("tensors of the checkpoints of step %lld (%s vs %s):\n", static_cast<long long>(step), mine->c_str(),
                theirs->c_str());
    const std::vector<TensorDifference> tensors = checkpoint_differences(*mine, *theirs);
    if (tensors.empty()) std::printf("  every tensor identical\n");
    for (const TensorDifference& t : tensors) std::printf("  %s\n", describe(t).c_str());
    break;
  }
}

// Each verification's outcome, appended to RUN/verifications.jsonl (trainer report shows them);
// the run's own files are never changed.
void record_verification(const VerifyOptions& o, const Divergence& d) {
  nlohmann::json line = {{"time", utc_timestamp()},
                         {"result", d.first_step < 0 ? "reproduced" : "diverged"},
                         {"steps_compared", d.common_steps},
                         {"device", o.training.device},
                         {"threads", o.training.threads},
                         {"ranks", o.ranks}};
  if (d.first_step >= 0) line["first_differing_step"] = d.first_step;
  if (!o.from.empty()) line["from"] = o.from;
  try {
    MetricsLog log(fs::path(o.run) / "verifications.jsonl");
    log.write(line);
    log.sync();
  } catch (const std::exception& e) {
    // A run directory that cannot be written (read-only, another user's) is verified all the same.
    std::fprintf(stderr, "trainer: warning: the result is not recorded in the run: %s\n", e.what());
  }
}

}  // namespace

int run_verify(const VerifyOptions& o) {
  const RunOnDisk run = read_run(o.run);
  if (!o.from.empty() && !fs::exists(o.from)) throw TrainerError(o.from + ": no such checkpoint (--from)");
  const fs::path scratch = make_scratch(o);
  const fs::path again_dir = scratch / "run";

  TrainOptions t;
  t.model = (fs::path(o.run) / "config.json").string();
  t.training = o.training;
  t.training.epochs = epochs_for(run, o);
  t.ranks = o.ranks;
  t.command_line = {"trainer", "verify", o.run};
  t.verify_of = o.run;
  t.verify_data_fingerprint = run.manifest.value("data_fingerprint", "");
  if (!o.from.empty()) {
    // A resume of a copy: the run's record, the checkpoint as its last one. The config file is
    // not the model file the checkpoint names, so the model check is the verification itself.
    fs::create_directories(again_dir / "checkpoints");
    fs::copy_file(fs::path(o.run) / "config.json", again_dir / "config.json");
    json manifest = run.manifest;
    manifest.erase("resumes");
    write_json_atomically(again_dir / "manifest.json", manifest);
    fs::copy_file(o.from, again_dir / "checkpoints" / "last.safetensors");
    t.resume = again_dir.string();
    t.force = true;
  } else {
    t.run_dir = again_dir.string();
  }
  run_train(t);

  const RunOnDisk again = read_run(again_dir);
  const std::map<int64_t, StepDigest> checked = verified_steps(again, o.steps);
  if (run.digests.empty())
    throw TrainerError(o.run + ": the run's metrics.jsonl has no per-step digests (written before detnn recorded "
                       "them); compare epoch lines with trainer diff instead");
  const Divergence d = first_divergence(run.digests, checked);
  if (d.common_steps == 0) throw TrainerError(o.run + ": no step of the run was re-executed (check --steps/--from)");
  record_verification(o, d);
  if (d.first_step < 0) {
    std::printf("reproduced: %lld steps bit-identical (steps %lld-%lld of %s)\n", static_cast<long long>(d.common_steps),
                static_cast<long long>(checked.begin()->first), static_cast<long long>(checked.rbegin()->first),
                o.run.c_str());
    std::error_code ec;
    fs::remove_all(scratch, ec);
    return 0;
  }
  print_divergence(run, again, d);
  std::printf("the re-executed run is kept in %s\n", again_dir.c_str());
  return 2;
}

}  // namespace trainer
