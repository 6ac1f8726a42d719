// `trainer --model FILE`: trains, writing the run directory (docs/trainer.md): config.json,
// manifest.json, metrics.jsonl, checkpoints/last.safetensors (every epoch) and best.safetensors
// (by validation accuracy), console.log. `--resume DIR` continues a run from its last checkpoint
// with the bits of the uninterrupted run. `--ranks N` (threads of this process), `--gpus LIST` (one
// rank per GPU) and launches by torchrun-style variables or mpirun (one process per rank) train
// data-parallel with the bits of one rank (docs/multi-rank.md); rank 0's process alone writes.
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "git_info.h"
#include "rank_setup.h"
#include "run_files.h"
#include "tensorboard_writer.h"
#include <cctype>
#include <cerrno>
#include <cmath>

#include "train_loop.h"
#include "training_flags.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What a failure must update: the manifest, once it exists, records the error.
struct RunRecord {
  fs::path run_dir;
  std::unique_ptr<RunLock> lock;  // held while this process trains the run (rank 0's process)
  json manifest;
  bool written = false;
  RankSetup ranks;  // its group is told of a failure of this process, so the other ranks stop
};

// What `--resume DIR` continues: the run's config.json and manifest.json.
struct RecordedRun {
  fs::path dir;
  json config, manifest;
};

// The resolved settings the trainer reads back from the model (flags applied).
struct Settings {
  json config;  // what config.json records
  std::string name, device;
  int64_t epochs = 0, log_every = 1;
};

// What ties a run to its inputs: a resume refuses others unless forced.
struct Identity {
  std::string model_sha256, data_fingerprint;
};

std::optional<RecordedRun> read_recorded_run(const TrainOptions& o) {
  if (o.resume.empty()) return std::nullopt;
  RecordedRun run{o.resume, {}, {}};
  if (!fs::exists(run.dir / "config.json") || !fs::exists(run.dir / "manifest.json"))
    throw IoError(run.dir.string() +
                  (fs::exists(run.dir / "config.json")
                       ? ": holds no manifest.json (its start was interrupted before training began); remove it and "
                         "start again"
                       : ": not a run directory (no config.json / manifest.json)"));
  run.config = read_json_file(run.dir / "config.json");
  run.manifest = read_json_file(run.dir / "manifest.json");
  return run;
}

// --model, or on a resume without it the model file the run recorded.
std::string model_path_of(const TrainOptions& o, const std::optional<RecordedRun>& recorded) {
  if (!o.model.empty()) return o.model;
  if (recorded) return recorded->manifest.at("model_file").get<std::string>();
  throw TrainerError("--model FILE is required (or --resume DIR)");
}

api::Model load_model(const std::string& path, const TrainOptions& o, const std::optional<RecordedRun>& recorded) {
  api::Model model = with_context("", [&] { return api::Model::from_file(path); });
  apply_flags(model, o.training);
  if (recorded) apply_recorded(model, recorded->config, (recorded->dir / "config.json").string(), o.training);
  return model;
}

Settings resolved_settings(const api::Model& model) {
  Settings s;
  s.config = json::parse(model.config_json());
  const json& training = s.config.at("training");
  s.name = s.config.value("name", "model");
  s.device = training.at("device").get<std::string>();
  s.epochs = training.at("epochs").get<int64_t>();
  s.log_every = training.at("log_every").get<int64_t>();
  return s;
}

// A run's steps are counted in 32 bits where they key randomness (dropout's Philox counter):
// more is refused before anything is written, instead of wrapping around.
void check_run_length(int64_t epochs, int64_t batches_per_epoch) {
  constexpr int64_t kMaxSteps = 0xffffffffLL;
  if (batches_per_epoch > 0 && epochs > kMaxSteps / batches_per_epoch)
    throw TrainerError("training.epochs: " + std::to_string(epochs) + " epochs of " + std::to_string(batches_per_epoch) +
                       " steps are more than the " + std::to_string(kMaxSteps) +
                       " steps a run can take (the step keys dropout's random numbers in 32 bits)");
}

// A global batch the ranks cannot share is refused before any data is read or file written.
void check_ranks_fit(const api::Model& model, const RankSetup& ranks) {
  const bool flag = ranks.launcher == "threads" || ranks.launcher == "single";
  with_context(flag ? "--ranks" : ranks.launcher, [&] { model.check_ranks(ranks.world_size); });
}

