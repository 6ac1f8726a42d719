// `trainer --model FILE`: trains, writing the run directory (docs/trainer.md): config.json,
// manifest.json, metrics.jsonl, checkpoints/last.safetensors (every epoch) and best.safetensors
// (by validation accuracy), console.log. `--resume DIR` continues a run from its last checkpoint
// with the bits of the uninterrupted run. `--ranks N` (threads of this process), `--gpus LIST` (one
// rank per GPU) and launches by torchrun-style variables or mpirun (one process per rank) train
// data-parallel with the bits of one rank (docs/multi-rank.md); rank 0's process alone writes.
#include <csignal>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "c_api_util.h"
#include "commands.h"
#include "git_info.h"
#include "rank_setup.h"
#include "run_files.h"
#include "train_loop.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string data_fingerprint(detnn_data* d) {
  char out[65];
  check(detnn_data_fingerprint(d, out), "data fingerprint");
  return out;
}

std::string model_sha(detnn_model* m) {
  char out[65];
  check(detnn_model_sha256(m, out), "model sha256");
  return out;
}

std::string metadata_or(detnn_session* s, const char* key, const std::string& fallback) {
  const char* v = nullptr;
  return detnn_session_checkpoint_metadata(s, key, &v) == DETNN_OK ? std::string(v) : fallback;
}

void apply_overrides(detnn_model* m, const TrainOptions& o) {
  auto set = [&](const char* key, const std::string& value) {
    check(detnn_model_set_option(m, key, value.c_str()), (std::string("--") + key).c_str());
  };
  if (o.epochs >= 0) set("training.epochs", std::to_string(o.epochs));
  if (o.seed >= 0) set("training.seed", std::to_string(o.seed));
  if (!o.determinism.empty()) set("training.determinism", o.determinism);
  if (!o.precision.empty()) set("training.precision", o.precision);
  if (!o.cuda_graph.empty()) set("training.cuda_graph", o.cuda_graph);
  if (!o.device.empty()) set("training.device", o.device);
  if (o.threads >= 0) set("training.threads", std::to_string(o.threads));
}

// A resumed run keeps the recorded settings unless the command line says otherwise (the seed
// and the epochs define the run; device and threads never change the bits in strict mode).
void apply_recorded(detnn_model* m, const json& config, const TrainOptions& o) {
  const json& t = config.at("training");
  auto set = [&](const char* key, const std::string& value) { check(detnn_model_set_option(m, key, value.c_str()), key); };
  if (o.epochs < 0) set("training.epochs", std::to_string(t.at("epochs").get<int64_t>()));
  if (o.seed < 0) set("training.seed", std::to_string(t.at("seed").get<uint64_t>()));
  if (o.determinism.empty()) set("training.determinism", t.at("determinism").get<std::string>());
  // Runs recorded before the precision option computed in FP32.
  if (o.precision.empty()) set("training.precision", t.value("precision", std::string("fp32")));
  if (o.device.empty()) set("training.device", t.at("device").get<std::string>());
  if (o.cuda_graph.empty()) set("training.cuda_graph", t.value("cuda_graph", std::string("off")));
  if (o.threads < 0) set("training.threads", std::to_string(t.at("threads").get<int64_t>()));
}

}  // namespace

