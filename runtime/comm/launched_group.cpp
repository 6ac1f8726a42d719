#include "runtime/comm/launched_group.h"

#include <cstdio>

#include "runtime/comm/mpi_comm.h"
#include "runtime/device.h"
#include "runtime/comm/store_comm.h"
#include "runtime/error.h"

namespace detnn {

namespace {

std::chrono::steady_clock::time_point deadline_after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

std::string host_wide_gpu_id(int gpu) {
  for (const DeviceInfo& d : list_devices())
    if (d.device.is_cuda() && d.device.index == gpu && !d.pci_bus_id.empty()) return d.pci_bus_id;
  return "cuda:" + std::to_string(gpu);
}

std::string duplicate_gpu_claim(const std::vector<std::string>& hosts, const std::vector<std::string>& gpus) {
  for (size_t a = 0; a < gpus.size(); ++a)
    for (size_t b = a + 1; b < gpus.size(); ++b)
      if (!gpus[a].empty() && gpus[a] == gpus[b] && hosts[a] == hosts[b])
        return "ranks " + std::to_string(a) + " and " + std::to_string(b) + " both claim the GPU " + gpus[a] + " of " +
               hosts[a] + " (one rank per GPU: give the ranks of a host distinct LOCAL_RANK / SLURM_LOCALID values)";
  return "";
}

LaunchedGroup::LaunchedGroup(const LaunchEnvironment& env, bool cuda, double timeout_seconds)
    : env_(env), cuda_(cuda) {
  DETNN_CHECK(env.world_size >= 1 && env.rank >= 0 && env.rank < env.world_size, invalid_argument,
              "launched group: rank ", env.rank, " of ", env.world_size);
  DETNN_CHECK(!env.master_addr.empty(), invalid_argument, "launched group: rank ", env.rank,
              " has no rendezvous address (MASTER_ADDR)");
  if (env.rank == 0) {
    server_ = std::make_unique<TcpStoreServer>(env.master_port);
    server_->set_linger(std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)));
  }
  client_ = std::make_shared<TcpStoreClient>(env_.master_addr, env_.master_port, env.rank, timeout_seconds);

  // GPU LOCAL_RANK; when the launcher shows each process fewer GPUs (CUDA_VISIBLE_DEVICES per
  // rank, as some schedulers do), LOCAL_RANK modulo the visible count.
  if (cuda) {
    const int visible = cuda_device_count();
    DETNN_CHECK(visible > 0, unsupported, "launched rank ", env.rank, ": no CUDA device is visible to this process");
    gpu_ = env.local_rank % visible;
  }
  // Everyone says where it runs and how many ranks it expects, then waits for everyone.
  const std::string mine = std::to_string(env.world_size) + "\n" + this_host_name() + "\n" +
                           (cuda ? "cuda:" + std::to_string(gpu_) : std::string("cpu")) + "\n" +
                           (cuda ? host_wide_gpu_id(gpu_) : std::string());
  std::vector<std::string> gpu_ids(env.world_size);
  client_->set("detnn/placement/" + std::to_string(env.rank), mine);
  const auto deadline = deadline_after(timeout_seconds);
  hosts_.resize(env.world_size);
  devices_.resize(env.world_size);
  for (int r = 0; r < env.world_size; ++r) {
    const std::optional<std::string> theirs = client_->wait_get("detnn/placement/" + std::to_string(r), deadline);
    if (!theirs) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", timeout_seconds);
      const std::string message = "rank " + std::to_string(env.rank) + " failed: rank " + std::to_string(r) +
                                  " did not join the group at " + client_->endpoint() + " within " + seconds + " s";
      client_->post_failure(message);
      DETNN_THROW(comm, message);
    }
    const size_t a = theirs->find('\n'), b = theirs->find('\n', a + 1), c = theirs->find('\n', b + 1);
    const std::string their_size = theirs->substr(0, a);
    if (their_size != std::to_string(env.world_size)) {
      const std::string message = "rank " + std::to_string(env.rank) + " failed: it was launched with a world size of " +
                                  std::to_string(env.world_size) + " but rank " + std::to_string(r) + " with " +
                                  their_size;
      client_->post_failure(message);
      DETNN_THROW(comm, message);
    }
    hosts_[r] = theirs->substr(a + 1, b - a - 1);
    const std::string device = theirs->substr(b + 1, c - b - 1);
    gpu_ids[r] = c == std::string::npos ? "" : theirs->substr(c + 1);
    if ((device == "cpu") == cuda) {
      const std::string message = "rank " + std::to_string(env.rank) + " failed: it trains on " +
                                  (cuda ? "CUDA" : "the CPU") + " but rank " + std::to_string(r) + " on " + device +
                                  " (every rank of a launched run must use the same kind of device)";
      client_->post_failure(message);
      DETNN_THROW(comm, message);
    }
    devices_[r] = device == "cpu" ? "" : device;
  }
  if (const std::string twice = duplicate_gpu_claim(hosts_, gpu_ids); !twice.empty()) {
    const std::string message = "rank " + std::to_string(env.rank) + " failed: " + twice;
    client_->post_failure(message);
    DETNN_THROW(comm, message);
  }
  if (cuda) comm_ = join_nccl_through_store(client_, env.rank, env.world_size, gpu_, timeout_seconds);
  else comm_ = std::make_unique<StoreComm>(client_, env.rank, env.world_size, timeout_seconds);
}

LaunchedGroup::~LaunchedGroup() = default;

std::unique_ptr<CommGroup> join_launched_group(const LaunchEnvironment& env, bool cuda, double timeout_seconds) {
  if (env.mpi_job) return join_mpi_group(env, cuda, timeout_seconds);
  return std::make_unique<LaunchedGroup>(env, cuda, timeout_seconds);
}

Comm& LaunchedGroup::comm(int rank) {
  DETNN_CHECK(rank == env_.rank, invalid_argument, "this process drives rank ", env_.rank, " of the launched group, not rank ",
              rank);
  return *comm_;
}

void LaunchedGroup::abort(int rank, const std::string& message) noexcept {
  if (comm_ != nullptr) {
    comm_->abort(message);
    return;
  }
  try {
    client_->post_failure("rank " + std::to_string(rank) + " failed: " + message);
  } catch (...) {
    client_->post_failure("a rank failed");
  }
}

}  // namespace detnn
