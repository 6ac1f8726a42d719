// trainer sweep: runs the trials of a sweep (docs/sweeps.md), K at a time, each a trainer run of
// its own in trials/NNNN, and keeps summary.jsonl, summary.csv and best.json current. Which trials
// run and what they compute never depend on timing: proposals are pure functions (sweep/proposer.h),
// hyperband waits for the trials before a trial (sweep/hyperband.h), and every file written lists
// trials in trial order. A killed sweep continues with --resume from what its directory holds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include "commands.h"
#include "errors.h"
#include "run_files.h"
#include "sweep/distributions.h"
#include "sweep/hyperband.h"
#include "sweep/summary.h"
#include "sweep_process.h"
#include "sweep_setup.h"
#include "tensorboard_writer.h"

namespace trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string trial_name(int64_t i) {
  char b[24];
  std::snprintf(b, sizeof b, "%04lld", static_cast<long long>(i));
  return b;
}

struct EpochRecord {
  std::optional<double> metric;  // none: not written (or null)
  std::string weights_sha256;
};

struct Trial {
  enum class State { not_started, ready, running, waiting, ended };
  int64_t index = 0;
  State state = State::not_started;
  std::optional<sweep::TrialParameters> params;
  int64_t epochs = 0;             // its model file's training.epochs
  std::vector<int64_t> judged;    // hyperband's epochs for it
  int64_t target = 0;             // ready/running: --pause-after-epoch (0: to the end)
  int64_t at_epoch = 0;           // waiting: paused after this epoch
  bool has_run = false;           // its run directory holds a run: continue with --resume
  std::string refused;            // why the library refused its model file (a combination of values)
  pid_t pid = -1;
  int slot = -1;
  std::map<int64_t, EpochRecord> records;  // by epoch, from its metrics.jsonl
  sweep::TrialOutcome outcome;
};

class SweepRunner {
 public:
  SweepRunner(SweepPlan plan, ConsoleLog& console) : plan_(std::move(plan)), console_(console) {
    trials_.resize(static_cast<size_t>(plan_.trial_count));
    for (size_t i = 0; i < trials_.size(); ++i) trials_[i].index = static_cast<int64_t>(i);
    slots_.assign(static_cast<size_t>(plan_.parallel), -1);
  }

  void recover();  // --resume: each trial's state from the directory
  int run();       // to the end; the exit status

 private:
  const sweep::SweepConfig& config() const { return plan_.config; }
  fs::path run_dir(const Trial& t) const { return plan_.dir / "trials" / trial_name(t.index); }
  fs::path model_file(const Trial& t) const { return plan_.dir / "models" / (trial_name(t.index) + ".json"); }
  fs::path log_file(const Trial& t) const { return plan_.dir / "logs" / (trial_name(t.index) + ".log"); }

  bool proposable(const Trial& t) const;
  void propose(Trial& t);
  void read_records(Trial& t);
  std::optional<double> metric_at(Trial& t, int64_t epoch, bool refresh);
  void start(Trial& t, int slot);
  void on_exit(const ExitedProcess& e);
  void end(Trial& t, const std::string& status, int64_t epochs, const std::string& error);
  void judge_waiting();
  void fill_slots();
  void write_summaries();
  void show_progress();
  std::string parameters_text(const Trial& t) const;
  std::string metric_text(const std::optional<double>& v) const;

  void write_hparams_experiment();
  void write_hparams_session(const Trial& t);

  SweepPlan plan_;
  ConsoleLog& console_;
  std::vector<Trial> trials_;
  std::vector<int64_t> slots_;  // the trial each parallel slot runs (-1: free)
};

bool SweepRunner::proposable(const Trial& t) const {
  const int64_t before = sweep::round_start(config(), t.index);
  for (int64_t j = 0; j < before; ++j)
    if (trials_[static_cast<size_t>(j)].state != Trial::State::ended) return false;
  return true;
}

