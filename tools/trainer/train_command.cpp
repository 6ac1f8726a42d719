// `trainer --model FILE`: trains, writing the run directory (docs/trainer.md): config.json,
// manifest.json, metrics.jsonl, checkpoints/last.safetensors (every epoch) and best.safetensors
// (by validation accuracy), console.log. `--resume DIR` continues a run from its last checkpoint
// with the bits of the uninterrupted run.
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
#include "run_files.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string sha_of(detnn_session* s) {
  char out[65];
  check(detnn_session_weights_sha256(s, out), "weights sha256");
  return out;
}

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

// Exact text form of a double for checkpoint metadata (round-trips bit for bit).
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
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
  if (o.device.empty()) set("training.device", t.at("device").get<std::string>());
  if (o.threads < 0) set("training.threads", std::to_string(t.at("threads").get<int64_t>()));
}

struct EpochTotals {
  double loss_sum = 0;  // sum of step losses, in step order
  int64_t correct = 0, samples = 0, steps = 0;
};

}  // namespace

namespace {

// What a failure must update: the manifest, once it exists, records the error.
struct RunRecord {
  fs::path run_dir;
  json manifest;
  bool written = false;
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

  const char* config_text = nullptr;
  check(detnn_model_config_json(model.get(), &config_text), "config");
  const json config = json::parse(config_text);
  const std::string name = config.value("name", "model");
  const int64_t epochs = config.at("training").at("epochs").get<int64_t>();
  const int64_t log_every = config.at("training").at("log_every").get<int64_t>();

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

  if (!resuming) {
    run_dir = o.run_dir.empty() ? fs::path("runs") / (name + "-" + compact_timestamp()) : fs::path(o.run_dir);
    std::error_code ec;
    if (fs::exists(run_dir) && !fs::is_empty(run_dir, ec))
      throw IoError(run_dir.string() + ": the run directory exists and is not empty; continue it with --resume " +
                    run_dir.string() + " or choose another --run-dir");
    fs::create_directories(run_dir / "checkpoints", ec);
    if (ec) throw IoError(run_dir.string() + ": cannot create the run directory: " + ec.message());
  }
  ConsoleLog console(run_dir / "console.log");

  // Manifest: everything needed to reproduce the run.
  json& manifest = record.manifest;
  manifest = resuming ? recorded_manifest : json::object();
  if (!resuming) {
    const char* env = nullptr;
    check(detnn_environment_json(&env), "environment");
    manifest["environment"] = json::parse(env);
    manifest["command_line"] = o.command_line;
    manifest["model_file"] = fs::absolute(model_path).string();
    manifest["model_sha256"] = this_model_sha;
    manifest["model_git"] = git_info_for(model_path);
    manifest["data_fingerprint"] = fingerprint;
    manifest["world_size"] = 1;
    manifest["ranks"] = json::array({{{"rank", 0}, {"device", config.at("training").at("device")}}});
    manifest["start_time"] = utc_timestamp();
    manifest["status"] = "running";
    write_json_atomically(run_dir / "config.json", config);
  } else {
    manifest["resumes"].push_back({{"time", utc_timestamp()}, {"command_line", o.command_line}, {"forced", o.force}});
    manifest["status"] = "running";
  }
  write_json_atomically(run_dir / "manifest.json", manifest);
  record.written = true;

  Session session = make_session(model.get());
  const int64_t bpe = info.batches_per_epoch;
  if (bpe < 1)
    throw DetnnError("the training set has " + std::to_string(info.train_samples) + " samples, fewer than one batch of " +
                     std::to_string(info.batch_size));
  check(detnn_session_set_schedule(session.get(), bpe, std::max<int64_t>(1, bpe * epochs)), "schedule");
  check(detnn_session_set_checkpoint_metadata(session.get(), "data_fingerprint", fingerprint.c_str()), "metadata");
  if (!o.save_init.empty()) {
    check(detnn_session_save_parameters(session.get(), o.save_init.c_str()), "--save-init");
    console.line("initial weights written to " + o.save_init);
  }

