#include "sweep_setup.h"

#include <thread>

#include "errors.h"
#include "rank_setup.h"
#include "run_files.h"
#include "sweep/distributions.h"
#include "sweep/model_paths.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;
using sweep::SweepError;

namespace {

std::string read_text(const std::string& path, const char* what) {
  try {
    return read_text_file(path);
  } catch (const IoError&) {
    throw TrainerError(std::string(what) + " " + path + ": cannot be read");
  }
}

std::string where(const sweep::SweepConfig& c, const sweep::Parameter& p) {
  return c.source + ":" + std::to_string(p.line) + ": " + sweep::shown_text(p.key_path, 200);
}

// Every parameter, at each value checked (distributions.h), set in the model file with the others
// at their first: the library must accept the file. Catches unknown paths (the model file's schema
// refuses unknown keys), wrong types and values out of range before any trial runs.
void check_parameters_against_model(const sweep::SweepConfig& c, const json& base) {
  std::vector<json> first;
  for (const sweep::Parameter& p : c.parameters) first.push_back(sweep::representative_values(p.distribution).at(0));
  for (size_t k = 0; k < c.parameters.size(); ++k) {
    const sweep::Parameter& p = c.parameters[k];
    if (c.method == sweep::Method::grid) sweep::grid_values(p, c.source);  // a grid can walk it
    for (const json& v : sweep::representative_values(p.distribution)) {
      json model = base;
      try {
        for (size_t j = 0; j < c.parameters.size(); ++j)
          sweep::set_model_value(model, c.parameters[j].path, j == k ? v : first[j]);
      } catch (const std::invalid_argument& e) {
        throw SweepError(where(c, p) + ": " + sweep::shown_text(e.what(), 600));
      }
      try {
        api::Model::from_json(model.dump());
      } catch (const detnn::CApiError& e) {
        throw SweepError(where(c, p) + ": the model file refuses " + sweep::shown_text(p.path, 120) + " = " +
                         sweep::shown_text(v.dump(), 40) + ": " + e.message());
      }
    }
  }
}

// A val_* metric needs validation data; every other epoch metric is always written.
void check_metric(const sweep::SweepConfig& c, const json& base, const std::string& model_path) {
  if (c.metric.rfind("val_", 0) != 0) return;
  const api::Model model = with_context(model_path, [&] { return api::Model::from_json(base.dump()); });
  const api::Data data = with_context("data", [&] { return api::Data(model); });
  if (data.info().validation_samples == 0)
    throw SweepError(c.source + ": metric.name: " + c.metric + ": " + model_path +
                     " has no validation data (data.validation), so no trial writes it");
}

std::vector<std::string> slot_devices(const SweepOptions& o, int& parallel) {
  std::vector<std::string> devices;
  if (!o.gpus.empty()) {
    if (!o.device.empty()) throw TrainerError("sweep: --gpus and --device exclude each other");
    const std::vector<int> gpus = with_context("--gpus", [&] { return parse_gpu_list(o.gpus, api::cuda_device_count()); });
    if (parallel == 0) parallel = static_cast<int>(gpus.size());
    if (parallel != static_cast<int>(gpus.size()))
      throw TrainerError("sweep: --parallel " + std::to_string(parallel) + " with " + std::to_string(gpus.size()) +
                         " GPUs: one trial per GPU runs at a time (leave --parallel out)");
    for (int g : gpus) devices.push_back("cuda:" + std::to_string(g));
    return devices;
  }
  if (parallel == 0) parallel = 1;
  devices.assign(static_cast<size_t>(parallel), o.device);
  return devices;
}

// Parallel trials on the CPU share its cores: each gets its part (never changes results).
int threads_per_trial(const SweepOptions& o, int parallel) {
  if (parallel <= 1 && o.threads == 0) return 0;
  const int total = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, total / parallel);
}

fs::path create_sweep_dir(const SweepOptions& o, const std::string& name) {
  std::string safe;
  for (char ch : name) safe += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  const fs::path dir = o.sweep_dir.empty() ? fs::path("sweeps") / (safe + "-" + compact_timestamp()) : fs::path(o.sweep_dir);
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec))
    throw TrainerError(dir.string() + ": the sweep directory exists and is not empty; continue it with trainer sweep "
                       "--resume " + dir.string() + " or choose another --sweep-dir");
  for (const char* sub : {"trials", "models", "logs"}) fs::create_directories(dir / sub, ec);
  if (ec) throw TrainerError(dir.string() + ": cannot create the sweep directory: " + ec.message());
  return dir;
}

}  // namespace