// The proposal (bayes: from the ended trials of earlier rounds, in trial order), the trial's model
// file and its hyperband epochs.
void SweepRunner::propose(Trial& t) {
  std::vector<sweep::TrialResult> results;
  const int64_t before = sweep::round_start(config(), t.index);
  for (int64_t j = 0; j < before; ++j) {
    const Trial& e = trials_[static_cast<size_t>(j)];
    if (e.outcome.status != "failed" && e.outcome.metric && std::isfinite(*e.outcome.metric))
      results.push_back({j, e.params->z, *e.outcome.metric});
  }
  t.params = sweep::propose(config(), t.index, results);
  const json model = trial_model(plan_, *t.params);
  const std::string text = model.dump(2) + "\n";
  std::error_code ec;
  if (fs::exists(model_file(t), ec)) {
    // A resumed sweep proposes again; the trial's run was made from the file written then.
    if (read_text_file(model_file(t)) != text)
      throw TrainerError(model_file(t).string() + ": differs from the model this sweep proposes for trial " +
                         trial_name(t.index) + " now (was the directory edited, or is this another detnn version?)");
  } else {
    write_file_atomically(model_file(t), text);
  }
  // Each value was checked alone before the sweep started; a combination may still be refused
  // (batch size and chunk size from two parameters): the trial fails, the sweep goes on.
  try {
    const json resolved = json::parse(api::Model::from_json(text).config_json());
    t.epochs = resolved.at("training").at("epochs").get<int64_t>();
  } catch (const detnn::CApiError& e) {
    t.refused = "the model file refuses these values: " + e.message();
  }
  t.judged = sweep::judged_epochs(config().hyperband, t.epochs);
  t.outcome.trial = t.index;
  t.outcome.parameters = nlohmann::ordered_json::object();
  for (size_t k = 0; k < config().parameters.size(); ++k)
    t.outcome.parameters[config().parameters[k].path] = t.params->values[k];
}

void SweepRunner::read_records(Trial& t) {
  t.records.clear();
  std::ifstream in(run_dir(t) / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) break;  // a torn last line of a killed trial
    if (j.value("type", "") != "epoch") continue;
    EpochRecord r;
    if (!config().metric.empty() && j.contains(config().metric) && j[config().metric].is_number())
      r.metric = j[config().metric].get<double>();
    r.weights_sha256 = j.value("weights_sha256", "");
    t.records[j.value("epoch", 0LL)] = r;
  }
}

std::optional<double> SweepRunner::metric_at(Trial& t, int64_t epoch, bool refresh) {
  if (!t.records.count(epoch) && refresh) read_records(t);
  const auto it = t.records.find(epoch);
  if (it == t.records.end()) return std::nullopt;
  return it->second.metric ? it->second.metric : std::optional<double>(std::nan(""));
}

void SweepRunner::start(Trial& t, int slot) {
  std::vector<std::string> args = {"trainer"};
  if (t.has_run) {
    args.insert(args.end(), {"--resume", run_dir(t).string()});
  } else {
    std::error_code ec;
    fs::remove_all(run_dir(t), ec);  // a start killed before its manifest: no run to continue
    args.insert(args.end(), {"--model", model_file(t).string(), "--run-dir", run_dir(t).string()});
  }
  const std::string& device = plan_.slot_devices[static_cast<size_t>(slot)];
  if (!device.empty()) args.insert(args.end(), {"--device", device});
  if (plan_.threads_per_trial > 0) args.insert(args.end(), {"--threads", std::to_string(plan_.threads_per_trial)});
  if (t.target > 0) args.insert(args.end(), {"--pause-after-epoch", std::to_string(t.target)});
  if (plan_.checkpoint_every > 0) args.insert(args.end(), {"--checkpoint-every", std::to_string(plan_.checkpoint_every)});
  t.pid = start_trial_process(args, log_file(t));
  t.slot = slot;
  t.state = Trial::State::running;
  slots_[static_cast<size_t>(slot)] = t.index;
  if (!t.has_run) console_.line("trial " + trial_name(t.index) + " starts" + (device.empty() ? "" : " on " + device) +
                                "  " + parameters_text(t));
  t.has_run = true;
}

