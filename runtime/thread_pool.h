// CPU thread pool. DESIGN §5: work is split by output, never by reduction, so the bits never
// depend on the thread count. parallel_for hands each thread a contiguous range of output
// indices; whatever a task sums, it sums entirely inside its range, in a fixed order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace detnn {

class ThreadPool {
 public:
  // threads >= 1; the calling thread is one of them, so threads - 1 workers are started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end) on disjoint contiguous ranges covering [0, n). Ranges have at least
  // `grain` indices (except when n < grain). Blocks until all are done; rethrows the first
  // exception a range threw. Nested calls from inside a body run serially.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body, int64_t grain = 1);

 private:
  void stop_workers();  // wakes, joins and forgets every worker
  void worker_loop(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> ranges_;  // one per thread; index 0 is the caller's
  uint64_t generation_ = 0;
  int pending_ = 0;
  // Mirrors of generation_ and pending_ that a thread reads without the mutex while it spins
  // briefly before sleeping: most parallel loops of a training step follow each other within
  // microseconds, and a wake-up through the condition variable costs more than that.
  std::atomic<uint64_t> published_generation_{0};
  std::atomic<int> unfinished_{0};
  bool stopping_ = false;
  std::exception_ptr error_;
  std::mutex call_mutex_;  // one parallel_for at a time per pool
};

// The process-wide pool used by the CPU kernels. Its size defaults to the hardware thread count
// (or DETNN_NUM_THREADS); set_num_threads replaces it (not while kernels are running).
ThreadPool& cpu_thread_pool();
void set_num_threads(int threads);
int num_threads();

}  // namespace detnn
