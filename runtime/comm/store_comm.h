// StoreComm: CPU ranks that are separate processes (launched by torchrun-style variables or
// mpirun, on one machine or several), exchanging their collectives through rank 0's TCP store
// (runtime/comm/tcp_store.h). Every rank posts its buffer, reads every rank's and combines them
// itself by the same pairwise rank-order rule as LocalComm (runtime/comm/rank_sum.h), so the
// bits are those of one rank. Each rank receives P buffers per collective through one server,
// whatever set_all_reduce_algorithm says: the fallback for CPU ranks in a build without MPI, meant
// for a few ranks on one machine and for testing the launch path, not for speed. Clusters launch
// CPU ranks with mpirun (runtime/comm/mpi_comm.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/comm/comm.h"
#include "runtime/comm/tcp_store.h"

namespace detnn {

class StoreComm final : public Comm {
 public:
  StoreComm(std::shared_ptr<TcpStoreClient> store, int rank, int size, double timeout_seconds);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_pairwise(float* data, int64_t count) override;
  void all_reduce_sum(int64_t* data, int64_t count) override;
  void broadcast(void* data, int64_t bytes) override;
  void barrier() override;
  void abort(const std::string& message) noexcept override;

 private:
  // One collective: posts `bytes` under this rank's key of the next sequence number and returns
  // every rank's posting, rank order. A posting is "<what> <element count>\n<bytes>"; ranks
  // that called another collective or passed another count fail the group naming both.
  std::vector<std::string> exchange(const char* what, int64_t count, const void* bytes, size_t size);

  std::shared_ptr<TcpStoreClient> store_;
  int rank_, size_;
  double timeout_seconds_;
  uint64_t sequence_ = 0;
};

}  // namespace detnn
