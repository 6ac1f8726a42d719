// The main job's acceptance (label slow: several full 10-epoch runs of examples/mnist_cnn.json on
// the CPU, minutes each on 2 cores): validation accuracy >= 97.5% in 10 epochs; every epoch's
// weights and state are the pinned ones; the same command twice, --threads 1 vs the default, and a
// run SIGKILLed during epoch 4 then resumed all give the same state_sha256 on every epoch line.
#include <gtest/gtest.h>

#include "support/golden_pins.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerMnist, TenEpochsReachTheAccuracyAndEveryRunHasTheSameBits) {
  const fs::path dir = fresh_temp_dir("trainer-mnist");
  const std::string model = DETNN_SOURCE_DIR "/examples/mnist_cnn.json";
  const auto a = run_trainer("--model " + model + " --run-dir " + (dir / "a").string());
  ASSERT_EQ(a.status, 0) << a.output;
  const auto epochs = metrics_lines(dir / "a", "epoch");
  ASSERT_EQ(epochs.size(), 10u);
  EXPECT_GE(epochs.back().at("val_accuracy").get<double>(), 0.975);
  std::printf("[ INFO ] mnist_cnn: validation accuracy %.4f after 10 epochs, final weights %s\n",
              epochs.back().at("val_accuracy").get<double>(), epochs.back().at("weights_sha256").get<std::string>().c_str());
  // The run is pinned (tests/data/golden/mnist_cnn.json): the same bits as when it was recorded.
  expect_pinned("mnist_cnn.json", "10 epochs, weights_sha256", epoch_weight_shas(dir / "a"));
  expect_pinned("mnist_cnn.json", "10 epochs, state_sha256", epoch_shas(dir / "a"));

  const auto b = run_trainer("--model " + model + " --run-dir " + (dir / "b").string());
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(epoch_shas(dir / "b"), epoch_shas(dir / "a")) << "the same command twice";

  const auto t1 = run_trainer("--model " + model + " --threads 1 --run-dir " + (dir / "t1").string());
  ASSERT_EQ(t1.status, 0) << t1.output;
  EXPECT_EQ(epoch_shas(dir / "t1"), epoch_shas(dir / "a")) << "--threads 1";

  // 70 steps per epoch: step 250 is in epoch 4 (steps 211-280).
  const auto killed = run_trainer("--model " + model + " --run-dir " + (dir / "k").string(), "DETNN_FAULT_KILL_AFTER_STEP=250");
  EXPECT_EQ(killed.status, 128 + 9) << killed.output;
  EXPECT_EQ(epoch_shas(dir / "k").size(), 3u);
  const auto resumed = run_trainer("--resume " + (dir / "k").string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(epoch_shas(dir / "k"), epoch_shas(dir / "a")) << "killed during epoch 4 and resumed";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