void refuse_changed_inputs(const RecordedRun& recorded, const Identity& now, const std::string& model_path) {
  const std::string was_model = recorded.manifest.value("model_sha256", "");
  const std::string was_data = recorded.manifest.value("data_fingerprint", "");
  const std::string refusing = "refusing to resume " + recorded.dir.string();
  if (was_model != now.model_sha256)
    throw TrainerError(refusing + ": the model file changed (sha256 " + was_model + " when the run started, " +
                       now.model_sha256 + " now: " + model_path + "); use --force to resume anyway");
  if (was_data != now.data_fingerprint)
    throw TrainerError(refusing + ": the data changed (fingerprint " + was_data + " when the run started, " +
                       now.data_fingerprint + " now); use --force to resume anyway");
}

// The model's name as one path component: anything but letters, digits, '.', '_' and '-' becomes
// '_', and no leading dot, so a name like "/abs" or "../escape" stays inside runs/.
std::string path_component(const std::string& name) {
  std::string out;
  for (const char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
  for (char& c : out) {
    if (c != '.') break;
    c = '_';
  }
  return out.empty() ? "model" : out.substr(0, 100);
}

// --run-dir, or runs/<name>-<UTC time>; a non-empty directory is never written into.
fs::path create_run_directory(const TrainOptions& o, const std::string& name) {
  const fs::path dir =
      o.run_dir.empty() ? fs::path("runs") / (path_component(name) + "-" + compact_timestamp()) : fs::path(o.run_dir);
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec)) {
    // A start interrupted before its manifest (a full disk) is no run to resume: say so.
    if (!fs::exists(dir / "manifest.json"))
      throw IoError(dir.string() + ": the directory exists and is not empty, but holds no run (no manifest.json: a "
                                   "start that was interrupted?); remove it or choose another --run-dir");
    throw IoError(dir.string() + ": the run directory exists and is not empty; continue it with --resume " +
                  dir.string() + " or choose another --run-dir");
  }
  fs::create_directories(dir / "checkpoints", ec);
  if (ec) throw IoError(dir.string() + ": cannot create the run directory: " + ec.message());
  return dir;
}

// Temporaries of atomic writes ("<file>.tmp.<pid>...") that a killed process left behind: each
// may be a whole checkpoint. Safe to remove once this process holds the run's lock.
void remove_stale_temporaries(const fs::path& run_dir) {
  std::error_code ec;
  for (const fs::path& dir : {run_dir, run_dir / "checkpoints"})
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file(ec) && entry.path().filename().string().find(".tmp.") != std::string::npos)
        fs::remove(entry.path(), ec);
}

// The current part of the run (the bits do not depend on it).
void record_ranks(json& manifest, const RankSetup& ranks, const std::string& device) {
  manifest["world_size"] = ranks.world_size;
  manifest["launcher"] = ranks.launcher;
  manifest["ranks"] = rank_list(ranks, device);
}

// Everything needed to reproduce the run.
json new_manifest(const TrainOptions& o, const std::string& model_path, const Identity& id) {
  json manifest;
  manifest["environment"] = json::parse(api::environment_json());
  manifest["command_line"] = o.command_line;
  manifest["model_file"] = fs::absolute(model_path).string();
  manifest["model_sha256"] = id.model_sha256;
  manifest["model_git"] = git_info_for(model_path);
  manifest["data_fingerprint"] = id.data_fingerprint;
  manifest["start_time"] = utc_timestamp();
  return manifest;
}

// A forced resume records the model file and data it went on with where they differ from the
// run's: the run's bits from there on are theirs.
void record_resume(json& manifest, const TrainOptions& o, const RankSetup& ranks, const Identity& id) {
  json entry = {{"time", utc_timestamp()}, {"command_line", o.command_line}, {"forced", o.force},
                {"world_size", ranks.world_size}, {"launcher", ranks.launcher}};
  if (manifest.value("model_sha256", "") != id.model_sha256) entry["model_sha256"] = id.model_sha256;
  if (manifest.value("data_fingerprint", "") != id.data_fingerprint) entry["data_fingerprint"] = id.data_fingerprint;
  manifest["resumes"].push_back(entry);
}

