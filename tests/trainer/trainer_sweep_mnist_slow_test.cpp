// examples/mnist_sweep.yaml on the bundled MNIST digits, cut to three one-epoch trials: every trial
// learns (far above the 10% of chance, even at the sweep's most aggressive learning rates), the
// best passes 90% after its one epoch, and a second sweep repeats the first bit for bit.
#include <gtest/gtest.h>

#include <fstream>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerSweepMnist, ExampleSweepLearnsAndRepeats) {
  const fs::path dir = fresh_temp_dir("sweep-mnist");
  std::ifstream in(std::string(DETNN_SOURCE_DIR) + "/examples/mnist_sweep.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("run_cap: 12"), 11, "run_cap: 3");
  text.replace(text.find("value: 3"), 8, "value: 1");
  const fs::path sweep_file = dir / "mnist_sweep.yaml";
  std::ofstream(sweep_file) << text;
  const std::string model = std::string(DETNN_SOURCE_DIR) + "/examples/mnist_cnn.json";
  for (const char* name : {"a", "b"}) {
    const CommandResult r = run_trainer("sweep --model " + model + " --sweep " + sweep_file.string() + " --sweep-dir " +
                                        (dir / name).string());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  EXPECT_EQ(bytes_of(dir / "a" / "summary.jsonl"), bytes_of(dir / "b" / "summary.jsonl"));
  std::ifstream summary(dir / "a" / "summary.jsonl");
  std::string line;
  int trials = 0;
  double best = 0;
  while (std::getline(summary, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["status"], "finished") << line;
    EXPECT_GT(j["metric"]["value"].get<double>(), 0.5) << line;
    best = std::max(best, j["metric"]["value"].get<double>());
    ++trials;
  }
  EXPECT_EQ(trials, 3);
  EXPECT_GT(best, 0.9);
  const nlohmann::json best_model = nlohmann::json::parse(std::ifstream(dir / "a" / "best.json"));
  EXPECT_EQ(best_model["training"]["epochs"], 1);
}

}  // namespace
}  // namespace detnn::testing
