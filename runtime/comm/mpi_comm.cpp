// MpiComm in a build without MPI (with MPI: mpi_comm_mpi.cpp).
#ifndef DETNN_HAVE_MPI
#include "runtime/comm/mpi_comm.h"

#include "runtime/error.h"

namespace detnn {

bool mpi_comm_available() { return false; }

std::unique_ptr<CommGroup> join_mpi_group(const LaunchEnvironment&, bool, double) {
  DETNN_THROW(unsupported, "this build of detnn has no MPI (cmake/DetnnMpi.cmake)");
}

}  // namespace detnn
#endif
