// The trainer as one process per rank, launched with torchrun-style variables (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT) on CPU ranks that meet through rank 0's TCP store
// (docs/multi-rank.md): 1, 2 and 4 processes give the same weights every epoch; rank 0 alone
// writes the run directory and records the launch; a checkpoint of a 2-process run resumes on 4
// processes with the 1-rank bits; a failing or killed process stops every rank; a missing
// rank, missing variables and contradictory flags are refused with the reason.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

// The final weights' SHA-256 a non-writing rank prints ("rank r of P done: ... sha256 X").
std::string printed_sha(const std::string& output) {
  const std::string key = "weights sha256 ";
  const size_t at = output.rfind(key);
  return at == std::string::npos ? "" : output.substr(at + key.size(), 64);
}

TEST(TrainerLaunch, OneTwoAndFourProcessesGiveTheSameWeightsEveryEpoch) {
  const fs::path dir = fresh_temp_dir("trainer-launch");
  const fs::path model = write_small_model(dir, 2);  // B = 32, C = 8: 4 chunks
  const auto single = run_trainer("--model " + model.string() + " --run-dir " + (dir / "single").string());
  ASSERT_EQ(single.status, 0) << single.output;
  const std::vector<std::string> expected = epoch_shas(dir / "single");
  ASSERT_EQ(expected.size(), 2u);
  for (const int p : {1, 2, 4}) {
    const fs::path run = dir / ("p" + std::to_string(p));
    const auto results = run_launched_trainers(p, "--model " + model.string() + " --run-dir " + run.string());
    for (int r = 0; r < p; ++r) ASSERT_EQ(results[r].status, 0) << "rank " << r << ":\n" << results[r].output;
    EXPECT_EQ(epoch_shas(run), expected) << p << " processes";
    // The other ranks print their final weights' digest.
    for (int r = 1; r < p; ++r)
      EXPECT_EQ(printed_sha(results[r].output), epoch_weight_shas(dir / "single").back()) << "rank " << r;
    const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
    EXPECT_EQ(manifest.at("world_size"), p);
    ASSERT_EQ(manifest.at("ranks").size(), static_cast<size_t>(p));
    EXPECT_EQ(manifest.at("ranks").back().at("rank"), p - 1);
    EXPECT_TRUE(manifest.at("ranks").back().contains("host"));
    if (p > 1) EXPECT_EQ(manifest.at("launcher"), "torchrun");
  }
  fs::remove_all(dir);
}

// srun's variables, as srun sets them for `srun -n 2 trainer ...` on one node: rank 0's host comes
// from the node list; the port is MASTER_PORT's (a free one: the job-id port may be taken here).
TEST(TrainerLaunch, SrunVariablesGiveTheOneRankBits) {
  const fs::path dir = fresh_temp_dir("trainer-srun");
  const fs::path model = write_small_model(dir, 2);
  const auto single = run_trainer("--model " + model.string() + " --run-dir " + (dir / "single").string());
  ASSERT_EQ(single.status, 0) << single.output;
  const std::string common = "SLURM_NTASKS=2 SLURM_JOB_ID=77 SLURM_JOB_NODELIST=localhost MASTER_PORT=" +
                             std::to_string(free_tcp_port());
  std::string script;
  for (int r = 0; r < 2; ++r)
    script += "(env " + common + " SLURM_PROCID=" + std::to_string(r) + " SLURM_LOCALID=" + std::to_string(r) + " " +
              DETNN_TRAINER_PATH + " --model " + model.string() + " --comm-timeout 60 --run-dir " +
              (dir / "srun").string() + " > " + (dir / ("rank" + std::to_string(r))).string() + ".out 2>&1; echo $? > " +
              (dir / ("rank" + std::to_string(r))).string() + ".status) &\n";
  std::ofstream(dir / "launch.sh") << script << "wait\n";
  ASSERT_EQ(std::system(("sh " + (dir / "launch.sh").string()).c_str()), 0);
  for (int r = 0; r < 2; ++r) {
    std::ifstream status(dir / ("rank" + std::to_string(r) + ".status"));
    int code = -1;
    status >> code;
    EXPECT_EQ(code, 0) << "rank " << r << ":\n" << bytes_of(dir / ("rank" + std::to_string(r) + ".out"));
  }
  EXPECT_EQ(epoch_shas(dir / "srun"), epoch_shas(dir / "single"));
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "srun" / "manifest.json"));
  EXPECT_EQ(manifest.at("launcher"), "srun");
  EXPECT_EQ(manifest.at("world_size"), 2);
  fs::remove_all(dir);
}