// Rank 0's process only: config.json for a new run, and the manifest.
void write_manifest(RunRecord& record, const TrainOptions& o, const std::optional<RecordedRun>& recorded,
                    const Settings& settings, const std::string& model_path, const Identity& id) {
  json& manifest = record.manifest;
  if (recorded) {
    manifest = recorded->manifest;
    record_resume(manifest, o, record.ranks, id);
  } else {
    manifest = new_manifest(o, model_path, id);
    write_json_atomically(record.run_dir / "config.json", settings.config);
  }
  record_ranks(manifest, record.ranks, settings.device);
  manifest["status"] = "running";
  write_json_atomically(record.run_dir / "manifest.json", manifest);
  record.written = true;
}

// This process's rank sessions, on a context that keeps the model's device, mode and threads.
std::vector<api::Session> create_sessions(const api::Model& model, const RankSetup& ranks) {
  const api::Context context;
  std::vector<api::Session> sessions;
  for (int r = ranks.first_rank; r < ranks.first_rank + ranks.local_ranks; ++r)
    sessions.push_back(with_context("session", [&] {
      return ranks.group ? api::Session(context, model, *ranks.group, r) : api::Session(context, model);
    }));
  return sessions;
}

// fast / off: the vendor algorithms pinned for this run's call shapes (none in strict).
void record_kernel_choices(api::Session& session, bool resuming, RunRecord& record, ConsoleLog& console) {
  const json pinned = json::parse(session.kernel_choices_json());
  json& manifest = record.manifest;
  if (resuming && manifest.contains("kernel_choices") && manifest["kernel_choices"] != pinned) {
    // Another GPU model or library version: fast promises the same bits only with the same ones.
    console.line("warning: the cuDNN/cuBLASLt algorithms differ from those the run started with (another GPU "
                 "model or library version?): the resumed run will not give the uninterrupted run's bits");
    manifest["resumes"].back()["kernel_choices"] = pinned;
  } else if (!pinned.empty()) {
    manifest["kernel_choices"] = pinned;
  }
  if (!pinned.empty()) write_json_atomically(record.run_dir / "manifest.json", manifest);
}

// The learning-rate schedule counts steps, and every checkpoint records the data it was made on.
void prepare_sessions(std::vector<api::Session>& sessions, const detnn_data_info& info, int64_t epochs,
                      const Identity& id) {
  const int64_t bpe = info.batches_per_epoch;
  if (bpe < 1)
    throw TrainerError("the training set has " + std::to_string(info.train_samples) +
                       " samples, fewer than one batch of " + std::to_string(info.batch_size));
  for (api::Session& s : sessions) {
    s.set_schedule(bpe, std::max<int64_t>(1, bpe * epochs));
    s.set_checkpoint_metadata("data_fingerprint", id.data_fingerprint);
  }
}

LoopState loop_state(const TrainOptions& o, const Settings& settings, const detnn_data_info& info,
                     const fs::path& run_dir, ConsoleLog& console) {
  LoopState st;
  st.info = info;
  st.epochs = settings.epochs;
  st.stop_epoch = o.pause_after_epoch > 0 ? std::min(o.pause_after_epoch, settings.epochs) : settings.epochs;
  st.determinism = settings.config.at("training").value("determinism", "strict");
  st.log_every = settings.log_every;
  st.checkpoint_every = o.checkpoint_every;
  st.last = run_dir / "checkpoints" / "last.safetensors";
  st.best = run_dir / "checkpoints" / "best.safetensors";
  st.console = &console;
  // Fault injection for the resume and failure tests: SIGKILL this process right after the given
  // step; an error in one rank before the given step.
  const char* kill_env = std::getenv("DETNN_FAULT_KILL_AFTER_STEP");
  st.kill_after = kill_env != nullptr ? std::atoll(kill_env) : 0;
  st.fault = RankFault::from_environment();
  return st;
}

