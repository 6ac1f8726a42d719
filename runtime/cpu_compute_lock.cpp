#include "runtime/cpu_compute_lock.h"

#include "runtime/device.h"
#include "runtime/thread_pool.h"

namespace detnn {

namespace {
std::mutex g_cpu_compute;
thread_local CpuComputeLock* t_held = nullptr;
}  // namespace

CpuComputeLock::CpuComputeLock(const std::string& device, int64_t threads) : threads_(threads), outer_(t_held) {
  if (parse_device(device).is_cuda()) return;
  lock_ = std::unique_lock<std::mutex>(g_cpu_compute);
  if (threads_ > 0) set_num_threads(static_cast<int>(threads_));
  t_held = this;
}

CpuComputeLock::~CpuComputeLock() {
  if (t_held == this) t_held = outer_;
}

void CpuComputeLock::relock() {
  lock_.lock();
  if (threads_ > 0) set_num_threads(static_cast<int>(threads_));
}

CpuComputeLockReleased::CpuComputeLockReleased() : held_(t_held) {
  if (held_ != nullptr && held_->lock_.owns_lock()) held_->lock_.unlock();
  else held_ = nullptr;
}

CpuComputeLockReleased::~CpuComputeLockReleased() {
  if (held_ != nullptr) held_->relock();
}

}  // namespace detnn
