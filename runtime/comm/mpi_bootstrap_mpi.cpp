// The C interface only: OpenMPI's and MPICH's deprecated C++ bindings need a library detnn does
// not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstring>

#include "runtime/comm/mpi_bootstrap.h"
#include "runtime/error.h"

namespace detnn {

namespace {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  DETNN_THROW(comm, "MPI bootstrap: ", call, " failed: ", text);
}

}  // namespace

bool mpi_bootstrap_available() { return true; }

std::string mpi_broadcast_address(const std::string& address) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  DETNN_CHECK(!finalized, comm, "MPI bootstrap: MPI was finalized already in this process");
  // A program that uses MPI itself keeps it; detnn finalizes only what it initialized.
  if (!initialized) check_mpi(MPI_Init(nullptr, nullptr), "MPI_Init");
  char buffer[1024] = {};
  address.copy(buffer, sizeof buffer - 1);
  const int rc = MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!initialized) MPI_Finalize();
  check_mpi(rc, "MPI_Bcast");
  return buffer;
}

}  // namespace detnn