// Every rank loads the same checkpoint: it holds only replicated state, so it resumes on any
// number of ranks. The epoch's running totals travel in its metadata.
void restore_checkpoint(std::vector<api::Session>& sessions, bool force, LoopState& st) {
  for (api::Session& s : sessions)
    with_context("resume", [&] {
      force ? s.load_checkpoint_unchecked(st.last.string()) : s.load_checkpoint(st.last.string());
    });
  const api::Session& first = sessions[0];
  const api::CheckpointPosition at = first.checkpoint_position();
  st.step = at.step;
  st.start_epoch = at.epoch;
  st.start_batch = at.batch_in_epoch;
  const std::string where = st.last.string() + ": checkpoint metadata ";
  // The position must be one this run can be at: a batch of an epoch, the step they make.
  const int64_t bpe = st.info.batches_per_epoch;
  // (Forced onto changed data or another model file, only what the loop needs to run.)
  if (at.batch_in_epoch >= bpe || (!force && (at.epoch > st.epochs || at.step != at.epoch * bpe + at.batch_in_epoch)))
    throw TrainerError(where + "\"step\" " + std::to_string(at.step) + ", \"epoch\" " + std::to_string(at.epoch) +
                       ", \"batch_in_epoch\" " + std::to_string(at.batch_in_epoch) + " is no position of this run (" +
                       std::to_string(st.epochs) + " epochs of " + std::to_string(bpe) + " steps)");
  // The epoch's running totals, each a number the trainer wrote (exactly, for the floats).
  auto number = [&](const char* key, const char* fallback, bool integer) {
    const std::string text = first.checkpoint_metadata(key).value_or(fallback);
    char* end = nullptr;
    errno = 0;
    const double v = integer ? static_cast<double>(std::strtoll(text.c_str(), &end, 10)) : std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v) || (integer && v < 0))
      throw TrainerError(where + "\"" + key + "\" is \"" + shown(text) + "\", expected " +
                         (integer ? "a non-negative integer" : "a finite number"));
    return v;
  };
  st.best_accuracy = number("best_val_accuracy", "-1", false);
  st.totals.loss_sum = number("epoch_loss_sum", "0", false);
  st.totals.correct = static_cast<int64_t>(number("epoch_correct", "0", true));
  st.totals.samples = static_cast<int64_t>(number("epoch_samples", "0", true));
  st.totals.steps = static_cast<int64_t>(number("epoch_steps", "0", true));
  if (!force && (st.totals.steps != at.batch_in_epoch || st.totals.samples != st.totals.steps * st.info.batch_size ||
                 st.totals.correct > st.totals.samples))
    throw TrainerError(where + "epoch totals (" + std::to_string(st.totals.steps) + " steps, " +
                       std::to_string(st.totals.samples) + " samples, " + std::to_string(st.totals.correct) +
                       " correct) do not match \"batch_in_epoch\" " + std::to_string(at.batch_in_epoch));
  const std::string mode = first.checkpoint_metadata("determinism").value_or("");
  if (!force && mode != st.determinism)
    throw TrainerError(where + "\"determinism\" is \"" + shown(mode) + "\", this run trains in " + st.determinism);
}

void resume(std::vector<api::Session>& sessions, const TrainOptions& o, bool writer, LoopState& st) {
  if (!fs::exists(st.last)) {
    if (writer) st.console->line("resuming " + o.resume + ": no checkpoint yet, starting from the beginning");
    return;
  }
  restore_checkpoint(sessions, o.force, st);
  if (writer)
    st.console->line("resuming " + o.resume + " at step " + std::to_string(st.step) + " (epoch " +
                     std::to_string(st.start_epoch + 1) + ", batch " + std::to_string(st.start_batch) + ")");
}

// The validation set, normalized, in memory: evaluated in one call so its loss is the canonical sum
// over all samples.
void load_validation(const api::Data& data, LoopState& st) {
  const detnn_data_info& info = st.info;
  st.val_images.resize(static_cast<size_t>(info.validation_samples * info.sample_size));
  st.val_labels.resize(static_cast<size_t>(info.validation_samples));
  if (info.validation_samples > 0)
    with_context("validation data", [&] {
      data.validation_batch(0, info.validation_samples, st.val_images.data(), st.val_labels.data());
    });
}

std::string training_line(const Settings& settings, const LoopState& st, const RankSetup& ranks,
                          const fs::path& run_dir) {
  const std::string where = ranks.world_size > 1
                                ? " with " + std::to_string(ranks.world_size) + " ranks (" + ranks.launcher + ")"
                                : std::string();
  return "training " + settings.name + " for " + std::to_string(settings.epochs) + " epochs of " +
         std::to_string(st.info.batches_per_epoch) + " steps (batch " + std::to_string(st.info.batch_size) + ") on " +
         settings.device + where + " -> " + run_dir.string();
}

