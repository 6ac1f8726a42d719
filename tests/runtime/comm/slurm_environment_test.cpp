// srun's variables (runtime/comm/launch_environment.h), simulated: rank, world size, local rank,
// rank 0's host from the node list (Slurm's bracket syntax), the port from MASTER_PORT or the job
// id; torchrun's and mpirun's variables take precedence (mpirun inside an allocation); an
// environment that contradicts itself (rank >= size, two ranks on one GPU) is refused naming it.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "runtime/comm/launch_environment.h"
#include "runtime/comm/launched_group.h"
#include "runtime/comm/mpi_comm.h"
#include "runtime/error.h"

namespace detnn {
namespace {

std::optional<LaunchEnvironment> read(const std::map<std::string, std::string>& vars) {
  return read_launch_environment([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  return "";
}

const std::map<std::string, std::string> kSrun = {{"SLURM_PROCID", "5"},     {"SLURM_NTASKS", "16"},
                                                  {"SLURM_LOCALID", "1"},    {"SLURM_JOB_ID", "4242"},
                                                  {"SLURM_JOB_NODELIST", "gpu[07-09,12],login2"}};

TEST(SlurmEnvironment, ReadsRankSizeLocalRankAndTheFirstHostOfTheNodeList) {
  const auto e = read(kSrun);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->launcher, "srun");
  EXPECT_EQ(e->rank, 5);
  EXPECT_EQ(e->world_size, 16);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->master_addr, "gpu07");
  EXPECT_EQ(e->master_port, 20000 + 4242);
  // The step's own task count and node list win over the job's; MASTER_ADDR/MASTER_PORT over both.
  auto step = kSrun;
  step["SLURM_STEP_NUM_TASKS"] = "8";
  step["SLURM_STEP_NODELIST"] = "a100-[3-4]";
  EXPECT_EQ(read(step)->world_size, 8);
  EXPECT_EQ(read(step)->master_addr, "a100-3");
  step["MASTER_ADDR"] = "head";
  step["MASTER_PORT"] = "29400";
  EXPECT_EQ(read(step)->master_addr, "head");
  EXPECT_EQ(read(step)->master_port, 29400);
  // Job ids 10000 apart share a port; the port stays in [20000, 30000).
  auto big = kSrun;
  big["SLURM_JOB_ID"] = "123456789";
  EXPECT_EQ(read(big)->master_port, 20000 + 123456789 % 10000);
  // One task needs no rendezvous.
  EXPECT_EQ(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})->world_size, 1);
}

TEST(SlurmEnvironment, TorchrunAndMpirunVariablesComeFirst) {
  auto both = kSrun;
  both["OMPI_COMM_WORLD_RANK"] = "2";
  both["OMPI_COMM_WORLD_SIZE"] = "4";
  both["MASTER_ADDR"] = "h";
  both["MASTER_PORT"] = "1234";
  EXPECT_EQ(read(both)->launcher, "mpirun");
  EXPECT_EQ(read(both)->rank, 2);
  both["RANK"] = "1";
  both["WORLD_SIZE"] = "2";
  EXPECT_EQ(read(both)->launcher, "torchrun");
}