  int64_t start_epoch = 0, start_batch = 0, step = 0;
  double best_accuracy = -1.0;
  EpochTotals totals;
  const fs::path last = run_dir / "checkpoints" / "last.safetensors";
  const fs::path best = run_dir / "checkpoints" / "best.safetensors";
  if (resuming && fs::exists(last)) {
    check(o.force ? detnn_session_load_checkpoint_unchecked(session.get(), last.c_str())
                  : detnn_session_load_checkpoint(session.get(), last.c_str()),
          "resume");
    check(detnn_session_checkpoint_position(session.get(), &step, &start_epoch, &start_batch), "resume");
    best_accuracy = std::stod(metadata_or(session.get(), "best_val_accuracy", "-1"));
    totals.loss_sum = std::stod(metadata_or(session.get(), "epoch_loss_sum", "0"));
    totals.correct = std::stoll(metadata_or(session.get(), "epoch_correct", "0"));
    totals.samples = std::stoll(metadata_or(session.get(), "epoch_samples", "0"));
    totals.steps = std::stoll(metadata_or(session.get(), "epoch_steps", "0"));
    console.line("resuming " + run_dir.string() + " at step " + std::to_string(step) + " (epoch " +
                 std::to_string(start_epoch + 1) + ", batch " + std::to_string(start_batch) + ")");
  } else if (resuming) {
    console.line("resuming " + run_dir.string() + ": no checkpoint yet, starting from the beginning");
  }
  MetricsLog metrics(run_dir / "metrics.jsonl", resuming ? step : -1);

  // The validation set, normalized, in memory: evaluated in one call so its loss is the
  // canonical sum over all samples.
  std::vector<float> val_images(static_cast<size_t>(info.validation_samples * info.sample_size));
  std::vector<int32_t> val_labels(static_cast<size_t>(info.validation_samples));
  if (info.validation_samples > 0)
    check(detnn_data_validation_batch(data.get(), 0, info.validation_samples, val_images.data(), val_labels.data()),
          "validation data");

  console.line("training " + name + " for " + std::to_string(epochs) + " epochs of " + std::to_string(bpe) +
               " steps (batch " + std::to_string(info.batch_size) + ") on " +
               config.at("training").at("device").get<std::string>() + " -> " + run_dir.string());

  auto save = [&](const fs::path& path, int64_t epoch, int64_t batch) {
    check(detnn_session_set_checkpoint_metadata(session.get(), "best_val_accuracy", exact(best_accuracy).c_str()), "metadata");
    check(detnn_session_set_checkpoint_metadata(session.get(), "epoch_loss_sum", exact(totals.loss_sum).c_str()), "metadata");
    check(detnn_session_set_checkpoint_metadata(session.get(), "epoch_correct", std::to_string(totals.correct).c_str()), "metadata");
    check(detnn_session_set_checkpoint_metadata(session.get(), "epoch_samples", std::to_string(totals.samples).c_str()), "metadata");
    check(detnn_session_set_checkpoint_metadata(session.get(), "epoch_steps", std::to_string(totals.steps).c_str()), "metadata");
    check(detnn_session_save_checkpoint(session.get(), path.c_str(), epoch, batch), "checkpoint");
  };

