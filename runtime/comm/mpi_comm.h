// The ranks of an MPI job (mpirun; DESIGN §6). CPU ranks: MPI moves the bytes — point-to-point
// rounds and an all-gather — and detnn adds them in the contract's order
// (runtime/comm/float_messenger.h), so the bits are one rank's whatever MPI's own reductions would
// do. CUDA ranks: MPI carries the bootstrap (placements, NCCL's unique id) and the failure
// messages, NCCL the bytes (runtime/comm/nccl_comm.h). No TCP store either way.
//
// Failure (runtime/comm/comm.h): every wait is a polling loop over MPI's non-blocking calls that
// also watches a second communicator for another rank's failure message and a deadline. A rank
// that fails sends "rank r failed: ..." to every rank; each throws Error(comm) with it at its
// next wait. A wait past the timeout fails the group naming the ranks it waited for. A killed
// process is mpirun's to report: it stops every other process of the job. The message reaches
// every rank's output before the job ends because MPI_Finalize waits for all
// (runtime/comm/mpi_runtime.h).
#pragma once

#include <memory>

#include "runtime/comm/comm_group.h"
#include "runtime/comm/launch_environment.h"

namespace detnn {

// Whether this build of detnn has MPI (cmake/DetnnMpi.cmake).
bool mpi_comm_available();

// The group of this process, rank env.rank of env.world_size in MPI_COMM_WORLD (checked against
// MPI's own numbering); cuda: one GPU per rank, GPU LOCAL_RANK modulo the visible ones, two ranks
// of a host on one GPU refused. Starts MPI when needed. Throws Error(unsupported) in a build
// without MPI, Error(comm) when MPI fails, disagrees with the environment or a rank fails to join.
std::unique_ptr<CommGroup> join_mpi_group(const LaunchEnvironment& env, bool cuda, double timeout_seconds);

}  // namespace detnn