void SweepRunner::end(Trial& t, const std::string& status, int64_t epochs, const std::string& error) {
  t.state = Trial::State::ended;
  sweep::TrialOutcome& o = t.outcome;
  o.status = status;
  o.epochs = epochs;
  o.error = error;
  const auto it = t.records.find(epochs);
  o.weights_sha256 = it != t.records.end() ? it->second.weights_sha256 : "";
  o.metric = it != t.records.end() ? it->second.metric : std::nullopt;
  if (o.metric && std::isnan(*o.metric)) o.metric.reset();
  std::string line = "trial " + trial_name(t.index) + " " + status + (status == "stopped" ? " by hyperband" : "") +
                     " after " + std::to_string(epochs) + " epochs";
  if (!config().metric.empty()) line += "  " + config().metric + " " + metric_text(o.metric);
  if (!o.weights_sha256.empty()) line += "  weights " + o.weights_sha256.substr(0, 12);
  if (!error.empty()) line += "  (" + error + ")";
  console_.line(line);
  write_summaries();
  write_hparams_session(t);
}

// TensorBoard's HParams table: the experiment in the sweep directory's tensorboard/, each trial's
// values and outcome beside its run's own scalars (trials/NNNN/tensorboard/).
void SweepRunner::write_hparams_experiment() {
  std::error_code ec;
  const fs::path dir = plan_.dir / "tensorboard";
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) return;  // a resumed sweep wrote it when it started
  std::vector<TensorBoardWriter::HParam> hparams;
  for (const sweep::Parameter& p : config().parameters) {
    TensorBoardWriter::HParam h;
    h.name = p.path;
    const sweep::Distribution& d = p.distribution;
    if (d.kind == "categorical") h.values = d.values;
    else if (d.kind == "constant") h.values = {d.value};
    else if (d.kind.find("normal") == std::string::npos && d.kind.find("beta") == std::string::npos) {
      const std::vector<json> ends = sweep::representative_values(d);
      h.interval = true;
      h.min = std::min(ends.front().get<double>(), ends.back().get<double>());
      h.max = std::max(ends.front().get<double>(), ends.back().get<double>());
    }
    hparams.push_back(h);
  }
  std::vector<std::string> metrics;
  for (const std::string& m : sweep::epoch_metric_names()) metrics.push_back("epoch/" + m);
  TensorBoardWriter(dir).hparams_experiment(plan_.dir.filename().string(), hparams, metrics);
}

void SweepRunner::write_hparams_session(const Trial& t) {
  std::error_code ec;
  if (!fs::exists(run_dir(t) / "tensorboard", ec)) return;  // never ran, or without TensorBoard
  std::map<std::string, json> values;
  for (auto it = t.outcome.parameters.begin(); it != t.outcome.parameters.end(); ++it) values[it.key()] = it.value();
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  TensorBoardWriter(run_dir(t) / "tensorboard", ".hparams")
      .hparams_session(trial_name(t.index), values, t.outcome.status != "failed", now, now);
}

void SweepRunner::on_exit(const ExitedProcess& e) {
  Trial* found = nullptr;
  for (Trial& t : trials_)
    if (t.state == Trial::State::running && t.pid == e.pid) found = &t;
  if (found == nullptr) return;  // not a trial of this sweep
  Trial& t = *found;
  slots_[static_cast<size_t>(t.slot)] = -1;
  t.pid = -1;
  t.slot = -1;
  read_records(t);
  json manifest = json::object();
  try {
    manifest = read_json_file(run_dir(t) / "manifest.json");
  } catch (const std::exception&) {
    // No manifest: the trial failed before it started training.
  }
  const std::string status = manifest.value("status", "");
  const int64_t last_epoch = t.records.empty() ? 0 : t.records.rbegin()->first;
  if (e.ok && status == "completed") return end(t, "finished", t.epochs, "");
  if (e.ok && status == "paused") {
    t.state = Trial::State::waiting;
    t.at_epoch = last_epoch;
    return;
  }
  std::string why = manifest.value("error", "");
  if (why.empty()) why = last_line_of(log_file(t));
  if (why.rfind("trainer: ", 0) == 0) why = why.substr(9);
  if (why.empty()) why = e.how;
  end(t, "failed", last_epoch, why);
}

