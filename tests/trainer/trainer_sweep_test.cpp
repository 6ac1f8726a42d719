// trainer sweep end to end on a small synthetic model (docs/sweeps.md): a 2x2 grid's trials and
// their resolved configs; random and bayes sweeps repeat exactly; --parallel never changes a
// result; a sweep SIGKILLed in the middle of a trial resumes to the uninterrupted sweep's
// summary; hyperband stops exactly the trials its rule says; W&B's documented configurations run;
// bad input is refused in one line before any trial starts.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "detnn/detnn.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// 256 training and 64 validation samples, 8 steps of 32 per epoch: a trial takes a fraction of a
// second.
fs::path write_sweep_model(const fs::path& dir, int epochs, bool validation = true) {
  const fs::path path = dir / "model.json";
  std::ofstream(path) << R"({
  "name": "sweep_small",
  "input": [1, 8, 8],
  "layers": [
    {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 4}
  ],
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "data": {"format": "synthetic", "train": {"count": 256, "seed": 3, "shape": [1, 8, 8]},
           )" << (validation ? R"("validation": {"count": 64}, )" : "") << R"("classes": 4},
  "training": {"epochs": )" << epochs << R"(, "batch_size": 32, "chunk_size": 8, "seed": 5}
})";
  return path;
}

fs::path write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::vector<json> summary(const fs::path& sweep_dir) {
  std::vector<json> out;
  std::ifstream in(sweep_dir / "summary.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

CommandResult sweep(const fs::path& model, const fs::path& sweep_file, const fs::path& dir, const std::string& extra = "") {
  return run_trainer("sweep --model " + model.string() + " --sweep " + sweep_file.string() + " --sweep-dir " +
                     dir.string() + " " + extra);
}

constexpr const char* kHyperbandBayes = R"(
method: bayes
metric: {name: val_loss, goal: minimize}
seed: 7
run_cap: 6
proposal_batch: 2
parameters:
  optimizer:
    parameters:
      lr: {distribution: log_uniform_values, min: 0.001, max: 0.5}
      momentum: {distribution: uniform, min: 0.0, max: 0.95}
early_terminate:
  type: hyperband
  min_iter: 1
  eta: 2
)";

// What hyperband's pauses rest on: a run paused after an epoch (and paused again where it stands)
// and resumed has the uninterrupted run's bits at every epoch.
TEST(TrainerSweep, PausedAndResumedRunHasTheUninterruptedBits) {
  const fs::path dir = fresh_temp_dir("sweep-pause");
  const fs::path model = write_sweep_model(dir, 3);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "whole").string()).status, 0);
  const CommandResult paused = run_trainer("--model " + model.string() + " --run-dir " + (dir / "paused").string() +
                                           " --pause-after-epoch 1");
  ASSERT_EQ(paused.status, 0) << paused.output;
  EXPECT_NE(paused.output.find("paused after epoch 1"), std::string::npos) << paused.output;
  EXPECT_EQ(json::parse(std::ifstream(dir / "paused" / "manifest.json"))["status"], "paused");
  EXPECT_EQ(metrics_lines(dir / "paused", "epoch").size(), 1u);
  // Paused again at the same epoch: no step runs.
  const CommandResult again = run_trainer("--resume " + (dir / "paused").string() + " --pause-after-epoch 1");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(metrics_lines(dir / "paused", "epoch").size(), 1u);
  const CommandResult rest = run_trainer("--resume " + (dir / "paused").string());
  ASSERT_EQ(rest.status, 0) << rest.output;
  EXPECT_EQ(json::parse(std::ifstream(dir / "paused" / "manifest.json"))["status"], "completed");
  EXPECT_EQ(epoch_shas(dir / "paused"), epoch_shas(dir / "whole"));
  EXPECT_EQ(epoch_shas(dir / "whole").size(), 3u);
}

