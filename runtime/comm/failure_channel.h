// Where the ranks of a group that does not share one LocalCommGroup (NCCL ranks, processes)
// post and watch for the group's first failure, so that a rank waiting in a collective learns
// within milliseconds that another rank failed and with which error (runtime/comm/comm.h).
#pragma once

#include <mutex>
#include <string>

namespace detnn {

class FailureChannel {
 public:
  virtual ~FailureChannel() = default;
  // Records `message` ("rank r failed: ...") as the group's failure unless it has one already.
  // Never throws, never blocks for long.
  virtual void post(const std::string& message) noexcept = 0;
  // The group's first failure, "" while it is healthy. Cheap enough to call every millisecond.
  virtual std::string poll() = 0;
};

// The ranks are threads of this process (`trainer --gpus`).
class InProcessFailureChannel final : public FailureChannel {
 public:
  void post(const std::string& message) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      if (failure_.empty()) failure_ = message.empty() ? "a rank failed" : message;
    } catch (...) {
      // Out of memory for the message: the failure still has to show.
      if (failure_.empty()) failure_.assign("a rank failed");
    }
  }
  std::string poll() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
  }

 private:
  std::mutex mutex_;
  std::string failure_;
};

}  // namespace detnn
