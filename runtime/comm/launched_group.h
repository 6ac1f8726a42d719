// The group of a run launched as one process per rank (torchrun-style variables or mpirun;
// runtime/comm/launch_environment.h): this process drives one rank. Rank 0 serves the
// rendezvous store on MASTER_PORT (runtime/comm/tcp_store.h); every rank connects, publishes
// its host and device, and waits for all the others (bounded by the timeout). CPU ranks then
// communicate through the store (StoreComm); CUDA ranks through NCCL, one GPU per rank, GPU
// LOCAL_RANK (modulo the GPUs visible to the process), with the NCCL unique id passed through
// the store. The store also carries the
// group's first failure, so a failed or killed rank stops all of them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/comm/comm_group.h"
#include "runtime/comm/failure_channel.h"
#include "runtime/comm/launch_environment.h"
#include "runtime/comm/nccl_comm.h"
#include "runtime/comm/tcp_store.h"

namespace detnn {

class LaunchedGroup final : public CommGroup {
 public:
  // cuda: the ranks train on GPUs (NCCL); otherwise on CPUs (StoreComm).
  LaunchedGroup(const LaunchEnvironment& env, bool cuda, double timeout_seconds);
  ~LaunchedGroup() override;

  int size() const override { return env_.world_size; }
  int first_local_rank() const override { return env_.rank; }
  int local_ranks() const override { return 1; }
  Comm& comm(int rank) override;
  std::string device_of(int rank) const override { return rank >= 0 && rank < size() ? devices_[rank] : ""; }
  std::vector<std::string> hosts() const override { return hosts_; }
  void abort(int rank, const std::string& message) noexcept override;
  std::string failure() const override { return client_->failure(); }

 private:
  LaunchEnvironment env_;
  bool cuda_;
  int gpu_ = -1;  // CUDA ranks: this process's GPU
  // Destroyed in reverse order: the communicator, then this rank's goodbye, then (rank 0) the
  // server, which waits for the other ranks' goodbyes.
  std::unique_ptr<TcpStoreServer> server_;
  std::shared_ptr<TcpStoreClient> client_;
  std::unique_ptr<Comm> comm_;
  std::vector<std::string> hosts_, devices_;  // every rank's, as published
};

// "" when no two ranks claim the same GPU of one host; otherwise the error naming the first two.
// gpus[r]: rank r's GPU as a host-wide identity (its PCI bus id), "" for a CPU rank.
std::string duplicate_gpu_claim(const std::vector<std::string>& hosts, const std::vector<std::string>& gpus);

// The group of a launched rank: ranks under mpirun in a build with MPI (env.mpi_job) meet through MPI
// (runtime/comm/mpi_comm.h: CPU ranks communicate over MPI, CUDA ranks over NCCL); every other
// launch through rank 0's TCP store (LaunchedGroup: NCCL for CUDA ranks, StoreComm — the fallback
// for CPU ranks without MPI, meant for one machine).
std::unique_ptr<CommGroup> join_launched_group(const LaunchEnvironment& env, bool cuda, double timeout_seconds);

// This process's GPU `gpu` as the host knows it (its PCI bus id; "cuda:N" when unknown): CUDA
// ordinals are per process (CUDA_VISIBLE_DEVICES), bus ids are not.
std::string host_wide_gpu_id(int gpu);

// NCCL for one launched rank, the unique id already shared (rank 0's new_nccl_unique_id), failures
// on `failures`. Both throw Error(unsupported) in a build without CUDA.
NcclUniqueId new_nccl_unique_id();
std::unique_ptr<Comm> join_nccl_with_id(const NcclUniqueId& id, int rank, int size, int device,
                                        std::shared_ptr<FailureChannel> failures, double timeout_seconds);

// NCCL for one launched rank: rank 0 creates the unique id and publishes it in the store, the
// others read it; then the rank joins on GPU `device`. In a build without CUDA it throws
// Error(unsupported).
std::unique_ptr<Comm> join_nccl_through_store(std::shared_ptr<TcpStoreClient> store, int rank, int size, int device,
                                              double timeout_seconds);

}  // namespace detnn