TEST(TrainerSweep, GridOfTwoByTwoGivesFourTrialsWithTheirResolvedConfigs) {
  const fs::path dir = fresh_temp_dir("sweep-grid");
  const fs::path model = write_sweep_model(dir, 2);
  const fs::path file = write_text(dir / "grid.yaml", R"(
method: grid
metric: {name: val_accuracy, goal: maximize}
parameters:
  optimizer.lr: {values: [0.01, 0.2]}
  layers[0].out_channels: {values: [4, 8]}
)");
  const CommandResult r = sweep(model, file, dir / "s");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<json> lines = summary(dir / "s");
  ASSERT_EQ(lines.size(), 4u);
  const double lrs[] = {0.01, 0.01, 0.2, 0.2};
  const int channels[] = {4, 8, 4, 8};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(lines[i]["trial"], i);
    EXPECT_EQ(lines[i]["status"], "finished");
    EXPECT_EQ(lines[i]["epochs"], 2);
    const fs::path run = dir / "s" / "trials" / ("000" + std::to_string(i));
    const json config = json::parse(std::ifstream(run / "config.json"));
    EXPECT_EQ(config["optimizer"]["lr"].get<double>(), lrs[i]) << config.dump();
    EXPECT_EQ(config["layers"][0]["out_channels"], channels[i]) << config.dump();
    const json manifest = json::parse(std::ifstream(run / "manifest.json"));
    EXPECT_EQ(manifest["status"], "completed");
    EXPECT_EQ(lines[i]["weights_sha256"], manifest["final_weights_sha256"]);
    const std::vector<json> epochs = metrics_lines(run, "epoch");
    EXPECT_EQ(lines[i]["metric"]["value"], epochs.back()["val_accuracy"]);
  }
  // best.json: the best trial's model file, which the library loads as it is.
  int best = 0;
  for (int i = 1; i < 4; ++i)
    if (lines[i]["metric"]["value"].get<double>() > lines[best]["metric"]["value"].get<double>()) best = i;
  EXPECT_EQ(bytes_of(dir / "s" / "best.json"), bytes_of(dir / "s" / "models" / ("000" + std::to_string(best) + ".json")));
  detnn_model* loaded = nullptr;
  EXPECT_EQ(detnn_model_load_file((dir / "s" / "best.json").c_str(), &loaded), DETNN_OK) << detnn_last_error();
  detnn_model_destroy(loaded);
  EXPECT_NE(bytes_of(dir / "s" / "summary.csv").find("trial,status,epochs,val_accuracy,weights_sha256,optimizer.lr,"
                                                      "layers[0].out_channels,error\n0,finished,2,"),
            std::string::npos);
}

TEST(TrainerSweep, RandomAndBayesGiveTheSameTrialsAndResultsTwice) {
  const fs::path dir = fresh_temp_dir("sweep-twice");
  const fs::path model = write_sweep_model(dir, 2);
  const fs::path random = write_text(dir / "random.yaml", R"(
method: random
metric: {name: val_loss}
seed: 3
run_cap: 3
parameters:
  optimizer.lr: {distribution: log_uniform_values, min: 0.001, max: 0.3}
  training.batch_size: {values: [16, 32]}
)");
  const fs::path bayes = write_text(dir / "bayes.yaml", kHyperbandBayes);
  for (const fs::path& file : {random, bayes}) {
    const std::string name = file.stem().string();
    ASSERT_EQ(sweep(model, file, dir / (name + "-a")).status, 0);
    ASSERT_EQ(sweep(model, file, dir / (name + "-b")).status, 0);
    EXPECT_EQ(bytes_of(dir / (name + "-a") / "summary.jsonl"), bytes_of(dir / (name + "-b") / "summary.jsonl")) << name;
    EXPECT_EQ(bytes_of(dir / (name + "-a") / "best.json"), bytes_of(dir / (name + "-b") / "best.json")) << name;
  }
  // Another seed, other trials.
  const std::string other = std::string(bytes_of(random)).replace(bytes_of(random).find("seed: 3"), 7, "seed: 4");
  ASSERT_EQ(sweep(model, write_text(dir / "random4.yaml", other), dir / "random-c").status, 0);
  EXPECT_NE(summary(dir / "random-a")[0]["parameters"], summary(dir / "random-c")[0]["parameters"]);
}