// A forced resume of a checkpoint written under another numerics contract version (DESIGN §1)
// goes on, and the manifest says so: from here the run's bits are not those it would have had.
void record_forced_contract(RunRecord& record, const api::Session& session, ConsoleLog& console) {
  const std::optional<std::string> was = session.checkpoint_metadata("numerics_contract");
  if (!was && !session.checkpoint_metadata("format")) return;  // no checkpoint was loaded
  const int now = api::numerics_contract_version();
  const std::string was_version = was.value_or("1");  // checkpoints without the key predate it
  if (was_version == std::to_string(now)) return;
  int was_number = 0;
  const auto [end, ec] = std::from_chars(was_version.data(), was_version.data() + was_version.size(), was_number);
  const bool numeric = ec == std::errc() && end == was_version.data() + was_version.size();
  record.manifest["resumes"].back()["checkpoint_numerics_contract"] =
      numeric ? nlohmann::json(was_number) : nlohmann::json(was_version);  // a damaged key stays as it was written
  record.manifest["resumes"].back()["numerics_contract"] = now;
  write_json_atomically(record.run_dir / "manifest.json", record.manifest);
  console.line("warning: the checkpoint was written under numerics contract version " + was_version +
               ", this build computes version " + std::to_string(now) +
               "; resuming anyway (--force): the run's bits from here differ from an uninterrupted run's");
}

// Rank 0's process records the outcome; the others print one line.
void finish(RunRecord& record, api::Session& session, const LoopState& st, const std::string& final_sha) {
  const RankSetup& ranks = record.ranks;
  if (!ranks.writes_run()) {
    st.console->line("rank " + std::to_string(ranks.first_rank) + " of " + std::to_string(ranks.world_size) +
                     " done: " + std::to_string(st.step) + " steps, weights sha256 " + final_sha);
    return;
  }
  json& manifest = record.manifest;
  const bool paused = st.step < st.epochs * st.info.batches_per_epoch;  // --pause-after-epoch
  manifest["status"] = paused ? "paused" : "completed";
  manifest["end_time"] = utc_timestamp();
  manifest["final_weights_sha256"] = final_sha;
  manifest["final_state_sha256"] = session.state_sha256();
  manifest["steps"] = st.step;
  manifest["cuda_graph"] = session.cuda_graph_status();  // how the steps ran (never changes a bit)
  write_json_atomically(record.run_dir / "manifest.json", manifest);
  if (paused)
    st.console->line("paused after epoch " + std::to_string(st.stop_epoch) + " (step " + std::to_string(st.step) +
                     "): continue with trainer --resume " + record.run_dir.string());
  else
    st.console->line("done: " + std::to_string(st.step) + " steps, weights sha256 " + final_sha);
}

// RUN_DIR/tensorboard/: a new event file; a new run's config and manifest as text, a resumed
// run's restart (TensorBoard drops what the earlier process wrote after the checkpoint).
std::unique_ptr<TensorBoardWriter> start_tensorboard(const RunRecord& record, bool resuming, const LoopState& st) {
  auto tensorboard = std::make_unique<TensorBoardWriter>(record.run_dir / "tensorboard");
  if (resuming) {
    tensorboard->restart_at(st.step + 1);
  } else {
    tensorboard->text("config", 0, "```json\n" + read_json_file(record.run_dir / "config.json").dump(2) + "\n```");
    tensorboard->text("manifest", 0, "```json\n" + record.manifest.dump(2) + "\n```");
  }
  tensorboard->flush();
  return tensorboard;
}

// Creates the sessions and trains them to the end (the manifest, if this process writes one, is
// already written, so that a failure here, say a device that does not exist, is recorded).
void train_sessions(RunRecord& record, const TrainOptions& o, bool resuming, const api::Model& model,
                    const api::Data& data, const Settings& settings, const Identity& id, ConsoleLog& console) {
  const RankSetup& ranks = record.ranks;
  const bool writer = ranks.writes_run();
  std::vector<api::Session> sessions = create_sessions(model, ranks);
  if (writer) record_kernel_choices(sessions[0], resuming, record, console);
  const detnn_data_info info = data.info();
  prepare_sessions(sessions, info, settings.epochs, id);
  if (!o.save_init.empty() && writer) {
    with_context("--save-init", [&] { sessions[0].save_parameters(o.save_init); });
    console.line("initial weights written to " + o.save_init);
  }
  LoopState st = loop_state(o, settings, info, record.run_dir, console);
  if (resuming) resume(sessions, o, writer, st);
  if (resuming && writer) record_forced_contract(record, sessions[0], console);
  std::unique_ptr<MetricsLog> metrics;
  if (writer) metrics = std::make_unique<MetricsLog>(record.run_dir / "metrics.jsonl", resuming ? st.step : -1);
  st.metrics = metrics.get();
  const std::unique_ptr<TensorBoardWriter> tensorboard = writer && o.tensorboard != "off" ? start_tensorboard(record, resuming, st) : nullptr;
  if (tensorboard) metrics->mirror_to(tensorboard.get());
  load_validation(data, st);
  if (writer) console.line(training_line(settings, st, ranks, record.run_dir));
  const api::Group* group = ranks.group ? &*ranks.group : nullptr;
  const std::string final_sha = train_all_ranks(sessions, ranks.first_rank, group, data, st);
  finish(record, sessions[0], st, final_sha);
}

