// The trainer as the processes of an mpirun job on CPU ranks, which move their bytes with MPI
// (runtime/comm/mpi_comm.h; a build with MPI, cmake/DetnnMpi.cmake): 2, 3 and 4 processes give the
// one-rank bits every epoch by recursive halving and by the all-to-all; a rank that fails stops
// every rank with its error, a rank that stalls is named by the others at their timeout, and a killed
// rank ends the job with mpirun's report naming it — all within seconds, never a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

#ifdef DETNN_MPIEXEC
struct MpiRun {
  int status = -1;  // mpirun's exit status
  std::string output;
  double seconds = 0;
};

// mpirun of `groups`: each is "-np N [-x VAR=value] <trainer arguments>" for the trainer; MPMD
// groups (joined by " : ") give ranks their own variables.
MpiRun mpirun(const std::vector<std::string>& groups) {
  std::string cmd = std::string("exec ") + DETNN_MPIEXEC + " --allow-run-as-root --oversubscribe";
  for (size_t i = 0; i < groups.size(); ++i) {
    const size_t args = groups[i].find(" --");
    cmd += (i ? " : " : " ") + groups[i].substr(0, args) + " " + DETNN_TRAINER_PATH + groups[i].substr(args);
  }
  cmd += " 2>&1";
  const auto start = std::chrono::steady_clock::now();
  MpiRun run;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) run.output.append(buf, n);
  const int status = ::pclose(p);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// write_small_model's file with another global batch (chunks of 8).
fs::path small_model_with_batch(const fs::path& dir, int64_t batch) {
  const fs::path path = write_small_model(dir, 2);
  nlohmann::json model = nlohmann::json::parse(std::ifstream(path));
  model["training"]["batch_size"] = batch;
  const fs::path out = dir / ("model-b" + std::to_string(batch) + ".json");
  std::ofstream(out) << model.dump(2);
  return out;
}
#endif

TEST(TrainerMpi, TwoThreeAndFourProcessesGiveTheOneRankBitsByEitherAllReduce) {
#ifndef DETNN_MPIEXEC
  GTEST_SKIP() << "built without MPI (cmake/DetnnMpi.cmake)";
#else
  const fs::path dir = fresh_temp_dir("trainer-mpi");
  // 4 chunks of 8 (P = 2, 4) and 3 chunks of 8 (P = 3): k = 2, 1 and 1 chunks per rank.
  for (const auto& [batch, sizes] : std::vector<std::pair<int64_t, std::vector<int>>>{{32, {2, 4}}, {24, {3}}}) {
    const fs::path model = small_model_with_batch(dir, batch);
    const fs::path single = dir / ("single-b" + std::to_string(batch));
    const auto one = run_trainer("--model " + model.string() + " --run-dir " + single.string());
    ASSERT_EQ(one.status, 0) << one.output;
    for (const int p : sizes)
      for (const std::string algorithm : {"recursive-halving", "all-to-all"}) {
        const fs::path run = dir / ("p" + std::to_string(p) + "-" + algorithm);
        const MpiRun r = mpirun({"-np " + std::to_string(p) + " -x DETNN_ALL_REDUCE=" + algorithm + " --model " +
                                 model.string() + " --comm-timeout 60 --run-dir " + run.string()});
        ASSERT_EQ(r.status, 0) << p << " processes, " << algorithm << ":\n" << r.output;
        EXPECT_EQ(epoch_shas(run), epoch_shas(single)) << p << " processes, " << algorithm;
        const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(run / "manifest.json"));
        EXPECT_EQ(manifest.at("launcher"), "mpirun");
        EXPECT_EQ(manifest.at("world_size"), p);
        ASSERT_EQ(manifest.at("ranks").size(), static_cast<size_t>(p));
        EXPECT_TRUE(manifest.at("ranks").back().contains("host"));
      }
  }
  fs::remove_all(dir);
#endif
}

