// The communicator of a data-parallel run (DESIGN §3, §6): rank r of P ranks, and the few
// collectives a training step needs. Every collective is called by all P ranks in the same order
// with the same sizes; its result is the same bits on every rank and never depends on which rank
// arrives first or on thread scheduling.
//
// The float all-reduce combines the P rank values of each element in RANK ORDER BY THE PAIRWISE
// RULE (runtime/reduction_rules.h): at each level value 2i+1 is added to value 2i (left + right), an odd
// last value is carried up unchanged, until one is left. For P = 3: (v0 + v1) + v2; for P = 4:
// (v0 + v1) + (v2 + v3); for P = 5: ((v0 + v1) + (v2 + v3)) + v4. When each rank's value is the
// pairwise sum of k = 2^m consecutive chunk partials (its own chunks [r·k, (r+1)·k)), the result
// is exactly the pairwise sum over all P·k chunks: the 1-rank bits.
//
// Failure: abort(message) records the first failure of the group; every pending and later
// collective on every rank then throws Error(comm) carrying "rank r failed: message". A
// collective that waits longer than the group's timeout aborts the group the same way (naming
// the ranks that did not arrive), so a dead rank stops the others within a bounded time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/comm/all_reduce_algorithm.h"
#include "runtime/error.h"

namespace detnn {

class Comm {
 public:
  virtual ~Comm() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place, host memory: data[i] = pairwise rank-order combine of every rank's data[i].
  virtual void all_reduce_pairwise(float* data, int64_t count) = 0;
  // In place, host memory: data[i] = the (exact) sum over the ranks of data[i].
  virtual void all_reduce_sum(int64_t* data, int64_t count) = 0;
  // Host memory: every rank's bytes become rank 0's.
  virtual void broadcast(void* data, int64_t bytes) = 0;
  // Returns when every rank has entered it.
  virtual void barrier() = 0;
  // Marks the group failed by this rank; never throws, never blocks for long. The first
  // failure of a group wins; later ones are ignored.
  virtual void abort(const std::string& message) noexcept = 0;

  // Device memory. A communicator that moves device buffers itself (NcclComm) says so here; the
  // others get device buffers staged through host memory by their caller (session/session_comm.h).
  virtual bool takes_device_memory() const { return false; }
  // In place, `count` floats of device memory, ordered on `stream` (a cudaStream_t): the same
  // bits as all_reduce_pairwise. Returns when the result is in `data`. Only when
  // takes_device_memory(); the default throws Error(unsupported).
  virtual void all_reduce_pairwise_device(float* data, int64_t count, uintptr_t stream);
  // The sum in whatever order is fastest (ncclAllReduce): for determinism "off". The default is
  // all_reduce_pairwise_device.
  virtual void all_reduce_unordered_device(float* data, int64_t count, uintptr_t stream) {
    all_reduce_pairwise_device(data, count, stream);
  }

  // Gradient buckets on device memory (DESIGN §6): a training step all-reduces its gradient in
  // buckets, each enqueued as soon as backward has finished the bucket's layers, so that the
  // communication overlaps the rest of backward. reserve_buckets(largest) comes first, while
  // nothing is queued; all_reduce_pairwise_device_async(data, count, stream) enqueues one bucket
  // after the work enqueued on `stream` so far and returns without waiting for it (its bits are
  // those of all_reduce_pairwise); finish_buckets(stream) makes `stream` wait for every bucket and
  // returns once they are done. Only when takes_device_memory(); the defaults run each bucket
  // synchronously.
  virtual void reserve_buckets(int64_t largest_count) {}
  virtual void all_reduce_pairwise_device_async(float* data, int64_t count, uintptr_t stream) {
    all_reduce_pairwise_device(data, count, stream);
  }
  virtual void finish_buckets(uintptr_t stream) {}

  // The message pattern of the deterministic float all-reduces (runtime/comm/all_reduce_algorithm.h):
  // the same bits either way. DETNN_ALL_REDUCE, else set_all_reduce_algorithm, else the
  // communicator's preference (recursive halving; LocalComm's all-to-all, which reads the other
  // ranks' memory in place). Set it on every rank alike, while no collective runs.
  void set_all_reduce_algorithm(AllReduceAlgorithm algorithm) { algorithm_ = algorithm; }
  AllReduceAlgorithm all_reduce_algorithm() const { return algorithm_.value_or(preferred_all_reduce_algorithm()); }

 protected:
  virtual AllReduceAlgorithm preferred_all_reduce_algorithm() const { return AllReduceAlgorithm::recursive_halving; }

 private:
  std::optional<AllReduceAlgorithm> algorithm_ = all_reduce_algorithm_from_environment();
};

inline void Comm::all_reduce_pairwise_device(float*, int64_t, uintptr_t) {
  DETNN_THROW(unsupported, "this communicator takes host memory only");
}

}  // namespace detnn
