// The trainer tool end to end on a small synthetic model: reproducible runs (reruns, thread
// counts, SIGKILL + resume), the run directory's contents, refusals and bad inputs.
#include <gtest/gtest.h>

#include <fstream>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(Trainer, SameCommandTwiceGivesTheSameWeightsEveryEpoch) {
  const fs::path dir = fresh_temp_dir("trainer-twice");
  const fs::path model = write_small_model(dir);
  const auto a = run_trainer("--model " + model.string() + " --run-dir " + (dir / "a").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const auto b = run_trainer("--model " + model.string() + " --run-dir " + (dir / "b").string());
  ASSERT_EQ(b.status, 0) << b.output;
  const auto sa = epoch_shas(dir / "a"), sb = epoch_shas(dir / "b");
  ASSERT_EQ(sa.size(), 3u);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa[0], sa[1]);  // the weights move
  fs::remove_all(dir);
}

TEST(Trainer, ThreadCountDoesNotChangeTheWeights) {
  const fs::path dir = fresh_temp_dir("trainer-threads");
  const fs::path model = write_small_model(dir, 2);
  const auto a = run_trainer("--model " + model.string() + " --threads 1 --run-dir " + (dir / "t1").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const auto b = run_trainer("--model " + model.string() + " --threads 2 --run-dir " + (dir / "t2").string());
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(epoch_shas(dir / "t1"), epoch_shas(dir / "t2"));
  fs::remove_all(dir);
}

TEST(Trainer, KilledMidEpochAndResumedGivesTheUninterruptedBits) {
  const fs::path dir = fresh_temp_dir("trainer-resume");
  const fs::path model = write_small_model(dir, 4);
  const auto full = run_trainer("--model " + model.string() + " --run-dir " + (dir / "full").string());
  ASSERT_EQ(full.status, 0) << full.output;
  // 512 training samples / 32 = 16 steps per epoch: killed at step 37 (epoch 3, batch 5), once
  // with a mid-epoch checkpoint every 7 steps and once with epoch-end checkpoints only.
  for (const std::string every : {"7", "0"}) {
    const fs::path run = dir / ("killed-every-" + every);
    const auto killed = run_trainer("--model " + model.string() + " --checkpoint-every " + every + " --run-dir " +
                                    run.string(), "DETNN_FAULT_KILL_AFTER_STEP=37");
    EXPECT_EQ(killed.status, 128 + 9) << killed.output;  // SIGKILL
    EXPECT_EQ(epoch_shas(run).size(), 2u);
    const auto resumed = run_trainer("--resume " + run.string());
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_EQ(epoch_shas(run), epoch_shas(dir / "full")) << "checkpoint every " << every;
    const auto steps = metrics_lines(run, "step");  // each logged step once, in order
    for (size_t i = 1; i < steps.size(); ++i) EXPECT_LT(steps[i - 1].at("step"), steps[i].at("step"));
  }
  fs::remove_all(dir);
}

TEST(Trainer, RunDirectoryHoldsConfigManifestMetricsAndCheckpoints) {
  const fs::path dir = fresh_temp_dir("trainer-files");
  const fs::path model = write_small_model(dir, 2);
  const auto r = run_trainer("--model " + model.string() + " --seed 9 --run-dir " + (dir / "run").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path run = dir / "run";
  for (const char* f : {"config.json", "manifest.json", "metrics.jsonl", "console.log", "checkpoints/last.safetensors",
                        "checkpoints/best.safetensors"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  nlohmann::json config = nlohmann::json::parse(std::ifstream(run / "config.json"));
  EXPECT_EQ(config["training"]["seed"], 9);  // the flag, as resolved
  EXPECT_EQ(config["training"]["chunk_size"], 8);
  EXPECT_TRUE(config["training"].contains("eval_batch_size"));  // defaults written out
  nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
  for (const char* k : {"environment", "command_line", "model_sha256", "data_fingerprint", "world_size", "start_time",
                        "end_time", "final_weights_sha256", "final_state_sha256"})
    EXPECT_TRUE(manifest.contains(k)) << k;
  EXPECT_EQ(manifest["status"], "completed");
  EXPECT_EQ(manifest["cuda_graph"], "off (training.cuda_graph)");  // how the steps ran
  EXPECT_EQ(config["training"]["cuda_graph"], "off");
  const auto epochs = metrics_lines(run, "epoch");
  ASSERT_EQ(epochs.size(), 2u);
  for (const char* k : {"train_loss", "val_loss", "val_accuracy", "weights_sha256", "state_sha256"}) EXPECT_TRUE(epochs[0].contains(k)) << k;
  const auto steps = metrics_lines(run, "step");
  ASSERT_FALSE(steps.empty());
  for (const char* k : {"step", "epoch", "loss", "lr", "images_per_s"}) EXPECT_TRUE(steps[0].contains(k)) << k;
  EXPECT_EQ(manifest["final_weights_sha256"], epochs.back()["weights_sha256"]);
  EXPECT_EQ(manifest["final_state_sha256"], epochs.back()["state_sha256"]);
  // eval on the last checkpoint gives the last epoch's validation accuracy
  const auto ev = run_trainer("eval --model " + model.string() + " --checkpoint " + (run / "checkpoints/last.safetensors").string());
  ASSERT_EQ(ev.status, 0) << ev.output;
  const nlohmann::json evj = nlohmann::json::parse(ev.output.substr(ev.output.find('{')));
  EXPECT_EQ(evj["accuracy"], epochs.back()["val_accuracy"]);
  EXPECT_EQ(evj["weights_sha256"], epochs.back()["weights_sha256"]);
  fs::remove_all(dir);
}

TEST(Trainer, ResumeWithAChangedModelFileIsRefusedUnlessForced) {
  const fs::path dir = fresh_temp_dir("trainer-changed");
  const fs::path model = write_small_model(dir, 1);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "run").string()).status, 0);
  write_small_model(dir, 2);  // same file, now 2 epochs
  const auto refused = run_trainer("--resume " + (dir / "run").string());
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("the model file changed"), std::string::npos) << refused.output;
  const auto forced = run_trainer("--resume " + (dir / "run").string() + " --force");
  EXPECT_EQ(forced.status, 0) << forced.output;
  fs::remove_all(dir);
}

