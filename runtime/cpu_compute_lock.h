// The process-wide CPU compute lock. The CPU thread pool is one per process and is resized for
// each session's thread count, so computing calls on CPU sessions (through the C API) run one at
// a time under this lock. A thread that holds it and must wait for other ranks of its process
// (a LocalComm collective) releases it for the wait — otherwise rank 0 would hold it while
// waiting for rank 1, which waits for the lock — and takes it back afterwards.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace detnn {

class CpuComputeLock {
 public:
  // Takes the lock (nothing for a CUDA device) and sets the pool to `threads` when > 0.
  CpuComputeLock(const std::string& device, int64_t threads);
  ~CpuComputeLock();
  CpuComputeLock(const CpuComputeLock&) = delete;
  CpuComputeLock& operator=(const CpuComputeLock&) = delete;

 private:
  friend class CpuComputeLockReleased;
  void relock();
  std::unique_lock<std::mutex> lock_;
  int64_t threads_;
  CpuComputeLock* outer_;  // the lock this thread held before (nesting), restored on exit
};

// Releases this thread's CpuComputeLock (if it holds one) for the scope of a blocking wait; takes
// it back and restores the thread count when the scope ends. Results never depend on the thread
// count, so another session resizing the pool meanwhile changes no bits.
class CpuComputeLockReleased {
 public:
  CpuComputeLockReleased();
  ~CpuComputeLockReleased();
  CpuComputeLockReleased(const CpuComputeLockReleased&) = delete;
  CpuComputeLockReleased& operator=(const CpuComputeLockReleased&) = delete;

 private:
  CpuComputeLock* held_;
};

}  // namespace detnn
