// The trainer in the fast and off modes on the GPU, on examples/mnist_cnn.json and the bundled
// digits: fast twice gives the same weights every epoch and records its pinned algorithms in the
// manifest and the checkpoints; off (the nondeterministic baseline) reaches the accuracy band of strict.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "runtime/io/safetensors.h"
#include "support/test_util.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

const std::string kModel = DETNN_SOURCE_DIR "/examples/mnist_cnn.json";

std::string train(const fs::path& run, const std::string& mode, int epochs) {
  const auto r = run_trainer("--model " + kModel + " --device cuda --epochs " + std::to_string(epochs) +
                             " --determinism " + mode + " --run-dir " + run.string());
  EXPECT_EQ(r.status, 0) << r.output;
  return r.output;
}

TEST(TrainerModesGpu, FastTwiceGivesTheSameBitsAndRecordsItsAlgorithms) {
  DETNN_REQUIRE_GPU();
  const fs::path dir = fresh_temp_dir("trainer-fast");
  train(dir / "a", "fast", 2);
  train(dir / "b", "fast", 2);
  const auto a = epoch_shas(dir / "a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(epoch_shas(dir / "b"), a);
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "a" / "manifest.json"));
  ASSERT_TRUE(manifest.contains("kernel_choices")) << manifest.dump(1);
  // mnist_cnn: 2 conv2d and 2 linear layers, 3 calls each.
  EXPECT_EQ(manifest["kernel_choices"].size(), 12u);
  for (const auto& c : manifest["kernel_choices"]) EXPECT_TRUE(c.at("deterministic").get<bool>()) << c.dump();
  // The checkpoints carry them too.
  const SafetensorsFile last = read_safetensors((dir / "a" / "checkpoints" / "last.safetensors").string());
  ASSERT_TRUE(last.metadata.count("kernel_choices"));
  EXPECT_EQ(nlohmann::json::parse(last.metadata.at("kernel_choices")), manifest["kernel_choices"]);
  EXPECT_EQ(last.metadata.at("determinism"), "fast");
  fs::remove_all(dir);
}

TEST(TrainerModesGpu, OffReachesTheAccuracyBandOfStrict) {
  DETNN_REQUIRE_GPU();
  const fs::path dir = fresh_temp_dir("trainer-off");
  train(dir / "strict", "strict", 2);
  train(dir / "off", "off", 2);
  const auto strict = metrics_lines(dir / "strict", "epoch"), off = metrics_lines(dir / "off", "epoch");
  ASSERT_EQ(strict.size(), 2u);
  ASSERT_EQ(off.size(), 2u);
  const double s = strict.back().at("val_accuracy").get<double>(), o = off.back().at("val_accuracy").get<double>();
  // Two epochs of mnist_cnn reach about 97%; the modes differ only in rounding, which lets the
  // two runs drift apart: on 1,000 validation digits (a point is 10 of them) they must agree
  // within two points.
  EXPECT_GE(s, 0.95);
  EXPECT_GE(o, 0.95);
  EXPECT_LE(std::fabs(s - o), 0.02) << "strict " << s << ", off " << o;
  std::printf("[ INFO ] mnist_cnn, 2 epochs: validation accuracy strict %.4f, off %.4f\n", s, o);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
