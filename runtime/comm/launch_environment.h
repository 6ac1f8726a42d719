// Where this process stands in a run launched as one process per rank: read from the variables
// torchrun and most cluster launchers set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), or from OpenMPI's (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK) under mpirun, with
// MASTER_ADDR/MASTER_PORT naming where rank 0 serves the rendezvous (docs/multi-rank.md) — or,
// under mpirun in a build with MPI, without them: master_addr is then empty and rank 0's address
// does not matter: the ranks meet through MPI (runtime/comm/mpi_comm.h) — or from Slurm's under srun
// (SLURM_PROCID, SLURM_STEP_NUM_TASKS or SLURM_NTASKS, SLURM_LOCALID), rank 0's host being the
// first of SLURM_STEP_NODELIST or SLURM_JOB_NODELIST and its port MASTER_PORT or, unset,
// 20000 + SLURM_JOB_ID mod 10000. Variables are looked for in that order: torchrun's, mpirun's,
// Slurm's (an mpirun inside a Slurm allocation is an mpirun launch).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace detnn {

struct LaunchEnvironment {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;  // empty: the ranks meet through MPI
  int master_port = 0;
  std::string launcher;  // "torchrun" (RANK/WORLD_SIZE), "mpirun" (OMPI_COMM_WORLD_*) or "srun" (SLURM_*)
  // The process was started by mpirun (OMPI_COMM_WORLD_SIZE is set) and this build has MPI: the
  // ranks meet and, on the CPU, communicate through MPI (runtime/comm/mpi_comm.h), even when
  // torchrun-style variables number them (MPI's numbering must then agree).
  bool mpi_job = false;
};

// nullopt when no launcher variables are set (a plain single-process run). Throws
// Error(invalid_argument) naming the variable and its value when they are set but malformed or
// inconsistent (RANK outside [0, WORLD_SIZE), a port outside [1, 65535], MASTER_ADDR missing).
// `getenv` reads a variable (nullptr: unset); tests pass their own.
std::optional<LaunchEnvironment> read_launch_environment(
    const std::function<const char*(const char*)>& getenv);
std::optional<LaunchEnvironment> read_launch_environment();

// The first host of a Slurm host list ("gpu[07-09,12],login2" -> "gpu07"; brackets may repeat:
// "r[1-2]n[01-04]" -> "r1n01"). Throws Error(invalid_argument) naming the list when it is malformed.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace detnn