// Hyperband, in trial order: a paused trial is judged once every trial before it has either
// reached the same epoch or ended.
void SweepRunner::judge_waiting() {
  for (Trial& t : trials_) {
    if (t.state != Trial::State::waiting) continue;
    const int64_t e = t.at_epoch;
    std::vector<double> earlier;
    bool ready = true;
    for (int64_t j = 0; j < t.index && ready; ++j) {
      Trial& other = trials_[static_cast<size_t>(j)];
      const std::optional<double> v = metric_at(other, e, other.state != Trial::State::ended);
      if (v) earlier.push_back(*v);
      else if (other.state != Trial::State::ended) ready = false;
    }
    if (!ready) continue;
    const double own = metric_at(t, e, true).value_or(std::nan(""));
    if (sweep::hyperband_stops(earlier, own, config().goal, config().hyperband.eta)) {
      end(t, "stopped", e, "");
      continue;
    }
    console_.line("trial " + trial_name(t.index) + " passes hyperband after epoch " + std::to_string(e) + ": " +
                  config().metric + " " + metric_text(own) + ", compared with " + std::to_string(earlier.size()) +
                  " earlier trials");
    t.target = 0;
    for (int64_t j : t.judged)
      if (j > e) {
        t.target = j;
        break;
      }
    t.state = Trial::State::ready;
  }
}

// Free slots go first to trials that continue (lowest number first), then to new trials in order.
void SweepRunner::fill_slots() {
  size_t slot = 0;
  while (slot < slots_.size()) {
    if (slots_[slot] >= 0) {
      ++slot;
      continue;
    }
    Trial* next = nullptr;
    for (Trial& t : trials_)
      if (t.state == Trial::State::ready) {
        next = &t;
        break;
      }
    if (next == nullptr)
      for (Trial& t : trials_)
        if (t.state == Trial::State::not_started) {
          if (proposable(t)) {
            propose(t);
            t.target = t.judged.empty() ? 0 : t.judged.front();
            t.state = Trial::State::ready;
            next = &t;
          }
          break;
        }
    if (next == nullptr) return;
    if (!next->refused.empty()) {
      end(*next, "failed", 0, next->refused);  // no process: the slot stays free
      continue;
    }
    start(*next, static_cast<int>(slot));
    ++slot;
  }
}

void SweepRunner::write_summaries() {
  std::vector<sweep::TrialOutcome> ended;
  for (const Trial& t : trials_)
    if (t.state == Trial::State::ended) ended.push_back(t.outcome);
  std::string lines;
  for (const sweep::TrialOutcome& o : ended) lines += sweep::summary_line(o, config().metric).dump() + "\n";
  write_file_atomically(plan_.dir / "summary.jsonl", lines);
  std::vector<std::string> paths;
  for (const sweep::Parameter& p : config().parameters) paths.push_back(p.path);
  write_file_atomically(plan_.dir / "summary.csv", sweep::summary_csv(ended, paths, config().metric));
}

std::string SweepRunner::parameters_text(const Trial& t) const {
  std::string s;
  for (auto it = t.outcome.parameters.begin(); it != t.outcome.parameters.end(); ++it)
    s += (s.empty() ? "" : " ") + it.key() + "=" + it.value().dump();
  return s;
}

std::string SweepRunner::metric_text(const std::optional<double>& v) const {
  if (!v) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", *v);
  return b;
}

// On a terminal: a bar of the ended trials, each running trial with its epochs done, the best so far.
void SweepRunner::show_progress() {
  if (!console_.is_terminal()) return;
  int64_t ended = 0;
  std::string running;
  std::vector<sweep::TrialOutcome> done;
  for (Trial& t : trials_) {
    if (t.state == Trial::State::ended) {
      ++ended;
      done.push_back(t.outcome);
    }
    if (t.state == Trial::State::running) {
      read_records(t);
      running += " " + trial_name(t.index) + " (epoch " + std::to_string(t.records.size()) + "/" +
                 std::to_string(t.epochs) + ")";
    }
  }
  const int best = config().metric.empty() ? -1 : sweep::best_trial(done, config().goal);
  if (best >= 0)
    running += " | best " + trial_name(done[static_cast<size_t>(best)].trial) + " " + config().metric + " " +
               metric_text(done[static_cast<size_t>(best)].metric);
  const int width = 20;
  const int filled = static_cast<int>(width * ended / std::max<int64_t>(1, plan_.trial_count));
  console_.progress("[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.') +
                    "] " + std::to_string(ended) + "/" + std::to_string(plan_.trial_count) + " trials ended" +
                    (running.empty() ? "" : " | running" + running));
}

