// Under mpirun without MASTER_ADDR/MASTER_PORT, the ranks learn where rank 0 serves the
// rendezvous (runtime/comm/tcp_store.h) by one MPI broadcast — CUDA ranks, whose bytes NCCL
// moves; CPU ranks use MPI throughout (runtime/comm/mpi_comm.h). MPI stays up until the process
// exits (runtime/comm/mpi_runtime.h). Optional: built when MPI is found (cmake/DetnnMpi.cmake).
#pragma once

#include <string>

namespace detnn {

// Whether this build of detnn can meet through MPI.
bool mpi_bootstrap_available();

// Collective over the mpirun job: returns rank 0's `address` ("host:port") on every rank.
// Throws Error(unsupported) in a build without MPI and Error(comm) when MPI fails.
std::string mpi_broadcast_address(const std::string& address);

}  // namespace detnn
