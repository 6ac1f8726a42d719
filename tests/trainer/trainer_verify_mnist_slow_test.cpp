// trainer verify and diff on the main job (label slow: examples/mnist_cnn.json on the bundled
// digits, one epoch of 70 steps a run): verify reproduces every step, also on one thread and on
// two ranks; diff of the run and its rerun says identical.
#include <gtest/gtest.h>

#include <string>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerVerifyMnist, OneEpochReproducesOnOneThreadAndTwoRanksAndItsRerunIsIdentical) {
  const fs::path dir = fresh_temp_dir("trainer-verify-mnist");
  const std::string model = DETNN_SOURCE_DIR "/examples/mnist_cnn.json";
  const auto a = run_trainer("--model " + model + " --epochs 1 --run-dir " + (dir / "a").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const auto one = run_trainer("verify " + (dir / "a").string() + " --threads 1 --scratch " + (dir / "v1").string());
  EXPECT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("reproduced: 70 steps bit-identical"), std::string::npos) << one.output;
  const auto ranks =
      run_trainer("verify " + (dir / "a").string() + " --ranks 2 --steps 30 --scratch " + (dir / "v2").string());
  EXPECT_EQ(ranks.status, 0) << ranks.output;
  EXPECT_NE(ranks.output.find("reproduced: 30 steps bit-identical"), std::string::npos) << ranks.output;
  const auto b = run_trainer("--model " + model + " --epochs 1 --run-dir " + (dir / "b").string());
  ASSERT_EQ(b.status, 0) << b.output;
  const auto d = run_trainer("diff " + (dir / "a").string() + " " + (dir / "b").string());
  EXPECT_EQ(d.status, 0) << d.output;
  EXPECT_NE(d.output.find("steps: 70 in common, every weights digest and loss identical"), std::string::npos) << d.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