void SweepRunner::recover() {
  std::map<int64_t, sweep::TrialOutcome> summarized;
  {
    std::ifstream in(plan_.dir / "summary.jsonl");
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      sweep::TrialOutcome o =
          sweep::outcome_from_summary_line(line, (plan_.dir / "summary.jsonl").string() + ":" + std::to_string(number));
      summarized[o.trial] = o;
    }
  }
  for (Trial& t : trials_) {
    std::error_code ec;
    if (!summarized.count(t.index) && !fs::exists(model_file(t), ec)) break;  // this trial and the rest never started
    propose(t);
    read_records(t);
    if (summarized.count(t.index)) {
      t.outcome = summarized[t.index];
      t.state = Trial::State::ended;
      continue;
    }
    json manifest = json::object();
    const bool has_manifest = fs::exists(run_dir(t) / "manifest.json", ec);
    if (has_manifest) manifest = read_json_file(run_dir(t) / "manifest.json");
    const std::string status = manifest.value("status", "");
    const int64_t done = t.records.empty() ? 0 : t.records.rbegin()->first;
    t.has_run = has_manifest;
    if (status == "completed") {
      end(t, "finished", t.epochs, "");
    } else if (status == "paused") {
      t.state = Trial::State::waiting;
      t.at_epoch = done;
    } else if (status == "failed") {
      end(t, "failed", done, manifest.value("error", "failed"));
    } else {
      // Killed with the sweep: on to the first hyperband epoch not yet judged.
      t.target = 0;
      for (int64_t j : t.judged)
        if (j >= std::max<int64_t>(done, 1)) {
          t.target = j;
          break;
        }
      t.state = Trial::State::ready;
    }
  }
}

int SweepRunner::run() {
  write_hparams_experiment();
  for (;;) {
    judge_waiting();
    fill_slots();
    bool all_ended = true, any_running = false;
    for (const Trial& t : trials_) {
      all_ended = all_ended && t.state == Trial::State::ended;
      any_running = any_running || t.state == Trial::State::running;
    }
    if (all_ended) break;
    if (!any_running) {
      // Nothing runs and nothing can start: only possible if a trial waits on one that never ends.
      throw TrainerError("sweep: internal error: no trial can run (please report this, with sweep.json)");
    }
    show_progress();
    const ExitedProcess e = wait_for_trial_process(500);
    if (e.pid > 0) on_exit(e);
  }
  write_summaries();
  std::vector<sweep::TrialOutcome> ended;
  for (const Trial& t : trials_) ended.push_back(t.outcome);
  int64_t failed = 0;
  for (const sweep::TrialOutcome& o : ended) failed += o.status == "failed";
  const int best = config().metric.empty() ? -1 : sweep::best_trial(ended, config().goal);
  console_.line("sweep done: " + std::to_string(ended.size()) + " trials, " + std::to_string(failed) + " failed -> " +
                (plan_.dir / "summary.csv").string());
  if (best >= 0) {
    const Trial& b = trials_[static_cast<size_t>(best)];
    write_file_atomically(plan_.dir / "best.json", read_text_file(model_file(b)));
    console_.line("best: trial " + trial_name(b.index) + ", " + config().metric + " " + metric_text(b.outcome.metric) +
                  ", " + parameters_text(b) + " -> " + (plan_.dir / "best.json").string());
  }
  if (failed == static_cast<int64_t>(ended.size()) && !ended.empty())
    throw TrainerError("sweep: every trial failed; the first: " + ended.front().error + " (see " +
                       (plan_.dir / "logs").string() + ")");
  return 0;
}

}  // namespace

int run_sweep(const SweepOptions& options) {
  SweepPlan plan = options.resume.empty() ? plan_new_sweep(options) : plan_resumed_sweep(options);
  const RunLock lock(plan.dir);  // one sweep process per directory
  ConsoleLog console(plan.dir / "console.log");
  const std::string count = std::to_string(plan.trial_count);
  console.line(std::string(plan.resumed ? "resuming" : "starting") + " sweep " + plan.dir.string() + ": " +
               sweep::method_name(plan.config.method) + ", " + count + " trials, " + std::to_string(plan.parallel) +
               " at a time" + (plan.config.metric.empty() ? "" : ", metric " + plan.config.metric));
  SweepRunner runner(std::move(plan), console);
  if (!options.resume.empty()) runner.recover();
  return runner.run();
}

}  // namespace trainer