namespace {

// What a failure must update: the manifest, once it exists, records the error.
struct RunRecord {
  fs::path run_dir;
  json manifest;
  bool written = false;
  RankSetup ranks;  // its group is told of a failure of this process, so the other ranks stop
};

int train(const TrainOptions& o, RunRecord& record) {
  const bool resuming = !o.resume.empty();
  fs::path& run_dir = record.run_dir;
  json recorded_config, recorded_manifest;
  std::string model_path = o.model;
  if (resuming) {
    run_dir = o.resume;
    if (!fs::exists(run_dir / "config.json") || !fs::exists(run_dir / "manifest.json"))
      throw IoError(run_dir.string() + ": not a run directory (no config.json / manifest.json)");
    recorded_config = read_json_file(run_dir / "config.json");
    recorded_manifest = read_json_file(run_dir / "manifest.json");
    if (model_path.empty()) model_path = recorded_manifest.at("model_file").get<std::string>();
  }
  if (model_path.empty()) throw DetnnError("--model FILE is required (or --resume DIR)");

  detnn_model* raw_model = nullptr;
  check(detnn_model_load_file(model_path.c_str(), &raw_model), "model");
  Model model(raw_model);
  apply_overrides(model.get(), o);
  if (resuming) apply_recorded(model.get(), recorded_config, o);
  RankSetup& ranks = record.ranks;
  ranks = plan_ranks(o, model.get());  // before the config is read: --gpus sets the device
  const bool writer = ranks.writes_run();

  const char* config_text = nullptr;
  check(detnn_model_config_json(model.get(), &config_text), "config");
  const json config = json::parse(config_text);
  const std::string device = config.at("training").at("device").get<std::string>();
  const std::string name = config.value("name", "model");
  const int64_t epochs = config.at("training").at("epochs").get<int64_t>();
  const int64_t log_every = config.at("training").at("log_every").get<int64_t>();

  // A global batch the ranks cannot share is refused before any data is read or file written.
  check(detnn_model_check_ranks(model.get(), ranks.world_size),
        ranks.launcher == "threads" || ranks.launcher == "single" ? "--ranks" : ranks.launcher.c_str());

  detnn_data* raw_data = nullptr;
  check(detnn_data_load(model.get(), &raw_data), "data");
  Data data(raw_data);
  detnn_data_info info{};
  check(detnn_data_get_info(data.get(), &info), "data info");
  const std::string fingerprint = data_fingerprint(data.get());
  const std::string this_model_sha = model_sha(model.get());

  if (resuming && !o.force) {
    const std::string was_model = recorded_manifest.value("model_sha256", "");
    const std::string was_data = recorded_manifest.value("data_fingerprint", "");
    if (was_model != this_model_sha)
      throw DetnnError("refusing to resume " + run_dir.string() + ": the model file changed (sha256 " + was_model +
                       " when the run started, " + this_model_sha + " now: " + model_path + "); use --force to resume anyway");
    if (was_data != fingerprint)
      throw DetnnError("refusing to resume " + run_dir.string() + ": the data changed (fingerprint " + was_data +
                       " when the run started, " + fingerprint + " now); use --force to resume anyway");
  }

  // Every rank meets here (a launched rank waits for the others), before rank 0 writes anything,
  // so that any later failure of any rank reaches them all.
  create_group(ranks, o, device.rfind("cuda", 0) == 0);
  if (!resuming && writer) {
    run_dir = o.run_dir.empty() ? fs::path("runs") / (name + "-" + compact_timestamp()) : fs::path(o.run_dir);
    std::error_code ec;
    if (fs::exists(run_dir) && !fs::is_empty(run_dir, ec))
      throw IoError(run_dir.string() + ": the run directory exists and is not empty; continue it with --resume " +
                    run_dir.string() + " or choose another --run-dir");
    fs::create_directories(run_dir / "checkpoints", ec);
    if (ec) throw IoError(run_dir.string() + ": cannot create the run directory: " + ec.message());
  }
  // Ranks other than 0 write nothing: their console goes to the terminal only.
  ConsoleLog console(writer ? run_dir / "console.log" : fs::path());

  // Manifest: everything needed to reproduce the run.
  json& manifest = record.manifest;
  manifest = resuming ? recorded_manifest : json::object();
  const json placement = rank_list(ranks, device);
  if (!writer) {
    // Nothing to record here.
  } else if (!resuming) {
    const char* env = nullptr;
    check(detnn_environment_json(&env), "environment");
    manifest["environment"] = json::parse(env);
    manifest["command_line"] = o.command_line;
    manifest["model_file"] = fs::absolute(model_path).string();
    manifest["model_sha256"] = this_model_sha;
    manifest["model_git"] = git_info_for(model_path);
    manifest["data_fingerprint"] = fingerprint;
    manifest["world_size"] = ranks.world_size;
    manifest["launcher"] = ranks.launcher;
    manifest["ranks"] = placement;
    manifest["start_time"] = utc_timestamp();
    manifest["status"] = "running";
    write_json_atomically(run_dir / "config.json", config);
  } else {
    manifest["resumes"].push_back({{"time", utc_timestamp()}, {"command_line", o.command_line}, {"forced", o.force},
                                   {"world_size", ranks.world_size}, {"launcher", ranks.launcher}});
    // The current part of the run (the bits do not depend on it).
    manifest["world_size"] = ranks.world_size;
    manifest["launcher"] = ranks.launcher;
    manifest["ranks"] = placement;
    manifest["status"] = "running";
  }
  if (writer) {
    write_json_atomically(run_dir / "manifest.json", manifest);
    record.written = true;
  }

  // After the manifest, so that a failure here (say, a device that does not exist) is recorded.
  std::vector<Session> session_handles;
  std::vector<detnn_session*> sessions;
  for (int r = ranks.first_rank; r < ranks.first_rank + ranks.local_ranks; ++r) {
    session_handles.push_back(make_session(model.get(), ranks.group.get(), r));
    sessions.push_back(session_handles.back().get());
  }
  detnn_session* session = sessions[0];
  if (writer) {
    // fast / off: the vendor algorithms pinned for this run's call shapes (empty in strict).
    const char* choices = nullptr;
    check(detnn_session_kernel_choices_json(session, &choices), "kernel choices");
    const json pinned = json::parse(choices);
    if (resuming && manifest.contains("kernel_choices") && manifest["kernel_choices"] != pinned) {
      // Another GPU model or library version: fast promises the same bits only with the same ones.
      console.line("warning: the cuDNN/cuBLASLt algorithms differ from those the run started with (another GPU "
                   "model or library version?): the resumed run will not give the uninterrupted run's bits");
      manifest["resumes"].back()["kernel_choices"] = pinned;
    } else if (!pinned.empty()) {
      manifest["kernel_choices"] = pinned;
    }
    if (!pinned.empty()) write_json_atomically(run_dir / "manifest.json", manifest);
  }

  const int64_t bpe = info.batches_per_epoch;
  if (bpe < 1)
    throw DetnnError("the training set has " + std::to_string(info.train_samples) + " samples, fewer than one batch of " +
                     std::to_string(info.batch_size));
  for (detnn_session* s : sessions) {
    check(detnn_session_set_schedule(s, bpe, std::max<int64_t>(1, bpe * epochs)), "schedule");
    check(detnn_session_set_checkpoint_metadata(s, "data_fingerprint", fingerprint.c_str()), "metadata");
  }
  if (!o.save_init.empty() && writer) {
    check(detnn_session_save_parameters(session, o.save_init.c_str()), "--save-init");
    console.line("initial weights written to " + o.save_init);
  }

  LoopState st;
  st.info = info;
  st.epochs = epochs;
  st.log_every = log_every;
  st.checkpoint_every = o.checkpoint_every;
  st.last = run_dir / "checkpoints" / "last.safetensors";
  st.best = run_dir / "checkpoints" / "best.safetensors";
  st.console = &console;
  // Fault injection for the resume and failure tests: SIGKILL this process right after the given
  // step; an error in one rank before the given step.
  const char* kill_env = std::getenv("DETNN_FAULT_KILL_AFTER_STEP");
  st.kill_after = kill_env != nullptr ? std::atoll(kill_env) : 0;
  st.fault = RankFault::from_environment();
  if (resuming && fs::exists(st.last)) {
    // Every rank loads the same checkpoint: it holds only replicated state, so it resumes on any
    // number of ranks.
    for (detnn_session* s : sessions)
      check(o.force ? detnn_session_load_checkpoint_unchecked(s, st.last.c_str())
                    : detnn_session_load_checkpoint(s, st.last.c_str()),
            "resume");
    check(detnn_session_checkpoint_position(session, &st.step, &st.start_epoch, &st.start_batch), "resume");
    st.best_accuracy = std::stod(metadata_or(session, "best_val_accuracy", "-1"));
    st.totals.loss_sum = std::stod(metadata_or(session, "epoch_loss_sum", "0"));
    st.totals.correct = std::stoll(metadata_or(session, "epoch_correct", "0"));
    st.totals.samples = std::stoll(metadata_or(session, "epoch_samples", "0"));
    st.totals.steps = std::stoll(metadata_or(session, "epoch_steps", "0"));
    if (writer)
      console.line("resuming " + run_dir.string() + " at step " + std::to_string(st.step) + " (epoch " +
                 std::to_string(st.start_epoch + 1) + ", batch " + std::to_string(st.start_batch) + ")");
  } else if (resuming && writer) {
    console.line("resuming " + run_dir.string() + ": no checkpoint yet, starting from the beginning");
  }
  std::unique_ptr<MetricsLog> metrics;
  if (writer) metrics = std::make_unique<MetricsLog>(run_dir / "metrics.jsonl", resuming ? st.step : -1);
  st.metrics = metrics.get();

  // The validation set, normalized, in memory: evaluated in one call so its loss is the
  // canonical sum over all samples.
  st.val_images.resize(static_cast<size_t>(info.validation_samples * info.sample_size));
  st.val_labels.resize(static_cast<size_t>(info.validation_samples));
  if (info.validation_samples > 0)
    check(detnn_data_validation_batch(data.get(), 0, info.validation_samples, st.val_images.data(),
                                      st.val_labels.data()),
          "validation data");

  const std::string where = ranks.world_size > 1 ? " with " + std::to_string(ranks.world_size) + " ranks (" +
                                                      ranks.launcher + ")"
                                                : std::string();
  if (writer)
    console.line("training " + name + " for " + std::to_string(epochs) + " epochs of " + std::to_string(bpe) +
                 " steps (batch " + std::to_string(info.batch_size) + ") on " + device + where + " -> " +
                 run_dir.string());

  const std::string final_sha = train_all_ranks(sessions, ranks.first_rank, ranks.group.get(), data.get(), st);
  if (!writer) {
    console.line("rank " + std::to_string(ranks.first_rank) + " of " + std::to_string(ranks.world_size) + " done: " +
                 std::to_string(st.step) + " steps, weights sha256 " + final_sha);
    return 0;
  }
  manifest["status"] = "completed";
  manifest["end_time"] = utc_timestamp();
  manifest["final_weights_sha256"] = final_sha;
  manifest["steps"] = st.step;
  const char* graph = nullptr;
  check(detnn_session_cuda_graph_status(session, &graph), "CUDA Graph status");
  manifest["cuda_graph"] = graph;  // how the steps ran (never changes a bit)
  write_json_atomically(run_dir / "manifest.json", manifest);
  console.line("done: " + std::to_string(st.step) + " steps, weights sha256 " + final_sha);
  return 0;
}

}  // namespace

int run_train(const TrainOptions& options) {
  RunRecord record;
  try {
    return train(options, record);
  } catch (const std::exception& e) {
    // The other ranks would wait for this process's ranks: stop them with its error (the first
    // failure of a group wins, so a rank's own error reported earlier is kept).
    if (record.ranks.group)
      detnn_group_abort(record.ranks.group.get(), record.ranks.first_rank, e.what());
    if (record.written) {
      record.manifest["status"] = "failed";
      record.manifest["error"] = e.what();
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
