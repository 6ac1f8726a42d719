#include "runtime/step_profiler.h"

#include <chrono>

#include "runtime/error.h"

namespace detnn {

namespace {
double host_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

StepProfiler::StepProfiler(Device device, uintptr_t stream) : device_(device), stream_(stream) {
  if (device.is_cuda()) events_ = cuda_events(device, stream);
}

StepProfiler::~StepProfiler() = default;

void StepProfiler::begin(const std::string& part) {
  if (depth_++ > 0) return;  // inside an outer part: timed with it
  Mark m;
  m.part = part;
  if (events_ != nullptr)
    m.begin_event = events_->record();
  else
    m.host_begin_ms = host_ms();
  marks_.push_back(std::move(m));
}

void StepProfiler::end() {
  DETNN_CHECK(depth_ > 0, internal, "StepProfiler: end() without begin()");
  if (--depth_ > 0) return;
  Mark& m = marks_.back();
  if (events_ != nullptr)
    m.end_event = events_->record();
  else
    m.host_end_ms = host_ms();
}

void StepProfiler::collect() {
  DETNN_CHECK(depth_ == 0, internal, "StepProfiler: collect() inside a part");
  if (events_ != nullptr && !marks_.empty()) events_->wait_for_last();
  for (const Mark& m : marks_)
    add(m.part,
        events_ != nullptr ? events_->elapsed_ms(m.begin_event, m.end_event) : m.host_end_ms - m.host_begin_ms);
  marks_.clear();
  if (events_ != nullptr) events_->reset();
}

void StepProfiler::add(const std::string& part, double ms) {
  for (auto& [name, total] : totals_)
    if (name == part) {
      total += ms;
      return;
    }
  totals_.emplace_back(part, ms);
}

#ifndef DETNN_HAVE_CUDA
std::unique_ptr<StepProfiler::Events> StepProfiler::cuda_events(Device, uintptr_t) {
  DETNN_THROW(unsupported, "StepProfiler: this build has no CUDA");
}
#endif

}  // namespace detnn