// The reference: the hyperband bayes sweep run alone, one trial at a time.
fs::path reference_sweep(const fs::path& dir, const fs::path& model, const fs::path& file) {
  const CommandResult r = sweep(model, file, dir / "reference", "--parallel 1");
  EXPECT_EQ(r.status, 0) << r.output;
  return dir / "reference";
}

TEST(TrainerSweep, ParallelTrialsGiveTheResultsOfOneAtATime) {
  const fs::path dir = fresh_temp_dir("sweep-parallel");
  const fs::path model = write_sweep_model(dir, 5);
  const fs::path file = write_text(dir / "hb.yaml", kHyperbandBayes);
  const fs::path reference = reference_sweep(dir, model, file);
  const CommandResult r = sweep(model, file, dir / "parallel", "--parallel 3");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f : {"summary.jsonl", "summary.csv", "best.json"})
    EXPECT_EQ(bytes_of(reference / f), bytes_of(dir / "parallel" / f)) << f;
}

bool lock_is_free(const fs::path& lock) {
  const int fd = ::open(lock.c_str(), O_RDWR);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

TEST(TrainerSweep, KilledInTheMiddleOfATrialResumesToTheUninterruptedSummary) {
  const fs::path dir = fresh_temp_dir("sweep-kill");
  const fs::path model = write_sweep_model(dir, 5);
  const fs::path file = write_text(dir / "hb.yaml", kHyperbandBayes);
  const fs::path reference = reference_sweep(dir, model, file);
  const fs::path killed = dir / "killed";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::execl(DETNN_TRAINER_PATH, "trainer", "sweep", "--model", model.c_str(), "--sweep", file.c_str(), "--sweep-dir",
            killed.c_str(), "--checkpoint-every", "3", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // SIGKILL once trial 0002 has trained a step of its own and before it ends.
  const fs::path trial = killed / "trials" / "0002";
  bool mid_trial = false;
  for (int i = 0; i < 6000 && !mid_trial; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::ifstream in(trial / "metrics.jsonl");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    mid_trial = text.find("\"digest\"") != std::string::npos;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(mid_trial) << "trial 0002 never started training";
  EXPECT_EQ(json::parse(std::ifstream(trial / "manifest.json"))["status"], "running");
  // The trial process dies with the sweep; its run lock goes with it.
  for (int i = 0; i < 1000 && !lock_is_free(trial / "lock"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const CommandResult r = run_trainer("sweep --resume " + killed.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resuming sweep"), std::string::npos) << r.output;
  for (const char* f : {"summary.jsonl", "summary.csv", "best.json"})
    EXPECT_EQ(bytes_of(reference / f), bytes_of(killed / f)) << f;
  // The trial killed in the middle continued from its checkpoint: one resume in its manifest.
  EXPECT_GE(json::parse(std::ifstream(trial / "manifest.json"))["resumes"].size(), 1u);
}

TEST(TrainerSweep, HyperbandStopsExactlyTheTrialsItsRuleSays) {
  const fs::path dir = fresh_temp_dir("sweep-hyperband");
  const fs::path model = write_sweep_model(dir, 5);
  const fs::path file = write_text(dir / "hb.yaml", R"(
method: random
metric: {name: val_loss, goal: minimize}
seed: 21
run_cap: 8
parameters:
  optimizer.lr: {distribution: log_uniform_values, min: 0.0005, max: 0.5}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
)");
  const CommandResult r = sweep(model, file, dir / "s", "--parallel 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<json> lines = summary(dir / "s");
  ASSERT_EQ(lines.size(), 8u);
  // W&B's bands for min_iter 1, eta 2 are 1, 2, 4, ...: judged after epochs 2 and 3 (epoch 5 is the
  // last). The rule, from the trials' own metrics.jsonl: at each judged epoch, the trial's val_loss
  // against the sorted values of itself and the trials before it that reached the epoch; stopped
  // when above the value at index floor(n / 2).
  std::vector<std::map<int64_t, double>> loss(8);
  for (int i = 0; i < 8; ++i)
    for (const json& e : metrics_lines(dir / "s" / "trials" / ("000" + std::to_string(i)), "epoch"))
      loss[i][e["epoch"].get<int64_t>()] = e["val_loss"].get<double>();
  int stopped = 0;
  for (int i = 0; i < 8; ++i) {
    int64_t expected_stop = 0;
    for (int64_t epoch : {2, 3}) {
      std::vector<double> values;
      for (int j = 0; j <= i; ++j)
        if (loss[j].count(epoch)) values.push_back(loss[j][epoch]);
      std::sort(values.begin(), values.end());
      if (loss[i][epoch] > values[values.size() / 2]) {
        expected_stop = epoch;
        break;
      }
    }
    SCOPED_TRACE("trial " + std::to_string(i));
    EXPECT_EQ(lines[i]["status"], expected_stop ? "stopped" : "finished");
    EXPECT_EQ(lines[i]["epochs"], expected_stop ? expected_stop : 5);
    EXPECT_EQ(static_cast<int64_t>(loss[i].size()), expected_stop ? expected_stop : 5);
    stopped += expected_stop != 0;
  }
  EXPECT_GT(stopped, 0);  // the rule had something to stop
  EXPECT_LT(stopped, 8);
}

TEST(TrainerSweep, WandbDocumentationConfigurationsRun) {
  const fs::path dir = fresh_temp_dir("sweep-wandb");
  const fs::path model = write_sweep_model(dir, 2);
  // docs.wandb.ai's grid, random and bayes-with-early-termination examples, written as their users
  // write them, with model-file paths as parameter names (and no `program`).
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"grid", R"(
method: grid
metric:
  goal: minimize
  name: val_loss
parameters:
  training.batch_size:
    values: [16, 32]
  training.epochs:
    value: 2
  optimizer.lr:
    values: [0.001, 0.01]
)"},
      {"random", R"(
method: random
metric:
  goal: minimize
  name: val_loss
run_cap: 3
parameters:
  training.batch_size:
    distribution: q_log_uniform_values
    max: 64
    min: 16
    q: 16
  optimizer.lr:
    distribution: uniform
    max: 0.1
    min: 0
  optimizer.momentum:
    values: [0.0, 0.9]
)"},
      {"bayes", R"(
method: bayes
metric:
  goal: maximize
  name: val_accuracy
run_cap: 3
parameters:
  optimizer:
    parameters:
      lr:
        min: 0.0001
        max: 0.1
  training.epochs:
    values: [2, 3]
early_terminate:
  type: hyperband
  min_iter: 1
)"}};
  for (const auto& [name, text] : examples) {
    const CommandResult r = sweep(model, write_text(dir / (name + ".yaml"), text), dir / name);
    ASSERT_EQ(r.status, 0) << name << ": " << r.output;
    const std::vector<json> lines = summary(dir / name);
    EXPECT_EQ(lines.size(), name == "grid" ? 4u : 3u) << name;
    for (const json& l : lines) EXPECT_NE(l["status"], "failed") << name << ": " << l.dump();
  }
}

TEST(TrainerSweep, AFailedTrialIsRecordedAndTheSweepGoesOn) {
  const fs::path dir = fresh_temp_dir("sweep-failed");
  const fs::path model = write_sweep_model(dir, 2);
  // Each value alone is a valid model file; 512 is more than the 256 training samples (the run
  // fails), and batch 16 with chunk 32 is a combination the library refuses.
  const fs::path file = write_text(dir / "f.yaml", R"(
method: grid
metric: {name: val_loss}
parameters:
  training.batch_size: {values: [32, 512, 16]}
  training.chunk_size: {values: [8, 32]}
)");
  const CommandResult r = sweep(model, file, dir / "s");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<json> lines = summary(dir / "s");
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0]["status"], "finished");  // 32 / 8
  EXPECT_EQ(lines[1]["status"], "finished");  // 32 / 32
  EXPECT_EQ(lines[2]["status"], "failed");    // 512 / 8: fewer samples than one batch
  EXPECT_NE(lines[2]["error"].get<std::string>().find("fewer than one batch"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[4]["status"], "finished");  // 16 / 8
  EXPECT_EQ(lines[5]["status"], "failed");    // 16 / 32: refused before it runs
  EXPECT_NE(lines[5]["error"].get<std::string>().find("the model file refuses these values"), std::string::npos)
      << lines[5];
  EXPECT_FALSE(fs::exists(dir / "s" / "trials" / "0005"));
  EXPECT_FALSE(bytes_of(dir / "s" / "best.json").empty());
}

TEST(TrainerSweep, BadInputIsRefusedInOneLineBeforeAnyTrial) {
  const fs::path dir = fresh_temp_dir("sweep-bad");
  const fs::path model = write_sweep_model(dir, 2);
  const fs::path no_validation_dir = dir / "noval";
  fs::create_directories(no_validation_dir);
  const fs::path no_validation = write_sweep_model(no_validation_dir, 2, false);
  struct Case {
    std::string text, expected;
    fs::path model;
  };
  const std::vector<Case> cases = {
      {"method: grid\nparameters:\n  optimizer.lrate: {values: [0.1]}\n",
       "sweep.yaml:3: parameters.optimizer.lrate: the model file refuses optimizer.lrate = 0.1: ", model},
      {"method: grid\nparameters:\n  layers[9].kernel: {values: [3]}\n",
       "sweep.yaml:3: parameters.layers[9].kernel: layers[9].kernel: the model file's \"layers\" has 5 entries, no [9]",
       model},
      {"method: grid\nparameters:\n  optimizer.lr: {values: [fast]}\n",
       "sweep.yaml:3: parameters.optimizer.lr: the model file refuses optimizer.lr = \"fast\": ", model},
      {"method: random\nparameters:\n  optimizer.lr: {min: 0.5, max: 0.1}\n",
       "sweep.yaml:3: parameters.optimizer.lr.min: min 0.5 is greater than max 0.1", model},
      {"method: grid\nparameters:\n  optimizer.lr: {values: []}\n", "sweep.yaml:3: parameters.optimizer.lr.values: is empty",
       model},
      {"method: hyperopt\nparameters:\n  optimizer.lr: {values: [0.1]}\n", "sweep.yaml:1: method: \"hyperopt\" is not one of",
       model},
      {"method: grid\nmetric: {name: val_loss}\nparameters:\n  optimizer.lr: {values: [0.1]}\n",
       "sweep.yaml: metric.name: val_loss: ", no_validation},
      {"method: grid\nparameters:\n  optimizer.lr: {values: [0.1]\n", "sweep.yaml:4: YAML syntax error", model},
  };
  for (const Case& c : cases) {
    const fs::path file = write_text(dir / "sweep.yaml", c.text);
    const CommandResult r = run_trainer("sweep --model " + c.model.string() + " --sweep " + file.string() +
                                        " --sweep-dir " + (dir / "never").string());
    SCOPED_TRACE(c.text);
    EXPECT_EQ(r.status, 1) << r.output;
    const std::string expected = "trainer: " + file.string() + c.expected.substr(std::string("sweep.yaml").size());
    EXPECT_EQ(r.output.rfind(expected, 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir / "never")) << "a sweep directory was made for bad input";
  }
  // Flags that contradict each other: a new sweep needs both files, a resume nothing else.
  for (const std::string args : {"sweep", "sweep --model m.json", "sweep --resume d --model m.json",
                                 "sweep --resume d --sweep-dir e"}) {
    const CommandResult r = run_trainer(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_EQ(r.output.rfind("trainer: sweep: give --model FILE", 0), 0u) << args << ": " << r.output;
  }
}

}  // namespace
}  // namespace detnn::testing