TEST(Trainer, BadInputsGiveOneLineErrors) {
  const fs::path dir = fresh_temp_dir("trainer-bad");
  struct Case {
    std::string args, expect;
  };
  const fs::path model = write_small_model(dir, 1);
  // truncated IDX files and a label out of range
  const std::string src = DETNN_SOURCE_DIR "/data/mnist-10k/";
  {
    std::ifstream in(src + "labels-idx1-ubyte.gz", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "labels-truncated.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    // plain IDX labels: 2 labels, one of them 12
    std::ofstream(dir / "labels-bad-idx", std::ios::binary)
        << std::string("\x00\x00\x08\x01\x00\x00\x00\x02\x03\x0c", 10);
    std::ofstream(dir / "images-2-idx", std::ios::binary)
        << std::string("\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01\x10\x20", 18);
  }
  auto idx_model = [&](const std::string& name, const std::string& images, const std::string& labels) {
    const fs::path p = dir / name;
    std::ofstream(p) << R"({"input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
      "optimizer": {"type": "sgd", "lr": 0.1}, "data": {"format": "idx", "classes": 10,
      "train": {"images": ")" << images << R"(", "labels": ")" << labels << R"("}}})";
    return p.string();
  };
  const std::vector<Case> cases = {
      {"--model " + (dir / "missing.json").string(), "cannot open the model file"},
      {"--model " + idx_model("trunc.json", src + "images-idx3-ubyte.gz", (dir / "labels-truncated.gz").string()),
       "labels-truncated.gz"},
      {"--model " + idx_model("label.json", (dir / "images-2-idx").string(), (dir / "labels-bad-idx").string()), "12"},
      {"--model " + model.string() + " --run-dir /proc/detnn-cannot-write", "/proc/detnn-cannot-write"},
      {"--model " + model.string() + " --device cuda:7 --run-dir " + (dir / "cuda7").string(), "cuda:7"},
      {"--resume " + (dir / "no-such-run").string(), "not a run directory"},
      {"--model " + model.string() + " --determinism fast --run-dir " + (dir / "fast").string(),
       "determinism \"fast\" on cpu"},
      {"--model " + model.string() + " --determinism off --run-dir " + (dir / "off").string(),
       "determinism \"off\" on cpu"},
      {"--model " + model.string() + " --precision tf32 --run-dir " + (dir / "tf32").string(),
       "training.precision \"tf32\" needs determinism"},
  };
  for (const Case& c : cases) {
    const auto r = run_trainer(c.args);
    EXPECT_EQ(r.status, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("trainer: "), std::string::npos) << r.output;
  }
  // Option values CLI11 checks (its own exit status and message).
  const auto graph = run_trainer("--model " + model.string() + " --cuda-graph always --run-dir " + (dir / "graph").string());
  EXPECT_NE(graph.status, 0);
  EXPECT_NE(graph.output.find("--cuda-graph: always not in {off,auto}"), std::string::npos) << graph.output;
  // A failure after the run directory exists is recorded in its manifest.
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "cuda7" / "manifest.json"));
  EXPECT_EQ(manifest["status"], "failed");
  EXPECT_NE(manifest["error"].get<std::string>().find("cuda:7"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Trainer, HelpDescribesEveryFlag) {
  const auto r = run_trainer("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--model", "--run-dir", "--epochs", "--seed", "--determinism", "--precision", "--device",
                           "--threads",
                           "--resume", "--save-init", "--force", "eval", "info"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace detnn::testing
