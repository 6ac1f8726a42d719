// `trainer --ranks N` (data-parallel CPU ranks as threads, docs/multi-rank.md) on a small
// synthetic model: 1, 2 and 4 ranks give the same state_sha256 every epoch; a checkpoint of a
// 2-rank run resumes on 4 ranks with the uninterrupted 1-rank bits; an injected fault in one rank
// stops every rank with its error (bounded time); a batch the ranks cannot share is refused. And
// examples/cifar_convnet.json on small synthetic data.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerRanks, OneTwoAndFourRanksGiveTheSameWeightsEveryEpoch) {
  const fs::path dir = fresh_temp_dir("trainer-ranks");
  const fs::path model = write_small_model(dir, 2);  // B = 32, C = 8: 4 chunks
  std::vector<std::string> first;
  for (const int ranks : {1, 2, 4}) {
    const fs::path run = dir / ("r" + std::to_string(ranks));
    const auto r = run_trainer("--model " + model.string() + " --ranks " + std::to_string(ranks) + " --run-dir " +
                               run.string());
    ASSERT_EQ(r.status, 0) << r.output;
    const auto shas = epoch_shas(run);
    ASSERT_EQ(shas.size(), 2u);
    if (first.empty()) first = shas;
    EXPECT_EQ(shas, first) << ranks << " ranks";
    // The metrics are the global batch's, whatever the rank count.
    const auto steps = metrics_lines(run, "step");
    const auto steps1 = metrics_lines(dir / "r1", "step");
    ASSERT_EQ(steps.size(), steps1.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_EQ(steps[i].at("loss"), steps1[i].at("loss")) << ranks << " ranks, line " << i;
      EXPECT_EQ(steps[i].at("accuracy"), steps1[i].at("accuracy")) << ranks << " ranks, line " << i;
    }
    const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
    EXPECT_EQ(manifest.at("world_size"), ranks);
    ASSERT_EQ(manifest.at("ranks").size(), static_cast<size_t>(ranks));
    EXPECT_EQ(manifest.at("ranks").back().at("rank"), ranks - 1);
  }
  fs::remove_all(dir);
}

// examples/cifar_convnet.json itself (every layer, loss, optimizer and schedule of it) on a small
// synthetic data set with a CPU-sized batch: B = 16, C = 4, 4 steps (the one-cycle schedule's
// least). About 15 s on 2 cores; skipped in the sanitizer build, where the small model's tests
// above cover the same paths.
TEST(TrainerRanks, CifarConvnetOnSyntheticDataGivesTheSameBitsOnOneTwoAndFourRanks) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "minutes under AddressSanitizer";
#endif
  const fs::path dir = fresh_temp_dir("trainer-ranks-cifar");
  nlohmann::json model = nlohmann::json::parse(std::ifstream(DETNN_SOURCE_DIR "/examples/cifar_convnet.json"), nullptr,
                                               true, /*ignore_comments=*/true);
  model["data"] = {{"format", "synthetic"},
                   {"train", {{"count", 80}, {"seed", 7}, {"shape", {3, 32, 32}}}},
                   {"validation", {{"count", 16}}},
                   {"classes", 10},
                   {"augment", model.at("data").at("augment")}};
  model["training"]["batch_size"] = 16;
  model["training"]["chunk_size"] = 4;
  model["training"]["epochs"] = 1;
  model["training"]["device"] = "cpu";
  std::ofstream(dir / "cifar_small.json") << model.dump(2);
  std::vector<std::string> first;
  for (const int ranks : {1, 2, 4}) {
    const fs::path run = dir / ("r" + std::to_string(ranks));
    const auto r = run_trainer("--model " + (dir / "cifar_small.json").string() + " --ranks " + std::to_string(ranks) +
                               " --run-dir " + run.string());
    ASSERT_EQ(r.status, 0) << r.output;
    const auto shas = epoch_shas(run);
    ASSERT_EQ(shas.size(), 1u);
    if (first.empty()) first = shas;
    EXPECT_EQ(shas, first) << ranks << " ranks";
  }
  fs::remove_all(dir);
}

