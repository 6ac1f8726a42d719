#include "runtime/comm/launch_environment.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "runtime/comm/mpi_comm.h"
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

// srun's variables; nullopt when SLURM_PROCID is not set.
std::optional<LaunchEnvironment> read_slurm(const std::function<const char*(const char*)>& getenv) {
  const char* rank = getenv("SLURM_PROCID");
  if (rank == nullptr) return std::nullopt;
  const char* size_name = getenv("SLURM_STEP_NUM_TASKS") != nullptr ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
  const char* size = getenv(size_name);
  if (size == nullptr)
    DETNN_THROW(invalid_argument, "launch environment: SLURM_PROCID is set but SLURM_NTASKS is not; start the ranks with "
                                  "srun (one task per rank)");
  LaunchEnvironment e;
  e.launcher = "srun";
  e.world_size = parse_int(size_name, size, 1, 1 << 20);
  e.rank = parse_int("SLURM_PROCID", rank, 0, e.world_size - 1);
  const char* local = getenv("SLURM_LOCALID");
  e.local_rank = local != nullptr ? parse_int("SLURM_LOCALID", local, 0, e.world_size - 1) : 0;
  if (e.world_size == 1) return e;
  const char* addr = getenv("MASTER_ADDR");
  if (addr != nullptr && *addr != '\0') {
    e.master_addr = addr;
  } else {
    const char* list_name = getenv("SLURM_STEP_NODELIST") != nullptr ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST";
    const char* list = getenv(list_name);
    if (list == nullptr || *list == '\0')
      DETNN_THROW(invalid_argument, "launch environment: SLURM_NTASKS=", e.world_size,
                  " but neither MASTER_ADDR nor SLURM_JOB_NODELIST names rank 0's host");
    e.master_addr = first_slurm_host(list);
  }
  if (const char* port = getenv("MASTER_PORT"); port != nullptr) {
    e.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  } else {
    const char* job = getenv("SLURM_JOB_ID");
    if (job == nullptr)
      DETNN_THROW(invalid_argument, "launch environment: neither MASTER_PORT nor SLURM_JOB_ID is set: no port for the "
                                    "rendezvous");
    // Jobs sharing a node get different ports unless their ids are 10000 apart.
    e.master_port = 20000 + parse_int("SLURM_JOB_ID", job, 0, 2147483647) % 10000;
  }
  return e;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  std::string host;
  size_t i = 0;
  const auto fail = [&](const char* why) {
    DETNN_THROW(invalid_argument, "Slurm host list \"", nodelist, "\": ", why, " at character ", i + 1);
  };
  while (i < nodelist.size() && nodelist[i] != ',') {
    const char c = nodelist[i];
    if (c == ']') fail("']' without '['");
    if (c != '[') {
      host += c;
      ++i;
      continue;
    }
    // A range list: its first item's first number, padding as written ("007-012" -> "007").
    const size_t close = nodelist.find(']', i);
    if (close == std::string::npos) fail("'[' without ']'");
    size_t j = i + 1;
    while (j < close && std::isdigit(static_cast<unsigned char>(nodelist[j]))) host += nodelist[j++];
    if (j == i + 1) fail("a range that does not start with a number");
    i = close + 1;
  }
  if (host.empty()) fail("an empty first host");
  return host;
}

std::optional<LaunchEnvironment> read_launch_environment(const std::function<const char*(const char*)>& getenv) {
  const char* rank = getenv("RANK");
  const char* size = getenv("WORLD_SIZE");
  const char* local = getenv("LOCAL_RANK");
  LaunchEnvironment e;
  e.launcher = "torchrun";
  // Started by mpirun, whichever variables number the ranks: MPI can connect the processes.
  e.mpi_job = getenv("OMPI_COMM_WORLD_SIZE") != nullptr && mpi_comm_available();
  if (rank == nullptr && size == nullptr) {
    rank = getenv("OMPI_COMM_WORLD_RANK");
    size = getenv("OMPI_COMM_WORLD_SIZE");
    local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    e.launcher = "mpirun";
    if (rank == nullptr && size == nullptr) return read_slurm(getenv);
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
  // The processes of an MPI job meet through MPI: no rendezvous address is needed.
  if (e.mpi_job && (addr == nullptr || *addr == '\0' || port == nullptr)) return e;
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
