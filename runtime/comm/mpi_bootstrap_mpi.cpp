// The C interface only: OpenMPI's and MPICH's deprecated C++ bindings need a library detnn does
// not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstring>

#include "runtime/comm/mpi_bootstrap.h"
#include "runtime/comm/mpi_runtime.h"
#include "runtime/error.h"

namespace detnn {

bool mpi_bootstrap_available() { return true; }

std::string mpi_broadcast_address(const std::string& address) {
  start_mpi();
  std::lock_guard<std::mutex> lock(mpi_lock());
  char buffer[1024] = {};
  address.copy(buffer, sizeof buffer - 1);
  check_mpi(MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI bootstrap: MPI_Bcast");
  return buffer;
}

}  // namespace detnn
