#include "runtime/comm/launch_environment.h"

#include <cerrno>
#include <cstdlib>

#include "runtime/comm/mpi_bootstrap.h"
#include "runtime/error.h"

namespace detnn {

namespace {

int parse_int(const char* name, const char* text, long low, long high) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < low || v > high)
    DETNN_THROW(invalid_argument, "launch environment: ", name, "=\"", text, "\" is not an integer in [", low, ", ",
                high, "]");
  return static_cast<int>(v);
}

}  // namespace

std::optional<LaunchEnvironment> read_launch_environment(const std::function<const char*(const char*)>& getenv) {
  const char* rank = getenv("RANK");
  const char* size = getenv("WORLD_SIZE");
  const char* local = getenv("LOCAL_RANK");
  LaunchEnvironment e;
  e.launcher = "torchrun";
  if (rank == nullptr && size == nullptr) {
    rank = getenv("OMPI_COMM_WORLD_RANK");
    size = getenv("OMPI_COMM_WORLD_SIZE");
    local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    e.launcher = "mpirun";
    if (rank == nullptr && size == nullptr) return std::nullopt;
  }
  const char* rank_name = e.launcher == "torchrun" ? "RANK" : "OMPI_COMM_WORLD_RANK";
  const char* size_name = e.launcher == "torchrun" ? "WORLD_SIZE" : "OMPI_COMM_WORLD_SIZE";
  const char* local_name = e.launcher == "torchrun" ? "LOCAL_RANK" : "OMPI_COMM_WORLD_LOCAL_RANK";
  if (rank == nullptr || size == nullptr)
    DETNN_THROW(invalid_argument, "launch environment: ", rank == nullptr ? size_name : rank_name, " is set but ",
                rank == nullptr ? rank_name : size_name, " is not; a launched rank needs both");
  e.world_size = parse_int(size_name, size, 1, 1 << 20);
  e.rank = parse_int(rank_name, rank, 0, e.world_size - 1);
  e.local_rank = local != nullptr ? parse_int(local_name, local, 0, e.world_size - 1) : 0;
  if (e.world_size == 1) return e;  // nothing to meet
  const char* addr = getenv("MASTER_ADDR");
  const char* port = getenv("MASTER_PORT");
  // mpirun without the variables: rank 0's address comes by an MPI broadcast, when built in.
  if (e.launcher == "mpirun" && addr == nullptr && port == nullptr && mpi_bootstrap_available()) return e;
  if (addr == nullptr || *addr == '\0' || port == nullptr)
    DETNN_THROW(invalid_argument, "launch environment: ", size_name, "=", e.world_size,
                " but MASTER_ADDR and MASTER_PORT (where rank 0 serves the rendezvous) are ",
                addr == nullptr || *addr == '\0' ? "not set" : "not both set",
                e.launcher == "mpirun" ? "; pass them with mpirun -x MASTER_ADDR=<rank 0's host> -x MASTER_PORT=<port>"
                                       : "");
  e.master_addr = addr;
  e.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  return e;
}

std::optional<LaunchEnvironment> read_launch_environment() {
  return read_launch_environment([](const char* name) { return std::getenv(name); });
}

}  // namespace detnn
