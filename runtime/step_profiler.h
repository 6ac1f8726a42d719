// Where a training step's time goes, part by part (each top-level layer's forward and backward,
// the loss, combining the chunk partials, the batch-norm statistics, the optimizer), for the
// benchmark's per-part table (`detnn-bench --profile`, bench/e2e). On CUDA each part is timed
// on the device by events recorded on the session's stream (the host does not wait between
// parts, so the step runs as it does unprofiled); on the CPU by the host clock.
//
// Parts nest: only the outermost are timed, so a residual block is one part (its body's layers
// run inside it). Eager steps only: a session refuses a profiler while it replays CUDA Graphs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/device.h"

namespace detnn {

class StepProfiler {
 public:
  // `stream`: the cudaStream_t the session enqueues on (0: the legacy default stream).
  StepProfiler(Device device, uintptr_t stream);
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  void begin(const std::string& part);
  void end();
  // Waits for the parts timed since the last collect to finish and adds their times to the
  // totals (call between steps; CUDA: synchronizes with the last part's end).
  void collect();
  // Milliseconds per part name, summed over every occurrence collected, in first-seen order.
  const std::vector<std::pair<std::string, double>>& totals() const { return totals_; }

  // The device's side (step_profiler_cuda.cpp; an implementation detail): events recorded on the
  // stream, reused from one collect to the next.
  struct Events {
    virtual ~Events() = default;
    virtual int record() = 0;  // records the next event on the stream now; its index
    virtual void wait_for_last() = 0;
    virtual double elapsed_ms(int from, int to) = 0;
    virtual void reset() = 0;  // the next record() reuses the first event
  };

 private:
  // One outermost part since the last collect: host times on the CPU, event indices on CUDA.
  struct Mark {
    std::string part;
    double host_begin_ms = 0, host_end_ms = 0;
    int begin_event = -1, end_event = -1;
  };
  static std::unique_ptr<Events> cuda_events(Device device, uintptr_t stream);
  void add(const std::string& part, double ms);

  Device device_;
  uintptr_t stream_;
  int depth_ = 0;
  std::vector<Mark> marks_;  // the outermost parts since the last collect
  std::unique_ptr<Events> events_;
  std::vector<std::pair<std::string, double>> totals_;
};

// begin(part) now and end() when the scope ends; nothing when `profiler` is null.
class ProfiledPart {
 public:
  ProfiledPart(StepProfiler* profiler, const std::string& part) : profiler_(profiler) {
    if (profiler_ != nullptr) profiler_->begin(part);
  }
  ~ProfiledPart() {
    if (profiler_ != nullptr) profiler_->end();
  }
  ProfiledPart(const ProfiledPart&) = delete;
  ProfiledPart& operator=(const ProfiledPart&) = delete;

 private:
  StepProfiler* profiler_;
};

}  // namespace detnn
