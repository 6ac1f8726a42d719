// `trainer --ranks 1/2/4` on examples/mnist_cnn.json for 2 epochs (label slow: minutes on 2
// cores): the same state_sha256 on every epoch line, whatever the number of CPU ranks, and the
// pinned one of the 10-epoch run's first two epochs (tests/data/golden/mnist_cnn.json: the
// learning rate of examples/mnist_cnn.json does not depend on the number of epochs).
#include <gtest/gtest.h>

#include "support/golden_pins.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerRanksMnist, OneTwoAndFourRanksGiveTheSameBitsEveryEpoch) {
  const fs::path dir = fresh_temp_dir("trainer-ranks-mnist");
  const std::string model = DETNN_SOURCE_DIR "/examples/mnist_cnn.json";
  std::vector<std::string> first;
  for (const int ranks : {1, 2, 4}) {
    const fs::path run = dir / ("r" + std::to_string(ranks));
    const auto r = run_trainer("--model " + model + " --epochs 2 --ranks " + std::to_string(ranks) + " --run-dir " +
                               run.string());
    ASSERT_EQ(r.status, 0) << r.output;
    const auto shas = epoch_shas(run);
    ASSERT_EQ(shas.size(), 2u);
    if (first.empty()) {
      first = shas;
      const std::vector<std::string> pinned = pinned_series("mnist_cnn.json", "10 epochs, state_sha256");
      ASSERT_GE(pinned.size(), 2u);
      EXPECT_EQ(shas, std::vector<std::string>(pinned.begin(), pinned.begin() + 2)) << "against the pins";
    }
    EXPECT_EQ(shas, first) << ranks << " ranks";
    std::printf("[ INFO ] mnist_cnn, %d rank(s): epoch 2 state %s\n", ranks, shas.back().c_str());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