// torchrun-style variables in processes mpirun started: they meet through MPI (no MASTER_ADDR),
// and a numbering that contradicts MPI's is refused naming both, without a hang.
TEST(TrainerMpi, TorchrunVariablesUnderMpirunMeetThroughMpi) {
#ifndef DETNN_MPIEXEC
  GTEST_SKIP() << "built without MPI (cmake/DetnnMpi.cmake)";
#else
  const fs::path dir = fresh_temp_dir("trainer-mpi-torchrun");
  const fs::path model = write_small_model(dir, 2);
  const auto one = run_trainer("--model " + model.string() + " --run-dir " + (dir / "single").string());
  ASSERT_EQ(one.status, 0) << one.output;
  const std::string args = " --model " + model.string() + " --comm-timeout 30 --run-dir ";
  const MpiRun r = mpirun({"-np 1 -x RANK=0 -x WORLD_SIZE=2" + args + (dir / "mpi").string(),
                           "-np 1 -x RANK=1 -x WORLD_SIZE=2" + args + (dir / "mpi").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(epoch_shas(dir / "mpi"), epoch_shas(dir / "single"));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir / "mpi" / "manifest.json")).at("launcher"), "torchrun");
  // Both processes claim rank 1: MPI's rank 0 refuses, and the job ends although MPI's rank 1,
  // whose numbering agrees, waits in the join (the refusing rank's MPI_Finalize is bounded).
  const MpiRun twice = mpirun({"-np 1 -x RANK=1 -x WORLD_SIZE=2" + args + (dir / "twice").string(),
                               "-np 1 -x RANK=1 -x WORLD_SIZE=2" + args + (dir / "twice").string()});
  EXPECT_NE(twice.status, 0);
  EXPECT_NE(twice.output.find("MPI numbers this process rank 0 of 2 but the launch environment (torchrun) says rank 1 of 2"),
            std::string::npos)
      << twice.output;
  EXPECT_LT(twice.seconds, 30.0);
  fs::remove_all(dir);
#endif
}

// Ranks started with different DETNN_ALL_REDUCE would exchange messages of different sizes: the
// first all-reduce refuses on every rank, naming the variable.
TEST(TrainerMpi, RanksWithDifferentAllReducePatternsAreRefused) {
#ifndef DETNN_MPIEXEC
  GTEST_SKIP() << "built without MPI (cmake/DetnnMpi.cmake)";
#else
  const fs::path dir = fresh_temp_dir("trainer-mpi-patterns");
  const fs::path model = write_small_model(dir, 1);
  const std::string args = " --model " + model.string() + " --comm-timeout 30 --run-dir " + (dir / "run").string();
  const MpiRun r = mpirun({"-np 1 -x DETNN_ALL_REDUCE=all-to-all" + args, "-np 1 -x DETNN_ALL_REDUCE=recursive-halving" + args});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(occurrences(r.output, "the ranks use different all-reduce patterns (DETNN_ALL_REDUCE must be the same on every rank)"),
            2)
      << r.output;
  EXPECT_LT(r.seconds, 20.0);
  fs::remove_all(dir);
#endif
}

TEST(TrainerMpi, AFailingStallingOrKilledRankStopsTheJobNamingIt) {
#ifndef DETNN_MPIEXEC
  GTEST_SKIP() << "built without MPI (cmake/DetnnMpi.cmake)";
#else
  const fs::path dir = fresh_temp_dir("trainer-mpi-fault");
  const fs::path model = write_small_model(dir, 2);
  const std::string args = " --model " + model.string() + " --comm-timeout 30 --run-dir ";
  {
    // An error in rank 2 before step 5: every rank prints rank 2's error, well before the timeout.
    const MpiRun r = mpirun({"-np 4 -x DETNN_FAULT_RANK_ERROR=2:5" + args + (dir / "error").string()});
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(occurrences(r.output, "trainer: rank 2 failed: injected fault"), 4) << r.output;
    EXPECT_LT(r.seconds, 20.0) << r.output;
    const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "error" / "manifest.json"));
    EXPECT_EQ(manifest.at("status"), "failed");
  }
  {
    // Rank 1 stops before step 3 without a word: the three others time out (3 s) naming it, and
    // each prints the group's failure; the job then ends (their bounded MPI_Finalize, then mpirun
    // stops rank 1).
    const std::string stall = " --model " + model.string() + " --comm-timeout 3 --run-dir " + (dir / "stall").string();
    const MpiRun r = mpirun({"-np 4 -x DETNN_FAULT_RANK_STALL=1:3" + stall});
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_EQ(occurrences(r.output, "failed: all_reduce_pairwise timed out after 3 s waiting for rank(s) 1\n"), 3)
        << r.output;
    EXPECT_LT(r.seconds, 40.0) << r.output;
  }
  {
    // Rank 1's process is SIGKILLed after step 3: mpirun stops the job and names it.
    const MpiRun r = mpirun({"-np 1" + args + (dir / "killed").string(),
                             "-np 1 -x DETNN_FAULT_KILL_AFTER_STEP=3" + args + (dir / "killed").string(),
                             "-np 2" + args + (dir / "killed").string()});
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("rank 1 with PID"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("signal 9"), std::string::npos) << r.output;
    EXPECT_LT(r.seconds, 20.0) << r.output;
  }
  fs::remove_all(dir);
#endif
}

}  // namespace
}  // namespace detnn::testing