  std::vector<float> images(static_cast<size_t>(info.batch_size * info.sample_size));
  std::vector<int32_t> labels(static_cast<size_t>(info.batch_size));
  detnn_loader* raw_loader = nullptr;
  check(detnn_loader_create(data.get(), start_epoch, start_batch, epochs, &raw_loader), "loader");
  Loader loader(raw_loader);
  using clock = std::chrono::steady_clock;
  auto epoch_start = clock::now();
  auto window_start = clock::now();
  int64_t window_samples = 0;
  std::string final_sha;
  // Fault injection for the resume tests: SIGKILL this process right after the given step.
  const char* kill_env = std::getenv("DETNN_FAULT_KILL_AFTER_STEP");
  const long long kill_after = kill_env != nullptr ? std::atoll(kill_env) : 0;
  for (;;) {
    int64_t epoch = 0, batch = 0;
    int done = 0;
    check(detnn_loader_next(loader.get(), images.data(), labels.data(), &epoch, &batch, &done), "data");
    if (done) break;
    detnn_step_metrics m{};
    check(detnn_session_train_step(session.get(), images.data(), labels.data(), info.batch_size, &m), "training step");
    ++step;
    totals.loss_sum += m.loss;
    totals.correct += m.correct;
    totals.samples += m.samples;
    ++totals.steps;
    window_samples += m.samples;
    const double window_s = std::chrono::duration<double>(clock::now() - window_start).count();
    const double ips = window_s > 0 ? window_samples / window_s : 0.0;
    if (step % log_every == 0 || batch + 1 == bpe) {
      metrics.write({{"type", "step"}, {"step", step}, {"epoch", epoch + 1}, {"batch", batch + 1}, {"loss", m.loss},
                     {"accuracy", static_cast<double>(m.correct) / m.samples}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                     {"images_per_s", std::round(ips)}});
      if (!console.is_terminal()) {
        char line[256];
        std::snprintf(line, sizeof line, "epoch %lld/%lld step %lld batch %lld/%lld loss %.4f lr %.4g %.0f img/s",
                      (long long)epoch + 1, (long long)epochs, (long long)step, (long long)batch + 1, (long long)bpe,
                      m.loss, m.lr, ips);
        console.line(line);
      }
      window_start = clock::now();
      window_samples = 0;
    }
    if (console.is_terminal()) {
      const int width = 24, filled = static_cast<int>(width * (batch + 1) / bpe);
      char line[256];
      std::snprintf(line, sizeof line, "epoch %lld/%lld [%s%s] %lld/%lld loss %.4f acc %.1f%% %.0f img/s",
                    (long long)epoch + 1, (long long)epochs, std::string(filled, '#').c_str(),
                    std::string(width - filled, '.').c_str(), (long long)batch + 1, (long long)bpe,
                    totals.loss_sum / totals.steps, 100.0 * totals.correct / totals.samples, ips);
      console.progress(line);
    }
    if (batch + 1 < bpe) {
      if (o.checkpoint_every > 0 && step % o.checkpoint_every == 0) save(last, epoch, batch + 1);
      if (step == kill_after) std::raise(SIGKILL);
      continue;
    }
    // End of an epoch: validation, metrics, checkpoints.
    detnn_eval_metrics ev{};
    if (info.validation_samples > 0)
      check(detnn_session_evaluate(session.get(), val_images.data(), val_labels.data(), info.validation_samples, &ev),
            "validation");
    const double val_acc = ev.samples > 0 ? static_cast<double>(ev.correct) / ev.samples : 0.0;
    final_sha = sha_of(session.get());
    const double seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    json line = {{"type", "epoch"}, {"epoch", epoch + 1}, {"step", step}, {"train_loss", totals.loss_sum / totals.steps},
                 {"train_accuracy", static_cast<double>(totals.correct) / totals.samples},
                 {"weights_sha256", final_sha}, {"seconds", std::round(seconds * 100) / 100}};
    if (ev.samples > 0) line["val_loss"] = ev.loss, line["val_accuracy"] = val_acc;
    metrics.write(line);
    metrics.sync();
    char text[256];
    std::snprintf(text, sizeof text, "epoch %lld/%lld: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% | %.1f s | weights %.12s",
                  (long long)epoch + 1, (long long)epochs, totals.loss_sum / totals.steps,
                  100.0 * totals.correct / totals.samples, ev.loss, 100.0 * val_acc, seconds, final_sha.c_str());
    console.line(text);
    const bool improved = ev.samples > 0 && val_acc > best_accuracy;
    if (improved) best_accuracy = val_acc;
    totals = EpochTotals{};
    save(last, epoch + 1, 0);
    if (improved) save(best, epoch + 1, 0);
    if (step == kill_after) std::raise(SIGKILL);
    epoch_start = clock::now();
  }
  if (final_sha.empty()) final_sha = sha_of(session.get());
  manifest["status"] = "completed";
  manifest["end_time"] = utc_timestamp();
  manifest["final_weights_sha256"] = final_sha;
  manifest["steps"] = step;
  write_json_atomically(run_dir / "manifest.json", manifest);
  console.line("done: " + std::to_string(step) + " steps, weights sha256 " + final_sha);
  return 0;
}

}  // namespace

int run_train(const TrainOptions& options) {
  RunRecord record;
  try {
    return train(options, record);
  } catch (const std::exception& e) {
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