// mpirun's OMPI_COMM_WORLD_SIZE marks an MPI job whichever variables number the ranks: with MPI
// built in, the ranks meet through it and need no rendezvous address.
TEST(SlurmEnvironment, AnMpiJobIsRecognizedWhicheverVariablesNumberTheRanks) {
  if (mpi_comm_available()) {
    const auto torchrun_under_mpirun = read({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
    ASSERT_TRUE(torchrun_under_mpirun.has_value());
    EXPECT_TRUE(torchrun_under_mpirun->mpi_job);
    EXPECT_EQ(torchrun_under_mpirun->launcher, "torchrun");
    EXPECT_EQ(torchrun_under_mpirun->master_addr, "");
  } else {
    EXPECT_NE(error_of([] { read({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_SIZE", "2"}}); })
                  .find("MASTER_ADDR and MASTER_PORT"),
              std::string::npos);
  }
  auto srun = kSrun;
  EXPECT_FALSE(read(srun)->mpi_job);
}

TEST(SlurmEnvironment, HostListsExpandToTheirFirstHost) {
  EXPECT_EQ(first_slurm_host("node1"), "node1");
  EXPECT_EQ(first_slurm_host("node1,node2"), "node1");
  EXPECT_EQ(first_slurm_host("gpu[007-012]"), "gpu007");
  EXPECT_EQ(first_slurm_host("r[1-2]n[01-04],x"), "r1n01");
  EXPECT_EQ(first_slurm_host("cn[5,7-9].cluster"), "cn5.cluster");
  EXPECT_NE(error_of([] { first_slurm_host("gpu[01-04"); }).find("Slurm host list \"gpu[01-04\": '[' without ']'"),
            std::string::npos);
  EXPECT_NE(error_of([] { first_slurm_host("gpu01]"); }).find("']' without '['"), std::string::npos);
  EXPECT_NE(error_of([] { first_slurm_host("gpu[a-b]"); }).find("does not start with a number"), std::string::npos);
  EXPECT_NE(error_of([] { first_slurm_host(",x"); }).find("an empty first host"), std::string::npos);
}

TEST(SlurmEnvironment, AContradictoryEnvironmentIsRefusedNamingTheVariable) {
  auto e = kSrun;
  e["SLURM_PROCID"] = "16";  // rank >= size
  EXPECT_NE(error_of([&] { read(e); }).find("SLURM_PROCID=\"16\" is not an integer in [0, 15]"), std::string::npos);
  e = kSrun;
  e["SLURM_LOCALID"] = "-1";
  EXPECT_NE(error_of([&] { read(e); }).find("SLURM_LOCALID=\"-1\""), std::string::npos);
  e = kSrun;
  e.erase("SLURM_NTASKS");
  EXPECT_NE(error_of([&] { read(e); }).find("SLURM_PROCID is set but SLURM_NTASKS is not"), std::string::npos);
  e = kSrun;
  e.erase("SLURM_JOB_NODELIST");
  EXPECT_NE(error_of([&] { read(e); }).find("neither MASTER_ADDR nor SLURM_JOB_NODELIST"), std::string::npos);
  e = kSrun;
  e.erase("SLURM_JOB_ID");
  EXPECT_NE(error_of([&] { read(e); }).find("neither MASTER_PORT nor SLURM_JOB_ID"), std::string::npos);
  e = kSrun;
  e["SLURM_JOB_NODELIST"] = "n[1-2";
  EXPECT_NE(error_of([&] { read(e); }).find("'[' without ']'"), std::string::npos);
}

// Two CUDA ranks of one host on the same GPU (a contradictory LOCAL_RANK / SLURM_LOCALID): the
// check every launched CUDA rank runs on the placements, by PCI bus id, so ranks that each see
// their GPU as cuda:0 (CUDA_VISIBLE_DEVICES per rank) are told apart.
TEST(SlurmEnvironment, TwoRanksClaimingOneGpuOfAHostAreNamed) {
  EXPECT_EQ(duplicate_gpu_claim({"a", "a", "b", "b"}, {"0000:1B:00.0", "0000:2C:00.0", "0000:1B:00.0", "0000:2C:00.0"}),
            "");
  EXPECT_EQ(duplicate_gpu_claim({"a", "a"}, {"", ""}), "");  // CPU ranks
  EXPECT_EQ(duplicate_gpu_claim({"a", "b", "b"}, {"0000:1B:00.0", "0000:2C:00.0", "0000:2C:00.0"}),
            "ranks 1 and 2 both claim the GPU 0000:2C:00.0 of b (one rank per GPU: give the ranks of a host distinct "
            "LOCAL_RANK / SLURM_LOCALID values)");
}

}  // namespace
}  // namespace detnn