TEST(TrainerRanks, ATwoRankCheckpointResumesOnFourRanksWithTheOneRankBits) {
  const fs::path dir = fresh_temp_dir("trainer-ranks-resume");
  const fs::path model = write_small_model(dir, 4);
  const auto full = run_trainer("--model " + model.string() + " --run-dir " + (dir / "full").string());
  ASSERT_EQ(full.status, 0) << full.output;
  // 16 steps per epoch: killed after step 37 (epoch 3), checkpointed every 7 steps (last: 35).
  const fs::path run = dir / "killed";
  const auto killed = run_trainer("--model " + model.string() + " --ranks 2 --checkpoint-every 7 --run-dir " +
                                  run.string(), "DETNN_FAULT_KILL_AFTER_STEP=37");
  EXPECT_EQ(killed.status, 128 + 9) << killed.output;  // SIGKILL
  EXPECT_EQ(epoch_shas(run).size(), 2u);
  const auto resumed = run_trainer("--resume " + run.string() + " --ranks 4");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(epoch_shas(run), epoch_shas(dir / "full"));
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
  EXPECT_EQ(manifest.at("final_state_sha256"), epoch_shas(dir / "full").back());
  EXPECT_EQ(manifest.at("resumes").at(0).at("world_size"), 4);
  // And back to 1 rank from the 4-rank run's last checkpoint: nothing left to do, same bits.
  const auto again = run_trainer("--resume " + run.string());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(epoch_shas(run), epoch_shas(dir / "full"));
  fs::remove_all(dir);
}

TEST(TrainerRanks, AFaultInOneRankStopsEveryRankWithItsError) {
  const fs::path dir = fresh_temp_dir("trainer-ranks-fault");
  const fs::path model = write_small_model(dir, 2);
  for (const std::string fault : {"1:5", "3:20", "0:2"}) {
    const auto start = std::chrono::steady_clock::now();
    // A 20 s collective timeout bounds the run even if the abort did not wake the others.
    const auto r = run_trainer("--model " + model.string() + " --ranks 4 --comm-timeout 20 --run-dir " +
                               (dir / ("f" + fault.substr(0, 1))).string(), "DETNN_FAULT_RANK_ERROR=" + fault);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.status, 1) << r.output;
    const std::string expected = "trainer: rank " + fault.substr(0, 1) +
                                 " failed: injected fault (DETNN_FAULT_RANK_ERROR) before step " + fault.substr(2);
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_LT(seconds, 15.0) << "the ranks were woken by the abort, not by the timeout";
    const nlohmann::json manifest =
        nlohmann::json::parse(std::ifstream(dir / ("f" + fault.substr(0, 1)) / "manifest.json"));
    EXPECT_EQ(manifest.at("status"), "failed");
    EXPECT_NE(manifest.at("error").get<std::string>().find("rank " + fault.substr(0, 1) + " failed: injected fault"),
              std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(TrainerRanks, ABatchTheRanksCannotShareIsRefusedBeforeAnyWork) {
  const fs::path dir = fresh_temp_dir("trainer-ranks-refused");
  const fs::path model = write_small_model(dir, 2);  // B = 32, C = 8: 4 chunks
  const auto three = run_trainer("--model " + model.string() + " --ranks 3 --run-dir " + (dir / "r3").string());
  EXPECT_EQ(three.status, 1);
  EXPECT_NE(three.output.find("B=32, C=8 gives 4 chunks, which P=3 ranks cannot share equally"), std::string::npos)
      << three.output;
  EXPECT_FALSE(fs::exists(dir / "r3"));  // nothing written
  const auto eight = run_trainer("--model " + model.string() + " --ranks 8 --run-dir " + (dir / "r8").string());
  EXPECT_EQ(eight.status, 1);
  EXPECT_NE(eight.output.find("P=8"), std::string::npos) << eight.output;
  EXPECT_FALSE(fs::exists(dir / "r8"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
