// trainer verify (docs/reproducibility.md): a fresh run re-executes bit for bit, step by step,
// also on another thread count, another rank count and from a mid-run checkpoint; a run whose
// data changed is refused naming both fingerprints; a difference is reported at its first step
// with exit status 2.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

class TrainerVerify : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_temp_dir("trainer-verify");
    model_ = write_small_model(dir_, 2);  // 16 steps an epoch, dropout and augmentation included
    const auto run = run_trainer("--model " + model_.string() + " --run-dir " + run_dir().string());
    ASSERT_EQ(run.status, 0) << run.output;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path run_dir() const { return dir_ / "run"; }
  CommandResult verify(const std::string& flags) {
    return run_trainer("verify " + run_dir().string() + " --scratch " + (dir_ / ("scratch" + std::to_string(++n_))).string() +
                       " " + flags);
  }

  fs::path dir_, model_;
  int n_ = 0;
};

TEST_F(TrainerVerify, AFreshRunReproducesEveryStepOnAnyThreadAndRankCount) {
  for (const std::string flags : {"", "--threads 1", "--ranks 2", "--ranks 4 --threads 3"}) {
    const auto v = verify(flags);
    EXPECT_EQ(v.status, 0) << flags << "\n" << v.output;
    EXPECT_NE(v.output.find("reproduced: 32 steps bit-identical (steps 1-32"), std::string::npos) << flags << "\n"
                                                                                                   << v.output;
  }
  const auto part = verify("--steps 20");
  EXPECT_EQ(part.status, 0) << part.output;
  EXPECT_NE(part.output.find("reproduced: 20 steps bit-identical (steps 1-20"), std::string::npos) << part.output;
}

// A checkpoint of step 16 (another run of the same model, stopped after one epoch: the same state)
// lets verify check the second epoch alone.
TEST_F(TrainerVerify, FromAMidRunCheckpointChecksTheStepsAfterIt) {
  const auto first = run_trainer("--model " + model_.string() + " --epochs 1 --run-dir " + (dir_ / "one").string());
  ASSERT_EQ(first.status, 0) << first.output;
  const auto v = verify("--from " + (dir_ / "one" / "checkpoints" / "last.safetensors").string());
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find("reproduced: 16 steps bit-identical (steps 17-32"), std::string::npos) << v.output;
}

TEST_F(TrainerVerify, ADifferenceIsReportedAtItsFirstStep) {
  // The recorded digest of step 10 altered: verify must find step 10, and keep its scratch run.
  std::ifstream in(run_dir() / "metrics.jsonl");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), altered;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("type", "") == "digest" && j.at("step") == 10) j["weights_digest"] = "0123456789abcdef";
    altered += j.dump() + "\n";
  }
  std::ofstream(run_dir() / "metrics.jsonl", std::ios::trunc) << altered;
  const auto v = verify("");
  EXPECT_EQ(v.status, 2) << v.output;
  EXPECT_NE(v.output.find("diverged at step 10: weights digest 0123456789abcdef"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("the re-executed run is kept in"), std::string::npos) << v.output;
}

TEST(TrainerVerifyData, ARunWhoseDataChangedIsRefusedNamingBothFingerprints) {
  const fs::path dir = fresh_temp_dir("trainer-verify-data");
  const fs::path model = write_idx_model(dir);
  const auto run = run_trainer("--model " + model.string() + " --run-dir " + (dir / "run").string());
  ASSERT_EQ(run.status, 0) << run.output;
  std::ifstream manifest(dir / "run" / "manifest.json");
  const std::string was = nlohmann::json::parse(manifest).at("data_fingerprint");
  flip_first_pixels(dir / "images.idx");
  const auto v = run_trainer("verify " + (dir / "run").string() + " --scratch " + (dir / "scratch").string());
  EXPECT_EQ(v.status, 1) << v.output;
  EXPECT_NE(v.output.find("refusing to verify " + (dir / "run").string() + ": the data changed (fingerprint " + was +
                          " when the run started, "),
            std::string::npos)
      << v.output;
  fs::remove_all(dir);
}

TEST(TrainerVerifyInput, NotARunDirectoryOrAMissingCheckpointIsAOneLineError) {
  const fs::path dir = fresh_temp_dir("trainer-verify-bad");
  const auto none = run_trainer("verify " + dir.string());
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.output.find(dir.string() + ": not a run directory (no config.json)"), std::string::npos) << none.output;
  const fs::path model = write_small_model(dir, 1);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "run").string()).status, 0);
  const auto missing = run_trainer("verify " + (dir / "run").string() + " --from " + (dir / "nope.safetensors").string());
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find((dir / "nope.safetensors").string() + ": no such checkpoint (--from)"), std::string::npos)
      << missing.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
