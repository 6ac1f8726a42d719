// Background batch production: N worker threads make batches ahead of the consumer into a
// bounded window, and next() hands them out strictly in order. Each batch is a pure function
// of its (epoch, batch number), so the thread count and timing never change a byte -- they
// only change how soon a batch is ready.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/batches.h"

namespace detnn::data {

struct PrefetchOptions {
  int threads = 2;  // >= 1
  int depth = 4;    // >= 1: batches made ahead of the consumer (ready or being made)
};

class Prefetcher {
 public:
  // Training: plan.batch(e, b) for e from start_epoch, b from start_batch (a resume point),
  // through the last batch of epoch end_epoch - 1. `plan` must outlive the prefetcher.
  Prefetcher(const BatchPlan& plan, int64_t start_epoch, int64_t start_batch, int64_t end_epoch,
             PrefetchOptions options = {});
  // Evaluation: every batch of `eval`, in order.
  Prefetcher(const EvalBatches& eval, PrefetchOptions options = {});
  ~Prefetcher();  // stops the workers; a batch being made is finished and dropped
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next batch in order, or nullopt after the last. An exception a worker threw making
  // this batch is rethrown here (and again on every later call); earlier batches still arrive.
  std::optional<Batch> next();

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  void start(std::function<Batch(int64_t)> make, int64_t first, int64_t end, PrefetchOptions options);
  void worker_loop();

  std::function<Batch(int64_t)> make_;  // sequence number -> batch
  int64_t next_claim_ = 0, next_yield_ = 0, end_ = 0;
  int64_t depth_ = 1;
  std::map<int64_t, Slot> ready_;
  std::exception_ptr delivered_error_;
  bool stopping_ = false, failed_ = false;
  std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> workers_;
};

}  // namespace detnn::data