void train(const TrainOptions& o, RunRecord& record) {
  const std::optional<RecordedRun> recorded = read_recorded_run(o);
  const std::string model_path = model_path_of(o, recorded);
  api::Model model = load_model(model_path, o, recorded);
  RankSetup& ranks = record.ranks;
  ranks = plan_ranks(o, model);  // before the config is read: --gpus sets the device
  const Settings settings = resolved_settings(model);
  check_ranks_fit(model, ranks);
  const api::Data data = with_context("data", [&] { return api::Data(model); });
  if (data.info().batches_per_epoch < 1)
    throw TrainerError("data: the training set has " + std::to_string(data.info().train_samples) +
                       " samples, fewer than one batch of " + std::to_string(data.info().batch_size) +
                       " (training.batch_size)");
  check_run_length(settings.epochs, data.info().batches_per_epoch);
  // The schedule's settings that depend on the run's length, checked before anything is written.
  const int64_t bpe = data.info().batches_per_epoch;
  if (bpe >= 1 && settings.epochs >= 1)
    with_context(model_path, [&] { model.check_schedule(bpe, bpe * settings.epochs); });
  // --save-init never replaces anything (a file, a directory, a device node): checked before the
  // run directory exists.
  std::error_code exists_error;
  if (!o.save_init.empty() && (fs::exists(o.save_init, exists_error) || fs::is_symlink(o.save_init, exists_error)))
    throw TrainerError("--save-init: " + o.save_init + " exists; give a path that does not (nothing is overwritten)");
  const Identity id{model.sha256(), data.fingerprint()};
  if (recorded && !o.force) refuse_changed_inputs(*recorded, id, model_path);
  if (!o.verify_of.empty() && id.data_fingerprint != o.verify_data_fingerprint)
    throw TrainerError("refusing to verify " + o.verify_of + ": the data changed (fingerprint " +
                       o.verify_data_fingerprint + " when the run started, " + id.data_fingerprint + " now)");
  // Every rank meets here (a launched rank waits for the others), before rank 0 writes anything,
  // so that any later failure of any rank reaches them all.
  create_group(ranks, o, settings.device.rfind("cuda", 0) == 0);
  const bool writer = ranks.writes_run();
  if (recorded) record.run_dir = recorded->dir;
  else if (writer) record.run_dir = create_run_directory(o, settings.name);
  if (writer) record.lock = std::make_unique<RunLock>(record.run_dir);
  if (writer && recorded) remove_stale_temporaries(record.run_dir);
  // Ranks other than 0 write nothing: their console goes to the terminal only.
  ConsoleLog console(writer ? record.run_dir / "console.log" : fs::path());
  if (writer) write_manifest(record, o, recorded, settings, model_path, id);
  train_sessions(record, o, recorded.has_value(), model, data, settings, id, console);
}

}  // namespace

int run_train(const TrainOptions& options) {
  RunRecord record;
  try {
    train(options, record);
    return 0;
  } catch (const std::exception& e) {
    // The other ranks would wait for this process's ranks: stop them with its error (the first
    // failure of a group wins, so a rank's own error reported earlier is kept).
    if (record.ranks.group) record.ranks.group->abort(record.ranks.first_rank, reason(e));
    if (record.written) {
      record.manifest["status"] = "failed";
      record.manifest["error"] = reason(e);
      record.manifest["end_time"] = utc_timestamp();
      try {
        write_json_atomically(record.run_dir / "manifest.json", record.manifest);
      } catch (const std::exception&) {
        // The original error is the one to report.
      }
    }
    throw;
  }
}

}  // namespace trainer
