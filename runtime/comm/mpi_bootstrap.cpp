// The MPI bootstrap in a build without MPI (with MPI: mpi_bootstrap_mpi.cpp).
#ifndef DETNN_HAVE_MPI
#include "runtime/comm/mpi_bootstrap.h"

#include "runtime/error.h"

namespace detnn {

bool mpi_bootstrap_available() { return false; }

std::string mpi_broadcast_address(const std::string&) {
  DETNN_THROW(unsupported, "this build of detnn has no MPI: set MASTER_ADDR and MASTER_PORT for the launch");
}

}  // namespace detnn
#endif