json trial_model(const SweepPlan& plan, const sweep::TrialParameters& params) {
  json model = plan.base_model;
  for (size_t k = 0; k < plan.config.parameters.size(); ++k)
    sweep::set_model_value(model, plan.config.parameters[k].path, params.values[k]);
  return model;
}

SweepPlan plan_new_sweep(const SweepOptions& o) {
  if (o.model.empty() || o.sweep.empty())
    throw TrainerError("sweep: give --model FILE and --sweep FILE (or --resume DIR)");
  SweepPlan plan;
  const std::string sweep_text = read_text(o.sweep, "--sweep");
  plan.config = sweep::parse_sweep_text(sweep_text, o.sweep);
  // The model file, checked by the library first: its errors name the file and the JSON path.
  with_context("", [&] { api::Model::from_file(o.model); });
  const std::string model_text = read_text(o.model, "--model");
  plan.base_model = json::parse(model_text, nullptr, true, /*ignore_comments=*/true);
  sweep::make_paths_absolute(plan.base_model, fs::absolute(o.model).parent_path());
  check_parameters_against_model(plan.config, plan.base_model);
  check_metric(plan.config, plan.base_model, o.model);
  const int64_t default_cap = o.run_cap > 0 ? o.run_cap : kDefaultRunCap;
  plan.trial_count = sweep::trial_count(plan.config, default_cap);
  plan.parallel = o.parallel;
  plan.slot_devices = slot_devices(o, plan.parallel);
  plan.threads_per_trial = threads_per_trial(o, plan.parallel);
  plan.checkpoint_every = o.checkpoint_every;

  const std::string name = !plan.config.name.empty() ? plan.config.name : plan.base_model.value("name", "sweep");
  plan.dir = create_sweep_dir(o, name);
  json record;
  record["format"] = kSweepFormat;
  record["sweep"] = plan.config.resolved();
  record["sweep_file"] = fs::absolute(o.sweep).string();
  record["sweep_text"] = sweep_text;
  record["model_file"] = fs::absolute(o.model).string();
  record["model_text"] = model_text;
  record["base_model"] = plan.base_model;
  record["trial_count"] = plan.trial_count;
  record["default_run_cap"] = default_cap;
  record["options"] = {{"parallel", plan.parallel},     {"device", o.device},
                       {"gpus", o.gpus},                {"threads", o.threads},
                       {"checkpoint_every", o.checkpoint_every}};
  record["command_line"] = o.command_line;
  record["environment"] = json::parse(api::environment_json());
  record["start_time"] = utc_timestamp();
  write_json_atomically(plan.dir / "sweep.json", record);
  return plan;
}

SweepPlan plan_resumed_sweep(const SweepOptions& o) {
  SweepPlan plan;
  plan.dir = o.resume;
  plan.resumed = true;
  const fs::path file = plan.dir / "sweep.json";
  if (!fs::exists(file)) throw TrainerError(o.resume + ": not a sweep directory (no sweep.json)");
  json record;
  try {
    record = read_json_file(file);
    if (record.value("format", "") != kSweepFormat)
      throw TrainerError(file.string() + ": format is not " + std::string(kSweepFormat));
    // The sweep as it was defined when it started: the files may have changed since.
    plan.config = sweep::parse_sweep_text(record.at("sweep_text").get<std::string>(), record.at("sweep_file").get<std::string>());
    plan.base_model = record.at("base_model");
    plan.trial_count = record.at("trial_count").get<int64_t>();
  } catch (const json::exception& e) {
    throw TrainerError(file.string() + ": not a sweep record this program wrote (" + e.what() + ")");
  }
  const json& was = record["options"];
  SweepOptions now = o;
  if (now.device.empty() && now.gpus.empty()) now.device = was.value("device", "");
  if (now.gpus.empty() && o.device.empty()) now.gpus = was.value("gpus", "");
  if (now.parallel == 0 && o.gpus.empty()) now.parallel = was.value("parallel", 1);
  if (now.threads == 0) now.threads = was.value("threads", 0);
  if (now.checkpoint_every == 0) now.checkpoint_every = was.value("checkpoint_every", 0LL);
  plan.parallel = now.parallel;
  plan.slot_devices = slot_devices(now, plan.parallel);
  plan.threads_per_trial = threads_per_trial(now, plan.parallel);
  plan.checkpoint_every = now.checkpoint_every;
  return plan;
}

}  // namespace trainer
