// Under mpirun without MASTER_ADDR/MASTER_PORT, the ranks learn where rank 0 serves the
// rendezvous (runtime/comm/tcp_store.h) by one MPI broadcast. MPI is initialized for that
// broadcast only and finalized right after it, while every rank is still there: detnn never
// uses MPI again, so an error later cannot leave a rank stuck in MPI_Finalize. Optional: built
// when MPI is found (cmake/DetnnMpi.cmake).
#pragma once

#include <string>

namespace detnn {

// Whether this build of detnn can meet through MPI.
bool mpi_bootstrap_available();

// Collective over the mpirun job: returns rank 0's `address` ("host:port") on every rank.
// Throws Error(unsupported) in a build without MPI and Error(comm) when MPI fails.
std::string mpi_broadcast_address(const std::string& address);

}  // namespace detnn
