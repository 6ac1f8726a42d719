// A session's view of its communicator (runtime/comm/comm.h): the collectives of a training step
// on the session's device memory, with the CPU compute lock released while this rank waits for
// the others (runtime/cpu_compute_lock.h). CUDA buffers go to an NCCL communicator directly and
// are staged through host memory for the others (LocalComm ranks sharing one GPU). With no
// communicator it is one rank and every call returns its input.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/comm/comm.h"
#include "runtime/device.h"

namespace detnn {

class SessionComm {
 public:
  // unordered (determinism off): device buffers on an NCCL communicator are summed by
  // ncclAllReduce in NCCL's order, not by the pairwise rule.
  SessionComm(Comm* comm, Device device, uintptr_t stream, bool unordered = false)
      : comm_(comm), device_(device), stream_(stream), unordered_(unordered) {}

  int rank() const { return comm_ != nullptr ? comm_->rank() : 0; }
  int size() const { return comm_ != nullptr ? comm_->size() : 1; }
  bool several() const { return size() > 1; }

  // data: `count` floats on the session's device; pairwise over the ranks in rank order (or
  // unordered, see the constructor).
  void all_reduce_pairwise(float* data, int64_t count);
  // Gradient buckets (runtime/comm/comm.h): asynchronous on a communicator that takes device
  // memory (NCCL), one synchronous all_reduce_pairwise each otherwise. Same bits either way.
  void reserve_buckets(int64_t largest_count);
  void all_reduce_bucket(float* data, int64_t count);
  void finish_buckets();
  float all_reduce_pairwise(float value);
  int64_t all_reduce_sum(int64_t value);
  // Host bytes: every rank's become rank 0's.
  void broadcast(void* data, int64_t bytes);
  // Tells the other ranks this one failed (never throws).
  void abort(const std::string& message) noexcept;

 private:
  Comm* comm_;
  Device device_;
  uintptr_t stream_;
  bool unordered_;
};

}  // namespace detnn