TEST(TrainerLaunch, ATwoProcessCheckpointResumesOnFourProcessesWithTheOneRankBits) {
  const fs::path dir = fresh_temp_dir("trainer-launch-resume");
  const fs::path model = write_small_model(dir, 4);
  const auto full = run_trainer("--model " + model.string() + " --run-dir " + (dir / "full").string());
  ASSERT_EQ(full.status, 0) << full.output;
  // Rank 0's process is killed after step 37 (checkpoints every 7 steps: the last at 35); rank 1
  // then stops because rank 0 is gone.
  const fs::path run = dir / "killed";
  const auto killed = run_launched_trainers(2, "--model " + model.string() + " --checkpoint-every 7 --comm-timeout 30 --run-dir " + run.string(),
                                            "", {"DETNN_FAULT_KILL_AFTER_STEP=37", ""});
  EXPECT_EQ(killed[0].status, 128 + 9) << killed[0].output;
  EXPECT_EQ(killed[1].status, 1) << killed[1].output;
  EXPECT_NE(killed[1].output.find("rendezvous"), std::string::npos) << killed[1].output;
  EXPECT_EQ(epoch_shas(run).size(), 2u);
  const auto resumed = run_launched_trainers(4, "--resume " + run.string());
  for (int r = 0; r < 4; ++r) ASSERT_EQ(resumed[r].status, 0) << "rank " << r << ":\n" << resumed[r].output;
  EXPECT_EQ(epoch_shas(run), epoch_shas(dir / "full"));
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
  EXPECT_EQ(manifest.at("final_state_sha256"), epoch_shas(dir / "full").back());
  EXPECT_EQ(manifest.at("resumes").at(0).at("world_size"), 4);
  fs::remove_all(dir);
}

TEST(TrainerLaunch, AFailingOrKilledProcessStopsEveryRank) {
  const fs::path dir = fresh_temp_dir("trainer-launch-fault");
  const fs::path model = write_small_model(dir, 2);
  {
    // An error in rank 2 before step 5: every process exits with rank 2's error.
    const auto start = std::chrono::steady_clock::now();
    const auto results = run_launched_trainers(4, "--model " + model.string() + " --comm-timeout 30 --run-dir " +
                                                      (dir / "error").string(),
                                               "DETNN_FAULT_RANK_ERROR=2:5");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(results[r].status, 1) << "rank " << r << ":\n" << results[r].output;
      EXPECT_NE(results[r].output.find("trainer: rank 2 failed: injected fault"), std::string::npos)
          << "rank " << r << ":\n" << results[r].output;
    }
    EXPECT_LT(seconds, 20.0) << "the failure must not wait for the 30 s timeout";
    const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "error" / "manifest.json"));
    EXPECT_EQ(manifest.at("status"), "failed");
  }
  {
    // Rank 1's process is SIGKILLed after step 3: rank 0 learns it from the dropped connection.
    const auto start = std::chrono::steady_clock::now();
    const auto results = run_launched_trainers(2, "--model " + model.string() + " --comm-timeout 30 --run-dir " +
                                                      (dir / "killed").string(),
                                               "", {"", "DETNN_FAULT_KILL_AFTER_STEP=3"});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(results[1].status, 128 + 9) << results[1].output;
    EXPECT_EQ(results[0].status, 1) << results[0].output;
    EXPECT_NE(results[0].output.find("rank 1 failed: its process ended"), std::string::npos) << results[0].output;
    EXPECT_LT(seconds, 20.0);
  }
  fs::remove_all(dir);
}

TEST(TrainerLaunch, AMissingRankOrMissingVariablesAreReported) {
  const fs::path dir = fresh_temp_dir("trainer-launch-errors");
  const fs::path model = write_small_model(dir, 1);
  const std::string run = " --run-dir " + (dir / "run").string();
  // Rank 1 never starts: rank 0 gives up after the timeout, naming it, and writes nothing.
  const auto alone = run_trainer("--model " + model.string() + " --comm-timeout 1" + run,
                                 "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_tcp_port()) +
                                     " WORLD_SIZE=2 RANK=0");
  EXPECT_EQ(alone.status, 1);
  EXPECT_NE(alone.output.find("rank 1 did not join the group"), std::string::npos) << alone.output;
  EXPECT_FALSE(fs::exists(dir / "run"));

  const auto no_master = run_trainer("--model " + model.string() + run, "WORLD_SIZE=2 RANK=1");
  EXPECT_EQ(no_master.status, 1);
  EXPECT_NE(no_master.output.find("MASTER_ADDR and MASTER_PORT"), std::string::npos) << no_master.output;

  const auto bad_rank = run_trainer("--model " + model.string() + run, "WORLD_SIZE=2 RANK=2 MASTER_ADDR=x MASTER_PORT=1");
  EXPECT_EQ(bad_rank.status, 1);
  EXPECT_NE(bad_rank.output.find("RANK=\"2\" is not an integer in [0, 1]"), std::string::npos) << bad_rank.output;

  const auto with_ranks = run_trainer("--model " + model.string() + " --ranks 2" + run,
                                      "WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=1");
  EXPECT_EQ(with_ranks.status, 1);
  EXPECT_NE(with_ranks.output.find("--ranks and --gpus do not apply"), std::string::npos) << with_ranks.output;
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

TEST(TrainerLaunch, GpusNeedsVisibleGpusAndAValidList) {
  const fs::path dir = fresh_temp_dir("trainer-gpus");
  const fs::path model = write_small_model(dir, 1);
  const auto r = run_trainer("--model " + model.string() + " --gpus 0,0 --run-dir " + (dir / "run").string());
  EXPECT_EQ(r.status, 1);
  // Without a GPU: none visible; with one: GPU 0 listed twice.
  EXPECT_TRUE(r.output.find("no CUDA device is visible") != std::string::npos ||
              r.output.find("listed twice") != std::string::npos)
      << r.output;
  const auto both = run_trainer("--model " + model.string() + " --gpus all --ranks 2 --run-dir " + (dir / "run").string());
  EXPECT_EQ(both.status, 1);
  EXPECT_NE(both.output.find("--ranks and --gpus exclude each other"), std::string::npos) << both.output;
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace detnn::testing
